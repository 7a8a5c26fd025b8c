-- Hostile checkpoints: an architecture beyond the limits of docs/limits.md is refused
-- by graft.load with an error naming the layer and the value, before anything large
-- is allocated (each file is a few hundred bytes).
local graft = require "graft"

-- A checkpoint with the given architecture text and tensors, written directly.
local function checkpoint(architecture, tensors)
  local path = expect.tmpname(".safetensors")
  graft.save_tensors(path, tensors, { ["graft.architecture"] = architecture })
  return path
end

describe("hostile checkpoints", function()
  it("refuses a convolution whose padding made the arena's size wrap around", function()
    -- 1x1x1 input, 4 channels of 2^30 x 2^30: 2^64 bytes per activation, which wrapped
    -- to a small arena that the kernels then wrote far beyond
    local path = checkpoint("input 1 1 1;conv2d c 0 4 2 1 536870912 1 0",
      { ["c.weight"] = graft.ones { 4, 1, 2, 2 } })
    expect.error(function() graft.load(path):forward(graft.zeros { 1, 1, 1, 1 }) end,
      { "graft.load", path, "node 1 (conv2d 'c')", "padding 536870912 is beyond the limit 64" })
  end)
end)

-- The high-water mark of this process's resident memory, in kB (Linux).
local function peak_kb()
  local status = io.open("/proc/self/status"):read("a")
  return tonumber(status:match("VmHWM:%s*(%d+)"))
end

describe("checkpoints that claim more than they hold", function()
  it("refuses a convolution of 10^9 channels at once", function()
    local path = checkpoint("input 3 32 32;conv2d c 0 1000000000 3 1 1 1 0",
      { ["c.weight"] = graft.ones { 1, 1, 1, 1 } })
    expect.error(function() graft.load(path) end,
      { "graft.load", path, "node 1 (conv2d 'c')", "out_channels 1000000000 is beyond the limit 65536" })
  end)

  it("compares the architecture with the file's tensors before allocating", function()
    -- 2^28 weights (1 GiB, and as much again for their gradient) claimed, one stored
    local path = checkpoint("input 16384 1 1;conv2d c 0 16384 1 1 0 1 0",
      { ["c.weight"] = graft.ones { 1, 1, 1, 1 } })
    local before = peak_kb()
    expect.error(function() graft.load(path) end,
      { path, "tensor 'c.weight' has shape [1, 1, 1, 1], the network needs [16384, 16384, 1, 1]" })
    local grown = peak_kb() - before
    expect.truthy(grown < 64 * 1024, "peak memory grew by " .. grown .. " kB")
  end)
end)
