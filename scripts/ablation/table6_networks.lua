-- Table 6: grafting in a ring of K networks (each its own data order and initial
-- learning rate), and the ensemble of six networks trained without grafting.
-- Network 1's accuracy is reported for grafting (as the paper does), the
-- accuracy of the averaged softmax for the ensemble.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib/?.lua;" .. package.path
local ablation = require "ablation"

local function measure(result, variant)
  local accuracies = {}
  for k, f in ipairs(result.final) do accuracies[k] = f.test_top1 end
  local mean_all = ablation.stats(accuracies)
  local first = result.final[1]
  return {accuracy = variant.ensemble and result.ensemble or first.best_before or first.test_top1,
          final = variant.ensemble and result.ensemble or first.test_top1,
          accuracy_all = mean_all, ensemble = result.ensemble,
          invalid_ratio = result.final[1].invalid_ratio, information = result.final[1].information}
end

ablation.main{
  name = "table6_networks",
  title = "Table 6: grafting with K networks",
  paper_note = "MobileNetV2 on CIFAR-10 / CIFAR-100, 200 epochs (Table 6)",
  presets = {
    quick = ablation.preset(ablation.quick, {subset = 1000}, 2),
    paper = ablation.preset(ablation.paper),
  },
  measure = measure,
  variants = function()
    local v = {{name = "K1", label = "baseline", run = {nets = 1, scion = "none"}, paper = {92.42, 71.44}}}
    local paper = {[2] = {94.20, 74.15}, [3] = {94.55, 76.21}, [4] = {95.23, 77.08}, [6] = {95.33, 78.32},
                   [8] = {95.20, 77.76}}
    for _, k in ipairs{2, 3, 4, 6, 8} do
      v[#v + 1] = {name = "K" .. k, label = k .. " networks", paper = paper[k],
                   run = {nets = k, scion = "external", criterion = "entropy", diff_lr = true}}
    end
    v[#v + 1] = {name = "ensemble6", label = "6-network ensemble", ensemble = true, paper = {94.09, 76.75},
                 run = {nets = 6, scion = "none", diff_lr = true, ensemble = true}}
    return v
  end,
}
