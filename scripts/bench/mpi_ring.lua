-- graft scripts/bench/mpi_ring.lua ROUNDS BATCHES, under mpirun -np 2: the time of a
-- grafting round of a ResNet-56 ring spread over two processes (the exchange of one
-- network's state with the neighbours, then the mixing of the process's network
-- behind the ghost) against the time of a training epoch of one ResNet-56 on all of
-- Fashion-MNIST (batch 128: 469 batches), from BATCHES timed batches. Each round
-- starts together on both processes (a gathering before it), so that its time is
-- its own and not a wait for the other's training. Rank 0 prints key=value lines.
local core = graft.core
local function count(text, default, least, what)
  if text == nil then return default end
  local n = math.tointeger(tonumber(text))
  if not n or n < least then
    error(string.format("mpi_ring.lua: %s: an integer >= %d expected, got '%s'", what, least, text), 0)
  end
  return n
end
local rounds = count(arg[1], 5, 1, "ROUNDS")
-- a first batch warms up; the time is that of the others
local batches = count(arg[2], 20, 2, "BATCHES")
local BATCH, TRAIN_IMAGES = 128, 60000

local rank, size = core.mpi_init()
assert(size == 2, "run under mpirun -np 2")
local data = graft.data.fashion_mnist { subset = BATCH * batches, test_subset = 100 }
local net = graft.models.build("resnet56", { data = data, seed = 100 + rank + 1 })
local ghost = graft.models.build("resnet56", { data = data, seed = 0 })
local trainer = graft.trainer { net = net, data = data, epochs = 1, batch = BATCH, quiet = true,
                                stream = rank + 1 }

local function median(values)
  table.sort(values)
  return values[(#values + 1) // 2]
end

-- training: the batches after a first (warm-up) one
trainer:train_batch()
local start = core.monotonic_seconds()
for _ = 2, batches do trainer:train_batch() end
local per_batch = (core.monotonic_seconds() - start) / (batches - 1)
trainer:close()

local ring = { scion = "external", criterion = "entropy" }
local block = { first = rank + 1, networks = size, ghost = ghost }
local exchanges, mixings = {}, {}
for round = 1, rounds do
  core.mpi_allgather("")
  local t0 = core.monotonic_seconds()
  core.mpi_exchange_net(net, (rank + 1) % size, ghost, (rank - 1) % size, "the benchmark's state")
  local t1 = core.monotonic_seconds()
  graft.graft_round({ net }, ring, round, block)
  local t2 = core.monotonic_seconds()
  exchanges[round], mixings[round] = t1 - t0, t2 - t1
end

local exchange, mixing = median(exchanges), median(mixings)
local parts = core.mpi_allgather(string.format("%.6f %.6f %.6f", exchange, mixing, per_batch))
if rank == 0 then
  local worst = { 0, 0, 0 }
  for _, part in ipairs(parts) do
    local i = 0
    for value in part:gmatch("%S+") do
      i = i + 1
      worst[i] = math.max(worst[i], tonumber(value))
    end
  end
  -- the slower process sets the pace of both
  local epoch = math.ceil(TRAIN_IMAGES / BATCH) * worst[3]
  local round = worst[1] + worst[2]
  local values = 0
  local parameters, buffers = net:parameters(), (net:buffers())
  for _, part in ipairs { parameters, buffers } do
    for _, t in pairs(part) do
      if type(t) ~= "number" then values = values + t:numel() end
    end
  end
  print(string.format("state_mb=%.2f (parameters and BatchNorm statistics of ResNet-56)",
    4 * values / 1e6))
  print(string.format("exchange_ms=%.2f mixing_ms=%.2f round_ms=%.2f batch_s=%.4f epoch_s=%.1f "
    .. "round_fraction_of_epoch=%.4f%%", 1000 * worst[1], 1000 * worst[2], 1000 * round,
    worst[3], epoch, 100 * round / epoch))
end
