-- graft.run checkpoints every epoch and resumes to the same bytes.
--  * in process (every build): a run stopped by an error in epoch 2, refused
--    without resume and with different options, then resumed, ends like an
--    uninterrupted run: weights, grafting log and histories (grafting after every
--    iteration, so that rounds fall inside epochs, before and after the stop); a
--    finished run is refused without resume and read back, untouched, with it;
--  * through `graft train` (optimised build only): a run killed with SIGKILL once
--    epoch 1's checkpoint is there, resumed with --resume, ends with the same
--    net1/net2.safetensors and grafting log as an uninterrupted run.
local graft = require "graft"
local json = require "graft.json"

local exe = assert(os.getenv("GRAFT_EXE"), "GRAFT_EXE names the graft executable")
local sanitized = os.getenv("GRAFT_SANITIZE") ~= nil

local read = expect.read

local function exists(path)
  local f = io.open(path, "rb") -- a folder opens too
  if f then f:close() end
  return f ~= nil
end
local remove = graft.core.remove_tree

-- history.jsonl records without the timing fields, which differ between runs
local function history_without_times(path)
  local records = {}
  for line in assert(read(path), "missing " .. path):gmatch("[^\n]+") do
    local r = json.decode(line)
    setmetatable(r, nil)
    r.seconds, r.images_per_s = nil, nil
    records[#records + 1] = r
  end
  return records
end

local function same_files(a, b, names)
  for _, name in ipairs(names) do
    local x, y = read(a .. "/" .. name), read(b .. "/" .. name)
    expect.truthy(x and #x > 0, a .. "/" .. name .. " written")
    expect.truthy(x == y, name .. " bit-identical")
  end
end

describe("graft.run resume", function()
  it("continues a stopped run to the bytes of an uninterrupted one; refuses a mismatch", function()
    local full, cut = expect.tmpname("-run-full"), expect.tmpname("-run-cut")
    local data = graft.data.fashion_mnist { subset = 32, test_subset = 16 }
    local function options(extra)
      -- 2 iterations per epoch and a round after each: 4 rounds
      local o = { model = "resnet20", dataset = data, nets = 2, epochs = 2, batch = 16,
                  every = 1, seed = 7, quiet = true, ensemble = false }
      for k, v in pairs(extra) do o[k] = v end
      return o
    end
    local a = graft.run(options { out = full })
    expect.eq(#a.log, 4 * 2 * 20, "four rounds of 2 networks x 20 layers")
    expect.truthy(not exists(full .. "/checkpoints"), "checkpoints removed when the run is complete")

    -- a finished run is neither trained again nor overwritten: refused, or read back
    local net1 = read(full .. "/net1.safetensors")
    expect.error(function() graft.run(options { out = full }) end,
      { "already holds a finished run", "resume = true" })
    expect.error(function() graft.run(options { out = full, resume = true, lr = 0.2 }) end,
      { "cannot resume", "lr is 0.2 here, 0.1 in the run being resumed" })
    local again = graft.run(options { out = full, resume = true })
    expect.eq(again.final, a.final, "the final figures read back")
    expect.eq(again.log, a.log, "the grafting log read back")
    expect.eq(#again.history, #a.history, "the history read back")
    for i, r in ipairs(a.history) do expect.eq(again.history[i].test_top1, r.test_top1) end
    expect.eq(graft.distance(again.nets[2], a.nets[2]), 0, "network 2 read back")
    expect.truthy(read(full .. "/net1.safetensors") == net1, "the finished run's files untouched")

    expect.error(function()
      graft.run(options { out = cut, on_epoch = function(_, epoch)
        if epoch == 2 then error("stopped in epoch 2") end
      end })
    end, "stopped in epoch 2")
    expect.truthy(graft.core.checkpoint_last(cut .. "/checkpoints"):find("epoch%-0001$"),
      "epoch 1 checkpointed, epoch 2 not")
    expect.truthy(exists(cut .. "/checkpoints/epoch-0001/run_state.json"), "the run's state")
    expect.eq(#history_without_times(cut .. "/history.jsonl"), 2, "history of epoch 1 written")

    expect.error(function() graft.run(options { out = cut }) end,
      { "already holds the checkpoints of a run", "resume = true" })
    expect.error(function() graft.run(options { out = cut, resume = true, lr = 0.2 }) end,
      { "cannot resume", "lr is 0.2 here, 0.1 in the run being resumed" })
    expect.error(function() graft.run(options { resume = cut, scion = "noise" }) end,
      "scion is noise here, external in the run being resumed")
    expect.error(function() graft.run(options { out = cut, resume = full .. "x" }) end,
      "name different directories")

    local b = graft.run(options { resume = cut, quiet = true })
    expect.eq(#b.log, #a.log, "grafting log entries")
    for i, entry in ipairs(a.log) do expect.eq(b.log[i], entry, "grafting log entry " .. i) end
    expect.eq(#b.history, 4)
    for i, r in ipairs(a.history) do
      for field, value in pairs(r) do
        if field ~= "seconds" and field ~= "images_per_s" then
          expect.eq(b.history[i][field], value, "history " .. i .. " " .. field)
        end
      end
    end
    same_files(full, cut, { "net1.safetensors", "net2.safetensors", "grafting.csv",
                            "grafting.jsonl" })
    expect.eq(history_without_times(cut .. "/history.jsonl"),
      history_without_times(full .. "/history.jsonl"))
    expect.truthy(not exists(cut .. "/checkpoints"), "checkpoints removed after the resumed run")
    remove(full)
    remove(cut)
  end)

  it("takes out as a folder name, even one that looks like an option", function()
    -- relative to the working folder, as a user at the prompt would give it
    local out = "--help"
    remove(out)
    local data = graft.data.fashion_mnist { subset = 16, test_subset = 8 }
    local r = graft.run { model = "resnet20", dataset = data, nets = 2, epochs = 1, batch = 16,
                          quiet = true, out = out }
    expect.eq(#r.history, 2)
    for _, name in ipairs { "net1.safetensors", "net2.safetensors", "summary.json", "history.csv" } do
      expect.truthy(exists(out .. "/" .. name), out .. "/" .. name .. " written")
    end
    expect.truthy(not exists(out .. "/checkpoints"), "checkpoints removed when the run is complete")
    remove(out)
    expect.truthy(not exists(out), "removed")
  end)

  it("closes its networks' loaders when it fails", function()
    local data = graft.data.fashion_mnist { subset = 32, test_subset = 16 }
    expect.error(function()
      graft.run { model = "resnet20", dataset = data, nets = 2, epochs = 2, batch = 16, quiet = true,
                  ensemble = false, on_epoch = function() error("failed in epoch 1") end }
    end, "failed in epoch 1")
    -- a dataset refuses to close while a loader still reads it
    data.train:close()
    data.test:close()
  end)

  -- Three runs of two ResNet-20s on 192 images: tens of seconds optimised, minutes
  -- under the sanitizers.
  if sanitized then return end

  it("survives SIGKILL in epoch 2 through graft train --resume", function()
    local full, killed = expect.tmpname("-train-full"), expect.tmpname("-train-killed")
    local flags = "--model resnet20 --num 2 --epochs 3 --subset 192 --test-subset 64 --batch 64 "
      .. "--seed 5 --quiet"
    local function command(dir, extra)
      return string.format("'%s' train %s --out '%s' %s", exe, flags, dir, extra or "")
    end
    local function run(dir, extra)
      local pipe = assert(io.popen(command(dir, extra) .. " 2>&1"))
      local output = pipe:read("a")
      return pipe:close(), output
    end

    local ok, output = run(full)
    expect.truthy(ok, "uninterrupted run:\n" .. output)

    -- start, wait for epoch 1's checkpoint (60 s at most), kill, reap
    graft.core.make_dirs(killed)
    local shell = string.format("{ %s >'%s/log' 2>&1 & pid=$!; i=0; "
      .. "while [ ! -d '%s/checkpoints/epoch-0001' ] && [ $i -lt 3000 ]; do sleep 0.02; "
      .. "i=$((i+1)); done; kill -KILL $pid; wait $pid; echo $?; } 2>/dev/null", command(killed),
      killed, killed)
    local pipe = assert(io.popen(shell))
    local status = pipe:read("a")
    pipe:close()
    expect.eq(tonumber(status), 137, "killed by SIGKILL (log: " .. tostring(read(killed .. "/log")) .. ")")
    local last = graft.core.checkpoint_last(killed .. "/checkpoints")
    expect.truthy(last and (last:find("epoch%-0001$") or last:find("epoch%-0002$")),
      "killed after epoch 1, before the end: " .. tostring(last))
    expect.truthy(not exists(killed .. "/summary.json"), "the killed run did not finish")

    ok, output = run(killed)
    expect.truthy(not ok, "starting again without --resume is refused")
    expect.contains(output, { "already holds the checkpoints of a run", "--resume" })
    ok, output = run(killed, "--lr 0.2 --resume")
    expect.truthy(not ok, "resuming with another --lr is refused")
    expect.contains(output, "lr is 0.2 here, 0.1 in the run being resumed")

    ok, output = run(killed, "--resume")
    expect.truthy(ok, "resumed run:\n" .. output)
    same_files(full, killed, { "net1.safetensors", "net2.safetensors", "grafting.jsonl",
                               "grafting.csv" })
    expect.eq(history_without_times(killed .. "/history.jsonl"),
      history_without_times(full .. "/history.jsonl"))
    local summary_full = json.decode(read(full .. "/summary.json"))
    local summary_killed = json.decode(read(killed .. "/summary.json"))
    expect.eq(summary_killed.final, summary_full.final, "final accuracies and analysis")
    expect.eq(summary_killed.ensemble, summary_full.ensemble)
    remove(full)
    remove(killed)
  end)
end)
