-- The ablation scripts end to end on tiny settings: the table beside the paper's
-- numbers with the paired statistics, the CSV files and pictures, the reuse of
-- finished runs, and the paper preset's plan (schedules as the reference's).
local h = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "helpers.lua")
local graft = require "graft"
local json = require "graft.json"
local root = assert(arg[1], "usage: test_ablation.lua SOURCE_ROOT")
local dir = h.folder()
local q = h.shell_quote
local tiny = " --subset 128 --test-subset 128 --epochs 1 --seeds 2 --out "

local function run(script, out)
  return h.run("cd " .. q(dir) .. " && " .. q(root .. "/scripts/ablation/" .. script) .. tiny .. q(out))
end

-- Table 2: five variants, two seeds.
local out = dir .. "/table2"
local status, text = run("table2_scions", out)
h.check(status == 0, "table2_scions: status %s\n%s", tostring(status), text)
h.contains(text, "| variant | paper CIFAR-10 | paper CIFAR-100 | paper gain (C-10) | measured | final | "
           .. "gain [95% CI] | p | verdict |", "table header")
h.contains(text, "| noise | 92.51 | 72.34 | +0.09 | ", "paper numbers beside the measured ones")
h.contains(text, "| external, alpha 0.5 | – | – |  | ", "the fixed alpha = 0.5 control")
local rows = 0
for line in h.read(out .. "/table.md"):gmatch("[^\n]+") do
  if line:find("^| [%w-, .]+ | [%d–]") then
    rows = rows + 1
    local cells = select(2, line:gsub("|", ""))
    h.check(cells == 10, "a table row with %d separators (a verdict with '|'?): %s", cells, line)
    -- two seeds: every comparison has its interval and p value
    if not line:find("^| baseline ") then
      h.check(line:find("%[[-+][%d.]+, [-+][%d.]+%] | [%d.e-]+ | "), "no interval and p: %s", line)
    end
  end
end
h.check(rows == 5, "table.md has %d variant rows", rows)
local runs_csv = h.read(out .. "/runs.csv")
h.check(select(2, runs_csv:gsub("\n", "")) == 11, "runs.csv: header and 10 runs:\n%s", runs_csv)
h.contains(runs_csv, "variant,seed,accuracy,final,", "runs.csv: both metrics")
h.contains(h.read(out .. "/summary.csv"),
           "variant,seeds,mean,sd,final_mean,final_sd,paper_cifar10,paper_cifar100,difference,ci_low,ci_high,p,pairs,verdict",
           "summary.csv")
-- every run's history: 1 epoch of each network of the 10 runs (5 variants, 2 seeds)
local histories = h.read(out .. "/histories.csv")
h.contains(histories, "variant,seed,network,epoch,lr,loss,", "histories.csv header")
local networks = 0
for run in runs_csv:gmatch("\n([%w-]+,%d+),") do
  local variant, seed = run:match("^(.-),(%d+)$")
  local nets = json.read(out .. "/runs/" .. variant .. "-seed" .. seed .. "/summary.json").options.nets
  for k = 1, nets do
    h.contains(histories, "\n" .. run .. "," .. k .. ",1,", "the history of " .. run .. ", network " .. k)
  end
  networks = networks + nets
end
h.check(select(2, histories:gsub("\n", "")) == 1 + networks, "histories.csv: header and %d rows:\n%s",
        networks, histories)
