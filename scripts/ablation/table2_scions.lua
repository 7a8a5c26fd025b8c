-- Table 2: where scions come from. Baseline (no grafting), noise scions and
-- internal scions (one network, filters under gamma get noise / the weights of a
-- larger filter) and external scions (two networks grafting each other), and the
-- control the paper lacks: external scions mixed with a fixed alpha = 0.5 (plain
-- averaging), to tell the entropy weighting from the averaging. The paper's Table 2
-- keeps the learning rate the same for both networks, decays it in steps and uses
-- batches of 256 (section 4.1); the paper preset does the same.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib/?.lua;" .. package.path
local ablation = require "ablation"

ablation.main{
  name = "table2_scions",
  title = "Table 2: sources of scions",
  paper_note = "MobileNetV2 on CIFAR-10 / CIFAR-100, 200 epochs (Table 2)",
  presets = {
    quick = ablation.preset(ablation.quick),
    paper = ablation.preset(ablation.paper, {batch = 256}),
  },
  variants = function()
    return {
      {name = "baseline", run = {nets = 1, scion = "none"}, paper = {92.42, 71.44}},
      {name = "noise", run = {nets = 1, scion = "noise"}, paper = {92.51, 72.34}},
      {name = "internal", run = {nets = 1, scion = "internal"}, paper = {92.68, 72.38}},
      {name = "external", run = {nets = 2, scion = "external", criterion = "entropy", diff_lr = false},
       paper = {92.94, 72.90}},
      {name = "average", label = "external, alpha 0.5",
       run = {nets = 2, scion = "external", alpha = 0.5, diff_lr = false}},
    }
  end,
}
