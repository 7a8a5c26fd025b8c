-- Table 5: filter grafting against the learning methods the paper compares it with,
-- each involving two networks of one model (section 4.4): knowledge distillation (a
-- teacher of the same model trained first, then the student on the labels and the
-- teacher's soft targets; graft.run method 'distill'), deep mutual learning (two
-- networks trained together, each also on the other's softmax, every iteration;
-- method 'mutual') and filter grafting (entropy, own data order and learning rate:
-- the row the paper prints in bold). Distillation and mutual learning train the
-- same way as the baseline (same learning rate and schedule); network 1 of every
-- row starts from the same weights and data order for a seed.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib/?.lua;" .. package.path
local ablation = require "ablation"

-- The paper's rows per model (CIFAR-10, CIFAR-100); '–' where it reports none. Its
-- mutual-learning numbers are quoted from the mutual-learning paper.
local PAPER = {
  resnet32 = {baseline = {92.83, 69.82}, distill = {93.11, 70.96}, mutual = {92.80, 70.19},
              graft = {93.94, 71.28}},
  resnet56 = {baseline = {93.50, 71.55}, distill = {92.05, 72.03}, graft = {94.73, 72.83}},
  resnet110 = {baseline = {93.81, 73.21}, distill = {92.34, 73.32}, graft = {94.96, 75.27}},
  mobilenetv2 = {baseline = {92.42, 71.44}, distill = {92.37, 73.37}, graft = {94.20, 74.15}},
  wrn28_10 = {baseline = {95.75, 80.65}, distill = {95.70, 81.03}, mutual = {95.66, 80.28},
              graft = {96.40, 81.62}},
}

ablation.main{
  name = "table5_baselines",
  title = "Table 5: grafting against distillation and mutual learning",
  paper_note = "CIFAR-10 / CIFAR-100, 200 epochs (Table 5); for a model without a row of its own "
               .. "(such as the quick preset's ResNet-8) the ResNet-32 row is shown",
  presets = {
    quick = ablation.preset(ablation.quick, {subset = 3500}),
    paper = ablation.preset(ablation.paper, {model = "resnet32"}),
  },
  variants = function(preset, cli)
    local model = cli.model or preset.run.model
    local paper = PAPER[model] or PAPER.resnet32
    return {
      {name = "baseline", run = {nets = 1, scion = "none"}, paper = paper.baseline},
      {name = "distillation", run = {method = "distill", nets = 1, scion = "none", diff_lr = false},
       paper = paper.distill},
      {name = "mutual", label = "mutual learning",
       run = {method = "mutual", nets = 2, scion = "none", diff_lr = false},
       paper = paper.mutual},
      {name = "grafting", label = "filter grafting",
       run = {nets = 2, scion = "external", criterion = "entropy", diff_lr = true}, paper = paper.graft},
    }
  end,
}
