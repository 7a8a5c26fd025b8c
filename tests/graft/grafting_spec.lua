-- The Lua face of grafting (lua/graft/grafting.lua over src/lua/l_graft.c):
-- values checked by hand, the ring of real ResNets, the analysis tables and the
-- errors a user sees. Run by tests/lua/run.lua in the graft executable.
local graft = require "graft"
local core = graft.core
local G = require "graft.grafting"

local function resnet8(seed)
  return core.resnet_cifar { depth = 8, classes = 10, in_channels = 1, image_size = 28, seed = seed }
end

-- Whether two networks hold the same parameters and statistics, bit for bit; else
-- the first tensor that differs.
local function same_state(x, y)
  for name, t in pairs(x:parameters()) do
    if (t - y:parameters()[name]):abs_sum() ~= 0 then return false, name end
  end
  for name, t in pairs(x:buffers()) do
    local u = y:buffers()[name]
    if type(t) == "number" then
      if t ~= u then return false, name end
    elseif (t - u):abs_sum() ~= 0 then
      return false, name
    end
  end
  return true
end

-- Sets conv filter f (1-based) of a [out, 1, 3, 3] weight to `value` everywhere.
local function set_filter(weight, f, value)
  for i = 1, 3 do
    for j = 1, 3 do weight[f][1][i][j] = value end
  end
end

describe("criteria", function()
  it("entropy of known vectors: the maximum lands in the last bin, constant is 0", function()
    expect.near(graft.entropy(core.tensor { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }), math.log(10), 1e-12)
    expect.near(graft.entropy(core.tensor { 0, 0, 0, 1 }), 0.5623351446188083, 1e-12)
    expect.eq(graft.entropy(core.tensor { 2, 2, 2 }), 0)
    expect.near(graft.entropy(core.tensor { 0, 0.4, 0.6, 1, 1 }, 2), 0.6730116670092565, 1e-12)
  end)

  it("per-filter l1 and entropy, layer information by eq. 5 and eq. 6", function()
    expect.near(graft.l1(core.tensor { { 1, -2, 3 }, { -0.5, 0, 0.5 } }):totable(), { 6, 1 }, 1e-6)
    local fe = graft.filter_entropy(core.tensor { { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 } })
    expect.near(fe:totable(), { math.log(10), 0 }, 1e-6)
    local w = core.tensor { { 0, 1 }, { 2, 3 } }
    expect.near(graft.layer_entropy(w, 10, "sum"), 2 * math.log(2), 1e-12, "eq. 5")
    expect.near(graft.layer_entropy(w), math.log(4), 1e-12, "eq. 6")
    expect.near(graft.layer_l1(w), 6, 1e-12)
  end)

  it("refuses what it cannot measure", function()
    local w = core.tensor { { 0, 1 }, { 2, 3 } }
    expect.error(function() graft.layer_entropy(w, 10, "mean") end, "'layer' or 'sum'")
    expect.error(function() graft.entropy(core.tensor { 1, 0 / 0 }) end, { "not finite", "index 1" })
    expect.error(function() graft.entropy(w, 0) end, "bins")
  end)

  it("histogram with the last bin closed", function()
    local counts, edges = graft.histogram(core.tensor { 0, 0.25, 0.5, 1 }, 4)
    expect.eq(counts, { 1, 1, 1, 1 })
    expect.near(edges, { 0, 0.25, 0.5, 0.75, 1 }, 1e-12)
  end)
end)

describe("the adaptive coefficient (eq. 7)", function()
  it("at known differences and at its bounds", function()
    expect.eq(graft.alpha(1, 1), 0.5)
    expect.near(graft.alpha(1, 0), 0.6997453524305827, 1e-12, "0.5 + 0.4/pi atan(500)")
    expect.near(graft.alpha(1, 0, 0.4, 500, true), 0.7, 1e-12, "rounded")
    expect.near(graft.alpha(0, 1e9), 0.3, 1e-6, "lower bound")
    expect.near(graft.alpha(1, 0, 1, 1), 0.75, 1e-12, "A = 1, c = 1: 0.5 + atan(1)/pi")
  end)

  it("refuses inputs that are not finite, naming the argument", function()
    expect.error(function() graft.alpha(0 / 0, 1) end, { "graft.alpha", "argument 1 (h_self)", "finite" })
    expect.error(function() graft.alpha(1, math.huge) end, "argument 2 (h_other) is inf")
    expect.error(function() graft.alpha(1, 0, 0 / 0) end, "argument 3 (A)")
    expect.error(function() graft.alpha(1, 0, 0.4, -math.huge) end, "argument 4 (c) is -inf")
  end)
end)

