-- The paper's pictures, drawn with the generic plots: the adaptive coefficient
-- (Fig. 4), invalid-filter ratios (Fig. 6), information against the number of
-- networks (Fig. 7), l1 histograms, training curves and alpha over grafting rounds.
local core = require "graft.core"
local doc = require "graft.doc"
local figure = require "graft.plot.figure"
local generic = require "graft.plot.generic"

local numbers, tensor_of = figure.numbers, figure.tensor_of

local plot = {}

local function as_list(v) return type(v) == "table" and v or {v} end

-- The options of the picture itself, as the caller gave them (file, size in pixels,
-- size in characters, text instead of a window), added to a generic plot's options.
local function picture(opts, t)
  for _, name in ipairs{"out", "width", "height", "rows", "columns", "text"} do
    if t[name] == nil then t[name] = opts[name] end
  end
  return t
end

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
  return generic.lines(picture(opts, {series = series,
                    title = opts.title or "adaptive coefficient (eq. 7)", key = opts.key,
                    xlabel = opts.xlabel or "H(self) - H(other)", ylabel = opts.ylabel or "alpha",
                    yrange = opts.yrange or {0, 1}}))
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
-- 1e-5 .. 1 at four per decade. The ratios are graft.invalid_ratios'.
function plot.invalid_ratio(opts)
  opts = opts or {}
  local thresholds = opts.thresholds or log_thresholds(1e-5, 1, 4)
  local entries = {} -- {title, of = a network or a tensor of norms (nil: none)}
  for i, e in ipairs(opts.series or {}) do
    entries[#entries + 1] = {title = e.title, of = tensor_of(e.l1, "series[" .. i .. "].l1")}
  end
  for _, n in ipairs(opts.nets or {}) do entries[#entries + 1] = {title = n.title, of = n.net} end
  if #entries == 0 then error("plot.invalid_ratio: give nets = {{title =, net =}} or series = {{title =, l1 =}}", 2) end
  local series = {}
  for i, e in ipairs(entries) do
    local ratio, filters = {}, 0
    if e.of then
      ratio, filters = core.invalid_ratios(e.of, thresholds)
    else
      for j in ipairs(thresholds) do ratio[j] = 0 end
    end
    series[i] = {x = thresholds, y = ratio, title = string.format("%s (%d filters)", e.title or ("network " .. i), filters)}
  end
  return generic.lines(picture(opts, {series = series, logx = true, yrange = opts.yrange or {0, 1},
                    key = opts.key,
                    title = opts.title or "filters whose l1 norm is under the threshold",
                    xlabel = opts.xlabel or "threshold", ylabel = opts.ylabel or "ratio of filters"}))
end

-- Fig. 7: network information (sum of layer entropies) and test accuracy
-- against the number of networks grafted together. networks = {1, 2, ...},
-- information = {...}, accuracy = {...}, and optionally information_err,
-- accuracy_err (spread over seeds).
function plot.information(opts)
  if type(opts) ~= "table" or not (opts.networks and opts.information and opts.accuracy) then
    error("plot.information: give networks =, information = and accuracy = arrays", 2)
  end
  return generic.lines(picture(opts, {series = {
      {x = opts.networks, y = opts.information, err = opts.information_err, title = "information"},
      {x = opts.networks, y = opts.accuracy, err = opts.accuracy_err, title = "test accuracy (%)", axis = "y2"}},
    title = opts.title or "information and accuracy against the number of networks",
    xlabel = opts.xlabel or "number of networks", ylabel = opts.ylabel or "network information (sum of layer entropies)",
    y2label = opts.y2label or "test accuracy (%)", key = opts.key,
    xrange = {0.5, math.max(table.unpack(numbers(opts.networks, "networks"))) + 0.5}}))
end

-- Histograms of the per-filter l1 norms (log10) of the conv filters of
-- networks: nets = {{title =, net =}, ...} or series = {{title =, l1 =}, ...};
-- bins (default 40), normalize. Norms of 0 (filters of zeros) are counted in the
-- title, as graft.l1_histogram leaves them out.
function plot.l1_histogram(opts)
  opts = opts or {}
  local series = {}
  for _, e in ipairs(opts.series or {}) do series[#series + 1] = {title = e.title, values = e.l1} end
  for _, n in ipairs(opts.nets or {}) do series[#series + 1] = {title = n.title, values = core.conv_filter_l1(n.net)} end
  if #series == 0 then error("plot.l1_histogram: give nets = {{title =, net =}} or series = {{title =, l1 =}}", 2) end
  return generic.histogram(picture(opts, {series = series, log10 = true, bins = opts.bins or 40,
                        title = opts.title, key = opts.key,
                        xlabel = opts.xlabel or "log10(l1 norm of a filter)", ylabel = opts.ylabel,
                        normalize = opts.normalize}))
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
  return generic.lines(picture(opts, {series = series, title = opts.title or (metric .. " per epoch"),
                    xlabel = opts.xlabel or "epoch", ylabel = opts.ylabel or metric, logy = opts.logy,
                    yrange = opts.yrange, key = opts.key}))
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
  return generic.heatmap(picture(opts, {matrix = matrix, rows = layers, columns = round_labels, cblabel = "alpha",
                      cbrange = opts.cbrange, title = opts.title or ("alpha per layer, network " .. network),
                      xlabel = opts.xlabel or "grafting round",
                      height = opts.height or math.max(500, 14 * #layers + 120)}))
end

doc(plot.alpha_curve, [[graft.plot.alpha_curve{A = 0.4 | {...}, c = 500 | {...}, range = 0.05} -> file
Fig. 4: alpha (eq. 7) against H(self) - H(other), one curve per A and c.]])
doc(plot.invalid_ratio, [[graft.plot.invalid_ratio{nets = {{title =, net =}} | series = {{title =, l1 =}}, thresholds =} -> file
Fig. 6: the ratio of conv filters with l1 norm under a threshold, against the
threshold (default 1e-5 .. 1, log scale).]])
doc(plot.information, [[graft.plot.information{networks =, information =, accuracy =, information_err =, accuracy_err =} -> file
Fig. 7: network information (left axis) and test accuracy (right axis) against
the number of networks grafted together.]])
doc(plot.l1_histogram, [[graft.plot.l1_histogram{nets = {{title =, net =}} | series = {{title =, l1 =}}, bins = 40} -> file
Histograms of log10 of the conv filters' l1 norms; norms of 0 are counted in the title.]])
doc(plot.training_curves, [[graft.plot.training_curves{histories = {...}, metric = "test_top1", titles =} -> file
One curve per network of a per-epoch metric (result.histories of graft.run).]])
doc(plot.alpha_rounds, [[graft.plot.alpha_rounds{log = result.log, network = 1} -> file
Heat map of alpha per layer (rows) over grafting rounds (columns).]])

return plot
