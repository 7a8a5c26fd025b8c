-- The paper's pictures, drawn with the generic plots: the adaptive coefficient
-- (Fig. 4), invalid-filter ratios (Fig. 6), information against the number of
-- networks (Fig. 7), l1 histograms, training curves and alpha over grafting rounds.
local core = require "graft.core"
local doc = require "graft.doc"
local options = require "graft.options"
local figure = require "graft.plot.figure"
local generic = require "graft.plot.generic"

local numbers, tensor_of, passed = figure.numbers, figure.tensor_of, figure.passed

local plot = {}

local function as_list(v) return type(v) == "table" and v or {v} end

local NETS = { "nets", "table", help = "{{title =, net =}, ...}: the networks' conv filters" }
local NORMS = { "series", "table", help = "{{title =, l1 = {per-filter norms}}, ...} instead of nets" }
-- the histogram's bins and normalize, 40 bins by default
local counts = generic.specs.histogram:pick("graft.plot.l1_histogram", { "normalize", bins = { default = 40 } })

-- Each figure's own options, then every picture's, with the figure's titles and
-- axes as their defaults.
local specs = {
  alpha_curve = figure.spec("graft.plot.alpha_curve", {
    { "A", "number|table", default = 0.4, help = "A of eq. 7, or a list of them" },
    { "c", "number|table", default = 500, help = "c of eq. 7, or a list of them" },
    { "range", "number", default = 0.05, min = 1e-12, help = "the entropy differences drawn, -range to range" },
  }, { title = { default = "adaptive coefficient (eq. 7)" }, xlabel = { default = "H(self) - H(other)" },
       ylabel = { default = "alpha" }, yrange = { default = { 0, 1 } } }),
  invalid_ratio = figure.spec("graft.plot.invalid_ratio", {
    NETS, NORMS,
    { "thresholds", "table", default_help = "1e-5 .. 1, four per decade", help = "the thresholds of l1 norms" },
  }, { title = { default = "filters whose l1 norm is under the threshold" }, xlabel = { default = "threshold" },
       ylabel = { default = "ratio of filters" }, logx = { default = true }, yrange = { default = { 0, 1 } } }),
  information = figure.spec("graft.plot.information", {
    { "networks", "table|tensor", required = true, help = "the numbers of networks grafted together" },
    { "information", "table|tensor", required = true, help = "the network information of each" },
    { "accuracy", "table|tensor", required = true, help = "the test accuracy (%) of each" },
    { "information_err", "table|tensor", help = "the spread of information (error bars)" },
    { "accuracy_err", "table|tensor", help = "the spread of accuracy (error bars)" },
    { "y2label", "string", default = "test accuracy (%)", help = "the right axis's label" },
  }, { title = { default = "information and accuracy against the number of networks" },
       xlabel = { default = "number of networks" },
       ylabel = { default = "network information (sum of layer entropies)" },
       xrange = { default_help = "{0.5, the most networks + 0.5}" } }),
  l1_histogram = figure.spec("graft.plot.l1_histogram", {
    NETS, NORMS, counts:option("bins"), counts:option("normalize"),
  }, { xlabel = { default = "log10(l1 norm of a filter)" } }),
  training_curves = figure.spec("graft.plot.training_curves", {
    { "histories", "table", required = true, help = "per-epoch histories, one per network (graft.run's result.histories)" },
    { "metric", "string", default = "test_top1", help = "the field of the records drawn" },
    { "titles", "table", help = "the networks' titles" },
  }, { title = { default_help = "'<metric> per epoch'" }, xlabel = { default = "epoch" },
       ylabel = { default_help = "the metric" } }),
  alpha_rounds = figure.spec("graft.plot.alpha_rounds", {
    { "log", "table", required = true, help = "the grafting records of a run (graft.run's result.log)" },
    { "network", "integer", default = 1, min = 1, help = "the network whose alphas are shown" },
    generic.specs.heatmap:option("cbrange"),
  }, { title = { default_help = "'alpha per layer, network <network>'" }, xlabel = { default = "grafting round" },
       height = { default_help = "14 pixels a layer, at least 500" } }),
}

