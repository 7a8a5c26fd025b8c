-- graft.models: the model zoo. Every builder takes classes, in_channels, image_size
-- and seed (or data = a graft.data set, for classes, channels and size); tensor
-- names follow the reference's PyTorch state_dict keys, so checkpoints move to
-- PyTorch and back.
local doc = require "graft.doc"
local common = require "graft.models.common"
local options = require "graft.options"

local models = {}

models.resnet = doc(require "graft.models.resnet", [[graft.models.resnet{depth=20, leaky=false, classes=10, ...} -> net
CIFAR ResNet-20/32/44/56/110 (option-A shortcuts), as in the reference. leaky = true
(slope 0.01) or a slope uses leaky ReLU. Initialised as the reference does, Kaiming
normal (init = 'pytorch': PyTorch's defaults). ResNet-20 for 10 classes has 269,722
parameters.]])

models.mobilenetv2 = doc(require "graft.models.mobilenetv2", [[graft.models.mobilenetv2{classes=10, ...} -> net
CIFAR MobileNetV2 as in the reference (2,296,922 parameters for 10 classes),
initialised as the reference is, with PyTorch's defaults, U(+-1/sqrt(fan_in))
(init = 'kaiming': Kaiming normal, 2.45 times larger weights).]])

models.vgg16 = doc(require "graft.models.vgg", [[graft.models.vgg16{classes=10, ...} -> net
VGG16 with BatchNorm, CIFAR variant: 13 convolutions (cfg 64,64,M,128,128,M,
256x3,M,512x3,M,512x3,M) and one linear layer 512 -> classes; keys features.N.*,
classifier.*; initialised as the reference's, with PyTorch's defaults (init =
'kaiming' or 'wrn' otherwise). Needs images of at least 32x32.]])

models.wrn = doc(require "graft.models.wrn", [[graft.models.wrn{depth=28, widen=10, classes=10, ...} -> net
Wide ResNet with pre-activation blocks (WRN-28-10 by default: 36.5M parameters);
keys as the reference's wrn.py: conv.weight, stage1.block1.bn1.*, ...,
stage1.block1.shortcut.conv.weight, bn.*, fc.*; initialised as it is (Kaiming convs,
BatchNorm weights U(0, 1), biases 0; init = 'kaiming' or 'pytorch' otherwise).]])

local NAMES = "resnet20/32/44/56/110, resnetN_leaky, mobilenetv2, vgg16, wrn28_10"

-- Names the command line and graft.run use: resnet20 ... resnet110, leaky variants
-- resnet20_leaky ..., mobilenetv2, vgg16, wrn28_10 (wrnD_K). Returns the builder's
-- name and the options the name stands for, or nil.
local function parse(name)
  local depth = name:match("^resnet(%d+)$")
  local leaky_depth = name:match("^resnet(%d+)_leaky$")
  if depth or leaky_depth then
    return "resnet", { depth = math.tointeger(tonumber(depth or leaky_depth)), leaky = leaky_depth and true or nil }
  end
  if name == "mobilenetv2" or name == "vgg16" then return name, {} end
  local d, k = name:match("^wrn(%d+)_(%d+)$")
  if d then return "wrn", { depth = math.tointeger(tonumber(d)), widen = math.tointeger(tonumber(k)) } end
  return nil
end

-- nil when name is a model models.build makes, else what a name must be (for the
-- model options of graft.run and graft train).
function models.refuse_name(name)
  local builder, from_name = parse(name)
  if not builder then return "a model name (" .. NAMES .. ")" end
  local spec = common.specs["graft.models." .. builder]
  for key, value in pairs(from_name) do
    local expected = spec:option(key):refuse(value)
    if expected then return string.format("a model name whose %s is %s", key, expected) end
  end
end

models.build = doc(function(name, opts)
  name = tostring(name)
  local builder, from_name = parse(name)
  if not builder then
    options.raise("graft.models.build: unknown model '" .. name .. "' (" .. NAMES .. ")")
  end
  -- the name's depth and width; its leaky ReLU unless opts choose a slope
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  for k, v in pairs(from_name) do
    if k ~= "leaky" or o.leaky == nil then o[k] = v end
  end
  return models[builder](o)
end, [[graft.models.build(name, opts) -> net
A model by name: 'resnet20' (32, 44, 56, 110), 'resnet20_leaky', 'mobilenetv2',
'vgg16', 'wrn28_10' (any wrnD_K). opts as for the builders.]])

-- Each builder's help ends with its options.
for name, builder in pairs { resnet = models.resnet, mobilenetv2 = models.mobilenetv2,
                             vgg16 = models.vgg16, wrn = models.wrn } do
  doc(builder, doc.lookup(builder) .. "\nOptions:\n" .. common.specs["graft.models." .. name]:describe())
end

return doc(models, [[graft.models: resnet, mobilenetv2, vgg16, wrn, build(name, opts)]])
