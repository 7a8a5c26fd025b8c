-- VGG16 with BatchNorm, CIFAR variant (as in the common PyTorch CIFAR code the
-- reference points to), built in C by graft.core.vgg16_cifar: features.N = 3x3 conv
-- (with bias), BatchNorm, ReLU per number of cfg 64,64,M,128,128,M,256x3,M,512x3,M,
-- 512x3,M (M: 2x2 max pooling); then a linear layer 512 -> classes named classifier.
-- Keys: features.0.weight, features.0.bias, features.1.weight,
-- features.1.running_mean, ..., classifier.weight, classifier.bias.
local core = require "graft.core"
local common = require "graft.models.common"

-- the reference's models/vgg.py has no init code: PyTorch's defaults
local spec = common.spec("graft.models.vgg16", { common.init_option("pytorch") })

return function(opts)
  opts = common.options(spec, opts)
  -- the image size, given or the data set's, by the C builder's rule
  local expected = core.vgg16_size_expected(opts.image_size)
  if expected then spec:fail("%s", spec:refusal("image_size", expected, opts.image_size)) end
  return core.vgg16_cifar {
    classes = opts.classes, in_channels = opts.in_channels, image_size = opts.image_size,
    seed = opts.seed, init = opts.init,
  }
end
