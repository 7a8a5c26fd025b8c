-- VGG16 with BatchNorm, CIFAR variant (as in the common PyTorch CIFAR code the
-- reference points to): features.N = 3x3 conv (with bias), BatchNorm, ReLU per
-- number of cfg, 2x2 max pooling per 'M'; then a linear layer 512 -> classes named
-- classifier. Keys: features.0.weight, features.0.bias, features.1.weight,
-- features.1.running_mean, ..., classifier.weight, classifier.bias.
local core = require "graft.core"
local common = require "graft.models.common"

local CFG16 = { 64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                512, 512, 512, "M" }

local spec = common.spec("graft.models.vgg16")

return function(opts)
  opts = common.options(spec, opts)
  if opts.image_size < 32 then
    error(string.format("graft.models.vgg16: images of at least 32x32 are needed (five 2x2 "
      .. "poolings), got %dx%d", opts.image_size, opts.image_size), 2)
  end
  local net = core.net_create(opts.in_channels, opts.image_size, opts.image_size)
  local x, index = 0, 0
  for _, v in ipairs(CFG16) do
    if v == "M" then
      x = core.net_maxpool(net, x, 2, 2, 0)
      index = index + 1
    else
      x = core.net_conv2d(net, "features." .. index, x, v, 3, 1, 1, 1, true)
      x = core.net_batchnorm(net, "features." .. (index + 1), x)
      x = core.net_activation(net, x, "relu")
      index = index + 3
    end
  end
  -- larger images leave more than 1x1 after the poolings; average what is left
  if opts.image_size >= 64 then x = core.net_global_avgpool(net, x) end
  core.net_linear(net, "classifier", x, opts.classes, true)
  return core.net_finalize(net, opts.seed, "vgg16")
end
