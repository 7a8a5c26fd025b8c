-- graft.plot: pictures through gnuplot (lua/graft/gnuplot.lua holds the session).
--
-- Every function takes one table. Common fields: title, xlabel, ylabel, logx,
-- logy, xrange = {lo, hi}, yrange, key (gnuplot key position such as "top left",
-- or false for none), out (a .png, .svg or .pdf file; without it: a window when
-- there is a display, otherwise text at the terminal), width, height (pixels).
-- Values are Lua arrays or tensors. Each function returns the file it made.
local core = require "graft.core"
local doc = require "graft.doc"
local gnuplot = require "graft.gnuplot"

local plot = {}
plot.gnuplot = gnuplot
plot.hooks = gnuplot.hooks -- hook(path, format, figure) after each picture file

local q = gnuplot.quote

---------------------------------------------------------------------------- values

-- A flat Lua array of numbers from an array (nested or not) or a tensor.
local function numbers(v, what)
  local kind = type(v)
  local totable = (kind == "userdata" or kind == "table") and pcall(function() return v.totable end)
                  and v.totable
  if type(totable) == "function" then
    v = v:totable()
  elseif kind ~= "table" then
    error(string.format("plot: %s must be an array of numbers or a tensor, got %s", what, kind), 3)
  end
  local flat = {}
  local function walk(t)
    for _, x in ipairs(t) do
      if type(x) == "table" then
        walk(x)
      elseif type(x) == "number" then
        flat[#flat + 1] = x
      else
        error(string.format("plot: %s holds a %s, not a number", what, type(x)), 4)
      end
    end
  end
  walk(v)
  return flat
end

local function sequence(n)
  local s = {}
  for i = 1, n do s[i] = i end
  return s
end

local function finite(x) return x == x and x ~= math.huge and x ~= -math.huge end

---------------------------------------------------------------------------- commands

local function title_of(t) return t and ("title " .. q(t)) or "notitle" end

local function range_text(r, name)
  if r == nil then return nil end
  if type(r) ~= "table" then error("plot: " .. name .. " must be {lo, hi}", 4) end
  local lo = r[1] and string.format("%.9g", r[1]) or ""
  local hi = r[2] and string.format("%.9g", r[2]) or ""
  return string.format("set %s [%s:%s]", name, lo, hi)
end

-- The settings shared by every figure.
local function axes(opts)
  local c = {}
  if opts.title then c[#c + 1] = "set title " .. q(opts.title) end
  if opts.xlabel then c[#c + 1] = "set xlabel " .. q(opts.xlabel) end
  if opts.ylabel then c[#c + 1] = "set ylabel " .. q(opts.ylabel) end
  if opts.logx then c[#c + 1] = "set logscale x"; c[#c + 1] = "set format x '%g'" end
  if opts.logy then c[#c + 1] = "set logscale y"; c[#c + 1] = "set format y '%g'" end
  c[#c + 1] = range_text(opts.xrange, "xrange")
  c[#c + 1] = range_text(opts.yrange, "yrange")
  if opts.key == false then
    c[#c + 1] = "unset key"
  else
    c[#c + 1] = "set key " .. (opts.key or "top right") .. " noenhanced"
  end
  if opts.grid ~= false then c[#c + 1] = "set grid" end
  return c
end

local function render(figure, opts)
  return gnuplot.render(figure, opts)
end

local function check_series(opts, name)
  if type(opts) ~= "table" then error("plot." .. name .. ": expected a table of options", 3) end
  local series = opts.series
  if type(series) ~= "table" or #series == 0 then
    error("plot." .. name .. ": series must be a non-empty array of {x =, y =, title =}", 3)
  end
  return series
end

---------------------------------------------------------------------------- basic plots

-- Line plots: series = {{x =, y =, title =, err =, style =, axis = "y2"}, ...}.
-- x defaults to 1..#y; err draws error bars; style is "lines", "linespoints"
-- or "points" (default: linespoints up to 40 points); axis = "y2" puts a series
-- on the right axis (labelled y2label).
function plot.lines(opts)
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
  if uses_y2 then
    figure.commands[#figure.commands + 1] = "set ytics nomirror"
    figure.commands[#figure.commands + 1] = "set y2tics"
    if opts.y2label then figure.commands[#figure.commands + 1] = "set y2label " .. q(opts.y2label) end
    figure.commands[#figure.commands + 1] = range_text(opts.y2range, "y2range")
  end
  figure.commands[#figure.commands + 1] = "plot " .. table.concat(clauses, ", \\\n  ")
  return render(figure, opts)
end

-- Bin edges and counts of values over [lo, hi] (the last bin closed).
local function bin_counts(values, bins, lo, hi)
  local counts = {}
  for b = 1, bins do counts[b] = 0 end
  local width = (hi - lo) / bins
  for _, v in ipairs(values) do
    if v >= lo and v <= hi then
      local b = width > 0 and math.floor((v - lo) / width) + 1 or 1
      if b > bins then b = bins end
      counts[b] = counts[b] + 1
    end
  end
  return counts, width
end

-- Histograms: values = {...} or series = {{values =, title =}, ...}; bins
-- (default 30), range = {lo, hi} (default: over all values), normalize = true
-- for fractions instead of counts, log10 = true to bin log10 of the values
-- (values <= 0 are left out and counted in the title).
function plot.histogram(opts)
  if type(opts) ~= "table" then error("plot.histogram: expected a table of options", 2) end
  local series = opts.series or {{values = opts.values, title = opts.label}}
  if series[1].values == nil then
    error("plot.histogram: give values = {...} or series = {{values =, title =}, ...}", 2)
  end
  local bins = opts.bins or 30
  local all, left_out = {}, 0
  for i, s in ipairs(series) do
    local values = numbers(s.values, "series[" .. i .. "].values")
    local kept = {}
    for _, v in ipairs(values) do
      if opts.log10 then
        if v > 0 then kept[#kept + 1] = math.log(v, 10) else left_out = left_out + 1 end
      elseif finite(v) then
        kept[#kept + 1] = v
      end
    end
    series[i] = {values = kept, title = s.title}
    for _, v in ipairs(kept) do all[#all + 1] = v end
  end
  if #all == 0 then error("plot.histogram: no values to count", 2) end
  local lo, hi = math.huge, -math.huge
  if opts.range then
    lo, hi = opts.range[1], opts.range[2]
  else
    for _, v in ipairs(all) do lo, hi = math.min(lo, v), math.max(hi, v) end
    if lo == hi then lo, hi = lo - 0.5, hi + 0.5 end
  end
  local figure = {blocks = {}, commands = axes(opts)}
  local clauses = {}
  for i, s in ipairs(series) do
    local counts, width = bin_counts(s.values, bins, lo, hi)
    local block = {}
    for b, count in ipairs(counts) do
      local value = opts.normalize and (#s.values > 0 and count / #s.values or 0) or count
      block[b] = {lo + (b - 0.5) * width, value, width}
    end
    figure.blocks[i] = block
    clauses[i] = string.format("$DATA index %d using 1:2:3 with boxes %s", i - 1, title_of(s.title))
  end
  if opts.log10 and left_out > 0 and not opts.title then
    table.insert(figure.commands, 1, "set title " .. q(left_out .. " values <= 0 not shown"))
  end
  if not opts.ylabel then
    figure.commands[#figure.commands + 1] = "set ylabel " .. q(opts.normalize and "fraction" or "count")
  end
  figure.commands[#figure.commands + 1] = "set style fill transparent solid 0.45 border"
  figure.commands[#figure.commands + 1] = "plot " .. table.concat(clauses, ", \\\n  ")
  return render(figure, opts)
end

local function tics(axis, labels, every)
  local entries = {}
  every = every or math.max(1, math.ceil(#labels / 30))
  for i, label in ipairs(labels) do
    if (i - 1) % every == 0 then entries[#entries + 1] = string.format("%s %d", q(label), i) end
  end
  return string.format("set %s (%s)", axis, table.concat(entries, ", "))
end

-- Grouped bars: labels = {...} (one group per label), series = {{values =,
-- err =, title =}, ...} with one value per label; err draws error bars.
function plot.bars(opts)
  local series = check_series(opts, "bars")
  local labels = opts.labels
  if type(labels) ~= "table" or #labels == 0 then
    error("plot.bars: labels must name the groups", 2)
  end
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
  c[#c + 1] = tics("xtics", labels, 1)
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
  if type(opts) ~= "table" or type(opts.matrix) ~= "table" or #opts.matrix == 0 then
    error("plot.heatmap: matrix must be a non-empty array of rows", 2)
  end
  local rows = {}
  local matrix = opts.matrix
  if type(matrix.totable) == "function" then matrix = matrix:totable() end
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
  if opts.columns then c[#c + 1] = tics("xtics", opts.columns) end
  if opts.cblabel then c[#c + 1] = "set cblabel " .. q(opts.cblabel) end
  c[#c + 1] = range_text(opts.cbrange, "cbrange")
  c[#c + 1] = "set palette " .. (opts.palette or "rgbformulae 33,13,10")
  if #rows >= 2 and #rows[1] >= 2 then
    c[#c + 1] = "plot $DATA using 1:2:3 with image notitle"
  else -- `with image` needs a 2x2 grid at least
    c[#c + 1] = "set style fill solid 1.0 noborder"
    c[#c + 1] = "plot $DATA using 1:2:(0.5):(0.5):3 with boxxyerror fillcolor palette notitle"
  end
  return render(figure, opts)
end

---------------------------------------------------------------------------- the paper's pictures

-- Per-filter l1 norms of every conv filter of a network (graft.filter_l1, the
-- same numbers as the invalid-filter analysis). graft is loaded on first use:
-- it loads this module itself.
local function filter_l1(net)
  return numbers(require("graft").filter_l1(net), "graft.filter_l1(net)")
end

local function as_list(v) return type(v) == "table" and v or {v} end

-- Fig. 4: the adaptive coefficient (graft.alpha, unrounded) against the
-- entropy difference d = H(self) - H(other), for each A and c given (numbers or
-- lists; defaults 0.4 and 500); range: d from -range to range (default 0.05).
function plot.alpha_curve(opts)
  opts = opts or {}
  local range, steps = opts.range or 0.05, 400
  local series = {}
  for _, A in ipairs(as_list(opts.A or 0.4)) do
    for _, c in ipairs(as_list(opts.c or 500)) do
      local x, y = {}, {}
      for i = 0, steps do
        local d = -range + 2 * range * i / steps
        x[#x + 1], y[#y + 1] = d, core.alpha(d, 0, A, c)
      end
      series[#series + 1] = {x = x, y = y, style = "lines", title = string.format("A = %g, c = %g", A, c)}
    end
  end
  return plot.lines{series = series, out = opts.out, width = opts.width, height = opts.height,
                    title = opts.title or "adaptive coefficient (eq. 7)", key = opts.key or "top left",
                    xlabel = opts.xlabel or "H(self) - H(other)", ylabel = opts.ylabel or "alpha",
                    yrange = opts.yrange or {0, 1}}
end

local function log_thresholds(lo, hi, per_decade)
  local t = {}
  for e = math.floor(math.log(lo, 10) * per_decade + 0.5), math.floor(math.log(hi, 10) * per_decade + 0.5) do
    t[#t + 1] = 10 ^ (e / per_decade)
  end
  return t
end

-- Fig. 6: the ratio of filters whose l1 norm is under a threshold, against the
-- threshold (log scale), for several networks side by side. Either
-- nets = {{title =, net =}, ...} (conv filters, l1 as graft.l1) or
-- series = {{title =, l1 = {per-filter norms}}, ...}; thresholds default to
-- 1e-5 .. 1 at four per decade.
function plot.invalid_ratio(opts)
  opts = opts or {}
  local thresholds = opts.thresholds or log_thresholds(1e-5, 1, 4)
  local entries = opts.series or {}
  for _, n in ipairs(opts.nets or {}) do entries[#entries + 1] = {title = n.title, l1 = filter_l1(n.net)} end
  if #entries == 0 then error("plot.invalid_ratio: give nets = {{title =, net =}} or series = {{title =, l1 =}}", 2) end
  local series = {}
  for i, e in ipairs(entries) do
    local l1 = numbers(e.l1, "series[" .. i .. "].l1")
    local ratio = {}
    for j, t in ipairs(thresholds) do
      local under = 0
      for _, v in ipairs(l1) do if v < t then under = under + 1 end end
      ratio[j] = #l1 > 0 and under / #l1 or 0
    end
    series[i] = {x = thresholds, y = ratio, title = string.format("%s (%d filters)", e.title or ("network " .. i), #l1)}
  end
  return plot.lines{series = series, logx = true, yrange = opts.yrange or {0, 1}, out = opts.out,
                    width = opts.width, height = opts.height, key = opts.key or "top left",
                    title = opts.title or "filters whose l1 norm is under the threshold",
                    xlabel = opts.xlabel or "threshold", ylabel = opts.ylabel or "ratio of filters"}
end

-- Fig. 7: network information (sum of layer entropies) and test accuracy
-- against the number of networks grafted together. networks = {1, 2, ...},
-- information = {...}, accuracy = {...}, and optionally information_err,
-- accuracy_err (spread over seeds).
function plot.information(opts)
  if type(opts) ~= "table" or not (opts.networks and opts.information and opts.accuracy) then
    error("plot.information: give networks =, information = and accuracy = arrays", 2)
  end
  return plot.lines{series = {
      {x = opts.networks, y = opts.information, err = opts.information_err, title = "information"},
      {x = opts.networks, y = opts.accuracy, err = opts.accuracy_err, title = "test accuracy (%)", axis = "y2"}},
    title = opts.title or "information and accuracy against the number of networks",
    xlabel = opts.xlabel or "number of networks", ylabel = opts.ylabel or "network information (sum of layer entropies)",
    y2label = opts.y2label or "test accuracy (%)", key = opts.key or "bottom right",
    xrange = {0.5, math.max(table.unpack(numbers(opts.networks, "networks"))) + 0.5},
    out = opts.out, width = opts.width, height = opts.height}
end

-- Histograms of the per-filter l1 norms (log10) of the conv filters of
-- networks: nets = {{title =, net =}, ...} or series = {{title =, l1 =}, ...};
-- bins (default 40), normalize.
function plot.l1_histogram(opts)
  opts = opts or {}
  local series = {}
  for _, e in ipairs(opts.series or {}) do series[#series + 1] = {title = e.title, values = e.l1} end
  for _, n in ipairs(opts.nets or {}) do series[#series + 1] = {title = n.title, values = filter_l1(n.net)} end
  if #series == 0 then error("plot.l1_histogram: give nets = {{title =, net =}} or series = {{title =, l1 =}}", 2) end
  return plot.histogram{series = series, log10 = true, bins = opts.bins or 40, out = opts.out,
                        width = opts.width, height = opts.height, title = opts.title,
                        xlabel = opts.xlabel or "log10(l1 norm of a filter)", ylabel = opts.ylabel,
                        normalize = opts.normalize}
end

-- Training curves of several networks: histories = {history, ...} (each an
-- array of per-epoch tables, as graft.train returns), metric (a field of those
-- tables, default "test_top1"), titles = {...}.
function plot.training_curves(opts)
  if type(opts) ~= "table" or type(opts.histories) ~= "table" or #opts.histories == 0 then
    error("plot.training_curves: histories must be an array of per-epoch histories", 2)
  end
  local metric = opts.metric or "test_top1"
  local series = {}
  for i, history in ipairs(opts.histories) do
    local x, y = {}, {}
    for e, record in ipairs(history) do
      local value = record[metric]
      if type(value) ~= "number" then
        error(string.format("plot.training_curves: history %d, epoch %d has no number %q", i, e, metric), 2)
      end
      x[#x + 1], y[#y + 1] = record.epoch or e, value
    end
    series[i] = {x = x, y = y, title = opts.titles and opts.titles[i] or ("network " .. i)}
  end
  return plot.lines{series = series, title = opts.title or (metric .. " per epoch"), xlabel = opts.xlabel or "epoch",
                    ylabel = opts.ylabel or metric, logy = opts.logy, yrange = opts.yrange, key = opts.key,
                    out = opts.out, width = opts.width, height = opts.height}
end

-- Alpha per layer over grafting rounds, as a heat map: log = the grafting
-- records ({round =, network =, layer =, alpha =}, as graft.run returns),
-- network (1-based, default 1).
function plot.alpha_rounds(opts)
  if type(opts) ~= "table" or type(opts.log) ~= "table" then
    error("plot.alpha_rounds: log must be the grafting records of a run", 2)
  end
  local network = opts.network or 1
  local layers, layer_index, rounds, round_index, cells = {}, {}, {}, {}, {}
  for _, r in ipairs(opts.log) do
    if r.network == network then
      if not layer_index[r.layer] then layers[#layers + 1] = r.layer; layer_index[r.layer] = #layers end
      if not round_index[r.round] then rounds[#rounds + 1] = r.round; round_index[r.round] = #rounds end
      cells[layer_index[r.layer] .. ":" .. round_index[r.round]] = r.alpha
    end
  end
  if #layers == 0 then error("plot.alpha_rounds: no records for network " .. network, 2) end
  local matrix = {}
  for l = 1, #layers do
    matrix[l] = {}
    for k = 1, #rounds do matrix[l][k] = cells[l .. ":" .. k] or 0 / 0 end
  end
  local round_labels = {}
  for k, r in ipairs(rounds) do round_labels[k] = tostring(r) end
  return plot.heatmap{matrix = matrix, rows = layers, columns = round_labels, cblabel = "alpha",
                      cbrange = opts.cbrange, title = opts.title or ("alpha per layer, network " .. network),
                      xlabel = opts.xlabel or "grafting round", out = opts.out,
                      width = opts.width, height = opts.height or math.max(500, 14 * #layers + 120)}
end

---------------------------------------------------------------------------- help texts

doc(plot, [[graft.plot: pictures through one gnuplot session
graft.plot.lines, histogram, bars, heatmap, and the paper's pictures: alpha_curve
(Fig. 4), invalid_ratio (Fig. 6), information (Fig. 7), l1_histogram,
training_curves, alpha_rounds. Common options: title, xlabel, ylabel, logx, logy,
xrange = {lo, hi}, yrange, key ("top left", false), out = "x.png" | "x.svg" |
"x.pdf" (without out: a window when there is a display, else text), width, height.
Without gnuplot the data and script are written next to out (x.dat, x.gp).]])
doc(plot.lines, [[graft.plot.lines{series = {{x =, y =, title =, err =, style =, axis =}, ...}, ...} -> file
Line plots; x defaults to 1..#y, err draws error bars, style "lines" |
"linespoints" | "points", axis = "y2" uses the right axis (y2label, y2range).]])
doc(plot.histogram, [[graft.plot.histogram{values = {...} | series = {{values =, title =}}, bins = 30, ...} -> file
Histograms over a common range (range = {lo, hi}); normalize = true for
fractions; log10 = true bins log10 of the positive values.]])
doc(plot.bars, [[graft.plot.bars{labels = {...}, series = {{values =, err =, title =}, ...}, ...} -> file
Grouped bars, one group per label, with error bars where err is given.]])
doc(plot.heatmap, [[graft.plot.heatmap{matrix = {{...}, ...}, rows =, columns =, cblabel =, cbrange =} -> file
A matrix as coloured cells, row 1 at the top; rows/columns label them.]])
doc(plot.alpha_curve, [[graft.plot.alpha_curve{A = 0.4 | {...}, c = 500 | {...}, range = 0.05} -> file
Fig. 4: alpha (eq. 7) against H(self) - H(other), one curve per A and c.]])
doc(plot.invalid_ratio, [[graft.plot.invalid_ratio{nets = {{title =, net =}} | series = {{title =, l1 =}}, thresholds =} -> file
Fig. 6: the ratio of conv filters with l1 norm under a threshold, against the
threshold (default 1e-5 .. 1, log scale).]])
doc(plot.information, [[graft.plot.information{networks =, information =, accuracy =, information_err =, accuracy_err =} -> file
Fig. 7: network information (left axis) and test accuracy (right axis) against
the number of networks grafted together.]])
doc(plot.l1_histogram, [[graft.plot.l1_histogram{nets = {{title =, net =}} | series = {{title =, l1 =}}, bins = 40} -> file
Histograms of log10 of the conv filters' l1 norms.]])
doc(plot.training_curves, [[graft.plot.training_curves{histories = {...}, metric = "test_top1", titles =} -> file
One curve per network of a per-epoch metric (result.histories of graft.run).]])
doc(plot.alpha_rounds, [[graft.plot.alpha_rounds{log = result.log, network = 1} -> file
Heat map of alpha per layer (rows) over grafting rounds (columns).]])

return plot
