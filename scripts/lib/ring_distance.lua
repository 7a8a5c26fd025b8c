-- How far apart the networks of a ring stay over the grafting rounds, and how
-- network 1's accuracy follows (docs/results.md, "Why rings of three or more
-- networks fall behind"). Run by scripts/ring_distance:
--   graft scripts/lib/ring_distance.lua [--subset N] [--epochs N] [--seed N] [--nets 2,3,4,8]
local graft = require "graft"

local opts = { subset = 500, epochs = 5, seed = 1, nets = "2,3,4,8" }
for i = 1, #arg, 2 do
  local key, value = arg[i]:match("^%-%-(.+)$"), arg[i + 1]
  if opts[key] == nil or value == nil then
    error("ring_distance: unknown or incomplete option " .. tostring(arg[i]) ..
      " (options: --subset N, --epochs N, --seed N, --nets K1,K2,...)")
  end
  if key ~= "nets" then
    value = math.tointeger(tonumber(value))
    if not value or value < 1 then error("ring_distance: --" .. key .. " needs a positive integer") end
  end
  opts[key] = value
end

local ring_sizes = {}
for K in opts.nets:gmatch("[^,]+") do
  K = math.tointeger(tonumber(K))
  if not K or K < 2 then error("ring_distance: --nets lists ring sizes of at least 2, got " .. opts.nets) end
  ring_sizes[#ring_sizes + 1] = K
end

local data = graft.data.fashion_mnist { subset = opts.subset, test_subset = 1000 }
print(string.format("ResNet-20, first %d Fashion-MNIST images, 1000 test images, %d epochs, "
  .. "entropy grafting, own order and learning rate, seed %d", opts.subset, opts.epochs, opts.seed))
print()
print("| K | distance of network 1 to network K after each round | test top-1 % of network 1 after each epoch |")
print("|---|---|---|")
for _, K in ipairs(ring_sizes) do
  local result = graft.run { model = "resnet20", dataset = data, nets = K, epochs = opts.epochs,
                             seed = opts.seed, quiet = true, ensemble = false, test_before = false }
  local distances, accuracies = {}, {}
  for epoch, record in ipairs(result.histories[1]) do
    distances[epoch] = string.format("%.3f", record.distance)
    accuracies[epoch] = string.format("%.1f", record.test_top1)
  end
  print(string.format("| %d | %s | %s |", K, table.concat(distances, ", "), table.concat(accuracies, ", ")))
end
