-- graft.plot draws PNG, SVG and PDF files of the requested size, atomically.
local h = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "helpers.lua")
local plot = require "graft.plot"
local dir = h.folder()

local x, sine, cosine = {}, {}, {}
for i = 1, 100 do
  x[i] = i / 10
  sine[i], cosine[i] = math.sin(x[i]), math.cos(x[i])
end
local series = {{x = x, y = sine, title = "sin"}, {x = x, y = cosine, title = "cos"}}

-- PNG with the requested size, reported to the hooks.
local made = {}
local function hook(path, format) made[#made + 1] = format .. " " .. path end
table.insert(plot.hooks, hook)
local png = dir .. "/lines.png"
h.check(plot.lines{series = series, title = "two", out = png, width = 640, height = 400} == png,
        "lines returns the file it made")
local width, height, bytes = h.png_size(png)
h.check(width == 640 and height == 400, "PNG is %dx%d, asked for 640x400", width, height)
h.check(bytes > 5000, "PNG of %d bytes is too small to hold two curves", bytes)

-- A plot with more curves holds more ink: the file grows (the data is really drawn).
local empty = dir .. "/one-point.png"
plot.lines{series = {{x = {0}, y = {0}}}, out = empty, width = 640, height = 400}
h.check(select(3, h.png_size(empty)) < bytes, "a single point should make a smaller PNG")

-- SVG and PDF by extension.
local svg = dir .. "/lines.svg"
plot.lines{series = series, out = svg}
local text = h.read(svg)
h.check(#text > 5000 and text:find("<svg", 1, true), "SVG of %d bytes", #text)
h.check(select(2, text:gsub("<path", "")) >= 2, "SVG has the curves as paths")
local pdf = dir .. "/lines.PDF"
plot.lines{series = series, out = pdf}
h.check(h.read(pdf):sub(1, 5) == "%PDF-", "PDF signature")

-- The other kinds of plot.
local values = {}
for i = 1, 2000 do values[i] = (i % 97) / 97 + (i % 13) / 26 end
plot.histogram{values = values, bins = 25, out = dir .. "/histogram.png"}
plot.bars{labels = {"baseline", "noise", "internal", "external"},
          series = {{values = {92.42, 92.51, 92.68, 92.94}, title = "paper"},
                    {values = {91.1, 91.3, 91.2, 91.9}, err = {0.2, 0.3, 0.2, 0.4}, title = "measured"}},
          yrange = {90, 94}, out = dir .. "/bars.png"}
plot.heatmap{matrix = {{0.3, 0.5, 0.7}, {0.45, 0.5, 0.55}}, rows = {"conv1.weight", "linear.weight"},
             columns = {"1", "2", "3"}, out = dir .. "/heatmap.svg"}
plot.alpha_curve{A = {0.4, 1}, c = {5, 500}, out = dir .. "/alpha.png"}
plot.invalid_ratio{series = {{title = "a", l1 = {1e-4, 1e-2, 1}}, {title = "b", l1 = {0.5, 1}}},
                   out = dir .. "/ratio.png"}
plot.information{networks = {1, 2, 3}, information = {10, 11, 11.5}, accuracy = {90, 91, 91.2},
                 out = dir .. "/information.png"}
plot.training_curves{histories = {{{epoch = 1, test_top1 = 80}, {epoch = 2, test_top1 = 85}},
                                  {{epoch = 1, test_top1 = 79}, {epoch = 2, test_top1 = 86}}},
                     out = dir .. "/curves.png"}
plot.alpha_rounds{log = {{round = 1, network = 1, layer = "conv1.weight", alpha = 0.4},
                         {round = 2, network = 1, layer = "conv1.weight", alpha = 0.6},
                         {round = 1, network = 2, layer = "conv1.weight", alpha = 0.6}},
                  out = dir .. "/rounds.png"}
for _, name in ipairs{"histogram.png", "bars.png", "alpha.png", "ratio.png", "information.png",
                      "curves.png", "rounds.png"} do
  local w, _, size = h.png_size(dir .. "/" .. name)
  h.check(w == 800 and size > 3000, "%s: width %d, %d bytes", name, w, size)
end
h.check(#h.read(dir .. "/heatmap.svg") > 3000, "heat map SVG")

-- Every file was reported to the hook; no temporary files are left behind.
h.check(#made == 12, "hooks saw %d pictures: %s", #made, table.concat(made, ", "))
h.check(made[1] == "png " .. png and made[4] == "pdf " .. pdf, "hook order: %s", table.concat(made, ", "))
local names = table.concat(h.listing(dir), " ")
h.check(names == "alpha.png bars.png curves.png heatmap.svg histogram.png information.png lines.PDF "
                 .. "lines.png lines.svg one-point.png ratio.png rounds.png",
        "folder holds: %s", names)

-- Text at the prompt: gnuplot's dumb terminal, printed, of the asked size.
local captured = {}
local write = io.write
io.write = function(...) for _, v in ipairs{...} do captured[#captured + 1] = v end end
local ok, err = pcall(plot.lines, {series = series, title = "as text", text = true, columns = 60, rows = 15})
io.write = write
h.check(ok, "text plot: %s", tostring(err))
local drawing = table.concat(captured)
h.contains(drawing, "as text", "text plot")
local lines = 0
for line in drawing:gmatch("[^\n]*\n") do
  lines = lines + 1
  h.check(#line <= 61, "text line of %d columns", #line)
end
h.check(lines == 15, "text plot has %d lines, asked for 15", lines)

-- Bad arguments are refused with what was wrong.
h.contains(h.fails(plot.lines, {series = series, out = dir .. "/x.jpg"}), "must end in .png, .svg or .pdf")
h.contains(h.fails(plot.lines, {series = {{x = {1, 2}, y = {1}}}, out = png}), "series[1] has 2 x, 1 y")
h.contains(h.fails(plot.lines, {series = {{y = {1, "a"}}}, out = png}), "series[1].y holds a string")
h.contains(h.fails(plot.heatmap, {matrix = {{1, 2}, {3}}}), "row 2 has 1 values, row 1 has 2")
-- The options every picture takes are declared once (lua/graft/plot/figure.lua):
-- their errors and help come from that declaration, in every function.
h.contains(h.fails(plot.lines, {series = series, width = 0}),
           "graft.plot.lines: option 'width': an integer >= 16 expected, got 0")
h.contains(h.fails(plot.alpha_rounds, {log = {}, key = true}),
           "graft.plot.alpha_rounds: option 'key': a gnuplot key position or false expected, got true")
h.contains(h.fails(plot.information, {networks = {1}, information = {1}, accuracy = {1}, xrange = {2, 1}}),
           "graft.plot.information: option 'xrange': {lo, hi} with lo < hi")
h.contains(h.fails(plot.alpha_curve, {colour = "red"}), "graft.plot.alpha_curve: unknown option 'colour'")
h.contains(h.fails(plot.heatmap, {matrix = {{1}}, text_rows = 2}), "option 'text_rows': an integer >= 5 expected")
local help = require("graft.doc").lookup(plot.invalid_ratio)
h.contains(help, "logx = true", "invalid_ratio's help")
h.contains(help, "width = 800", "invalid_ratio's help")

table.remove(plot.hooks)
plot.gnuplot.close()
h.cleanup()
print("plot files: ok")
