-- The generic pictures of graft.plot: line plots, histograms, grouped bars and
-- heat maps, each from one table of options: its own and those every picture
-- takes (figure.spec), checked before anything is drawn.
local doc = require "graft.doc"
local core = require "graft.core"
local options = require "graft.options"
local figure = require "graft.plot.figure"

local q, numbers, sequence, finite = figure.quote, figure.numbers, figure.sequence, figure.finite
local title_of, range_text, axes, tics = figure.title_of, figure.range_text, figure.axes, figure.tics
local tensor_of, integer_tics = figure.tensor_of, figure.integer_tics
local check_series, render = figure.check_series, figure.render

local plot = {}

local SERIES_HELP = "a non-empty array of "
local specs = {
  lines = figure.spec("graft.plot.lines", {
    { "series", "table", required = true, help = SERIES_HELP .. "{x =, y =, title =, err =, style =, axis =}" },
    { "y2label", "string", help = "the right axis's label" },
    { "y2range", "table", help = "{lo, hi} of the right axis", check = figure.range_check },
  }),
  bars = figure.spec("graft.plot.bars", {
    { "labels", "table", required = true, help = "the groups' names, one group of bars each" },
    { "series", "table", required = true, help = SERIES_HELP .. "{values =, err =, title =}, one value per label" },
  }),
  heatmap = figure.spec("graft.plot.heatmap", {
    { "matrix", "table|tensor", required = true, help = "rows of equal length" },
    { "rows", "table", help = "the rows' labels" },
    { "columns", "table", help = "the columns' labels" },
    { "cblabel", "string", help = "the colour scale's label" },
    { "cbrange", "table", help = "{lo, hi} of the colour scale", check = figure.range_check },
    { "palette", "string", default = "rgbformulae 33,13,10", help = "a gnuplot palette" },
    figure.renamed("rows", "text_rows"), figure.renamed("columns", "text_columns"),
  }, nil, { rows = true, columns = true }),
}

