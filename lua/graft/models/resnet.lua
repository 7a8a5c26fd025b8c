-- CIFAR ResNets (He et al. 2016, option-A shortcuts), as the reference defines them:
-- built in C by graft.core.resnet_cifar; keys conv1.weight, bn1.*, layer1.0.conv1.weight,
-- ..., linear.weight, linear.bias.
local core = require "graft.core"
local common = require "graft.models.common"

return function(opts)
  opts = common.options("graft.models.resnet", opts, { depth = true, leaky = true })
  local depth = opts.depth or 20
  -- n = (depth - 2) / 6 basic blocks per stage: 8, 14, 20, 32, 44, 56, 110, ...
  if math.type(depth) ~= "integer" or depth < 8 or (depth - 2) % 6 ~= 0 then
    error("graft.models.resnet: depth " .. tostring(depth) .. " is not 6n + 2 (8, 14, 20, 32, 44, 56, 110, ...)", 2)
  end
  if depth > 1202 then -- GF_MODEL_MAX_RESNET_DEPTH
    error("graft.models.resnet: depth " .. depth .. " is beyond 1202, the deepest CIFAR ResNet of He et al. (2016)", 2)
  end
  local leaky = opts.leaky
  if leaky == true then leaky = 0.01 end -- PyTorch's default slope
  if leaky and (type(leaky) ~= "number" or leaky <= 0) then
    error("graft.models.resnet: leaky must be false, true or a positive slope, got " .. tostring(leaky), 2)
  end
  return core.resnet_cifar {
    depth = depth, classes = opts.classes, in_channels = opts.in_channels,
    image_size = opts.image_size, leaky_slope = leaky or 0, seed = opts.seed,
  }
end
