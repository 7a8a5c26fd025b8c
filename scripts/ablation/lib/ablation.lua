-- The frame shared by the ablation scripts (scripts/ablation/<name>.lua): presets,
-- seeds, one graft.run per variant and seed, statistics over seeds, the Markdown
-- table beside the paper's numbers, CSV and pictures in the output folder.
--
-- A script describes itself:
--   ablation.main{name =, title =, paper_note =, presets = {quick = ablation.preset(...), paper = ...},
--                 variants = function(preset) -> {{name =, run = {graft.run options}, paper = {c10, c100}}, ...},
--                 measure = function(result, variant, dir) -> {accuracy =, ...} (optional),
--                 reference = "baseline" (the variant the others are compared with),
--                 report = function(ctx) (optional: more tables and pictures)}
-- and ablation.main parses the command line (--preset, --seeds, --out, --fresh, --plan
-- and graft.run's --data, --data-dir, --model, --epochs, --subset, --test-subset over
-- the preset's; --help lists them).
local graft = require "graft"
local csv = require "graft.csv"
local json = require "graft.json"
local graft_options = require "graft.options"
local graft_run_options = require "graft.run.options"

local ablation = {}

---------------------------------------------------------------------------- presets

-- quick: ResNet-8 on the first images of Fashion-MNIST, 20 epochs with a cosine
-- schedule per iteration (the step schedule's drop at epoch 60 never comes in a short
-- run), tested on 2000 test images after each grafting round. Planned so that runs
-- converge (the spread between seeds of the earlier, unconverged 6-epoch ResNet-20
-- preset, 3 to 7 points, hid any effect of the paper's size): ResNet-8 on 5000
-- images reaches 85.0% for seeds 1 and 2 alike, and one such network takes about
-- 108 s on the idle 2-core machine (docs/results.md). Scripts scale the images to
-- their number of networks so that each takes at most 30 minutes run alone.
ablation.quick = {model = "resnet8", data = "fashion-mnist", subset = 5000, test_subset = 2000,
                  epochs = 20, batch = 128, lr = 0.1, wd = 5e-4, momentum = 0.9, schedule = "cosine",
                  test_before = false, ensemble = false, threshold = 1e-2}
-- paper: the paper's CIFAR settings (section 4 and the reference's code): 200
-- epochs, batch 128, lr 0.1, momentum 0.9, weight decay 5e-4, crops with 4 pixels
-- of padding and flips; cosine per iteration with different learning rates,
-- otherwise x0.1 every 60 epochs (step_without_diff_lr).
ablation.paper = {model = "mobilenetv2", data = "cifar10", epochs = 200, batch = 128, lr = 0.1,
                  wd = 5e-4, momentum = 0.9, schedule = "cosine", step_without_diff_lr = true,
                  test_before = false, ensemble = false, threshold = 1e-2}

-- A preset: base settings with changes; {run = options, seeds = n}.
function ablation.preset(base, changes, seeds)
  local run = {}
  for k, v in pairs(base) do run[k] = v end
  for k, v in pairs(changes or {}) do run[k] = v end
  return {run = run, seeds = seeds or 3}
end

---------------------------------------------------------------------------- statistics

-- mean and sample standard deviation (n - 1); sd is nil for one value.
function ablation.stats(values)
  local n, sum = #values, 0
  for _, v in ipairs(values) do sum = sum + v end
  local mean = n > 0 and sum / n or 0 / 0
  if n < 2 then return mean, nil end
  local squares = 0
  for _, v in ipairs(values) do squares = squares + (v - mean) ^ 2 end
  return mean, math.sqrt(squares / (n - 1))
end

function ablation.format_mean(mean, sd, digits)
  digits = digits or 2
  if mean ~= mean then return "n/a" end
  local fmt = "%." .. digits .. "f"
  if not sd then return string.format(fmt, mean) end
  return string.format(fmt .. " ± " .. fmt, mean, sd)
end

-- The verdict on a difference: an effect only when it is larger than the spread
-- between seeds (the larger standard deviation of the two sides).
function ablation.verdict(diff, sd_a, sd_b)
  if not (sd_a and sd_b) then return "one seed: spread unknown" end
  local spread = math.max(sd_a, sd_b)
  if math.abs(diff) <= spread then return string.format("no effect (%+.2f within spread %.2f)", diff, spread) end
  return string.format("%s (%+.2f beyond spread %.2f)", diff > 0 and "gain" or "loss", diff, spread)
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
  }):add { "preset", "string", default = "quick", choices = presets,
           help = "quick: Fashion-MNIST, reduced data, epochs and model; paper: the paper's settings "
             .. "(CIFAR, 200 epochs; needs the CIFAR files in --data-dir)" }
    :add { "seeds", "integer", min = 1, default_help = "the preset's, 3", help = "seeds 1..N per variant" }
    :add { "out", "string", default_help = "runs/" .. spec.name .. "[-paper]", help = "output folder" }
    :add { "fresh", "boolean", default = false,
           help = "rerun variants whose finished or interrupted run is already in the output folder "
             .. "(without it, finished runs are reused and interrupted ones continued)" }
    :add { "plan", "boolean", default = false, help = "print the runs and their sizes, run nothing" }
  local parser = graft_options.parser("scripts/ablation/" .. spec.name, spec.title)
  options:add_arguments(parser, { "preset", "seeds", "out", "data_dir", "data", "model", "epochs", "subset",
                                  "test_subset", "fresh", "plan" })
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
  for _, k in ipairs{"model", "epochs", "subset", "test_subset", "data", "data_dir"} do
    if cli[k] then o[k] = cli[k] end
  end
  if o.step_without_diff_lr then
    o.schedule = o.diff_lr == false and "step" or "cosine"
    o.step_without_diff_lr = nil
  end
  if o.diff_lr == nil then o.diff_lr = true end -- graft.run's default, spelled out for the plan
  return o
