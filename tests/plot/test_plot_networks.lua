-- The paper's pictures drawn from real networks: the numbers plotted are those of
-- the analysis (graft.invalid_filters, graft.filter_l1, graft.alpha).
local h = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "helpers.lua")
local graft = require "graft"
local plot = graft.plot
local dir = h.folder()

local figures = {}
local function hook(_, _, figure) figures[#figures + 1] = figure end
table.insert(plot.hooks, hook)

-- Two small ResNets; the second has a third of its conv filters zeroed, so it has
-- invalid filters under every threshold.
local a = graft.models.resnet{depth = 20, classes = 10, in_channels = 1}
local b = graft.models.resnet{depth = 20, classes = 10, in_channels = 1}
local zeroed = 0
for name, t in pairs(b:parameters()) do
  if name:find("conv%d?%.weight$") and #t:shape() == 4 then
    local out = t:shape()[1]
    local values = t:totable()
    for f = 1, out, 3 do
      local function zero(x) if type(x) == "table" then for i in ipairs(x) do x[i] = zero(x[i]) end return x end return 0 end
      values[f] = zero(values[f])
      zeroed = zeroed + 1
    end
    t:copy(graft.tensor(values))
  end
end
h.check(zeroed > 0, "no conv filter zeroed")

local thresholds = {1e-6, 1e-3, 1e-1, 1, 10}
plot.invalid_ratio{nets = {{title = "a", net = a}, {title = "b", net = b}}, thresholds = thresholds,
                   out = dir .. "/fig6.png"}
h.png_size(dir .. "/fig6.png")
for n, net in ipairs{a, b} do
  local block = figures[1].blocks[n]
  for i, t in ipairs(thresholds) do
    local expected = graft.invalid_filters(net, t).ratio
    h.check(block[i][1] == t and math.abs(block[i][2] - expected) < 1e-12,
            "net %d, threshold %g: plotted %s, graft.invalid_filters says %s", n, t, block[i][2], expected)
  end
end
h.check(figures[1].blocks[2][1][2] > 0.3, "zeroed filters count as invalid")

-- l1 histogram: every conv filter counted once.
plot.l1_histogram{nets = {{title = "a", net = a}}, bins = 10, out = dir .. "/l1.png"}
local counted = 0
for _, row in ipairs(figures[2].blocks[1]) do counted = counted + row[2] end
h.check(counted == graft.filter_l1(a):numel(), "histogram counts %d of %d filters", counted,
        graft.filter_l1(a):numel())

-- Fig. 4 plots eq. 7 as graft.alpha computes it.
plot.alpha_curve{A = 0.4, c = 500, range = 0.01, out = dir .. "/fig4.png"}
for _, row in ipairs(figures[3].blocks[1]) do
  h.check(math.abs(row[2] - graft.alpha(row[1], 0, 0.4, 500)) < 1e-8, "alpha at %g", row[1])
end
h.check(math.abs(figures[3].blocks[1][1][2] - (0.5 - 0.4 / math.pi * math.atan(5))) < 1e-8, "alpha at -0.01")

-- filters of zeros have no log10: left out of the bins and counted in the title, as
-- graft.l1_histogram leaves them out
plot.l1_histogram{nets = {{title = "b", net = b}}, bins = 10, out = dir .. "/l1b.png"}
counted = 0
for _, row in ipairs(figures[4].blocks[1]) do counted = counted + row[2] end
h.check(counted + zeroed == graft.filter_l1(b):numel(), "histogram of b counts %d + %d zeroed of %d",
        counted, zeroed, graft.filter_l1(b):numel())
h.check(figures[4].commands[1]:find(zeroed .. " values <= 0 or not finite not shown", 1, true),
        "the title counts the zeroed filters: %s", figures[4].commands[1])
local hist = graft.l1_histogram(b, {bins = 10})
h.check(hist.left_out == zeroed, "graft.l1_histogram leaves out %d, not %d", hist.left_out, zeroed)

table.remove(plot.hooks)
plot.gnuplot.close()
h.cleanup()
print("plot networks: ok")
