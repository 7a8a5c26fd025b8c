-- graft scripts/bench/loader.lua [batches]: does training wait for data?
-- Trains ResNet-20 for a number of batches with the background loader (batch 128,
-- random crops and flips) and reports, per batch: the loader thread's preparation
-- time, the training step's time, and how long the step loop waited for a batch.
local core = graft.core
local cli = require "graft.options"
local spec = cli.spec("loader", { { "batches", "integer", default = 30, min = 1, help = "batches to train" } })
local parser = cli.parser("loader", "Does training wait for data? Per batch times of ResNet-20's loader and step.")
local batches = spec:check(cli.parse_or_exit(spec:add_arguments(parser, { { "batches", positional = true } }), arg)).batches

local function cifar_like(dir, count)
  -- CIFAR-10 binary records with random pixels: the reader and loader do the same
  -- work as on the real files, which this machine does not have
  core.make_dirs(dir)
  local rng = 12345
  local function byte()
    rng = (rng * 1103515245 + 12345) % 2147483648
    return rng >> 16 & 255
  end
  local names = { "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                  "data_batch_5.bin", "test_batch.bin" }
  for _, name in ipairs(names) do
    local f = assert(io.open(dir .. "/" .. name, "wb"))
    local per_file = name == "test_batch.bin" and 128 or count // 5
    for _ = 1, per_file do
      local pixels = {}
      for p = 1, 3072 do pixels[p] = string.char(byte()) end
      f:write(string.char(byte() % 10), table.concat(pixels))
    end
    f:close()
  end
end

local function measure(name, data)
  local net = graft.models.resnet { data = data }
  local loader = core.loader(data.train, { batch = 128, shuffle = true, pad = data.pad, flip = true })
  local sgd = core.sgd { net = net, momentum = 0.9, weight_decay = 5e-4 }
  local steps, step_seconds = 0, 0
  local start = core.monotonic_seconds()
  while steps < batches do
    loader:start_epoch()
    while steps < batches do
      local t0 = core.monotonic_seconds()
      local n = core.train_step(net, sgd, loader, 0.1)
      if not n then break end
      step_seconds = step_seconds + (core.monotonic_seconds() - t0)
      steps = steps + 1
    end
  end
  local total = core.monotonic_seconds() - start
  local timing = loader:timing()
  -- the first batch is always waited for (nothing was prepared before the epoch)
  print(string.format("%-14s %7d %12.2f %12.1f %12.3f %10.2f%% %10.0f", name, steps,
    1000 * timing.prepare_seconds / timing.batches, 1000 * step_seconds / steps,
    1000 * timing.wait_seconds / steps, 100 * timing.wait_seconds / total, 128 * steps / total))
  loader:close()
  sgd:close()
end

print(string.format("%-14s %7s %12s %12s %12s %11s %10s", "data", "batches", "prepare_ms",
  "step_ms", "wait_ms", "wait_share", "images/s"))
print("(per batch of 128; step_ms includes the wait; ResNet-20, crops and flips)")
measure("fashion-mnist", graft.data.fashion_mnist { subset = 128 * batches, test_subset = 128 })
local dir = os.tmpname()
os.remove(dir)
cifar_like(dir, 128 * batches)
measure("cifar-shaped", graft.data.cifar10 { dir = dir })
core.remove_tree(dir)
