-- graft train over MPI (run by tests/mpi/meson.build with MPIRUN set):
--  * a ring of 4 ResNet-8s for 2 epochs on 128 Fashion-MNIST images ends with the
--    same files in one process, under mpirun -np 2 and under -np 4 (networks and
--    grafting log byte for byte, histories without wall-clock fields, summary);
--  * a rank killed with SIGKILL in epoch 2: the job ends non-zero within the bound,
--    naming the rank, epoch 1's checkpoint is whole, a --resume with another --lr is
--    refused, and --resume (on 4 processes instead of 2) ends with the uninterrupted
--    run's files;
--  * a rank stopped (SIGSTOP) in epoch 2: the others give up after GRAFT_MPI_TIMEOUT
--    (3 s here) naming it;
--  * a ring that cannot be shared by the processes, mutual learning (all networks on
--    each batch), live pictures and an MPI launch without MPI support are refused,
--    named; in a
--    build without MPI (-Dmpi=disabled), graft train under a real mpirun too.
local graft = require "graft"

local exe = assert(os.getenv("GRAFT_EXE"), "GRAFT_EXE names the graft executable")
local mpirun = os.getenv("MPIRUN")
local root = os.getenv("GRAFT_SOURCE_ROOT") or "."
local sanitized = os.getenv("GRAFT_SANITIZE") ~= nil

local FLAGS = "--model resnet8 --num 4 --epochs 2 --subset 128 --test-subset 64 --batch 32 "
  .. "--seed 3"

local function shell(command)
  local pipe = assert(io.popen(command .. " 2>&1"))
  local output = pipe:read("a")
  return pipe:close(), output
end

local function train(processes, out, extra)
  local launcher = processes and string.format("'%s' -np %d ", mpirun, processes) or ""
  return shell(string.format("%s'%s' train %s --out '%s' %s", launcher, exe, FLAGS, out, extra or ""))
end

local function same_run(reference, other)
  return shell(string.format("'%s' '%s/scripts/lib/same_run.lua' '%s' '%s'", exe, root,
    reference, other))
end

-- Starts `mpirun -np 2 graft train` into out, waits for epoch 1's checkpoint, sends
-- `signal` to rank 1 and waits for the job: exit status, seconds from the signal to
-- the end, everything printed.
local function signal_rank_1(out, signal, environment)
  assert(os.execute("mkdir -p '" .. out .. "'"))
  local script = string.format([[
%s '%s' -np 2 '%s' train %s --out '%s' >'%s/log' 2>&1 & job=$!
i=0; while [ ! -d '%s/checkpoints/epoch-0001' ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i+1)); done
for p in $(pgrep -P $job); do
  tr '\0' '\n' </proc/$p/environ | grep -qx OMPI_COMM_WORLD_RANK=1 && kill -%s $p
done
start=$(date +%%s.%%N); wait $job; status=$?
echo "$status $(echo "$(date +%%s.%%N) - $start" | bc)"]], environment or "", mpirun, exe, FLAGS,
    out, out, out, signal)
  local ok, output = shell(script)
  assert(ok, output)
  local status, seconds = output:match("(%d+) ([%d.]+)%s*$")
  local f = io.open(out .. "/log", "rb")
  local log = f and f:read("a") or ""
  if f then f:close() end
  return tonumber(status), tonumber(seconds), log
end

