-- graft.run's metrics and the methods Table 5 compares grafting with, on tiny runs:
-- the best accuracy before grafting (the paper's metric) beside the final one;
-- knowledge distillation (a teacher trained first, reused once finished); deep
-- mutual learning (two networks on the same batches); the option errors; and the
-- demo's comparison script (table and its one-line reading).
local graft = require "graft"
local json = require "graft.json"

local exe = assert(os.getenv("GRAFT_EXE"), "GRAFT_EXE names the graft executable")
local lua_dir = assert(os.getenv("GRAFT_LUA_DIR"), "GRAFT_LUA_DIR names graft's Lua folder")
local data = graft.data.fashion_mnist { subset = 96, test_subset = 64 }

local function run(extra)
  local o = { model = "resnet8", dataset = data, data = "fashion-mnist", epochs = 3, batch = 32,
              seed = 2, quiet = true, ensemble = false }
  for k, v in pairs(extra) do o[k] = v end
  return graft.run(o)
end

local read = expect.read

describe("graft.run's metrics", function()
  it("keeps the best test accuracy before grafting and the final one", function()
    local r = run { nets = 2, scion = "external", diff_lr = false }
    for k = 1, 2 do
      local best = nil
      for _, record in ipairs(r.histories[k]) do
        expect.truthy(record.test_top1_before, "tested before each round")
        best = math.max(best or -1, record.test_top1_before)
        expect.eq(record.best_before, best, "running best, epoch " .. record.epoch)
      end
      expect.eq(r.final[k].best_before, best)
      expect.eq(r.final[k].final, r.histories[k][3].test_top1, "final: after the last round")
    end
    -- without a round between training and test, the best is over the only test
    local baseline = run { nets = 1, scion = "none" }
    local best = -1
    for _, record in ipairs(baseline.histories[1]) do best = math.max(best, record.test_top1) end
    expect.eq(baseline.final[1].best_before, best)
  end)
end)

describe("the methods of Table 5", function()
  it("distils from a teacher trained first, reused once finished", function()
    local dir = expect.tmpname("-distill")
    local r = run { method = "distill", out = dir, temperature = 4, soft_weight = 0.5 }
    expect.eq(#r.final, 1, "one student")
    expect.truthy(r.teacher and r.teacher.test_top1, "the teacher's figures")
    local teacher_summary = read(dir .. "/teacher/summary.json")
    expect.truthy(teacher_summary, "the teacher's run in out/teacher")
    expect.eq(json.decode(teacher_summary).options.seed, 1002, "the teacher's own seed")
    local summary = json.read(dir .. "/summary.json")
    expect.eq({ summary.options.method, summary.options.temperature }, { "distill", 4 })
    expect.eq(#r.log, 0, "nothing grafted")
    -- the student starts as the baseline does and ends elsewhere: the teacher taught it
    local baseline = run { nets = 1, scion = "none" }
    expect.truthy(graft.distance(r.nets[1], baseline.nets[1]) > 1e-3, "the soft targets changed the student")
    -- the student trained again in the same folder: the finished teacher is read, not
    -- trained again (the finished student itself is refused, so it is removed first)
    os.remove(dir .. "/summary.json")
    local again = run { method = "distill", out = dir, temperature = 4, soft_weight = 0.5 }
    expect.eq(read(dir .. "/teacher/summary.json"), teacher_summary)
    expect.eq(again.final[1].final, r.final[1].final, "the same student")
    expect.eq(graft.distance(again.nets[1], r.nets[1]), 0, "the same student, bit for bit")
    graft.core.remove_tree(dir)
  end)

  it("trains networks mutually on the same batches", function()
    local r = run { method = "mutual", nets = 2, diff_lr = false }
    expect.eq(#r.final, 2)
    expect.eq(#r.log, 0, "nothing grafted")
    expect.truthy(graft.distance(r.nets[1], r.nets[2]) > 1e-3, "two networks, not one")
    -- weight 0 is two networks trained alone: network 1 is then the baseline
    local alone = run { method = "mutual", nets = 2, diff_lr = false, soft_weight = 0 }
    local baseline = run { nets = 1, scion = "none" }
    expect.eq(graft.distance(alone.nets[1], baseline.nets[1]), 0, "weight 0: the baseline, bit for bit")
    expect.truthy(graft.distance(r.nets[1], baseline.nets[1]) > 1e-3, "the other's softmax taught it")
  end)

  it("refuses what the methods cannot do", function()
    expect.error(function() run { method = "distill", nets = 2 } end, "nets must be 1 or unset, got 2")
    expect.error(function() run { method = "mutual", nets = 1 } end, "at least 2 networks")
    expect.error(function() run { method = "mutual", scion = "external" } end,
      "method 'mutual' grafts nothing")
    expect.error(function() run { method = "boosting" } end, "option 'method'")
  end)
end)

describe("the demo's comparison", function()
  -- graft_compare.lua on 96 images into a new folder: its output and the folder
  local function compare(arguments)
    local dir = expect.tmpname("-compare")
    local command = string.format("%q %q --out %q --model resnet8 --subset 96 --test-subset 64 %s 2>&1", exe,
      lua_dir .. "/../scripts/lib/graft_compare.lua", dir, arguments)
    local pipe = assert(io.popen(command))
    local output = pipe:read("a")
    local ok = pipe:close()
    expect.truthy(ok, "graft_compare failed:\n" .. output)
    return output, dir
  end

  it("prints the table on the paper's metric and a one-line reading", function()
    local output, dir = compare("--no-diff-lr --epochs 2 --seed 1 --over-seeds 'scripts/ablation/x --y'")
    expect.contains(output, { "| run | best before grafting % | final % |", "| baseline (1 network) | ",
                              "Reading: grafted network 1 is ", "One seed",
                              "this setting over seeds, with a 95% interval: scripts/ablation/x --y.",
                              "batch 128, lr 0.1 cosine per iteration", "weight decay 0.0005" })
    expect.contains(read(dir .. "/comparison.md"), "Reading: ")
    graft.core.remove_tree(dir)
  end)

  it("passes the training options to both runs and names them in the table", function()
    local output, dir = compare("--epochs 1 --batch 32 --lr 0.05 --wd 5e-3 --schedule constant")
    expect.contains(output, { "batch 32, lr 0.05 constant (different rates", "weight decay 0.005" })
    for _, run_dir in ipairs { "baseline", "grafted" } do
      local o = json.read(dir .. "/" .. run_dir .. "/summary.json").options
      expect.eq({ o.batch, o.lr, o.wd, o.schedule }, { 32, 0.05, 5e-3, "constant" }, run_dir)
    end
    graft.core.remove_tree(dir)
  end)
end)
