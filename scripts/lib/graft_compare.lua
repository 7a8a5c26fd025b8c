-- Baseline against grafted networks: two graft.run experiments with the same
-- protocol, then one comparison table (Markdown) on the paper's metric and a one-line
-- reading on stdout and in OUT/comparison.md. Run by scripts/demo and
-- scripts/graft_fashion_resnet20:
--   graft scripts/lib/graft_compare.lua --out DIR [--model resnet20] [--epochs N]
--     [--subset N] [--test-subset N] [--seed N] [--nets K] [--criterion entropy]
--     [--no-diff-lr] [--batch N] [--lr X] [--wd X] [--schedule S] [--title T]
--     [--over-seeds COMMAND]
local graft = require "graft"

local cli = require "graft.options"
local run_options = require "graft.run.options"

local spec = run_options.spec:pick("graft_compare", {
  "model", "epochs", "subset", "test_subset", "seed", "nets", "criterion", "diff_lr",
  "batch", "lr", "wd", "schedule",
}):add { "out", "string", required = true, help = "output directory (baseline/, grafted/, comparison.md)" }
  :add { "title", "string", default = "Baseline against grafting", help = "the table's title" }
  :add { "over_seeds", "string", default = "docs/results.md",
         help = "where the reading sends the reader for this setting over seeds" }
local parser = cli.parser("graft_compare", "Baseline against grafted networks: two graft.run "
  .. "experiments with the same protocol and one comparison table.")
spec:add_arguments(parser, { "out", "model", "epochs", "subset", "test_subset", "seed", "nets",
                             "criterion", "diff_lr", "batch", "lr", "wd", "schedule", "title",
                             "over_seeds" })
local opts = spec:check(cli.parse_or_exit(parser, arg))

-- One data set for both runs, loaded once.
local data = graft.data.fashion_mnist { subset = opts.subset, test_subset = opts.test_subset }
-- resume: an interrupted run continues from its last complete epoch, a finished one
-- is read back
local common = { model = opts.model, dataset = data, data = "fashion-mnist", epochs = opts.epochs,
                 seed = opts.seed, batch = opts.batch, lr = opts.lr, wd = opts.wd, schedule = opts.schedule,
                 threshold = 1e-2, resume = true }
local function with(extra)
  local o = {}
  for k, v in pairs(common) do o[k] = v end
  for k, v in pairs(extra) do o[k] = v end
  return o
end

print(string.format("== baseline: one %s, %d epochs, seed %d", opts.model, opts.epochs, opts.seed))
local baseline = graft.run(with { nets = 1, scion = "none", out = opts.out .. "/baseline" })
local rates = opts.diff_lr and "different" or "the same"
print(string.format("== grafted: %d %s networks, %s grafting, %s LR, %d epochs, seed %d",
  opts.nets, opts.model, opts.criterion, rates, opts.epochs, opts.seed))
local grafted = graft.run(with { nets = opts.nets, scion = "external", criterion = opts.criterion,
                                 diff_lr = opts.diff_lr, out = opts.out .. "/grafted" })

local function row(name, result)
  local best, final, invalid, info = {}, {}, {}, {}
  for k, f in ipairs(result.final) do
    best[k] = f.best_before and string.format("%.2f", f.best_before) or "-"
    final[k] = string.format("%.2f", f.test_top1)
    invalid[k] = string.format("%d/%d (%.2f%%)", f.invalid, f.filters, 100 * f.invalid_ratio)
    info[k] = string.format("%.2f", f.information)
  end
  return string.format("| %s | %s | %s | %s | %s | %s | %.0f |", name, table.concat(best, " / "),
    table.concat(final, " / "), result.ensemble and string.format("%.2f", result.ensemble) or "-",
    table.concat(invalid, " / "), table.concat(info, " / "), result.seconds)
end

-- The one-line reading, on the paper's metric, with its caveat.
local base, graft1 = baseline.final[1].best_before, grafted.final[1].best_before
local difference = graft1 - base
local reading = string.format("Reading: grafted network 1 is %.2f points %s the baseline on the paper's "
  .. "metric (%.2f%% against %.2f%%). One seed: a difference of this size can change sign with "
  .. "another seed; this setting over seeds, with a 95%% interval: %s.", math.abs(difference),
  difference >= 0 and "ahead of" or "behind", graft1, base, opts.over_seeds)

local schedule_words = { cosine = "cosine per iteration", step = "step decay", multistep = "multistep decay",
                         constant = "constant" }

local lines = {
  string.format("%s: %s on Fashion-MNIST (%s training, %s test images), %d epochs, batch %d, "
    .. "lr %g %s (%s rates for the grafted networks), weight decay %g, "
    .. "momentum 0.9, crop padding 2 and flips, seed %d. The paper's metric: the best test "
    .. "accuracy over the epochs, measured before each grafting round; final: after the last round.",
    opts.title, opts.model, opts.subset or "60000", opts.test_subset or "10000", opts.epochs,
    opts.batch, opts.lr, schedule_words[opts.schedule] or opts.schedule, rates, opts.wd, opts.seed),
  "",
  "| run | best before grafting % | final % | ensemble | invalid filters (l1 < 1e-2) | information | seconds |",
  "|---|---|---|---|---|---|---|",
  row("baseline (1 network)", baseline),
  row(string.format("grafted (%d networks, %s)", opts.nets, opts.criterion), grafted),
  "",
  reading,
}
local text = table.concat(lines, "\n") .. "\n"
print("\n" .. text)
local f = assert(io.open(opts.out .. "/comparison.md", "wb"))
f:write(text)
f:close()
