-- Resume equivalence: a run killed with SIGKILL in the middle of epoch 2 and
-- resumed from its checkpoint ends with the same bytes as an uninterrupted run.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local helpers = require "helpers"
local json = require "graft.json"

local graft_exe = os.getenv("GRAFT_EXE") or error("GRAFT_EXE must name the graft executable")

local function run(mode, dir)
  local command = string.format("'%s' '%s/resume_run.lua' %s '%s' 2>'%s/stderr-%s'", graft_exe,
    here, mode, dir, dir, mode)
  return os.execute(command)
end

local read = expect.read

describe("resume", function()
  it("gives bit-identical weights after a SIGKILL in epoch 2", function()
    local full, killed = expect.tmpname("-full"), expect.tmpname("-killed")
    graft.core.make_dirs(full)
    graft.core.make_dirs(killed)
    local ok = run("full", full)
    expect.truthy(ok, "uninterrupted run: " .. tostring(read(full .. "/stderr-full")))

    local ok_kill, how, code = run("kill", killed)
    expect.truthy(not ok_kill, "the killed run must not succeed")
    expect.truthy((how == "signal" and code == 9) or (how == "exit" and code == 137),
      "killed by SIGKILL, got " .. tostring(how) .. " " .. tostring(code))
    expect.eq(read(killed .. "/final.safetensors"), nil)
    expect.truthy(graft.core.checkpoint_last(killed):find("epoch%-0001$"), "epoch 1 survived")

    ok = run("resume", killed)
    expect.truthy(ok, "resumed run: " .. tostring(read(killed .. "/stderr-resume")))
    local a, b = read(full .. "/final.safetensors"), read(killed .. "/final.safetensors")
    expect.truthy(a and #a > 1000, "final weights written")
    expect.truthy(a == b, "final weights and BatchNorm statistics identical")
    -- the optimizer's momentum and the loader state too
    expect.truthy(read(full .. "/epoch-0003/trainer.safetensors")
      == read(killed .. "/epoch-0003/trainer.safetensors"), "trainer state identical")
    -- the log holds each epoch once, with the same losses
    local la, lb = helpers.lines(full .. "/run.jsonl"), helpers.lines(killed .. "/run.jsonl")
    expect.eq(#lb, 3)
    for i = 1, 3 do
      expect.eq(json.decode(lb[i]).epoch, i)
      expect.eq(json.decode(lb[i]).loss, json.decode(la[i]).loss, "loss of epoch " .. i)
    end
    helpers.remove_dir(full)
    helpers.remove_dir(killed)
  end)
end)