-- Fig. 4: the adaptive coefficient (graft.alpha, unrounded) against the
-- entropy difference d = H(self) - H(other), for each A and c given (numbers or
-- lists; defaults 0.4 and 500); range: d from -range to range (default 0.05).
function plot.alpha_curve(opts)
  opts = specs.alpha_curve:check(opts)
  local range, steps = opts.range, 400
  local series = {}
  for _, A in ipairs(as_list(opts.A)) do
    for _, c in ipairs(as_list(opts.c)) do
      local x, y = {}, {}
      for i = 0, steps do
        local d = -range + 2 * range * i / steps
        x[#x + 1], y[#y + 1] = d, core.alpha(d, 0, A, c)
      end
      series[#series + 1] = {x = x, y = y, style = "lines", title = string.format("A = %g, c = %g", A, c)}
    end
  end
  return generic.lines(passed(opts, {series = series}))
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
  opts = specs.invalid_ratio:check(opts)
  local thresholds = opts.thresholds or log_thresholds(1e-5, 1, 4)
  local entries = {} -- {title, of = a network or a tensor of norms (nil: none)}
  for i, e in ipairs(opts.series or {}) do
    entries[#entries + 1] = {title = e.title, of = tensor_of(e.l1, "series[" .. i .. "].l1")}
  end
  for _, n in ipairs(opts.nets or {}) do entries[#entries + 1] = {title = n.title, of = n.net} end
  if #entries == 0 then options.raise("graft.plot.invalid_ratio: give nets = {{title =, net =}} or series = {{title =, l1 =}}") end
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
  return generic.lines(passed(opts, {series = series}))
end

-- Fig. 7: network information (sum of layer entropies) and test accuracy
-- against the number of networks grafted together. networks = {1, 2, ...},
-- information = {...}, accuracy = {...}, and optionally information_err,
-- accuracy_err (spread over seeds).
function plot.information(opts)
  opts = specs.information:check(opts)
  return generic.lines(passed(opts, {series = {
      {x = opts.networks, y = opts.information, err = opts.information_err, title = "information"},
      {x = opts.networks, y = opts.accuracy, err = opts.accuracy_err, title = "test accuracy (%)", axis = "y2"}},
    y2label = opts.y2label,
    xrange = opts.xrange or {0.5, math.max(table.unpack(numbers(opts.networks, "networks"))) + 0.5}}))
end

-- Histograms of the per-filter l1 norms (log10) of the conv filters of
-- networks: nets = {{title =, net =}, ...} or series = {{title =, l1 =}, ...};
-- bins (default 40), normalize. Norms of 0 (filters of zeros) are counted in the
-- title, as graft.l1_histogram leaves them out.
function plot.l1_histogram(opts)
  opts = specs.l1_histogram:check(opts)
  local series = {}
  for _, e in ipairs(opts.series or {}) do series[#series + 1] = {title = e.title, values = e.l1} end
  for _, n in ipairs(opts.nets or {}) do series[#series + 1] = {title = n.title, values = core.conv_filter_l1(n.net)} end
  if #series == 0 then options.raise("graft.plot.l1_histogram: give nets = {{title =, net =}} or series = {{title =, l1 =}}") end
  return generic.histogram(passed(opts, {series = series, log10 = true, bins = opts.bins,
                                         normalize = opts.normalize}))
end

-- Training curves of several networks: histories = {history, ...} (each an
-- array of per-epoch tables, as graft.train returns), metric (a field of those
-- tables, default "test_top1"), titles = {...}.
function plot.training_curves(opts)
  opts = specs.training_curves:check(opts)
  if #opts.histories == 0 then
    options.raise("graft.plot.training_curves: histories must be an array of per-epoch histories")
  end
  local metric = opts.metric
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
  return generic.lines(passed(opts, {series = series, title = opts.title or (metric .. " per epoch"),
                                     ylabel = opts.ylabel or metric}))
end

-- Alpha per layer over grafting rounds, as a heat map: log = the grafting
-- records ({round =, network =, layer =, alpha =}, as graft.run returns),
-- network (1-based, default 1).
function plot.alpha_rounds(opts)
  opts = specs.alpha_rounds:check(opts)
  local network = opts.network
  local layers, layer_index, rounds, round_index, cells = {}, {}, {}, {}, {}
  for _, r in ipairs(opts.log) do
    if r.network == network then
      if not layer_index[r.layer] then layers[#layers + 1] = r.layer; layer_index[r.layer] = #layers end
      if not round_index[r.round] then rounds[#rounds + 1] = r.round; round_index[r.round] = #rounds end
      cells[layer_index[r.layer] .. ":" .. round_index[r.round]] = r.alpha
    end
  end
  if #layers == 0 then options.raise("graft.plot.alpha_rounds: no records for network " .. network) end
  local matrix = {}
  for l = 1, #layers do
    matrix[l] = {}
    for k = 1, #rounds do matrix[l][k] = cells[l .. ":" .. k] or 0 / 0 end
  end
  local round_labels = {}
  for k, r in ipairs(rounds) do round_labels[k] = tostring(r) end
  -- rows and columns of the heat map are its labels; the caller's are a text size
  return generic.heatmap(passed(opts, {matrix = matrix, rows = layers, columns = round_labels, cblabel = "alpha",
                      cbrange = opts.cbrange, title = opts.title or ("alpha per layer, network " .. network),
                      height = opts.height or math.max(500, 14 * #layers + 120),
                      text_rows = opts.rows, text_columns = opts.columns}))
end

doc(plot.alpha_curve, [[graft.plot.alpha_curve{A = 0.4 | {...}, c = 500 | {...}, range = 0.05} -> file
Fig. 4: alpha (eq. 7) against H(self) - H(other), one curve per A and c.
Options:
]] .. specs.alpha_curve:describe())
doc(plot.invalid_ratio, [[graft.plot.invalid_ratio{nets = {{title =, net =}} | series = {{title =, l1 =}}, thresholds =} -> file
Fig. 6: the ratio of conv filters with l1 norm under a threshold, against the
threshold (default 1e-5 .. 1, log scale).
Options:
]] .. specs.invalid_ratio:describe())
doc(plot.information, [[graft.plot.information{networks =, information =, accuracy =, information_err =, accuracy_err =} -> file
Fig. 7: network information (left axis) and test accuracy (right axis) against
the number of networks grafted together.
Options:
]] .. specs.information:describe())
doc(plot.l1_histogram, [[graft.plot.l1_histogram{nets = {{title =, net =}} | series = {{title =, l1 =}}, bins = 40} -> file
Histograms of log10 of the conv filters' l1 norms; norms of 0 are counted in the title.
Options:
]] .. specs.l1_histogram:describe())
doc(plot.training_curves, [[graft.plot.training_curves{histories = {...}, metric = "test_top1", titles =} -> file
One curve per network of a per-epoch metric (result.histories of graft.run).
Options:
]] .. specs.training_curves:describe())
doc(plot.alpha_rounds, [[graft.plot.alpha_rounds{log = result.log, network = 1} -> file
Heat map of alpha per layer (rows) over grafting rounds (columns).
Options:
]] .. specs.alpha_rounds:describe())

return plot
