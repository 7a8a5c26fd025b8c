-- Wide ResNets (Zagoruyko & Komodakis 2016) with pre-activation blocks, named and
-- initialised as the reference's models/wrn.py, built in C by graft.core.wrn_cifar:
-- conv (3x3, 16), three stages stage1..3 of n = (depth - 4) / 6 blocks of widths 16k,
-- 32k, 64k (strides 1, 2, 2), then bn, ReLU, global average pooling and fc. Block i
-- (1-based) of stage s, "stageS.blockI": bn1, relu, conv1 (3x3, stride), bn2, relu,
-- conv2 (3x3); when the width changes, shortcut.conv (1x1, stride) reads the
-- activated input; otherwise the block input is added. No dropout (the reference's
-- default).
local core = require "graft.core"
local common = require "graft.models.common"

local spec = common.spec("graft.models.wrn", {
  -- the rule is the C builder's
  { "depth", "integer", default = 28, help = "layers: 6n + 4, n >= 1", check = core.wrn_depth_expected },
  { "widen", "integer", default = 10, min = 1, help = "width factor k" },
  common.init_option("wrn"),
})

return function(opts)
  opts = common.options(spec, opts)
  return core.wrn_cifar {
    depth = opts.depth, widen = opts.widen, classes = opts.classes,
    in_channels = opts.in_channels, image_size = opts.image_size, seed = opts.seed,
    init = opts.init,
  }
end
