-- What the ablation scripts report: statistics over seeds per variant (statistics.lua:
-- paired by seed, 95% intervals), the Markdown table beside the paper's numbers, the
-- CSV files (with every run's history) and the default pictures.
local graft = require "graft"
local csv = require "graft.csv"
local run_records = require "graft.run.records"
local statistics = require "statistics"

local report = {}

-- mean and sample standard deviation (n - 1); sd is nil for one value.
report.stats = statistics.mean_sd

function report.format_mean(mean, sd, digits)
  digits = digits or 2
  if mean ~= mean then return "n/a" end
  local fmt = "%." .. digits .. "f"
  if not sd then return string.format(fmt, mean) end
  return string.format(fmt .. " ± " .. fmt, mean, sd)
end

-- The comparison of two variants' runs ({seed =, [metric] =} each), paired by seed:
-- statistics.paired's mean difference, 95% interval, p and verdict.
function report.compare(runs, reference_runs, metric)
  local mine, theirs = {}, {}
  for _, m in ipairs(runs) do mine[m.seed] = m[metric] end
  for _, m in ipairs(reference_runs) do theirs[m.seed] = m[metric] end
  return statistics.paired(mine, theirs)
end

function report.markdown(header, rows)
  local lines = {"| " .. table.concat(header, " | ") .. " |",
                 "|" .. string.rep("---|", #header)}
  for _, row in ipairs(rows) do lines[#lines + 1] = "| " .. table.concat(row, " | ") .. " |" end
  return table.concat(lines, "\n") .. "\n"
end

-- The tables, files and pictures of a finished ablation; ctx as ablation.main gives
-- it (spec, cli, preset, out, variants, measured, first, seeds, command,
-- reference_name), to which this adds by_variant (mean, sd, final_mean, final_sd,
-- comparison per variant) and reference (nil when --only left it out: then nothing is
-- compared), for spec.report.
function report.write(ctx)
  local spec, variants = ctx.spec, ctx.variants
  local by_variant = {}
  for _, variant in ipairs(variants) do by_variant[variant.name] = {variant = variant, runs = {}} end
  for _, m in ipairs(ctx.measured) do table.insert(by_variant[m.variant].runs, m) end
  local summary_rows = {}
  local metric = spec.metric or "accuracy"
  for _, variant in ipairs(variants) do
    local v = by_variant[variant.name]
    local values, finals = {}, {}
    for i, m in ipairs(v.runs) do values[i], finals[#finals + 1] = m[metric], m.final end
    v.mean, v.sd = report.stats(values)
    if #finals == #v.runs then v.final_mean, v.final_sd = report.stats(finals) end
  end
  local reference = by_variant[ctx.reference_name]
  local paper_reference = reference and reference.variant.paper
  local table_rows = {}
  for _, variant in ipairs(variants) do
    local v = by_variant[variant.name]
    local paper = variant.paper or {}
    local is_reference = v == reference
    local compared = reference and not is_reference and spec.compare ~= false
    local c = compared and report.compare(v.runs, reference.runs, metric) or {}
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
      paper_gain, report.format_mean(v.mean, v.sd),
      v.final_mean and report.format_mean(v.final_mean, v.final_sd) or "n/a", gain,
      c.p and string.format("%.2g", c.p) or "", verdict}
    summary_rows[#summary_rows + 1] = {variant = variant.name, seeds = #v.runs, mean = v.mean, sd = v.sd,
                                       final_mean = v.final_mean, final_sd = v.final_sd,
                                       paper_cifar10 = paper[1], paper_cifar100 = paper[2],
                                       difference = c.mean, ci_low = c.low, ci_high = c.high, p = c.p,
                                       pairs = c.pairs, verdict = verdict}
  end
  ctx.by_variant, ctx.reference = by_variant, reference
  local first, out = ctx.first, ctx.out
  local metric_name = spec.metric_name
                      or "best test accuracy of network 1 over the epochs, measured before grafting (%)"
  local gain_note = reference and string.format("Gain: the mean difference to %s over the seeds both "
    .. "have (same seed: same initialisation and data order of network 1) with its 95%% confidence "
    .. "interval (Student's t) and the p value of the paired t-test; the verdict is the interval's.",
    reference.variant.label or reference.variant.name)
    or string.format("Gain: none; the variant the others are compared with, %s, is not among "
    .. "--only's.", ctx.reference_name)
  local text = string.format("## %s\n\n%s\n\nMeasured: %s, %s on %s (%s training images, %s test), %d epochs, "
                             .. "%d seed(s), mean ± sample standard deviation; final: the test accuracy "
                             .. "after the last epoch (and its grafting round). %s "
                             .. "Paper: %s.\n\n", spec.title,
                             "`" .. ctx.command .. "`", metric_name, first.model, first.data,
                             tostring(first.subset or "all"), tostring(first.test_subset or "all"),
                             first.epochs, ctx.seeds, gain_note, spec.paper_note)
  text = text .. report.markdown({"variant", "paper CIFAR-10", "paper CIFAR-100", "paper gain (C-10)",
                                  "measured", "final", "gain [95% CI]", "p", "verdict"}, table_rows)
  if spec.report then text = text .. (spec.report(ctx) or "") end
  print("\n" .. text)
  graft.core.write_file(out .. "/table.md", text)
  graft.core.write_file(out .. "/runs.csv", csv.encode({"variant", "seed", "accuracy", "final", "accuracy_all",
    "ensemble", "invalid_ratio", "information", "seconds", "dir"}, ctx.measured, 6))
  graft.core.write_file(out .. "/summary.csv", csv.encode({"variant", "seeds", "mean", "sd", "final_mean",
    "final_sd", "paper_cifar10", "paper_cifar100", "difference", "ci_low", "ci_high", "p", "pairs",
    "verdict"}, summary_rows, 6))
  graft.core.write_file(out .. "/histories.csv", report.histories(ctx.measured))
  if not spec.no_bars then report.bars(ctx) end
  print("wrote " .. out .. "/table.md, runs.csv, summary.csv, histories.csv and pictures")
end

local HISTORY_COLUMNS = {"variant", "seed", "network", "epoch", "lr", "loss", "train_top1",
  "test_top1_before", "test_top1", "best_before", "information", "invalid_ratio", "distance", "seconds"}

-- Every run's history (each network's epochs, from its history.jsonl) in one table:
-- the per-epoch record behind each number of table.md, compact enough to commit.
function report.histories(measured)
  local rows = {}
  for _, m in ipairs(measured) do
    for _, record in ipairs(run_records.read_rows(m.dir .. "/history.jsonl")) do
      record.variant, record.seed = m.variant, m.seed
      rows[#rows + 1] = record
    end
  end
  return csv.encode(HISTORY_COLUMNS, rows, 6)
end

-- The default picture: measured mean ± sd per variant, and the gain over the
-- reference (with its 95% interval) beside the paper's gain (the levels differ:
-- CIFAR against Fashion-MNIST).
function report.bars(ctx)
  local labels, means, sds, gains, halves, paper_gains = {}, {}, {}, {}, {}, {}
  local paper_reference = ctx.reference and ctx.reference.variant.paper
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
  if not ctx.reference then return end
  graft.plot.bars{labels = labels, series = {{values = paper_gains, title = "paper (CIFAR-10)"},
                                             {values = gains, err = halves, title = "measured (95% interval, paired by seed)"}},
                  title = ctx.spec.title .. ": gain over " .. (ctx.reference.variant.label or ctx.reference.variant.name),
                  ylabel = "accuracy difference (points)", key = "top left", out = ctx.out .. "/gain.png"}
end

return report
