-- The frame shared by the ablation scripts (scripts/ablation/<name>.lua): presets,
-- seeds, one graft.run per variant and seed, statistics over seeds (statistics.lua:
-- paired by seed, 95% intervals), the Markdown table beside the paper's numbers, CSV
-- and pictures in the output folder.
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
-- --test-subset, --lr, --wd, --init over the preset's; --help lists them).
local graft = require "graft"
local csv = require "graft.csv"
local json = require "graft.json"
local graft_options = require "graft.options"
local graft_run_options = require "graft.run.options"
local statistics = require "statistics"

local ablation = {}

---------------------------------------------------------------------------- presets

-- quick: ResNet-8 on the first images of Fashion-MNIST, 20 epochs with a cosine
-- schedule per iteration (the step schedule's drop at epoch 60 never comes in a short
-- run), tested on 2000 test images after each grafting round. Planned so that runs
-- converge (the spread between seeds of the earlier, unconverged 6-epoch ResNet-20
-- preset, 3 to 7 points, hid any effect of the paper's size): ResNet-8 on 5000
-- images reaches 85.0% for seeds 1 and 2 alike, and one such network takes about
-- 108 s on the idle 2-core machine (docs/results.md). Scripts scale the images to
-- their number of networks so that each takes at most 30 minutes run alone. Every
-- network is also tested before each grafting round, for the paper's metric.
ablation.quick = {model = "resnet8", data = "fashion-mnist", subset = 5000, test_subset = 2000,
                  epochs = 20, batch = 128, lr = 0.1, wd = 5e-4, momentum = 0.9, schedule = "cosine",
                  test_before = true, ensemble = false, threshold = 1e-2}
-- paper: the paper's CIFAR settings (section 4 and the reference's code): 200
-- epochs, batch 128, lr 0.1, momentum 0.9, weight decay 5e-4, crops with 4 pixels
-- of padding and flips, tested before every grafting round. The schedule follows the
-- reference (schedule_rule = "reference"): cosine per iteration only together with
-- different learning rates (diff_lr and more than one network), x0.1 every 60 epochs
-- for the baseline and every same-LR row; a variant that names its schedule keeps it.
ablation.paper = {model = "mobilenetv2", data = "cifar10", epochs = 200, batch = 128, lr = 0.1,
                  wd = 5e-4, momentum = 0.9, schedule_rule = "reference",
                  test_before = true, ensemble = false, threshold = 1e-2}

-- A preset: base settings with changes; {run = options, seeds = n}.
function ablation.preset(base, changes, seeds)
  local run = {}
  for k, v in pairs(base) do run[k] = v end
  for k, v in pairs(changes or {}) do run[k] = v end
  return {run = run, seeds = seeds or 3}
end

-- The schedule a run takes under the reference's rule (see ablation.paper).
local function reference_schedule(o)
  return o.diff_lr ~= false and (o.nets or 2) > 1 and "cosine" or "step"
end

-- The row a table needs beside its variants under the reference's rule: where a
-- variant trains with cosine (different learning rates), a baseline with cosine too,
-- since the paper's "different LR" gain mixes the two changes.
local function cosine_baseline(preset, variants)
  if preset.run.schedule_rule ~= "reference" then return nil end
  for _, variant in ipairs(variants) do
    local run = {}
    for k, v in pairs(preset.run) do run[k] = v end
    for k, v in pairs(variant.run or {}) do run[k] = v end
    if run.schedule == nil and reference_schedule(run) == "cosine" then
      return {name = "baseline-cosine", label = "baseline, cosine",
              run = {nets = 1, scion = "none", schedule = "cosine"}}
    end
  end
  return nil
end

---------------------------------------------------------------------------- statistics

-- mean and sample standard deviation (n - 1); sd is nil for one value.
ablation.stats = statistics.mean_sd

function ablation.format_mean(mean, sd, digits)
  digits = digits or 2
  if mean ~= mean then return "n/a" end
  local fmt = "%." .. digits .. "f"
  if not sd then return string.format(fmt, mean) end
  return string.format(fmt .. " ± " .. fmt, mean, sd)
