-- Table 4: diversity between the two grafted networks. Same data order and
-- learning rate; each its own data order; own order and own initial learning rate
-- (the reference's "different LR", cosine per iteration). The paper's baseline is
-- Table 2's.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib/?.lua;" .. package.path
local ablation = require "ablation"

ablation.main{
  name = "table4_diversity",
  title = "Table 4: training diversity",
  paper_note = "MobileNetV2 on CIFAR-10 / CIFAR-100, 200 epochs (Table 4; baseline from Table 2)",
  presets = {
    quick = ablation.preset(ablation.quick, {subset = 3500}),
    paper = ablation.preset(ablation.paper),
  },
  variants = function()
    local graft2 = function(same_order, diff_lr)
      return {nets = 2, scion = "external", criterion = "entropy", same_order = same_order, diff_lr = diff_lr}
    end
    return {
      {name = "baseline", run = {nets = 1, scion = "none"}, paper = {92.42, 71.44}},
      {name = "same-order-same-lr", label = "same order, same LR", run = graft2(true, false),
       paper = {93.05, 71.91}},
      {name = "own-order-same-lr", label = "own order, same LR", run = graft2(false, false),
       paper = {93.53, 73.26}},
      {name = "own-order-own-lr", label = "own order, own LR", run = graft2(false, true),
       paper = {94.20, 74.15}},
    }
  end,
}