describe("graft train over MPI", function()
  it("is refused under mpirun when graft has no MPI support", function()
    local core = graft.core
    local launched, built = core.mpi_launched, core.mpi_built
    core.mpi_launched = function() return 2 end
    core.mpi_built = function() return false end
    local ok, message = pcall(graft.run, { model = "resnet8", nets = 2, epochs = 1, subset = 16,
                                           test_subset = 8, quiet = true })
    core.mpi_launched, core.mpi_built = launched, built
    expect.truthy(not ok, "refused")
    expect.contains(message, { "one of 2 processes", "MPI support is not built" })
  end)

  if not graft.core.mpi_built() then
    if mpirun then
      it("is refused under a real mpirun when graft has no MPI support", function()
        local ok, output = shell(string.format("'%s' -np 2 '%s' train --num 2 --epochs 1 --subset 16 "
          .. "--quiet", mpirun, exe))
        expect.truthy(not ok, "refused")
        expect.contains(output, "graft train: graft.run: started by mpirun as one of 2 processes, but "
          .. "MPI support is not built into this graft")
        expect.truthy(not output:find("epoch 1/1", 1, true), "nothing trained:\n" .. output)
      end)
    end
    return
  end
  if sanitized or not mpirun then return end

  local one, two, four = expect.tmpname("-mpi-one"), expect.tmpname("-mpi-two"),
    expect.tmpname("-mpi-four")

  it("gives one process's files on 2 and on 4 processes", function()
    local ok, output = train(nil, one, "--quiet")
    expect.truthy(ok, "one process:\n" .. output)
    ok, output = train(2, two)
    expect.truthy(ok, "mpirun -np 2:\n" .. output)
    -- rank 0 alone prints the results table
    local _, tables = output:gsub("| ensemble of 4 |", "")
    expect.eq(tables, 1, "one results table:\n" .. output)
    ok, output = same_run(one, two)
    expect.truthy(ok, "2 processes against one:\n" .. output)
    ok, output = train(4, four, "--quiet")
    expect.truthy(ok, "mpirun -np 4:\n" .. output)
    ok, output = same_run(one, four)
    expect.truthy(ok, "4 processes against one:\n" .. output)
    expect.contains(output, { "net4.safetensors   identical bytes", "grafting.jsonl     identical bytes",
                              "history.jsonl      identical results" })
  end)

  it("stops when a rank is killed, and resumes to the uninterrupted run", function()
    local killed = expect.tmpname("-mpi-killed")
    local status, seconds, log = signal_rank_1(killed, "KILL")
    expect.truthy(status ~= 0 and seconds < 60, string.format("status %s after %s s", status, seconds))
    expect.contains(log, "rank 1")
    local last = graft.core.checkpoint_last(killed .. "/checkpoints")
    expect.truthy(last and last:find("epoch%-0001$"), "epoch 1's checkpoint: " .. tostring(last))
    for k = 1, 4 do
      local dir = string.format("%s/net%d", last, k)
      expect.truthy(graft.core.checkpoint_last(dir), "network " .. k .. " in " .. last)
    end
    -- a resume with another option is refused, the checkpoint left as it was
    local ok, output = train(2, killed, "--resume --quiet --lr 0.2")
    expect.truthy(not ok, "a resume with another --lr is refused")
    expect.contains(output, "cannot resume " .. killed .. " with different options: lr is 0.2 here, 0.1 in "
      .. "the run being resumed")
    expect.eq(graft.core.checkpoint_last(killed .. "/checkpoints"), last)
    ok, output = train(4, killed, "--resume --quiet")
    expect.truthy(ok, "resumed on 4 processes:\n" .. output)
    ok, output = same_run(one, killed)
    expect.truthy(ok, "resumed against uninterrupted:\n" .. output)
    graft.core.remove_tree(killed)
  end)

  it("gives up on a stopped rank after GRAFT_MPI_TIMEOUT, naming it", function()
    local stopped = expect.tmpname("-mpi-stopped")
    local status, seconds, log = signal_rank_1(stopped, "STOP", "GRAFT_MPI_TIMEOUT=3")
    expect.truthy(status ~= 0 and seconds < 40, string.format("status %s after %s s", status, seconds))
    expect.contains(log, { "rank 1 did not", "within 3 s (GRAFT_MPI_TIMEOUT)" })
    expect.truthy(graft.core.checkpoint_last(stopped .. "/checkpoints"):find("epoch%-0001$"),
      "epoch 1's checkpoint")
    graft.core.remove_tree(stopped)
  end)

  it("refuses a ring the processes cannot share", function()
    local ok, output = shell(string.format("'%s' -np 2 '%s' train --num 3 --epochs 1 --subset 16 "
      .. "--quiet", mpirun, exe))
    expect.truthy(not ok, "refused")
    expect.contains(output, "nets = 3 networks cannot be shared by 2 MPI processes")
    ok, output = shell(string.format("'%s' -np 2 '%s' -e \"graft.run{nets = 2, epochs = 1, "
      .. "subset = 16, method = 'mutual', quiet = true}\"", mpirun, exe))
    expect.truthy(not ok, "refused")
    expect.contains(output, "method = 'mutual' cannot run over 2 MPI processes")
    ok, output = shell(string.format("'%s' -np 2 '%s' train --num 2 --epochs 1 --subset 16 --live "
      .. "--quiet", mpirun, exe))
    expect.truthy(not ok, "refused")
    expect.contains(output, "graft.run: live cannot run over 2 MPI processes")
  end)

  for _, dir in ipairs { one, two, four } do graft.core.remove_tree(dir) end
end)
