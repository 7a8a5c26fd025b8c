-- The Lua face of grafting (lua/graft/grafting.lua over src/lua/l_graft.c):
-- values checked by hand, the ring of two real ResNets ending identical, the
-- analysis tables and the errors a user sees. Runs in the graft executable.
local core = require "graft.core"
local G = require "graft.grafting"

local failures = 0
local function check(cond, message)
  if not cond then
    failures = failures + 1
    io.stderr:write("FAIL: ", message, "\n", debug.traceback(), "\n")
  end
end
local function near(a, b, tol, message)
  check(math.abs(a - b) <= tol, string.format("%s: %.10g vs %.10g", message, a, b))
end
local function fails_with(fn, fragment, message)
  local ok, err = pcall(fn)
  check(not ok and tostring(err):find(fragment, 1, true), message .. ": " .. tostring(err))
end

-- criteria
near(G.entropy(core.tensor{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}), math.log(10), 1e-12, "0..9, max in the last bin")
near(G.entropy(core.tensor{0, 0, 0, 1}), 0.5623351446188083, 1e-12, "three in bin 1, one in bin 10")
check(G.entropy(core.tensor{2, 2, 2}) == 0, "constant tensor")
near(G.entropy(core.tensor{0, 0.4, 0.6, 1, 1}, 2), 0.6730116670092565, 1e-12, "two bins")
local l1 = G.l1(core.tensor{{1, -2, 3}, {-0.5, 0, 0.5}}):totable()
near(l1[1], 6, 1e-6, "l1 filter 1")
near(l1[2], 1, 1e-6, "l1 filter 2")
local fe = G.filter_entropy(core.tensor{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}):totable()
near(fe[1], math.log(10), 1e-6, "filter entropy 1")
check(fe[2] == 0, "filter entropy 2")
local w = core.tensor{{0, 1}, {2, 3}}
near(G.layer_entropy(w, 10, "sum"), 2 * math.log(2), 1e-12, "eq. 5")
near(G.layer_entropy(w), math.log(4), 1e-12, "eq. 6")
near(G.layer_l1(w), 6, 1e-12, "layer l1")
fails_with(function() G.layer_entropy(w, 10, "mean") end, "'layer' or 'sum'", "bad how")
fails_with(function() G.entropy(core.tensor{1, 0 / 0}) end, "not finite", "NaN")
fails_with(function() G.entropy(w, 0) end, "bins", "zero bins")

-- eq. 7
check(G.alpha(1, 1) == 0.5, "alpha at d = 0")
near(G.alpha(1, 0), 0.6997453524305827, 1e-12, "alpha at d = 1")
near(G.alpha(1, 0, 0.4, 500, true), 0.7, 1e-12, "rounded")
near(G.alpha(0, 1e9), 0.3, 1e-6, "lower bound")
near(G.alpha(1, 0, 1, 1), 0.75, 1e-12, "A = 1, c = 1")

