-- Layer against filter level: the reference's filter_level_grafting.py and its
-- README's VGG16 rows. Two networks with the same learning rate (the reference's
-- script uses 0.1 for both, step decay) graft either layer by layer (entropy, eq. 7;
-- the paper's method) or filter by filter with the reference's rule (each BatchNorm
-- channel weighed by |gamma| / (|gamma| + |gamma'|), a conv weight by the channels on
-- both of its sides; docs/grafting.md); a third row weighs each filter by eq. 7 on its
-- own entropy. The paper itself argues for layer level ("layer consistency", 3.1.3).
-- The reference's layer mode leaves the classifier and the conv biases unmixed, graft's
-- mixes them with the last alpha. VGG16 needs 32x32 images: the quick preset runs
-- ResNet-8 on Fashion-MNIST, the paper preset VGG16 on CIFAR.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib/?.lua;" .. package.path
local ablation = require "ablation"

-- The reference's README (VGG16 with BatchNorm, CIFAR-10 / CIFAR-100); its script
-- cannot run as committed, so which variant produced them is not known.
local PAPER = {baseline = {93.68, 73.41}, layer = {94.02, 74.28}, filter = {94.26, 74.63}}

ablation.main{
  name = "filter_level",
  title = "Layer against filter level (the reference's VGG16 comparison)",
  paper_note = "the reference's README, VGG16 on CIFAR-10 / CIFAR-100, shown beside every model",
  presets = {
    quick = ablation.preset(ablation.quick, {subset = 3500}),
    paper = ablation.preset(ablation.paper, {model = "vgg16"}),
  },
  variants = function()
    local two = function(extra)
      local run = {nets = 2, scion = "external", criterion = "entropy", diff_lr = false}
      for k, v in pairs(extra) do run[k] = v end
      return run
    end
    return {
      {name = "baseline", run = {nets = 1, scion = "none"}, paper = PAPER.baseline},
      {name = "layer", label = "layer level", run = two {}, paper = PAPER.layer},
      {name = "filter", label = "filter level (gamma rule)", run = two {filter_level = true, filter_rule = "gamma"},
       paper = PAPER.filter},
      {name = "filter-entropy", label = "filter level (entropy per filter)",
       run = two {filter_level = true, filter_rule = "criterion"}},
    }
  end,
}
