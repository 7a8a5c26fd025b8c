-- CIFAR ResNets (He et al. 2016, option-A shortcuts), as the reference defines them:
-- built in C by graft.core.resnet_cifar; keys conv1.weight, bn1.*, layer1.0.conv1.weight,
-- ..., linear.weight, linear.bias.
local core = require "graft.core"
local common = require "graft.models.common"

local spec = common.spec("graft.models.resnet", {
  -- n = (depth - 2) / 6 basic blocks per stage: 8, 14, 20, 32, 44, 56, 110, ...
  -- the rule is the C builder's
  { "depth", "integer", default = 20, help = "layers: 6n + 2, n >= 1", check = core.resnet_depth_expected },
  { "leaky", "boolean|number", default = false,
    help = "leaky ReLU: true (slope 0.01) or a positive slope",
    check = function(leaky)
      if type(leaky) == "number" and leaky <= 0 then return "false, true or a positive slope" end
    end },
  common.init_option("kaiming"),
})

return function(opts)
  opts = common.options(spec, opts)
  local leaky = opts.leaky
  if leaky == true then leaky = 0.01 end -- PyTorch's default slope
  return core.resnet_cifar {
    depth = opts.depth, classes = opts.classes, in_channels = opts.in_channels,
    image_size = opts.image_size, leaky_slope = leaky or 0, seed = opts.seed, init = opts.init,
  }
end
