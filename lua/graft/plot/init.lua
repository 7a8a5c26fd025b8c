-- graft.plot: pictures through gnuplot (lua/graft/gnuplot.lua holds the session).
--   figure.lua   numbers from arrays or tensors, the settings every figure shares
--   generic.lua  lines, histogram, bars, heatmap
--   paper.lua    the paper's pictures, drawn with the generic ones
--
-- Every function takes one table: its own options and those every picture takes
-- (title, labels, log axes, ranges, key, grid, out, width, height, columns, rows,
-- text), declared once in figure.lua; ?graft.plot.lines lists them. Values are Lua
-- arrays or tensors. Each function returns the file it made.
local doc = require "graft.doc"
local gnuplot = require "graft.gnuplot"

local plot = {}
plot.gnuplot = gnuplot
plot.hooks = gnuplot.hooks -- hook(path, format, figure) after each picture file

for _, part in ipairs { "graft.plot.generic", "graft.plot.paper" } do
  for name, fn in pairs(require(part)) do
    if type(fn) == "function" then plot[name] = fn end
  end
end

doc(plot, [[graft.plot: pictures through one gnuplot session
graft.plot.lines, histogram, bars, heatmap, and the paper's pictures: alpha_curve
(Fig. 4), invalid_ratio (Fig. 6), information (Fig. 7), l1_histogram,
training_curves, alpha_rounds. Common options: title, xlabel, ylabel, logx, logy,
xrange = {lo, hi}, yrange, key ("top left", false), out = "x.png" | "x.svg" |
"x.pdf" (without out: a window when there is a display, else text), width, height.
Without gnuplot the data and script are written next to out (x.dat, x.gp).]])

return plot
