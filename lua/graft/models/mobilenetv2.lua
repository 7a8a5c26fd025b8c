-- CIFAR MobileNetV2 as the reference defines it (stride-1 stem, blocks
-- (1,16,1,1) (6,24,2,1) (6,32,3,2) (6,64,4,2) (6,96,3,1) (6,160,3,2) (6,320,1,1)),
-- built in C by graft.core.mobilenetv2_cifar; keys conv1.weight, layers.N.conv1.weight,
-- layers.N.shortcut.0.weight, conv2.weight, linear.weight, ...
local core = require "graft.core"
local common = require "graft.models.common"

local spec = common.spec("graft.models.mobilenetv2", { common.init_option("pytorch") })

return function(opts)
  opts = common.options(spec, opts)
  return core.mobilenetv2_cifar {
    classes = opts.classes, in_channels = opts.in_channels, image_size = opts.image_size,
    seed = opts.seed, init = opts.init,
  }
end