end

-- Options that make two runs the same experiment (for reusing a finished run).
local IDENTITY = {"model", "data", "nets", "epochs", "scion", "criterion", "A", "c", "alpha", "diff_lr",
                  "same_order", "schedule", "seed", "subset", "test_subset", "batch", "lr", "wd",
                  "gamma", "a", "threshold", "filter_level", "round", "bins", "pad"}

-- An option left unset here took graft.run's default, which the summary records;
-- for these, unset means something of its own (all images, adaptive alpha, ...).
local UNSET_MEANS_NONE = {subset = true, test_subset = true, alpha = true, pad = true}

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

-- What a run gives the tables: network 1's accuracy (the paper records the first
-- network), the mean over the K networks, the ensemble, and the analysis.
-- Measures get (result, variant, dir); result.nets only for runs made now (a run
-- found finished in dir has its networks in dir/net<k>.safetensors).
local function default_measure(result)
  local accuracies = {}
  for k, f in ipairs(result.final) do accuracies[k] = f.test_top1 end
  local mean_all = ablation.stats(accuracies)
  local first = result.final[1]
  return {accuracy = first.test_top1, accuracy_all = mean_all, ensemble = result.ensemble,
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
    network_epochs = network_epochs + o.nets * o.epochs
    -- a test image costs about a quarter of a training image (forward only)
    images = images + o.nets * o.epochs * ((o.subset or 60000) + (o.test_subset or 10000) / 4)
  end
  local first = plan[1].options
  print(string.format("# %s\npreset %s: %s on %s (%s training images, %s test), %d epochs, %d seed(s); "
                      .. "%d runs, %d network-epochs, about %.2g training images; output in %s", spec.title,
                      cli.preset, first.model, first.data, tostring(first.subset or "all"),
                      tostring(first.test_subset or "all"), first.epochs, seeds, #plan, network_epochs,
                      images, out))
  if cli.plan then
    for _, p in ipairs(plan) do
      print(string.format("  %-28s seed %d: nets %d, scion %s, criterion %s, diff_lr %s, same_order %s",
                          p.variant.name, p.seed, p.options.nets, p.options.scion, p.options.criterion,
                          tostring(p.options.diff_lr), tostring(p.options.same_order)))
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
    print(string.format("[%d/%d] %s, seed %d: %.2f%% (%s, %.0f s)%s", index, #plan, p.variant.name,
                        p.seed, m.accuracy, how, seconds or 0, left))
  end

  -- per-variant statistics
  local by_variant = {}
  for _, variant in ipairs(variants) do by_variant[variant.name] = {variant = variant, runs = {}} end
  for _, m in ipairs(measured) do table.insert(by_variant[m.variant].runs, m) end
  local summary_rows = {}
  for _, variant in ipairs(variants) do
    local v = by_variant[variant.name]
    local values = {}
    for i, m in ipairs(v.runs) do values[i] = m[spec.metric or "accuracy"] end
    v.mean, v.sd = ablation.stats(values)
  end
  local reference = by_variant[spec.reference or variants[1].name]
  local paper_reference = reference.variant.paper
  local table_rows = {}
  for _, variant in ipairs(variants) do
    local v = by_variant[variant.name]
    local paper = variant.paper or {}
    local diff = v.mean - reference.mean
    local is_reference = v == reference
    local verdict = is_reference and "(reference)" or ablation.verdict(diff, v.sd, reference.sd)
    local paper_gain = (not is_reference and paper[1] and paper_reference and paper_reference[1])
                       and string.format("%+.2f", paper[1] - paper_reference[1]) or ""
    table_rows[#table_rows + 1] = {variant.label or variant.name,
      paper[1] and string.format("%.2f", paper[1]) or "–", paper[2] and string.format("%.2f", paper[2]) or "–",
      paper_gain, ablation.format_mean(v.mean, v.sd), is_reference and "" or string.format("%+.2f", diff), verdict}
    summary_rows[#summary_rows + 1] = {variant = variant.name, seeds = #v.runs, mean = v.mean, sd = v.sd,
                                       paper_cifar10 = paper[1], paper_cifar100 = paper[2],
                                       difference = not is_reference and diff or nil, verdict = verdict}
  end
  local metric_name = spec.metric_name or "test accuracy of network 1 (%)"
  local text = string.format("## %s\n\n%s\n\nMeasured: %s, %s on %s (%s training images, %s test), %d epochs, "
                             .. "%d seed(s), mean ± sample standard deviation. Paper: %s.\n\n", spec.title,
                             "`" .. command .. "`", metric_name, first.model, first.data,
                             tostring(first.subset or "all"), tostring(first.test_subset or "all"),
                             first.epochs, seeds, spec.paper_note)
  text = text .. ablation.markdown({"variant", "paper CIFAR-10", "paper CIFAR-100", "paper gain (C-10)",
                                    "measured", "measured gain", "verdict"}, table_rows)
  local ctx = {spec = spec, cli = cli, preset = preset, out = out, variants = variants, by_variant = by_variant,
               measured = measured, reference = reference, first = first, seeds = seeds}
  if spec.report then text = text .. (spec.report(ctx) or "") end
  print("\n" .. text)
  graft.core.write_file(out .. "/table.md", text)
  graft.core.write_file(out .. "/runs.csv", csv.encode({"variant", "seed", "accuracy", "accuracy_all",
    "ensemble", "invalid_ratio", "information", "seconds", "dir"}, rows, 6))
  graft.core.write_file(out .. "/summary.csv", csv.encode({"variant", "seeds", "mean", "sd",
    "paper_cifar10", "paper_cifar100", "difference", "verdict"}, summary_rows, 6))
  if not spec.no_bars then ablation.bars(ctx) end
  print("wrote " .. out .. "/table.md, runs.csv, summary.csv and pictures")
  return ctx
end

-- The default picture: measured mean ± sd per variant, and the gain over the
-- reference beside the paper's gain (the levels differ: CIFAR against Fashion-MNIST).
function ablation.bars(ctx)
  local labels, means, sds, gains, paper_gains = {}, {}, {}, {}, {}
  local paper_reference = ctx.reference.variant.paper
  for i, variant in ipairs(ctx.variants) do
    local v = ctx.by_variant[variant.name]
    labels[i] = variant.label or variant.name
    means[i], sds[i] = v.mean, v.sd or 0
    gains[i] = v.mean - ctx.reference.mean
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
                                             {values = gains, err = sds, title = "measured (± sd of the variant)"}},
                  title = ctx.spec.title .. ": gain over " .. (ctx.reference.variant.label or ctx.reference.variant.name),
                  ylabel = "accuracy difference (points)", key = "top left", out = ctx.out .. "/gain.png"}
end

return ablation