-- Line plots: series = {{x =, y =, title =, err =, style =, axis = "y2"}, ...}.
-- x defaults to 1..#y; err draws error bars; style is "lines", "linespoints"
-- or "points" (default: linespoints up to 40 points); axis = "y2" puts a series
-- on the right axis (labelled y2label).
function plot.lines(opts)
  opts = specs.lines:check(opts)
  local series = check_series(opts, "lines")
  local figure = {blocks = {}, commands = axes(opts)}
  local clauses, uses_y2 = {}, false
  for i, s in ipairs(series) do
    local y = numbers(s.y, "series[" .. i .. "].y")
    local x = s.x and numbers(s.x, "series[" .. i .. "].x") or sequence(#y)
    local err = s.err and numbers(s.err, "series[" .. i .. "].err")
    if #x ~= #y or (err and #err ~= #y) then
      error(string.format("plot.lines: series[%d] has %d x, %d y%s values", i, #x, #y,
                          err and (" and " .. #err .. " err") or ""), 2)
    end
    local block = {}
    for j = 1, #y do block[j] = err and {x[j], y[j], err[j]} or {x[j], y[j]} end
    figure.blocks[i] = block
    local style = s.style or (#y <= 40 and "linespoints" or "lines")
    if err then style = style == "points" and "yerrorbars" or "yerrorlines" end
    local axis = ""
    if s.axis == "y2" then
      axis, uses_y2 = " axes x1y2", true
    end
    clauses[i] = string.format("$DATA index %d using 1:2%s with %s%s lw 2 %s", i - 1,
                               err and ":3" or "", style, axis, title_of(s.title))
  end
  -- a range of one value makes gnuplot warn; widen it as gnuplot would, quietly
  for _, axis in ipairs{"x", "y"} do
    local lo, hi = math.huge, -math.huge
    for _, block in ipairs(figure.blocks) do
      for _, row in ipairs(block) do
        local v = row[axis == "x" and 1 or 2]
        if finite(v) then lo, hi = math.min(lo, v), math.max(hi, v) end
      end
    end
    if lo == hi and not opts[axis .. "range"] then
      local pad = lo ~= 0 and math.abs(lo) * 0.01 or 1
      figure.commands[#figure.commands + 1] = range_text({lo - pad, hi + pad}, axis .. "range")
    end
  end
  -- an axis of integers (epochs, rounds) gets integer ticks
  if not opts.logx then
    local xs = {}
    for _, block in ipairs(figure.blocks) do for _, row in ipairs(block) do xs[#xs + 1] = row[1] end end
    figure.commands[#figure.commands + 1] = integer_tics("xtics", xs)
  end
  if uses_y2 then
    figure.commands[#figure.commands + 1] = "set ytics nomirror"
    figure.commands[#figure.commands + 1] = "set y2tics"
    if opts.y2label then figure.commands[#figure.commands + 1] = "set y2label " .. q(opts.y2label) end
    figure.commands[#figure.commands + 1] = range_text(opts.y2range, "y2range")
  end
  figure.commands[#figure.commands + 1] = "plot " .. table.concat(clauses, ", \\\n  ")
  return render(figure, opts)
end

-- Histograms: values = {...} or series = {{values =, title =}, ...} (arrays or
-- tensors); bins (default 30), range = {lo, hi} (default: over all values),
-- normalize = true for fractions instead of counts, log10 = true to bin log10 of
-- the values. What cannot be shown (not finite; with log10 also <= 0) is left out
-- and counted in the title. The values and counts come from graft.histogram (C).
specs.histogram = figure.spec("graft.plot.histogram", {
  { "values", "table|tensor", help = "the values (an array or a tensor)" },
  { "label", "string", help = "the title of values in the key" },
  { "series", "table", help = "{{values =, title =}, ...} instead of values" },
  { "bins", "integer", default = 30, min = 1, max = 1000000, help = "bins over the range" },
  { "range", "table", default_help = "over all values", help = "{lo, hi}",
    check = function(r)
      if type(r[1]) ~= "number" or type(r[2]) ~= "number" or not (r[1] < r[2]) then
        return "{lo, hi} with lo < hi"
      end
    end },
  { "normalize", "boolean", default = false, help = "fractions instead of counts" },
  { "log10", "boolean", default = false, help = "bin log10 of the values (values <= 0 left out)" },
})

function plot.histogram(opts)
  opts = specs.histogram:check(opts)
  local series = opts.series or {{values = opts.values, title = opts.label}}
  if type(series[1]) ~= "table" or series[1].values == nil then
    options.raise("graft.plot.histogram: give values = {...} or series = {{values =, title =}, ...}")
  end
  local bins = opts.bins
  local kept, left_out, lo, hi = {}, 0, math.huge, -math.huge
  for i, s in ipairs(series) do
    local values = tensor_of(s.values, "series[" .. i .. "].values")
    local out = 0
    if values then kept[i], out = core.histogram_values(values, opts.log10) end
    left_out = left_out + out
    if kept[i] then lo, hi = math.min(lo, kept[i]:min()), math.max(hi, kept[i]:max()) end
  end
  if lo > hi then error("plot.histogram: no values to count", 2) end
  if opts.range then
    lo, hi = opts.range[1], opts.range[2]
  elseif lo == hi then
    lo, hi = lo - 0.5, hi + 0.5
  end
  local width = (hi - lo) / bins
  local figure = {blocks = {}, commands = axes(opts)}
  local clauses = {}
  for i, s in ipairs(series) do
    local counts = kept[i] and core.histogram(kept[i], bins, lo, hi) or {}
    local total = kept[i] and kept[i]:numel() or 0
    local block = {}
    for b = 1, bins do
      local count = counts[b] or 0
      block[b] = {lo + (b - 0.5) * width, opts.normalize and (total > 0 and count / total or 0) or count, width}
    end
    figure.blocks[i] = block
    clauses[i] = string.format("$DATA index %d using 1:2:3 with boxes %s", i - 1, title_of(s.title))
  end
  if left_out > 0 and not opts.title then
    table.insert(figure.commands, 1, "set title " .. q(string.format("%d values %s not shown",
      left_out, opts.log10 and "<= 0 or not finite" or "not finite")))
  end
  if not opts.ylabel then
    figure.commands[#figure.commands + 1] = "set ylabel " .. q(opts.normalize and "fraction" or "count")
  end
  if not opts.xlabel then
    local what = series[1].title or opts.label or "value"
    figure.commands[#figure.commands + 1] = "set xlabel " .. q(opts.log10 and ("log10(" .. what .. ")") or what)
  end
  figure.commands[#figure.commands + 1] = "set style fill transparent solid 0.45 border"
  figure.commands[#figure.commands + 1] = "plot " .. table.concat(clauses, ", \\\n  ")
  return render(figure, opts)
end

-- Grouped bars: labels = {...} (one group per label), series = {{values =,
-- err =, title =}, ...} with one value per label; err draws error bars.
function plot.bars(opts)
  opts = specs.bars:check(opts)
  local series = check_series(opts, "bars")
  local labels = opts.labels
  if #labels == 0 then options.raise("graft.plot.bars: labels must name the groups") end
  local figure = {blocks = {}, commands = axes(opts)}
  local group_width = 0.8
  local width = group_width / #series
  local clauses = {}
  for i, s in ipairs(series) do
    local values = numbers(s.values, "series[" .. i .. "].values")
    local err = s.err and numbers(s.err, "series[" .. i .. "].err")
    if #values ~= #labels or (err and #err ~= #labels) then
      error(string.format("plot.bars: series[%d] has %d values%s for %d labels", i, #values,
                          err and (" and " .. #err .. " err") or "", #labels), 2)
    end
    local block = {}
    for j, v in ipairs(values) do
      block[j] = {j - group_width / 2 + (i - 0.5) * width, v, width, err and err[j] or 0}
    end
    figure.blocks[i] = block
    clauses[#clauses + 1] = string.format("$DATA index %d using 1:2:3 with boxes lc %d %s",
                                          i - 1, i, title_of(s.title))
    if err then
      clauses[#clauses + 1] = string.format("$DATA index %d using 1:2:4 with yerrorbars "
                                            .. "lc rgb 'black' pt 7 ps 0.3 notitle", i - 1)
    end
  end
  local c = figure.commands
  c[#c + 1] = tics("xtics", labels, 1, opts.width)
  c[#c + 1] = string.format("set xrange [0.4:%g]", #labels + 0.6)
  c[#c + 1] = "set style fill solid 0.7 border -1"
  c[#c + 1] = "set grid noxtics"
  c[#c + 1] = "plot " .. table.concat(clauses, ", \\\n  ")
  return render(figure, opts)
end

-- Heat map of a matrix (rows of equal length): matrix = {{...}, ...},
-- rows = {labels}, columns = {labels}, cblabel (the colour scale), and
-- cbrange = {lo, hi}. Row 1 is drawn at the top.
function plot.heatmap(opts)
  opts = specs.heatmap:check(opts)
  local rows = {}
  local matrix = opts.matrix
  if type(matrix) == "userdata" then matrix = matrix:totable() end
  if #matrix == 0 then options.raise("graft.plot.heatmap: matrix must be a non-empty array of rows") end
  for r, row in ipairs(matrix) do
    rows[r] = numbers(row, "matrix[" .. r .. "]")
    if #rows[r] ~= #rows[1] then
      error(string.format("plot.heatmap: row %d has %d values, row 1 has %d", r, #rows[r], #rows[1]), 2)
    end
  end
  local figure = {blocks = {{}}, commands = axes(opts)}
  local block = figure.blocks[1]
  for r, row in ipairs(rows) do -- x y z scans, one per row, for `with image`
    for cidx, v in ipairs(row) do block[#block + 1] = {cidx, r, v} end
    block[#block + 1] = ""
  end
  local c = figure.commands
  c[#c + 1] = "unset grid"
  c[#c + 1] = string.format("set xrange [0.5:%g]", #rows[1] + 0.5)
  c[#c + 1] = string.format("set yrange [%g:0.5]", #rows + 0.5)
  if opts.rows then c[#c + 1] = tics("ytics", opts.rows) end
  if opts.columns then c[#c + 1] = tics("xtics", opts.columns, nil, opts.width) end
  if opts.cblabel then c[#c + 1] = "set cblabel " .. q(opts.cblabel) end
  c[#c + 1] = range_text(opts.cbrange, "cbrange")
  c[#c + 1] = "set palette " .. opts.palette
  if #rows >= 2 and #rows[1] >= 2 then
    c[#c + 1] = "plot $DATA using 1:2:3 with image notitle"
  else -- `with image` needs a 2x2 grid at least
    c[#c + 1] = "set style fill solid 1.0 noborder"
    c[#c + 1] = "plot $DATA using 1:2:(0.5):(0.5):3 with boxxyerror fillcolor palette notitle"
  end
  -- rows and columns label the cells here, they are not a text picture's size
  local picture = {}
  for k, v in pairs(opts) do picture[k] = v end
  picture.rows, picture.columns = opts.text_rows, opts.text_columns
  return render(figure, picture)
end

doc(plot.lines, [[graft.plot.lines{series = {{x =, y =, title =, err =, style =, axis =}, ...}, ...} -> file
Line plots; x defaults to 1..#y, err draws error bars, style "lines" |
"linespoints" | "points", axis = "y2" uses the right axis (y2label, y2range).
Options:
]] .. specs.lines:describe())
doc(plot.histogram, [[graft.plot.histogram{values = {...} | series = {{values =, title =}}, bins = 30, ...} -> file
Histograms over a common range.
Options:
]] .. specs.histogram:describe())
doc(plot.bars, [[graft.plot.bars{labels = {...}, series = {{values =, err =, title =}, ...}, ...} -> file
Grouped bars, one group per label, with error bars where err is given.
Options:
]] .. specs.bars:describe())
doc(plot.heatmap, [[graft.plot.heatmap{matrix = {{...}, ...}, rows =, columns =, cblabel =, cbrange =} -> file
A matrix as coloured cells, row 1 at the top; rows/columns label them.
Options:
]] .. specs.heatmap:describe())

-- the options of each function, which the paper's figures take some of
plot.specs = specs

return plot