end

-- The comparison of two variants' runs ({seed =, [metric] =} each), paired by seed:
-- statistics.paired's mean difference, 95% interval, p and verdict.
function ablation.compare(runs, reference_runs, metric)
  local mine, theirs = {}, {}
  for _, m in ipairs(runs) do mine[m.seed] = m[metric] end
  for _, m in ipairs(reference_runs) do theirs[m.seed] = m[metric] end
  return statistics.paired(mine, theirs)
end

---------------------------------------------------------------------------- tables

function ablation.markdown(header, rows)
  local lines = {"| " .. table.concat(header, " | ") .. " |",
                 "|" .. string.rep("---|", #header)}
  for _, row in ipairs(rows) do lines[#lines + 1] = "| " .. table.concat(row, " | ") .. " |" end
  return table.concat(lines, "\n") .. "\n"
end

---------------------------------------------------------------------------- command line

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
    init = { default_help = "the model's reference rule" },
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
                                  "test_subset", "lr", "wd", "init", "fresh", "plan", "only" })
  return options, parser
end

local function parse(spec, args)
  local options, parser = command_line(spec)
  return options:check(graft_options.parse_or_exit(parser, args))
end

---------------------------------------------------------------------------- runs

-- The options of one run: preset, then the variant's own, then the command line.
local function run_options(preset, variant, cli, seed)
  local o = {}
  for k, v in pairs(preset.run) do o[k] = v end
  for k, v in pairs(variant.run or {}) do o[k] = v end
  o.seed, o.quiet = seed, true
  for _, k in ipairs{"model", "epochs", "subset", "test_subset", "data", "data_dir", "lr", "wd", "init"} do
    if cli[k] then o[k] = cli[k] end
  end
  if o.diff_lr == nil then o.diff_lr = true end -- graft.run's default, spelled out for the plan
  if o.schedule_rule == "reference" and (variant.run or {}).schedule == nil then
    o.schedule = reference_schedule(o)
  end
  o.schedule_rule = nil
  return o
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
  local mean_all = ablation.stats(accuracies)
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
  local variants = spec.variants(preset, cli)
  local extra = cosine_baseline(preset, variants)
  if extra then table.insert(variants, 2, extra) end
  if cli.only then
    local wanted, names, chosen = {}, {}, {}
    for name in cli.only:gmatch("[^,]+") do wanted[name] = true end
    for _, variant in ipairs(variants) do
      names[#names + 1] = variant.name
      if wanted[variant.name] then
        chosen[#chosen + 1] = variant
        wanted[variant.name] = nil
      end
    end
    local unknown = next(wanted)
    if unknown then
      io.stderr:write(spec.name, ": --only: no variant '", unknown, "' (variants: ",
                      table.concat(names, ", "), ")\n")
      os.exit(2)
    end
    variants = chosen
  end
  local measure = spec.measure or default_measure

  local plan = {}
  for seed = 1, seeds do
    for _, variant in ipairs(variants) do
      local o = run_options(preset, variant, cli, seed)
      plan[#plan + 1] = {variant = variant, seed = seed, options = o,
                         dir = string.format("%s/runs/%s-seed%d", out, variant.name, seed)}
    end
  end
  local network_epochs, images = 0, 0
  for _, p in ipairs(plan) do
    local o = p.options
    -- distillation trains its teacher first: two networks
    local networks = o.method == "distill" and 2 or o.nets
    network_epochs = network_epochs + networks * o.epochs
    -- a test image costs about a quarter of a training image (forward only)
    images = images + networks * o.epochs * ((o.subset or 60000) + (o.test_subset or 10000) / 4)
  end
  local first = plan[1].options
  print(string.format("# %s\npreset %s: %s on %s (%s training images, %s test), %d epochs, %d seed(s); "
                      .. "%d runs, %d network-epochs, about %.2g training images; output in %s", spec.title,
                      cli.preset, first.model, first.data, tostring(first.subset or "all"),
                      tostring(first.test_subset or "all"), first.epochs, seeds, #plan, network_epochs,
                      images, out))
  if cli.plan then
    for _, p in ipairs(plan) do
      local o = p.options
      print(string.format("  %-28s seed %d: method %s, nets %d, scion %s, criterion %s, alpha %s, "
                          .. "diff_lr %s, same_order %s, schedule %s, batch %d, lr %g, wd %g, epochs %d",
                          p.variant.name, p.seed, o.method or "graft", o.nets or 2, o.scion or "external",
                          o.criterion or "entropy", o.alpha and tostring(o.alpha) or "eq. 7",
                          tostring(o.diff_lr), tostring(o.same_order or false), o.schedule or "cosine",
                          o.batch, o.lr, o.wd, o.epochs))
    end
    return
  end
  graft.core.make_dirs(out)
  local command = table.concat({"scripts/ablation/" .. spec.name, table.unpack(arg or {})}, " ")
  graft.core.write_file(out .. "/command.txt", command .. "\n")

  local data_cache, measured, rows = {}, {}, {}
  local ran, ran_seconds = 0, 0
  for index, p in ipairs(plan) do
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
    rows[#rows + 1] = m
    -- the time left, from the runs made now (reused ones cost nothing)
    local left = ""
    if index < #plan and ran > 0 then
      left = string.format("; about %.0f min left", ran_seconds / ran * (#plan - index) / 60)
    end
    print(string.format("[%d/%d] %s, seed %d: %.2f%% best before grafting, %s final (%s, %.0f s)%s",
                        index, #plan, p.variant.name, p.seed, m.accuracy,
                        m.final and string.format("%.2f%%", m.final) or "n/a", how, seconds or 0, left))
  end

  -- per-variant statistics
  local by_variant = {}
  for _, variant in ipairs(variants) do by_variant[variant.name] = {variant = variant, runs = {}} end
  for _, m in ipairs(measured) do table.insert(by_variant[m.variant].runs, m) end
  local summary_rows = {}
  local metric = spec.metric or "accuracy"
  for _, variant in ipairs(variants) do
    local v = by_variant[variant.name]
    local values, finals = {}, {}
    for i, m in ipairs(v.runs) do values[i], finals[#finals + 1] = m[metric], m.final end
    v.mean, v.sd = ablation.stats(values)
    if #finals == #v.runs then v.final_mean, v.final_sd = ablation.stats(finals) end
  end
  local reference = by_variant[spec.reference or variants[1].name]
  local paper_reference = reference.variant.paper
  local table_rows = {}
  for _, variant in ipairs(variants) do
    local v = by_variant[variant.name]
    local paper = variant.paper or {}
    local is_reference = v == reference
    local compared = not is_reference and spec.compare ~= false
    local c = compared and ablation.compare(v.runs, reference.runs, metric) or {}
    v.comparison = c
    local verdict = (is_reference and spec.compare ~= false) and "(reference)" or c.verdict or ""
    local paper_gain = (not is_reference and paper[1] and paper_reference and paper_reference[1])
                       and string.format("%+.2f", paper[1] - paper_reference[1]) or ""
    local gain = ""
    if c.low then
      gain = string.format("%+.2f [%+.2f, %+.2f]", c.mean, c.low, c.high)
    elseif c.mean and c.mean == c.mean then
      gain = string.format("%+.2f", c.mean)
    end
    table_rows[#table_rows + 1] = {variant.label or variant.name,
      paper[1] and string.format("%.2f", paper[1]) or "–", paper[2] and string.format("%.2f", paper[2]) or "–",
      paper_gain, ablation.format_mean(v.mean, v.sd),
      v.final_mean and ablation.format_mean(v.final_mean, v.final_sd) or "n/a", gain,
      c.p and string.format("%.2g", c.p) or "", verdict}
    summary_rows[#summary_rows + 1] = {variant = variant.name, seeds = #v.runs, mean = v.mean, sd = v.sd,
                                       final_mean = v.final_mean, final_sd = v.final_sd,
                                       paper_cifar10 = paper[1], paper_cifar100 = paper[2],
                                       difference = c.mean, ci_low = c.low, ci_high = c.high, p = c.p,
                                       pairs = c.pairs, verdict = verdict}
  end
  local metric_name = spec.metric_name
                      or "best test accuracy of network 1 over the epochs, measured before grafting (%)"
  local text = string.format("## %s\n\n%s\n\nMeasured: %s, %s on %s (%s training images, %s test), %d epochs, "
                             .. "%d seed(s), mean ± sample standard deviation; final: the test accuracy "
                             .. "after the last epoch (and its grafting round). Gain: the mean difference "
                             .. "to %s over the seeds both have (same seed: same initialisation and data "
                             .. "order of network 1) with its 95%% confidence interval (Student's t) and "
                             .. "the p value of the paired t-test; the verdict is the interval's. "
                             .. "Paper: %s.\n\n", spec.title,
                             "`" .. command .. "`", metric_name, first.model, first.data,
                             tostring(first.subset or "all"), tostring(first.test_subset or "all"),
                             first.epochs, seeds, reference.variant.label or reference.variant.name,
                             spec.paper_note)
  text = text .. ablation.markdown({"variant", "paper CIFAR-10", "paper CIFAR-100", "paper gain (C-10)",
                                    "measured", "final", "gain [95% CI]", "p", "verdict"}, table_rows)
  local ctx = {spec = spec, cli = cli, preset = preset, out = out, variants = variants, by_variant = by_variant,
               measured = measured, reference = reference, first = first, seeds = seeds}
  if spec.report then text = text .. (spec.report(ctx) or "") end
  print("\n" .. text)
  graft.core.write_file(out .. "/table.md", text)
  graft.core.write_file(out .. "/runs.csv", csv.encode({"variant", "seed", "accuracy", "final", "accuracy_all",
    "ensemble", "invalid_ratio", "information", "seconds", "dir"}, rows, 6))
  graft.core.write_file(out .. "/summary.csv", csv.encode({"variant", "seeds", "mean", "sd", "final_mean",
    "final_sd", "paper_cifar10", "paper_cifar100", "difference", "ci_low", "ci_high", "p", "pairs",
    "verdict"}, summary_rows, 6))
  if not spec.no_bars then ablation.bars(ctx) end
  print("wrote " .. out .. "/table.md, runs.csv, summary.csv and pictures")
  return ctx
end

-- The default picture: measured mean ± sd per variant, and the gain over the
-- reference (with its 95% interval) beside the paper's gain (the levels differ:
-- CIFAR against Fashion-MNIST).
function ablation.bars(ctx)
  local labels, means, sds, gains, halves, paper_gains = {}, {}, {}, {}, {}, {}
  local paper_reference = ctx.reference.variant.paper
  for i, variant in ipairs(ctx.variants) do
    local v = ctx.by_variant[variant.name]
    labels[i] = variant.label or variant.name
    means[i], sds[i] = v.mean, v.sd or 0
    local c = v.comparison or {}
    gains[i] = c.mean or 0
    halves[i] = c.high and (c.high - c.mean) or 0
    paper_gains[i] = (variant.paper and variant.paper[1] and paper_reference and paper_reference[1])
                     and variant.paper[1] - paper_reference[1] or 0
  end
  local lo, hi = math.huge, -math.huge
  for i = 1, #means do lo, hi = math.min(lo, means[i] - sds[i]), math.max(hi, means[i] + sds[i]) end
  local margin = math.max(0.5, (hi - lo) * 0.3)
  graft.plot.bars{labels = labels, series = {{values = means, err = sds, title = "measured (mean ± sd)"}},
                  title = ctx.spec.title .. ": measured", ylabel = "test accuracy (%)",
                  yrange = {lo - margin, hi + margin}, key = "top left", out = ctx.out .. "/accuracy.png"}
  graft.plot.bars{labels = labels, series = {{values = paper_gains, title = "paper (CIFAR-10)"},
                                             {values = gains, err = halves, title = "measured (95% interval, paired by seed)"}},
                  title = ctx.spec.title .. ": gain over " .. (ctx.reference.variant.label or ctx.reference.variant.name),
                  ylabel = "accuracy difference (points)", key = "top left", out = ctx.out .. "/gain.png"}
end

return ablation
