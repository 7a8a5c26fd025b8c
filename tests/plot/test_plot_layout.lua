-- Pictures a reader can read: 19 layer names under bars (rotated, none left out),
-- integer ticks on an epoch axis, the key under the plot (off the data), an x label
-- on histograms, and training_curves drawn as text of the size asked for.
local h = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "helpers.lua")
local plot = require "graft.plot"
local gnuplot = require "graft.gnuplot"
local dir = h.folder()

-- the texts of an SVG, and the figure (data and commands) each picture was made of
local function texts(path)
  local found = {}
  for attributes, body in h.read(path):gmatch("<g ([^>]*)>%s*<text[^>]*>(.-)</text>") do
    found[(body:gsub("<[^>]+>", ""):gsub("^%s+", ""):gsub("%s+$", ""))] = attributes
  end
  return found
end
local figure
gnuplot.hooks[#gnuplot.hooks + 1] = function(_, _, made) figure = table.concat(made.commands, "\n") end

-- the conv layers of ResNet-20: 19 names of up to 14 characters
local names, values = {}, {}
for _, node in ipairs(graft.models.resnet { depth = 20 }:nodes()) do
  if node.op == "conv2d" then names[#names + 1] = node.name; values[#values + 1] = #names end
end
h.check(#names == 19, "%d conv layers", #names)
local svg = dir .. "/bars.svg"
plot.bars { labels = names, series = { { values = values, title = "a" }, { values = values, title = "b" } },
            out = svg }
local shown = texts(svg)
for _, name in ipairs(names) do
  h.check(shown[name], "the layer name %s is not under its bar", name)
  h.contains(shown[name], "rotate(", "the transform of " .. name)
end
h.contains(figure, "set key below", "the bars' figure")
-- seven groups, one of whose names is wider than its share of the axis (Table 6's):
-- rotated; three short names stand upright
local groups = { "baseline", "2 networks", "3 networks", "4 networks", "6 networks", "8 networks",
                 "6-network ensemble" }
plot.bars { labels = groups, series = { { values = { 1, 2, 3, 4, 5, 6, 7 } } }, out = svg }
shown = texts(svg)
for _, name in ipairs(groups) do h.contains(shown[name] or "", "rotate(", "the transform of " .. name) end
plot.bars { labels = { "l1", "entropy", "alpha 0.5" }, series = { { values = { 1, 2, 3 } } }, out = svg }
h.check(not texts(svg)["entropy"]:find("rotate%("), "short names are rotated: %s", texts(svg)["entropy"])
-- a hundred labels cannot all stand: every n-th is shown
local many, heights = {}, {}
for i = 1, 100 do many[i], heights[i] = "layer" .. i .. ".conv", i end
plot.bars { labels = many, series = { { values = heights } }, out = svg }
shown = texts(svg)
local count = 0
for _, label in ipairs(many) do if shown[label] then count = count + 1 end end
h.check(count >= 10 and count <= 60, "%d of 100 labels shown", count)

-- epochs: ticks at whole epochs only
local history = { { epoch = 1, test_top1 = 50 }, { epoch = 2, test_top1 = 60 }, { epoch = 3, test_top1 = 65 } }
plot.training_curves { histories = { history, history }, out = svg }
shown = texts(svg)
h.check(shown["1"] and shown["2"] and shown["3"], "ticks at epochs 1, 2 and 3")
h.check(not shown["1.5"] and not shown["2.5"], "no tick between epochs")
h.contains(figure, "set xtics 1, 1", "the curves' figure")
h.contains(figure, "set key below", "the curves' figure")

-- text of the size asked for
local written = {}
local write = io.write
io.write = function(...) for _, v in ipairs { ... } do written[#written + 1] = v end end
local ok, err = pcall(plot.training_curves, { histories = { history }, text = true, rows = 12, columns = 50 })
io.write = write
h.check(ok, "training_curves as text: %s", tostring(err))
local lines = {}
for line in table.concat(written):gmatch("[^\n]*\n") do lines[#lines + 1] = line end
h.check(#lines == 12, "%d lines of text, asked for 12", #lines)
for _, line in ipairs(lines) do h.check(#line <= 51, "a line of %d characters, asked for 50", #line - 1) end

-- histograms name what they count
plot.histogram { values = { 1, 2, 2, 3 }, out = svg }
h.contains(figure, "set xlabel 'value'", "the histogram's figure")
h.check(texts(svg)["value"], "the histogram's x axis is labelled")
plot.histogram { series = { { values = { 1, 10, 100 }, title = "l1 norm" } }, log10 = true, out = svg }
h.contains(figure, "set xlabel 'log10(l1 norm)'", "the histogram's figure")

plot.gnuplot.close()
h.cleanup()