-- with each network's distance to the previous one in its ring (what says whether a ring has
-- agreed), as its run recorded it
local columns = {}
for name in histories:match("^[^\n]+"):gmatch("[^,]+") do columns[#columns + 1] = name end
local fields = {}
for field in (histories:match("\nexternal,2,1,1,[^\n]*"):sub(2) .. ","):gmatch("([^,]*),") do
  fields[#fields + 1] = field
end
local recorded = json.decode(h.read(out .. "/runs/external-seed2/history.jsonl"):match("^[^\n]+"))
h.check(recorded.network == 1 and type(recorded.distance) == "number", "history.jsonl's first record")
for i, name in ipairs(columns) do
  if name == "distance" then
    h.check(math.abs(tonumber(fields[i]) - recorded.distance) <= 1e-5 * recorded.distance,
            "histories.csv distance %s, the run's %s", fields[i], recorded.distance)
    recorded.checked = true
  end
end
h.check(recorded.checked, "histories.csv has no distance column: %s", table.concat(columns, ","))
for _, picture in ipairs{"accuracy.png", "gain.png"} do h.png_size(out .. "/" .. picture) end
-- each run's own folder, from graft.run
local summary = json.read(out .. "/runs/external-seed2/summary.json")
h.check(summary.options.nets == 2 and summary.options.seed == 2 and summary.options.diff_lr == false,
        "external run options: %s", json.encode(summary.options))

-- Run again: every run is found finished and reused, with the same table.
local again_status, again = run("table2_scions", out)
h.check(again_status == 0, "rerun: status %s", tostring(again_status))
h.check(select(2, again:gsub("finished before", "")) == 10, "rerun did not reuse the 10 runs:\n%s", again)
h.check(again:match("| external | .-\n") == text:match("| external | .-\n"), "reused runs changed the table")

-- An interrupted run continues from its last complete epoch: one run of Table 3 is
-- made again and stopped by an error in its second epoch (as a kill would leave it),
-- and the script, started again, resumes it to the same result.
out = dir .. "/table3"
local two_epochs = " --subset 128 --test-subset 128 --epochs 2 --seeds 1 --out "
local function run_table3()
  return h.run("cd " .. q(dir) .. " && " .. q(root .. "/scripts/ablation/table3_criteria") .. two_epochs .. q(out))
end
status, text = run_table3()
h.check(status == 0, "table3_criteria: status %s\n%s", tostring(status), text)
local run_dir = out .. "/runs/entropy-seed1"
local options = json.read(run_dir .. "/summary.json").options
graft.core.remove_tree(run_dir)
options.out = run_dir
options.on_epoch = function(_, epoch) if epoch == 2 then error("stopped in epoch 2") end end
local stopped = h.fails(graft.run, options)
h.contains(stopped, "stopped in epoch 2", "the stopped run's error")
h.check(h.exists(run_dir .. "/checkpoints/epoch-0001/run_state.json"), "epoch 1 checkpointed")
local resumed_status, resumed = run_table3()
h.check(resumed_status == 0, "table3_criteria after the stop: status %s\n%s", tostring(resumed_status), resumed)
h.contains(resumed, "entropy, seed 1: ", "progress line")
h.check(resumed:find("entropy, seed 1: [%d.]+%% best before grafting, [%d.]+%% final %(resumed after epoch 1,"),
        "not resumed:\n%s", resumed)
h.check(select(2, resumed:gsub("finished before", "")) == 3, "baseline, average and l1 not reused:\n%s", resumed)
h.check(resumed:match("| entropy | .-\n") == text:match("| entropy | .-\n"),
        "the resumed run changed the table:\n%s\n%s", text, resumed)

-- A stopped run whose settings then change cannot continue: the script says so and
-- points to --fresh, which runs it again from the start.
run_dir = out .. "/runs/l1-seed1"
options = json.read(run_dir .. "/summary.json").options
graft.core.remove_tree(run_dir)
options.out = run_dir
options.on_epoch = function(_, epoch) if epoch == 2 then error("stopped in epoch 2") end end
h.fails(graft.run, options)
local three_epochs = two_epochs:gsub("%-%-epochs 2", "--epochs 3")
local function run_table3_longer(extra)
  return h.run("cd " .. q(dir) .. " && " .. q(root .. "/scripts/ablation/table3_criteria") .. three_epochs ..
               q(out) .. (extra or ""))
end
local changed_status, changed = run_table3_longer()
h.check(changed_status ~= 0, "a stopped run with other settings was continued:\n%s", changed)
h.contains(changed, "cannot resume", "the refusal")
h.contains(changed, "(--fresh starts it again)", "the hint")
local fresh_status, fresh = run_table3_longer(" --fresh")
h.check(fresh_status == 0, "--fresh after the refusal: status %s\n%s", tostring(fresh_status), fresh)
h.check(#json.read(run_dir .. "/summary.json").final == 2 and
        json.read(run_dir .. "/summary.json").options.epochs == 3, "the l1 run was not made again")

-- Fig. 6: its own table of filters under thresholds and two pictures.
out = dir .. "/fig6"
status, text = run("fig6_invalid_filters", out)
h.check(status == 0, "fig6_invalid_filters: status %s\n%s", tostring(status), text)
h.contains(text, "| threshold | baseline | grafted | paper (baseline / grafted) |", "fig6 table")
h.contains(text, "| 0.01 | 0.00 ± 0.00 | 0.00 ± 0.00 | ResNet-32: 3.1% / 0.7%", "fig6 row")
for _, picture in ipairs{"fig6.png", "l1_histogram.png", "accuracy.png"} do h.png_size(out .. "/" .. picture) end

-- --only runs some variants; the report names what it cannot compare instead of failing,
-- also in the scripts with a report of their own (Fig. 6's two columns, the sweep's axes).
local function run_only(script, only, out)
  return h.run("cd " .. q(dir) .. " && " .. q(root .. "/scripts/ablation/" .. script) .. " --only " .. only
               .. tiny .. q(out))
end
status, text = run_only("fig6_invalid_filters", "grafted", dir .. "/fig6-grafted")
h.check(status == 0, "fig6_invalid_filters --only grafted: status %s\n%s", tostring(status), text)
h.contains(text, "Gain: none; the variant the others are compared with, baseline, is not among --only's.",
           "no reference, no gains")
h.contains(text, "| 0.01 | – | 0.00 ± 0.00 | ResNet-32: 3.1% / 0.7%", "fig6 row without the baseline")
h.check(not text:find("(reference)", 1, true), "a variant shown as the reference:\n%s", text)
status, text = run_only("sweep_A_c", "A0-c100", dir .. "/sweep")
h.check(status == 0, "sweep_A_c --only A0-c100: status %s\n%s", tostring(status), text)
h.contains(text, "| A=0 c=100 | 93.40 | – |  | ", "the sweep's row without its reference")
h.png_size(dir .. "/sweep/sweep_A.png")

-- The paper preset's plan: step decay for the baseline and every same-LR row, cosine
-- only with different learning rates, and then a cosine baseline beside them;
-- Table 2 with the paper's batch of 256.
local function plan(script)
  local plan_status, plan_text = h.run(q(root .. "/scripts/ablation/" .. script) .. " --preset paper --plan --seeds 1")
  h.check(plan_status == 0, "%s --plan: status %s\n%s", script, tostring(plan_status), plan_text)
  local lines = {}
  for name, rest in plan_text:gmatch("\n  ([%w-]+) +seed 1: ([^\n]+)") do lines[name] = rest end
  return lines, plan_text
end
local table2 = plan("table2_scions")
for _, name in ipairs{"baseline", "noise", "internal", "external", "average"} do
  h.check(table2[name] and table2[name]:find("schedule step, batch 256,"), "table2 %s: %s", name, tostring(table2[name]))
end
h.check(table2["baseline-cosine"] == nil, "table2 has no different-LR row, so no cosine baseline")
local table4, table4_text = plan("table4_diversity")
for _, name in ipairs{"baseline", "same-order-same-lr", "own-order-same-lr"} do
  h.check(table4[name] and table4[name]:find("schedule step, batch 128,"), "table4 %s: %s", name, tostring(table4[name]))
end
h.check(table4["own-order-own-lr"]:find("diff_lr true, same_order false, schedule cosine"), "table4 own LR:\n%s", table4_text)
h.check(table4["baseline-cosine"] and table4["baseline-cosine"]:find("nets 1, scion none.*schedule cosine"),
        "table4 lacks the cosine baseline:\n%s", table4_text)

-- --batch and --schedule override the preset's, the reference's schedule rule included.
local overridden_status, overridden = h.run(q(root .. "/scripts/ablation/table2_scions")
  .. " --preset paper --plan --seeds 1 --batch 64 --schedule constant")
h.check(overridden_status == 0, "--batch --schedule: %s", overridden)
for _, name in ipairs{"baseline", "external"} do
  h.check(overridden:find("\n  " .. name .. " +seed 1: [^\n]*schedule constant, batch 64,"), "table2 %s with --batch 64 "
          .. "--schedule constant:\n%s", name, overridden)
end

-- The reference's layer-against-filter comparison: VGG16, the same learning rate and
-- step decay for all rows, as its filter_level_grafting.py.
local filter_level, filter_text = plan("filter_level")
for _, name in ipairs{"baseline", "layer", "filter", "filter-entropy"} do
  h.check(filter_level[name] and filter_level[name]:find("diff_lr %a+, same_order false, schedule step, batch 128,"),
          "filter_level %s:\n%s", name, filter_text)
end
h.contains(filter_text, "vgg16 on cifar10", "filter_level's paper preset trains VGG16")

-- Bad options are refused with the usage.
status, text = h.run(q(root .. "/scripts/ablation/table2_scions") .. " --preset huge")
h.check(status == 2 and text:find("--preset: 'paper' or 'quick' expected, got 'huge'", 1, true)
        and text:find("Usage: scripts/ablation/table2_scions", 1, true), "bad preset: %s", text)
status, text = h.run(q(root .. "/scripts/ablation/table2_scions") .. " --seeds 0")
h.check(status == 2 and text:find("--seeds: an integer >= 1 expected, got '0'", 1, true), "bad seeds: %s", text)
status, text = h.run(q(root .. "/scripts/ablation/table2_scions") .. " --help")
h.check(status == 0 and text:find("--test-subset", 1, true) and text:find("(default the preset's)", 1, true),
        "help: %s", text)
h.cleanup()
print("ablation scripts: ok")
