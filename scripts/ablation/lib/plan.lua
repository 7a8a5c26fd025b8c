-- The presets of the ablation scripts and the plan of runs they make: one graft.run
-- per variant and seed, its options from the preset, the variant and the command line.
local plan = {}

-- quick: ResNet-8 on the first images of Fashion-MNIST, 20 epochs with a cosine
-- schedule per iteration (the step schedule's drop at epoch 60 never comes in a short
-- run), tested on 2000 test images after each grafting round. Planned so that runs
-- converge (the spread between seeds of the earlier, unconverged 6-epoch ResNet-20
-- preset, 3 to 7 points, hid any effect of the paper's size): ResNet-8 on 5000
-- images reaches 85.0% for seeds 1 and 2 alike, and one such network takes about
-- 108 s on the idle 2-core machine (docs/results.md). Scripts scale the images to
-- their number of networks so that each takes at most 30 minutes run alone. Every
-- network is also tested before each grafting round, for the paper's metric.
plan.quick = {model = "resnet8", data = "fashion-mnist", subset = 5000, test_subset = 2000,
              epochs = 20, batch = 128, lr = 0.1, wd = 5e-4, momentum = 0.9, schedule = "cosine",
              test_before = true, ensemble = false, threshold = 1e-2}
-- paper: the paper's CIFAR settings (section 4 and the reference's code): 200
-- epochs, batch 128, lr 0.1, momentum 0.9, weight decay 5e-4, crops with 4 pixels
-- of padding and flips, tested before every grafting round. The schedule follows the
-- reference (schedule_rule = "reference"): cosine per iteration only together with
-- different learning rates (diff_lr and more than one network), x0.1 every 60 epochs
-- for the baseline and every same-LR row; a variant that names its schedule keeps it.
plan.paper = {model = "mobilenetv2", data = "cifar10", epochs = 200, batch = 128, lr = 0.1,
              wd = 5e-4, momentum = 0.9, schedule_rule = "reference",
              test_before = true, ensemble = false, threshold = 1e-2}

-- A preset: base settings with changes; {run = options, seeds = n}.
function plan.preset(base, changes, seeds)
  local run = {}
  for k, v in pairs(base) do run[k] = v end
  for k, v in pairs(changes or {}) do run[k] = v end
  return {run = run, seeds = seeds or 3}
end

-- The schedule a run takes under the reference's rule (see plan.paper).
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

-- The variants a script runs: its own, the cosine baseline where needed, then only
-- those named by --only; and the name of the variant the others are compared with
-- (spec.reference, else the first), which --only may have left out.
function plan.variants(spec, preset, cli)
  local variants = spec.variants(preset, cli)
  local extra = cosine_baseline(preset, variants)
  if extra then table.insert(variants, 2, extra) end
  local reference = spec.reference or variants[1].name
  if not cli.only then return variants, reference end
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
  return chosen, reference
end

-- The options of one run: preset, then the variant's own, then the command line.
local function run_options(preset, variant, cli, seed)
  local o = {}
  for k, v in pairs(preset.run) do o[k] = v end
  for k, v in pairs(variant.run or {}) do o[k] = v end
  o.seed, o.quiet = seed, true
  for _, k in ipairs{"model", "epochs", "subset", "test_subset", "data", "data_dir", "lr", "wd", "batch",
                     "schedule", "init", "live", "live_every"} do
    if cli[k] then o[k] = cli[k] end
  end
  if o.diff_lr == nil then o.diff_lr = true end -- graft.run's default, spelled out for the plan
  if o.schedule_rule == "reference" and (variant.run or {}).schedule == nil and not cli.schedule then
    o.schedule = reference_schedule(o)
  end
  o.schedule_rule = nil
  return o
end

-- The runs, seed by seed: {variant =, seed =, options =, dir =} each.
function plan.runs(preset, variants, cli, seeds, out)
  local runs = {}
  for seed = 1, seeds do
    for _, variant in ipairs(variants) do
      local o = run_options(preset, variant, cli, seed)
      runs[#runs + 1] = {variant = variant, seed = seed, options = o,
                         dir = string.format("%s/runs/%s-seed%d", out, variant.name, seed)}
    end
  end
  return runs
end

-- The plan's size in one line; with --plan, every run's settings below it.
function plan.print(spec, cli, runs, seeds, out)
  local network_epochs, images = 0, 0
  for _, p in ipairs(runs) do
    local o = p.options
    -- distillation trains its teacher first: two networks
    local networks = o.method == "distill" and 2 or o.nets
    network_epochs = network_epochs + networks * o.epochs
    -- a test image costs about a quarter of a training image (forward only)
    images = images + networks * o.epochs * ((o.subset or 60000) + (o.test_subset or 10000) / 4)
  end
  local first = runs[1].options
  print(string.format("# %s\npreset %s: %s on %s (%s training images, %s test), %d epochs, %d seed(s); "
                      .. "%d runs, %d network-epochs, about %.2g training images; output in %s", spec.title,
                      cli.preset, first.model, first.data, tostring(first.subset or "all"),
                      tostring(first.test_subset or "all"), first.epochs, seeds, #runs, network_epochs,
                      images, out))
  if not cli.plan then return end
  for _, p in ipairs(runs) do
    local o = p.options
    print(string.format("  %-28s seed %d: method %s, nets %d, scion %s, criterion %s, alpha %s, "
                        .. "diff_lr %s, same_order %s, schedule %s, batch %d, lr %g, wd %g, epochs %d",
                        p.variant.name, p.seed, o.method or "graft", o.nets or 2, o.scion or "external",
                        o.criterion or "entropy", o.alpha and tostring(o.alpha) or "eq. 7",
                        tostring(o.diff_lr), tostring(o.same_order or false), o.schedule or "cosine",
                        o.batch, o.lr, o.wd, o.epochs))
  end
end

return plan
