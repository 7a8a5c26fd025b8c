-- graft.run's ring spread over the processes of an MPI run (mpirun -np R graft ...):
-- process r (rank 0 .. R-1) holds the contiguous block of K/R networks first..last.
-- At a grafting round it sends the state of its last network to rank r+1 and
-- receives rank r-1's into a ghost network, then grafts its block as an open chain
-- behind the ghost (graft.core.graft_chain), which mixes every network to the bytes
-- of the one-process ring. Everything else is local, and the records of each round
-- and epoch are gathered so that every process holds the whole run's; rank 0 writes
-- the files and prints the tables. In one process the block is the whole ring, and
-- a gather returns this process's own part.
local core = require "graft.core"

local ranks = {}

local Place = {}
Place.__index = Place

-- Values to bytes and back, exactly (integers stay integers, floats keep every bit):
-- nil, booleans, numbers, strings and tables of them, without metatables.
local function pack(value, out)
  local kind = type(value)
  if value == nil then
    out[#out + 1] = "n"
  elseif kind == "boolean" then
    out[#out + 1] = value and "t" or "f"
  elseif math.type(value) == "integer" then
    out[#out + 1] = string.pack("<c1j", "i", value)
  elseif kind == "number" then
    out[#out + 1] = string.pack("<c1d", "d", value)
  elseif kind == "string" then
    out[#out + 1] = string.pack("<c1s4", "s", value)
  elseif kind == "table" then
    local count = 0
    for _ in pairs(value) do count = count + 1 end
    out[#out + 1] = string.pack("<c1I4", "T", count)
    for k, v in pairs(value) do
      pack(k, out)
      pack(v, out)
    end
  else
    error("graft.run: a " .. kind .. " cannot go to another process", 0)
  end
  return out
end

local function unpack_value(bytes, at)
  local tag = bytes:sub(at, at)
  if tag == "n" then return nil, at + 1 end
  if tag == "t" or tag == "f" then return tag == "t", at + 1 end
  if tag == "i" then return string.unpack("<j", bytes, at + 1) end
  if tag == "d" then return string.unpack("<d", bytes, at + 1) end
  if tag == "s" then return string.unpack("<s4", bytes, at + 1) end
  assert(tag == "T", "graft.run: unreadable data from another process")
  local count
  count, at = string.unpack("<I4", bytes, at + 1)
  local t = {}
  for _ = 1, count do
    local k, v
    k, at = unpack_value(bytes, at)
    v, at = unpack_value(bytes, at)
    t[k] = v
  end
  return t, at
end

-- This process's place in a run of K networks: {rank, size, first, last, root}.
-- Under mpirun with more than one process it joins the MPI job; K must then be a
-- multiple of the number of processes.
function ranks.place(K)
  local rank, size = 0, 1
  local launched = core.mpi_launched()
  if launched > 1 then
    if not core.mpi_built() then
      error(string.format("graft.run: started by mpirun as one of %d processes, but MPI support "
        .. "is not built into this graft (meson setup -Dmpi=enabled with libopenmpi-dev); run "
        .. "it without mpirun, or rebuild", launched), 0)
    end
    rank, size = core.mpi_init()
  end
  if K % size ~= 0 then
    error(string.format("graft.run: nets = %d networks cannot be shared by %d MPI processes: "
      .. "nets must be a multiple of the number of processes (mpirun -np)", K, size), 0)
  end
  local per = K // size
  local place = setmetatable({ rank = rank, size = size, K = K, first = rank * per + 1,
                               last = (rank + 1) * per, root = rank == 0 }, Place)
  -- the checkpoints' shared temporary folder is named after rank 0's process
  place.tag = place:gather(core.process_id())[1]
  return place
end

-- Every process's value, in rank order (a list of size values).
function Place:gather(value)
  if self.size == 1 then return { value } end
  local parts = core.mpi_allgather(table.concat(pack(value, {})))
  for r, bytes in ipairs(parts) do parts[r] = (unpack_value(bytes, 1)) end
  return parts
end

-- One table indexed by network from every process's table of its networks.
function Place:gather_networks(mine)
  if self.size == 1 then return mine end
  local all = {}
  for _, part in ipairs(self:gather(mine)) do
    for k, v in pairs(part) do all[k] = v end
  end
  return all
end

-- The entries of every process for one round: rank 0's, then rank 1's, ... which is
-- network order, as one process logs them.
function Place:gather_list(mine)
  if self.size == 1 then return mine end
  local all = {}
  for _, part in ipairs(self:gather(mine)) do
    for _, v in ipairs(part) do all[#all + 1] = v end
  end
  return all
end

-- Raises the same error on every process when the operation `what` failed on any:
-- ok, message are this process's pcall results.
function Place:check_all(what, ok, message)
  if self.size == 1 then
    if not ok then error(message, 0) end
    return
  end
  for r, outcome in ipairs(self:gather(ok and "" or tostring(message))) do
    if outcome ~= "" then
      error(string.format("graft.run: %s failed on MPI rank %d: %s", what, r - 1, outcome), 0)
    end
  end
end

-- The state of the network before this block (the last of rank - 1) into ghost,
-- while this block's last network goes to rank + 1.
function Place:receive_previous(nets, ghost, what)
  core.mpi_exchange_net(nets[self.last], (self.rank + 1) % self.size, ghost,
    (self.rank - 1) % self.size, string.format("%s of network %d", what,
      self.first == 1 and self.K or self.first - 1))
end

-- This process's networks as a list, in ring order.
function Place:list(nets)
  local list = {}
  for k = self.first, self.last do list[#list + 1] = nets[k] end
  return list
end

return ranks