describe("the ring", function()
  it("leaves two networks identical, with alpha(-d) = 1 - alpha(d) in the log", function()
    local a, b = resnet8(1), resnet8(2)
    expect.truthy(not same_state(a, b), "different initialisations")
    local records = graft.graft_ring { a, b }
    local half = #records // 2
    expect.eq(half, 8, "7 convs and the linear layer of ResNet-8, per network")
    expect.eq(records[1].layer, "conv1.weight")
    expect.eq(records[half].layer, "linear.weight")
    for i = 1, half do
      local r, s = records[i], records[half + i]
      expect.eq({ r.network, r.source, s.network, s.source }, { 1, 2, 2, 1 }, "ring order")
      expect.eq(r.layer, s.layer)
      expect.near(r.alpha + s.alpha, 1, 1e-6, "alpha(-d) = 1 - alpha(d)")
      expect.truthy(r.alpha >= 0.3 - 1e-6 and r.alpha <= 0.7 + 1e-6, "alpha within (0.3, 0.7)")
      expect.eq(r.entropy_self, s.entropy_other)
    end
    local ok, where = same_state(a, b)
    expect.truthy(ok, "identical after the round, differ at " .. tostring(where))
  end)

  it("mixes with a fixed alpha from the previous network's state before the round", function()
    local n1, n2, n3 = resnet8(11), resnet8(12), resnet8(13)
    local b1 = n1:parameters()["linear.bias"]:totable()
    local b2 = n2:parameters()["linear.bias"]:totable()
    local b3 = n3:parameters()["linear.bias"]:totable()
    graft.graft_ring({ n1, n2, n3 }, { alpha = 0.8 })
    local after1 = n1:parameters()["linear.bias"]:totable()
    local after2 = n2:parameters()["linear.bias"]:totable()
    for i = 1, #after1 do
      expect.near(after1[i], 0.8 * b1[i] + 0.2 * b3[i], 1e-6, "network 1 takes from 3")
      expect.near(after2[i], 0.8 * b2[i] + 0.2 * b1[i], 1e-6, "network 2 takes from 1 as it was")
    end
  end)

  it("measures how far apart its networks are", function()
    -- the reference: squared sums over the flattened parameters, in Lua doubles
    local function flatten(t, out)
      for _, v in ipairs(t) do
        if type(v) == "table" then flatten(v, out) else out[#out + 1] = v end
      end
      return out
    end
    local function squared(net_x, net_y)
      local xs, names = net_x:parameters()
      local ys = net_y and net_y:parameters()
      local total = 0
      for _, name in ipairs(names) do
        local x = flatten(xs[name]:totable(), {})
        local y = ys and flatten(ys[name]:totable(), {})
        for i, v in ipairs(x) do total = total + (v - (y and y[i] or 0)) ^ 2 end
      end
      return total
    end
    local n1, n2, n3 = resnet8(21), resnet8(22), resnet8(23)
    expect.eq(graft.distance(n1, resnet8(21)), 0)
    expect.near(graft.distance(n1, n2), math.sqrt(squared(n1, n2) / squared(n2)), 1e-6)
    -- alpha = 0.5: network 1 becomes (W1 + W3) / 2, network 2 (W2 + W1) / 2, so
    -- they differ by (W3 - W2) / 2
    local half_apart = math.sqrt(squared(n3, n2)) / 2
    graft.graft_ring({ n1, n2, n3 }, { alpha = 0.5 })
    expect.near(graft.distance(n1, n2), half_apart / math.sqrt(squared(n2)), 1e-6)
    local m1, m2 = resnet8(24), resnet8(25)
    graft.graft_ring { m1, m2 }
    expect.eq(graft.distance(m1, m2), 0, "two networks are identical after a round")
    expect.error(function()
      graft.distance(n1, graft.models.resnet { depth = 14, in_channels = 1, image_size = 28 })
    end, "graft.distance: the networks have 23 and 41 parameter tensors")
    expect.error(function()
      graft.distance(n1, graft.models.resnet { depth = 8, in_channels = 3, image_size = 28 })
    end, { "graft.distance: parameter 'conv1.weight'", "differ" })
  end)

  it("refuses what it cannot graft", function()
    local n1 = resnet8(1)
    expect.error(function() graft.graft_ring { n1, "x" } end, "graft.Net")
    expect.error(function()
      graft.graft_ring { n1, graft.models.resnet { depth = 14, in_channels = 1, image_size = 28 } }
    end, "network 1")
    expect.error(function() graft.graft_ring({ n1, resnet8(2) }, { criterion = "l2" }) end,
      "graft.graft_ring: option 'criterion': 'entropy', 'entropy_sum' or 'l1' expected, got \"l2\"")
    expect.error(function() graft.graft_ring {} end, "list of networks")
    -- options of other functions are refused, naming the function and the option
    local message = expect.error(function() graft.graft_ring({ n1, resnet8(2) }, { scion = "bogus" }) end,
      "graft.graft_ring: unknown option 'scion' (options: criterion, bins, A, c, round, alpha, "
        .. "alpha_rule, filter_level, filter_rule)")
    expect.error(function() graft.graft_ring({ n1, resnet8(2) }, { alpha_rule = "keys" }) end,
      "graft.graft_ring: option 'alpha_rule': 'conv_keys' or 'every_conv' expected, got \"keys\"")
    expect.error(function() graft.graft_ring({ n1, resnet8(2) }, { filter_rule = "bn" }) end,
      "graft.graft_ring: option 'filter_rule': 'gamma' or 'criterion' expected, got \"bn\"")
    expect.contains(message, "grafting_spec.lua:", "the position of the call")
    expect.error(function() graft.graft_ring({ n1, resnet8(2) }, { alpha = 1.5 }) end,
      "graft.graft_ring: option 'alpha': a number in [0, 1] expected, got 1.5")
    expect.error(function() graft.graft_ring({ n1, resnet8(2) }, { bins = 0 }) end,
      "graft.graft_ring: option 'bins': an integer in [1, 1000000] expected, got 0")
  end)

  it("logs alphas as their two decimals and takes the filter rules by name", function()
    local a, b = resnet8(31), resnet8(32)
    for _, r in ipairs(graft.graft_ring { a, b }) do
      expect.eq(r.alpha, math.floor(r.alpha * 100 + 0.5) / 100, "alpha of " .. r.layer)
    end
    -- gamma rule: the linear layer is not mixed, the BatchNorms with their gammas
    local c, d = resnet8(33), resnet8(34)
    local linear = c:parameters()["linear.weight"]:totable()
    local records = graft.graft_ring({ c, d }, { filter_level = true })
    expect.eq(c:parameters()["linear.weight"]:totable(), linear)
    expect.eq(records[#records // 2].alpha, 1)
    local e, f = resnet8(35), resnet8(36)
    graft.graft_ring({ e, f }, { filter_level = true, filter_rule = "criterion" })
    expect.truthy(same_state(e, f), "the criterion rule leaves two networks identical")
  end)
end)

describe("analysis and internal scions", function()
  it("counts invalid filters per layer and in total", function()
    local net = resnet8(5)
    local conv1 = net:parameters()["conv1.weight"]
    set_filter(conv1, 1, 0)
    set_filter(conv1, 2, 1e-4)
    local inv = graft.invalid_filters(net, 1e-2)
    expect.eq(inv.invalid, 2)
    expect.eq(inv.layers[1].name, "conv1.weight")
    expect.eq({ inv.layers[1].invalid, inv.layers[1].filters }, { 2, 16 })
    expect.near(inv.ratio, 2 / inv.filters, 1e-12)
    expect.eq(graft.filter_l1(net):numel(), inv.filters)
    expect.truthy(graft.information(net) > 0)
    local hist = graft.l1_histogram(net, { bins = 8 })
    expect.error(function() graft.l1_histogram(net, { bins = 0 }) end,
      "graft.l1_histogram: option 'bins': an integer in [1, 1000000] expected, got 0")
    expect.error(function() graft.l1_histogram(net, { bin = 8 }) end, "graft.l1_histogram: unknown option 'bin'")
    expect.error(function() graft.l1_histogram(net, { lo = 1, hi = 0 }) end, "lo (1) must be below hi (0)")
    local total = 0
    for _, c in ipairs(hist.counts) do total = total + c end
    -- the filter of zeros has no log10: left out and counted apart, not binned
    expect.eq({ total, hist.left_out }, { inv.filters - 1, 1 }, "every filter, binned or left out")
    expect.near(hist.edges[1], math.log(1e-4 * 9, 10), 1e-5, "the range starts at the smallest norm")
    local ratios, filters = graft.invalid_ratios(net, { 0, 1e-5, 1e-2, 1e9 })
    expect.eq(filters, inv.filters)
    expect.near(ratios[3], inv.ratio, 1e-15, "one threshold as graft.invalid_filters counts it")
    expect.eq({ ratios[1], ratios[2], ratios[4] }, { 0, 1 / filters, 1 })
    -- internal scions revive both
    local entries = graft.graft_round({ net }, { scion = "internal", gamma = 1e-2 }, 1)
    expect.eq({ entries[1].grafted, entries[1].scion, entries[1].round }, { 2, "internal", 1 })
    expect.eq(graft.invalid_filters(net, 1e-2).invalid, 0)
  end)

  it("counts the filters the reference counts", function()
    -- the README's MobileNetV2 denominator: 17,088 filters without the projection
    -- shortcuts (layers.N.shortcut.0), 17,544 with them; ResNet-32: 1,136
    local mobilenet = graft.models.mobilenetv2 {}
    expect.eq(graft.invalid_filters(mobilenet, 1e-2).filters, 17088)
    local every = graft.invalid_filters(mobilenet, 1e-2, "every_conv")
    expect.eq({ every.filters, every.rule }, { 17544, "every_conv" })
    expect.eq(graft.invalid_filters(graft.models.resnet { depth = 32 }, 1e-2).filters, 1136)
    expect.error(function() graft.invalid_filters(mobilenet, 1e-2, "convs") end,
      "rule must be 'conv_keys' or 'every_conv', got 'convs'")
    -- the l1 norms and their histograms count the same filters, by the same rule
    expect.eq(graft.filter_l1(mobilenet):numel(), 17088)
    expect.eq(graft.filter_l1(mobilenet, "every_conv"):numel(), 17544)
    local norms = graft.filter_l1(mobilenet)
    -- a threshold halfway between two norms of the counted filters (the tensor holds
    -- them as floats), above about half of them
    local sorted = norms:totable()
    table.sort(sorted)
    local half = #sorted // 2
    while sorted[half + 1] - sorted[half] < 1e-6 * sorted[half] do half = half + 1 end
    local threshold = (sorted[half] + sorted[half + 1]) / 2
    local ratios = graft.invalid_ratios(norms, { threshold })
    expect.near(ratios[1], graft.invalid_filters(mobilenet, threshold).ratio, 1e-15,
      "invalid filters counted among the norms as graft.invalid_filters counts them")
    local function binned(opts)
      local hist = graft.l1_histogram(mobilenet, opts)
      local total = hist.left_out
      for _, c in ipairs(hist.counts) do total = total + c end
      return total
    end
    expect.eq({ binned(), binned { rule = "every_conv" } }, { 17088, 17544 })
    expect.error(function() graft.filter_l1(mobilenet, "convs") end,
      "graft.filter_l1: rule must be 'conv_keys' or 'every_conv', got 'convs'")
  end)

  it("noise scions with sigma = a^t, other scions and errors", function()
    local net = resnet8(5)
    set_filter(net:parameters()["conv1.weight"], 3, 0)
    local entries = graft.graft_round({ net }, { scion = "noise", gamma = 1e-2, a = 0.5, seed = 3 }, 2)
    expect.eq({ entries[1].grafted, entries[1].sigma }, { 1, 0.25 })
    expect.eq(graft.invalid_filters(net, 1e-2).invalid, 0)
    expect.eq(#graft.graft_round({ net, resnet8(6) }, { scion = "none" }, 1), 0)
    expect.error(function() graft.graft_round({ net }, { scion = "grass" }, 1) end,
      "graft.graft_round: option 'scion': 'none', 'noise', 'internal' or 'external' expected, got \"grass\"")
    expect.error(function() graft.graft_round({ net }, { scion = "noise", sigma = 2 }, 1) end,
      "graft.graft_round: unknown option 'sigma'")
    expect.error(function() graft.graft_round({ net }, {}, 0) end,
      "graft.graft_round: argument 3 (round): an integer >= 1 expected, got 0")
  end)
end)
