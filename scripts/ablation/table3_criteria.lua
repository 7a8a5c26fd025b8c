-- Table 3: the criterion that weighs two networks' layers, l1 norm against
-- entropy, two networks with the same hyper-parameters (each its own data order),
-- and a fixed alpha = 0.5 (plain averaging) as the control neither criterion has.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib/?.lua;" .. package.path
local ablation = require "ablation"

-- The paper's rows per model: baseline, l1, entropy (CIFAR-10, CIFAR-100).
local PAPER = {
  resnet32 = {{92.83, 69.82}, {93.24, 70.69}, {93.33, 71.16}},
  resnet56 = {{93.50, 71.55}, {94.09, 72.73}, {94.28, 73.09}},
  resnet110 = {{93.81, 73.21}, {94.37, 73.65}, {94.60, 74.70}},
  mobilenetv2 = {{92.42, 71.44}, {92.94, 72.90}, {93.53, 73.26}},
}

ablation.main{
  name = "table3_criteria",
  title = "Table 3: l1 norm against entropy",
  paper_note = "CIFAR-10 / CIFAR-100, 200 epochs (Table 3); for a model without a row of its own "
               .. "(such as the quick preset's ResNet-8) the ResNet-32 row is shown",
  presets = {
    quick = ablation.preset(ablation.quick),
    paper = ablation.preset(ablation.paper),
  },
  variants = function(preset, cli)
    local model = cli.model or preset.run.model
    local paper = PAPER[model] or PAPER.resnet32
    return {
      {name = "baseline", run = {nets = 1, scion = "none"}, paper = paper[1]},
      {name = "average", label = "alpha 0.5", run = {nets = 2, scion = "external", alpha = 0.5, diff_lr = false}},
      {name = "l1", label = "l1 norm", run = {nets = 2, scion = "external", criterion = "l1", diff_lr = false},
       paper = paper[2]},
      {name = "entropy", run = {nets = 2, scion = "external", criterion = "entropy", diff_lr = false},
       paper = paper[3]},
    }
  end,
}
