-- How far apart the networks of a ring stay over the grafting rounds, and how
-- network 1's accuracy follows (docs/results.md, "Why rings of three or more
-- networks fall behind"). Run by scripts/ring_distance:
--   graft scripts/lib/ring_distance.lua [--subset N] [--epochs N] [--seed N] [--nets 2,3,4,8]
local graft = require "graft"

local cli = require "graft.options"

-- "2,3,4,8" -> {2, 3, 4, 8}, or nil when it is not a list of ring sizes (>= 2)
local function ring_sizes_of(text)
  local sizes = {}
  for item in text:gmatch("[^,]+") do
    local K = math.tointeger(tonumber(item))
    if not K or K < 2 then return nil end
    sizes[#sizes + 1] = K
  end
  return #sizes > 0 and sizes or nil
end

local spec = cli.spec("ring_distance", {
  { "subset", "integer", default = 500, min = 1, help = "the first n Fashion-MNIST training images" },
  { "epochs", "integer", default = 5, min = 1, help = "epochs (one grafting round after each)" },
  { "seed", "integer", default = 1, min = 1, help = "seed of the runs" },
  { "nets", "string", default = "2,3,4,8", help = "the ring sizes to measure",
    check = function(text) if not ring_sizes_of(text) then return "ring sizes >= 2, as in 2,3,4,8" end end },
})
local parser = cli.parser("ring_distance", "How far apart the networks of a ring stay over the grafting rounds.")
local opts = spec:check(cli.parse_or_exit(spec:add_arguments(parser, { "subset", "epochs", "seed", "nets" }), arg))
local ring_sizes = ring_sizes_of(opts.nets)

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
