-- Fig. 6: the share of conv filters whose l1 norm is under a threshold, for the
-- baseline and for a network grafted with a second one (entropy, own data order
-- and learning rate), against the threshold (1e-4 to 10). Short Fashion-MNIST
-- runs have no filter under 1e-2 (docs/results.md; a tenfold weight decay did not
-- change that in 8 epochs), so the quick preset shows the whole distribution.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib/?.lua;" .. package.path
local ablation = require "ablation"
local graft = require "graft"

local THRESHOLDS = {}
for e = -16, 4 do THRESHOLDS[#THRESHOLDS + 1] = 10 ^ (e / 4) end
local TABLE_THRESHOLDS = {1e-3, 1e-2, 1e-1}
-- The paper's numbers: Fig. 6 (MobileNetV2, CIFAR-10, threshold 1e-3) in words, and
-- the reference's README counts at 0.1 and 0.01.
local PAPER = {
  [1e-3] = "MobileNetV2: about 50% baseline, \"a small part\" grafted (Fig. 6)",
  [1e-2] = "ResNet-32: 3.1% / 0.7%; MobileNetV2: 57.5% / 49.7% (README)",
  [1e-1] = "ResNet-32: 3.2% / 1.2%; MobileNetV2: 64.0% / 58.0% (README)",
}

local function measure(result, variant, dir)
  local net = result.nets and result.nets[1] or graft.load(dir .. "/net1.safetensors")
  local ratios = graft.invalid_ratios(net, THRESHOLDS)
  local l1 = graft.filter_l1(net):totable()
  local first = result.final[1]
  return {accuracy = first.best_before or first.test_top1, final = first.test_top1,
          invalid_ratio = result.final[1].invalid_ratio,
          information = result.final[1].information, ratios = ratios, l1 = l1}
end

local function report(ctx)
  local series, rows, seed1 = {}, {}, {}
  local per_threshold = {}
  -- --only may have left one of the two variants out: its column then shows "–"
  for _, variant in ipairs(ctx.variants) do
    local name, runs = variant.name, ctx.by_variant[variant.name].runs
    local means, sds = {}, {}
    for i, t in ipairs(THRESHOLDS) do
      local values = {}
      for r, m in ipairs(runs) do values[r] = 100 * m.ratios[i] end
      means[i], sds[i] = ablation.stats(values)
      per_threshold[t] = per_threshold[t] or {}
      per_threshold[t][name] = ablation.format_mean(means[i], sds[i])
      sds[i] = sds[i] or 0
    end
    series[#series + 1] = {x = THRESHOLDS, y = means, err = sds, title = name .. " (mean ± sd over seeds)"}
    seed1[#seed1 + 1] = {title = name .. ", seed 1", l1 = runs[1].l1}
  end
  graft.plot.lines{series = series, logx = true, yrange = {0, 100}, key = "top left",
                   title = "conv filters whose l1 norm is under the threshold",
                   xlabel = "threshold", ylabel = "filters under the threshold (%)", out = ctx.out .. "/fig6.png"}
  graft.plot.l1_histogram{series = seed1, title = "l1 norms of the conv filters (seed 1)",
                          out = ctx.out .. "/l1_histogram.png"}
  for _, t in ipairs(TABLE_THRESHOLDS) do
    local closest = 1
    for i, u in ipairs(THRESHOLDS) do
      if math.abs(math.log(u / t)) < math.abs(math.log(THRESHOLDS[closest] / t)) then closest = i end
    end
    local value = per_threshold[THRESHOLDS[closest]]
    rows[#rows + 1] = {string.format("%g", t), value.baseline or "–", value.grafted or "–", PAPER[t]}
  end
  return "\nFilters under the threshold (% of all conv filters of network 1, mean ± sd over seeds):\n\n"
         .. ablation.markdown({"threshold", "baseline", "grafted", "paper (baseline / grafted)"}, rows)
         .. "\nPictures: " .. ctx.out .. "/fig6.png, " .. ctx.out .. "/l1_histogram.png\n"
end

ablation.main{
  name = "fig6_invalid_filters",
  title = "Fig. 6: invalid filters",
  paper_note = "MobileNetV2 on CIFAR-10 (Fig. 6); Table 2's accuracies",
  presets = {
    quick = ablation.preset(ablation.quick, {subset = 8000}),
    paper = ablation.preset(ablation.paper),
  },
  measure = measure,
  report = report,
  variants = function()
    return {
      {name = "baseline", run = {nets = 1, scion = "none"}, paper = {92.42, 71.44}},
      {name = "grafted", run = {nets = 2, scion = "external", criterion = "entropy", diff_lr = true},
       paper = {94.20, 74.15}},
    }
  end,
}
