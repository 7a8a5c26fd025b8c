-- Filter grafting from Lua (the paper's section 3): criteria, the adaptive
-- coefficient, scions and the ring of K networks, and the analysis of invalid
-- filters. The numerical work is in C (src/graft, bound in src/lua/l_graft.c);
-- this module gives it the workbench's names and one place per grafting round.
local core = require "graft.core"
local doc = require "graft.doc"
local options = require "graft.options"

local M = {}

-- The options of one round of external grafting (graft.graft_ring), and those of
-- a grafting round of any scion (graft.graft_round, graft.run).
M.ring_options = options.spec("graft.graft_ring", {
  { "criterion", "string", default = "entropy", choices = { "entropy", "entropy_sum", "l1" },
    help = "a layer's information: entropy of the layer (eq. 6), sum of its filters' "
      .. "entropies (eq. 5) or l1 norm" },
  { "bins", "integer", default = 10, min = 1, max = 1000000, help = "histogram bins of the entropy" },
  { "A", "number", default = 0.4, help = "A of the adaptive coefficient (eq. 7)" },
  { "c", "number", default = 500, help = "c of the adaptive coefficient (eq. 7)" },
  { "round", "boolean", default = true, help = "round alpha to 2 decimals" },
  { "alpha", "number", min = 0, max = 1, default_help = "eq. 7", help = "a fixed alpha instead of eq. 7" },
  { "alpha_rule", "string", default = "conv_keys", choices = { "conv_keys", "every_conv" },
    help = "which convs compute an alpha: those named *conv* (the reference's rule: "
      .. "MobileNetV2's shortcut.0 takes its block's conv3 alpha), or every conv" },
  { "filter_level", "boolean", default = false, help = "graft filter by filter, not layer by layer" },
  { "filter_rule", "string", default = "gamma", choices = { "gamma", "criterion" },
    help = "at filter level: the reference's BatchNorm gamma weights |g| / (|g| + |g'|), or "
      .. "eq. 7 on each filter's criterion" },
})
M.round_options = M.ring_options:pick("graft.graft_round", {
  "criterion", "bins", "A", "c", "round", "alpha", "alpha_rule", "filter_level", "filter_rule",
}):add { "scion", "string", default = "external", choices = { "none", "noise", "internal", "external" },
         help = "where the information comes from: nothing, noise, the network's own filters, "
           .. "the previous network of the ring" }
  :add { "gamma", "number", default = 1e-2, min = 0, help = "l1 under which a filter takes a noise or internal scion" }
  :add { "a", "number", default = 0.9, min = 0, help = "sigma of the noise scion: a^round" }
  :add { "seed", "integer", default = 1, help = "seed of the noise scion" }

-- The options of graft_ring taken from o (checked options of either spec).
local function ring_part(o)
  local ring = {}
  for _, option in ipairs(M.ring_options.list) do ring[option.name] = o[option.name] end
  return ring
end

local function check_net_list(nets, what)
  if type(nets) ~= "table" or #nets < 1 then
    options.raise(string.format("%s: argument 1: a list of networks expected, got %s", what,
      type(nets) == "table" and "an empty table" or options.show(nets)))
  end
end

M.l1 = doc(core.l1, [=[
graft.l1(t) -> tensor of per-filter l1 norms (eq. 3); filters along the first dimension.]=])

M.entropy = doc(core.entropy, [=[
graft.entropy(t [, bins = 10]) -> entropy of all values of t (eq. 4 for a filter,
eq. 6 for a layer); last bin closed, a constant tensor gives 0.]=])

M.filter_entropy = doc(core.filter_entropy, [=[
graft.filter_entropy(t [, bins]) -> tensor of per-filter entropies (eq. 4).]=])

M.layer_entropy = doc(function(t, bins, how)
  how = how or "layer"
  if how ~= "layer" and how ~= "sum" then
    error(string.format("graft.layer_entropy: how must be 'layer' or 'sum', got '%s'", tostring(how)), 2)
  end
  return core.layer_information(t, how == "layer" and "entropy" or "entropy_sum", bins)
end, [=[
graft.layer_entropy(t [, bins [, how]]) -> a layer's information: how = "layer"
(default, eq. 6: entropy of the whole weight) or "sum" (eq. 5: sum of filter entropies).]=])

M.layer_l1 = doc(function(t) return core.layer_information(t, "l1") end, [=[
graft.layer_l1(t) -> l1 norm of a whole layer (the l1 criterion of Table 3).]=])

M.alpha = doc(core.alpha, [=[
graft.alpha(h_self, h_other [, A = 0.4, c = 500 [, round = false]]) -> eq. 7:
A/pi * atan(c (h_self - h_other)) + 0.5; round = true rounds to 2 decimals as the
ring does by default. Every argument must be finite.]=])

M.histogram = doc(core.histogram, [=[
graft.histogram(t, bins [, lo, hi]) -> counts, edges (bins + 1 of them); last bin closed.]=])

M.invalid_filters = doc(core.invalid_filters, [=[
graft.invalid_filters(net, threshold [, rule = "conv_keys"]) -> {filters, invalid,
ratio, threshold, rule, layers = {{name, filters, invalid, ratio}, ...}}: conv
filters whose l1 < threshold. "conv_keys" counts the convs the reference counts
(named *conv*: MobileNetV2's projection shortcuts are left out); "every_conv" all.]=])

M.information = doc(core.information, [=[
graft.information(net [, bins]) -> sum over conv layers of the layer entropy (Fig. 7).]=])

M.filter_l1 = doc(core.conv_filter_l1, [=[
graft.filter_l1(net [, rule = "conv_keys"]) -> tensor of the l1 norms of the conv
filters graft.invalid_filters counts with that rule, in node order ("every_conv":
every conv filter).]=])

M.invalid_ratios = doc(core.invalid_ratios, [=[
graft.invalid_ratios(net | l1_norms, {thresholds} [, rule = "conv_keys"]) -> ratios,
filters: for each threshold, the fraction of the conv filters graft.invalid_filters
counts (or of the given l1 norms) under it (Fig. 6).]=])

local l1_histogram_options = options.spec("graft.l1_histogram", {
  { "bins", "integer", default = 20, min = 1, max = 1000000, help = "bins between lo and hi" },
  { "log", "boolean", default = true, help = "count log10(l1) instead of l1" },
  { "lo", "number", default_help = "the smallest value", help = "left edge of the first bin" },
  { "hi", "number", default_help = "the largest value", help = "right edge of the last bin" },
  { "rule", "string", default = "conv_keys", choices = { "conv_keys", "every_conv" },
    help = "the convs counted, as graft.invalid_filters counts them" },
})

M.l1_histogram = doc(function(net, opts)
  opts = l1_histogram_options:check(opts)
  if opts.lo and opts.hi and not (opts.lo < opts.hi) then
    options.raise(string.format("graft.l1_histogram: lo (%g) must be below hi (%g)", opts.lo, opts.hi))
  end
  local log = opts.log
  local values, left_out = core.histogram_values(core.conv_filter_l1(net, opts.rule), log)
  if not values then
    options.raise("graft.l1_histogram: no conv filter has a " .. (log and "positive" or "finite") .. " l1 norm")
  end
  local counts, edges = core.histogram(values, opts.bins, opts.lo, opts.hi)
  return {counts = counts, edges = edges, log = log, left_out = left_out}
end, [=[
graft.l1_histogram(net [, opts]) -> {counts, edges, log, left_out}:
the distribution of the conv filters' l1 norms (the filters graft.invalid_filters
counts with the rule); with log, of log10(l1). A filter of
zeros (l1 = 0) has no logarithm: it is left out, and left_out counts such filters.
Options:
]=] .. l1_histogram_options:describe())

M.distance = doc(function(net, other)
  local mine, names = net:parameters()
  local theirs, their_names = other:parameters()
  if #names ~= #their_names then
    error(string.format("graft.distance: the networks have %d and %d parameter tensors", #names,
      #their_names), 2)
  end
  local squared_difference, squared_norm = 0, 0
  for _, name in ipairs(names) do
    local x, y = mine[name], theirs[name]
    if not y then error(string.format("graft.distance: the other network has no parameter '%s'", name), 2) end
    local ok, difference = pcall(function() return x - y end)
    if not ok then error(string.format("graft.distance: parameter '%s': %s", name, difference), 2) end
    squared_difference = squared_difference + (difference * difference):sum()
    squared_norm = squared_norm + (y * y):sum()
  end
  return math.sqrt(squared_difference / squared_norm)
end, [=[
graft.distance(net, other) -> ||W_net - W_other|| / ||W_other|| over all parameters
(not the BatchNorm statistics): how far apart two networks of a ring are. Two
grafted networks are 0 apart after every round (alpha(-d) = 1 - alpha(d)); with
K > 2 the rounds bring the networks together only gradually.]=])

M.scion_noise = doc(core.scion_noise, [=[
graft.scion_noise(net, gamma, sigma, seed [, stream]) -> number of filters grafted:
N(0, sigma) into every conv filter with l1 < gamma (3.1.1).]=])

M.scion_internal = doc(core.scion_internal, [=[
graft.scion_internal(net, gamma) -> number of filters grafted: per layer, the i-th
largest filter added into the i-th smallest filter under gamma (3.1.2).]=])

M.graft_ring = doc(function(nets, opts)
  check_net_list(nets, "graft.graft_ring")
  local records = core.graft_ring(nets, M.ring_options:check(opts))
  return records
end, [=[
graft.graft_ring(nets [, opts]) -> records. One round of external grafting over the
ring: network k takes from k - 1, network 1 from K, all from the states before the
round. Each record: {network, source, layer, alpha, info_self, info_other,
entropy_self, entropy_other, l1_self, l1_other}.
Options:
]=] .. M.ring_options:describe())

M.graft_round = doc(function(nets, opts, round, block)
  check_net_list(nets, "graft.graft_round")
  opts = M.round_options:check(opts)
  if math.type(round) ~= "integer" or round < 1 then
    options.raise("graft.graft_round: argument 3 (round): an integer >= 1 expected, got " .. options.show(round))
  end
  -- network i of nets is network first + i - 1 of the ring
  local first = block and block.first or 1
  local scion = opts.scion
  local entries = {}
  if scion == "external" and block and block.ghost then
    -- an open chain behind the ghost: the block is mixed as in the whole ring
    local chain = { block.ghost }
    for i, net in ipairs(nets) do chain[i + 1] = net end
    entries = core.graft_chain(chain, ring_part(opts))
    for _, e in ipairs(entries) do
      e.network = first + e.network - 2
      e.source = e.network == 1 and block.networks or e.network - 1
    end
  elseif scion == "external" then
    entries = core.graft_ring(nets, ring_part(opts))
  elseif scion == "noise" or scion == "internal" then
    local gamma = opts.gamma
    for i, net in ipairs(nets) do
      local k = first + i - 1
      local entry = {network = k}
      if scion == "noise" then
        entry.sigma = opts.a ^ round
        -- one stream per network and round, so that runs are reproducible
        entry.grafted = core.scion_noise(net, gamma, entry.sigma, opts.seed, k * 100000 + round)
      else
        entry.grafted = core.scion_internal(net, gamma)
      end
      entries[#entries + 1] = entry
    end
  end
  for _, e in ipairs(entries) do
    e.round = round
    e.scion = scion
  end
  return entries
end, [=[
graft.graft_round(nets, opts, round [, block]) -> log entries of one grafting round
(round counts from 1). opts.scion chooses the source of information:
  "none"      nothing (the baseline)
  "external"  graft.graft_ring(nets, opts)
  "noise"     each network: N(0, a^round) into filters with l1 < gamma
  "internal"  each network: graft.scion_internal(net, gamma)
Every entry carries round and scion; external entries are graft_ring's records,
the others {network, grafted = filters changed, sigma (noise)}.
block = {first, networks, ghost}: nets are networks first.. of a ring of `networks`
(a process's share of a ring spread over MPI, graft.run): entries and noise streams
take those numbers, and an external round grafts nets as an open chain behind ghost,
the state of network first - 1 before the round (graft.core.graft_chain).
Options:
]=] .. M.round_options:describe())

return M
