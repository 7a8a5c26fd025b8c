-- The frame shared by the ablation scripts (scripts/ablation/<name>.lua): the command
-- line, then one graft.run per variant and seed (plan.lua: presets and the runs'
-- options), reusing finished runs and continuing interrupted ones, then the tables,
-- CSV and pictures (report.lua, with statistics.lua's paired statistics over seeds).
--
-- A script describes itself:
--   ablation.main{name =, title =, paper_note =, presets = {quick = ablation.preset(...), paper = ...},
--                 variants = function(preset) -> {{name =, run = {graft.run options}, paper = {c10, c100}}, ...},
--                 measure = function(result, variant, dir) -> {accuracy =, ...} (optional),
--                 reference = "baseline" (the variant the others are compared with),
--                 compare = false (optional: no gains, for variants that are not
--                 alternatives to one another),
--                 report = function(ctx) (optional: more tables and pictures)}
-- and ablation.main parses the command line (--preset, --seeds, --out, --fresh, --plan,
-- --only and graft.run's --data, --data-dir, --model, --epochs, --subset,
-- --test-subset, --lr, --wd, --batch, --schedule, --init over the preset's; --help lists them).
local graft = require "graft"
local json = require "graft.json"
local graft_options = require "graft.options"
local graft_run_options = require "graft.run.options"
local plan = require "plan"
local report = require "report"

-- What the scripts use: presets, statistics and tables for their own reports.
local ablation = {quick = plan.quick, paper = plan.paper, preset = plan.preset, stats = report.stats,
                  format_mean = report.format_mean, compare = report.compare, markdown = report.markdown,
                  bars = report.bars}

-- The command line of an ablation script: its own options, and graft.run's options
-- that override the preset's.
local function command_line(spec)
  local presets = {}
  for name in pairs(spec.presets) do presets[#presets + 1] = name end
  table.sort(presets)
  local preset_text = "the preset's"
  local options = graft_run_options.spec:pick(spec.name, {
    data = { default_help = preset_text }, data_dir = { help = "where the data set's files are (CIFAR)" },
    model = { default_help = preset_text }, epochs = { default_help = preset_text },
    subset = { default_help = preset_text }, test_subset = { default_help = preset_text },
    lr = { default_help = preset_text }, wd = { default_help = preset_text },
    batch = { default_help = preset_text }, schedule = { default_help = preset_text },
    init = { default_help = "the model's reference rule" }, "live", "live_every",
  }):add { "preset", "string", default = "quick", choices = presets,
           help = "quick: Fashion-MNIST, reduced data, epochs and model; paper: the paper's settings "
             .. "(CIFAR, 200 epochs; needs the CIFAR files in --data-dir)" }
    :add { "seeds", "integer", min = 1, default_help = "the preset's, 3", help = "seeds 1..N per variant" }
    :add { "out", "string", default_help = "runs/" .. spec.name .. "[-paper]", help = "output folder" }
    :add { "fresh", "boolean", default = false,
           help = "rerun variants whose finished or interrupted run is already in the output folder "
             .. "(without it, finished runs are reused and interrupted ones continued)" }
    :add { "plan", "boolean", default = false, help = "print the runs and their sizes, run nothing" }
    :add { "only", "string", help = "run only these variants (names joined by commas; --plan lists them)" }
  local parser = graft_options.parser("scripts/ablation/" .. spec.name, spec.title)
  options:add_arguments(parser, { "preset", "seeds", "out", "data_dir", "data", "model", "epochs", "subset",
                                  "test_subset", "lr", "wd", "batch", "schedule", "init", "fresh", "plan", "only",
                                  { "live", optional = "file.png" }, "live_every" })
  return options, parser
end

local function parse(spec, args)
  local options, parser = command_line(spec)
  return options:check(graft_options.parse_or_exit(parser, args))
end

-- Options that make two runs the same experiment (for reusing a finished run).
local IDENTITY = {"model", "data", "nets", "epochs", "scion", "criterion", "A", "c", "alpha", "diff_lr",
                  "same_order", "schedule", "seed", "subset", "test_subset", "batch", "lr", "wd",
                  "gamma", "a", "threshold", "filter_level", "round", "bins", "pad", "test_before",
                  "method", "temperature", "soft_weight", "init", "alpha_rule", "filter_rule"}

-- An option left unset here took graft.run's default, which the summary records;
-- for these, unset means something of its own (all images, adaptive alpha, ...).
local UNSET_MEANS_NONE = {subset = true, test_subset = true, alpha = true, pad = true, init = true,
                         method = true, temperature = true, soft_weight = true}

local function same_experiment(saved, o)
  for _, k in ipairs(IDENTITY) do
    local a, b = saved[k], o[k]
    if a == json.null then a = nil end
    if (b ~= nil or UNSET_MEANS_NONE[k]) and a ~= b and not (type(a) == "number" and type(b) == "number" and math.abs(a - b) < 1e-12) then
      return false
    end
  end
  return true
end

-- A finished run's summary (final accuracies, ensemble) when it matches o.
local function finished_run(dir, o)
  local f = io.open(dir .. "/summary.json", "rb")
  if not f then return nil end
  f:close()
  local ok, summary = pcall(json.read, dir .. "/summary.json")
  if ok and type(summary.options) == "table" and same_experiment(summary.options, o) then
    return summary
  end
  return nil
end

-- What a run gives the tables: network 1's accuracy on the paper's metric (the best
-- test accuracy over the epochs, measured before grafting; the paper records the
-- first network) and after the last round, the mean over the K networks, the
-- ensemble, and the analysis.
-- Measures get (result, variant, dir); result.nets only for runs made now (a run
-- found finished in dir has its networks in dir/net<k>.safetensors).
local function default_measure(result)
  local accuracies = {}
  for k, f in ipairs(result.final) do accuracies[k] = f.test_top1 end
  local mean_all = report.stats(accuracies)
  local first = result.final[1]
  return {accuracy = first.best_before or first.test_top1, final = first.test_top1,
          accuracy_all = mean_all, ensemble = result.ensemble,
          invalid_ratio = first.invalid_ratio, information = first.information}
end

local function load_data(o, cache)
  local key = table.concat({o.data, tostring(o.data_dir), tostring(o.subset), tostring(o.test_subset)}, "|")
  if not cache[key] then
    cache[key] = graft.data.load(o.data, {dir = o.data_dir, subset = o.subset, test_subset = o.test_subset})
  end
  return cache[key]
end

function ablation.main(spec)
  local cli = parse(spec, arg or {})
  local preset = spec.presets[cli.preset]
  local seeds = cli.seeds or preset.seeds or 3
  local out = cli.out or ("runs/" .. spec.name .. (cli.preset == "quick" and "" or "-" .. cli.preset))
  local variants, reference = plan.variants(spec, preset, cli)
  local measure = spec.measure or default_measure
  local runs = plan.runs(preset, variants, cli, seeds, out)
  plan.print(spec, cli, runs, seeds, out)
  if cli.plan then return end
  graft.core.make_dirs(out)
  local command = table.concat({"scripts/ablation/" .. spec.name, table.unpack(arg or {})}, " ")
  graft.core.write_file(out .. "/command.txt", command .. "\n")

  local data_cache, measured = {}, {}
  local ran, ran_seconds = 0, 0
  for index, p in ipairs(runs) do
    local o = p.options
    local summary = not cli.fresh and finished_run(p.dir, o)
    local m, seconds, how
    if summary then
      m = measure({final = summary.final, ensemble = summary.ensemble, options = summary.options}, p.variant, p.dir)
      seconds, how = summary.seconds, "finished before"
    else
      if cli.fresh then graft.core.remove_tree(p.dir) end
      -- an interrupted run (killed, or stopped by an error) continues from its last
      -- complete epoch; graft.run refuses one whose options differ
      local interrupted = graft.core.checkpoint_last(p.dir .. "/checkpoints")
      how = interrupted and string.format("resumed after epoch %d", tonumber(interrupted:match("(%d+)$")))
            or "ran"
      local started = graft.core.monotonic_seconds()
      o.dataset = load_data(o, data_cache)
      o.out, o.resume = p.dir, true
      local ok, result = pcall(graft.run, o)
      o.dataset, o.out, o.resume = nil, nil, nil
      if not ok then
        error(string.format("%s: run %s, seed %d: %s%s", spec.name, p.variant.name, p.seed, result,
          tostring(result):find("cannot resume") and " (--fresh starts it again)" or ""), 0)
      end
      m = measure(result, p.variant, p.dir)
      seconds = result.seconds
      result.nets = nil
      ran, ran_seconds = ran + 1, ran_seconds + graft.core.monotonic_seconds() - started
    end
    m.variant, m.seed, m.seconds = p.variant.name, p.seed, seconds
    m.dir = p.dir
    measured[#measured + 1] = m
    -- the time left, from the runs made now (reused ones cost nothing)
    local left = ""
    if index < #runs and ran > 0 then
      left = string.format("; about %.0f min left", ran_seconds / ran * (#runs - index) / 60)
    end
    print(string.format("[%d/%d] %s, seed %d: %.2f%% best before grafting, %s final (%s, %.0f s)%s",
                        index, #runs, p.variant.name, p.seed, m.accuracy,
                        m.final and string.format("%.2f%%", m.final) or "n/a", how, seconds or 0, left))
  end

  local ctx = {spec = spec, cli = cli, preset = preset, out = out, variants = variants, measured = measured,
               first = runs[1].options, seeds = seeds, command = command, reference_name = reference}
  report.write(ctx)
  return ctx
end

return ablation