local counts, edges = G.histogram(core.tensor{0, 0.25, 0.5, 1}, 4)
check(#counts == 4 and counts[1] == 1 and counts[4] == 1 and #edges == 5 and edges[5] == 1, "histogram")

-- the ring of two ResNet-8 networks
local function resnet(seed)
  return core.resnet_cifar{depth = 8, classes = 10, in_channels = 1, image_size = 28, seed = seed}
end
local a, b = resnet(1), resnet(2)
local pa, pb = a:parameters(), b:parameters()
check(pa["conv1.weight"]:totable()[1][1][1][1] ~= pb["conv1.weight"]:totable()[1][1][1][1], "different inits")
local records = G.graft_ring({a, b})
check(#records % 2 == 0 and #records > 0, "two networks' records")
for i = 1, #records // 2 do
  local r, s = records[i], records[#records // 2 + i]
  check(r.network == 1 and r.source == 2 and s.network == 2 and s.source == 1, "ring order")
  check(r.layer == s.layer, "same layer")
  near(r.alpha + s.alpha, 1, 1e-6, "alpha(-d) = 1 - alpha(d)")
  check(r.alpha >= 0.3 - 1e-6 and r.alpha <= 0.7 + 1e-6, "alpha within bounds")
  check(r.entropy_self == s.entropy_other, "logged entropies")
end
check(records[1].layer == "conv1.weight" and records[#records // 2].layer == "linear.weight", "log layers")
-- identical after the round (parameters and running statistics)
local function same(x, y)
  for name, t in pairs(x:parameters()) do
    local u = y:parameters()[name]
    local d = (t - u):abs_sum()
    if d ~= 0 then return false, name end
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
local ok, where = same(a, b)
check(ok, "two networks identical after the round, differ at " .. tostring(where))

-- a fixed alpha of 0.8 with three networks: network 1 takes from network 3
local n1, n2, n3 = resnet(11), resnet(12), resnet(13)
local w1 = n1:parameters()["linear.bias"]:totable()
local w3 = n3:parameters()["linear.bias"]:totable()
G.graft_ring({n1, n2, n3}, {alpha = 0.8})
local after = n1:parameters()["linear.bias"]:totable()
for i = 1, #after do near(after[i], 0.8 * w1[i] + 0.2 * w3[i], 1e-6, "fixed alpha") end
fails_with(function() G.graft_ring({n1, "x"}) end, "graft.Net", "not a network")
fails_with(function() G.graft_ring({n1, core.resnet_cifar{depth = 14, in_channels = 1, image_size = 28}}) end,
           "network 1", "different architectures")
fails_with(function() G.graft_ring({n1, n2}, {criterion = "l2"}) end, "'l2'", "unknown criterion")

-- analysis: zero two filters of conv1, then count them
local net = resnet(5)
local conv1 = net:parameters()["conv1.weight"]
for i = 1, 9 do conv1[1][1][(i - 1) // 3 + 1][(i - 1) % 3 + 1] = 0 end
for i = 1, 9 do conv1[2][1][(i - 1) // 3 + 1][(i - 1) % 3 + 1] = 1e-4 end
local inv = G.invalid_filters(net, 1e-2)
check(inv.invalid == 2, "two invalid filters, got " .. inv.invalid)
check(inv.layers[1].name == "conv1.weight" and inv.layers[1].invalid == 2 and inv.layers[1].filters == 16,
      "per-layer count")
near(inv.ratio, 2 / inv.filters, 1e-12, "ratio")
check(G.information(net) > 0, "information")
local all = G.filter_l1(net)
check(all:numel() == inv.filters, "one l1 norm per conv filter")
local hist = G.l1_histogram(net, {bins = 8})
local total = 0
for _, c in ipairs(hist.counts) do total = total + c end
check(total == inv.filters and hist.log, "l1 histogram counts every filter")

-- scions through graft_round
local internal = G.graft_round({net}, {scion = "internal", gamma = 1e-2}, 1)
check(internal[1].grafted == 2 and internal[1].scion == "internal" and internal[1].round == 1, "internal round")
check(G.invalid_filters(net, 1e-2).invalid == 0, "internal scions revive the filters")
local noisy = resnet(5)
local c = noisy:parameters()["conv1.weight"]
for i = 1, 9 do c[3][1][(i - 1) // 3 + 1][(i - 1) % 3 + 1] = 0 end
local entries = G.graft_round({noisy}, {scion = "noise", gamma = 1e-2, a = 0.5, seed = 3}, 2)
check(entries[1].grafted == 1 and entries[1].sigma == 0.25, "noise round")
check(G.invalid_filters(noisy, 1e-2).invalid == 0, "noise revives the filter")
check(#G.graft_round({a, b}, {scion = "none"}, 1) == 0, "no scion")
fails_with(function() G.graft_round({a}, {scion = "grass"}, 1) end, "grass", "bad scion")

if failures > 0 then error(failures .. " check(s) failed") end
print("grafting_spec: ok")
