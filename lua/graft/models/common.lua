-- The options every model takes: classes (10), in_channels (3), image_size (32),
-- seed (0), or data = a graft.data set to take classes, channels and size from.
local options = require "graft.options"

local common = { specs = {} } -- builder name -> spec

local COMMON = {
  { "data", "dataset", help = "a data set whose classes, channels and image size the model takes" },
  { "classes", "integer", min = 1, default_help = "10, or the data set's", help = "outputs" },
  { "in_channels", "integer", min = 1, default_help = "3, or the data set's", help = "image channels" },
  { "image_size", "integer", min = 1, default_help = "32, or the data set's", help = "image height and width" },
  { "seed", "integer", default = 0, help = "seed of the initial weights" },
}

-- The spec of the model builder `name` ("graft.models.resnet"): the common options,
-- then `extra` (declarations as in graft.options).
function common.spec(name, extra)
  local list = {}
  for _, entry in ipairs(extra or {}) do list[#list + 1] = entry end
  for _, entry in ipairs(COMMON) do list[#list + 1] = entry end
  common.specs[name] = options.spec(name, list)
  return common.specs[name]
end

-- The initialisation option of the models built in C; reference: the rule the
-- reference's code initialises that model with.
function common.init_option(reference)
  return { "init", "string", choices = { "kaiming", "pytorch", "wrn" }, default = reference,
           help = "initial weights: Kaiming normal (N(0, sqrt(2 / fan_in))), PyTorch's "
             .. "defaults (U(+-1/sqrt(fan_in))) or the reference wrn.py's (Kaiming convs, "
             .. "BatchNorm weights U(0, 1), biases 0); the default is the reference's" }
end

-- Checks opts against spec and fills classes, in_channels and image_size from
-- opts.data or the defaults.
function common.options(spec, opts)
  local o = spec:check(opts)
  if o.data then
    local shape = o.data.shape
    if shape[2] ~= shape[3] then
      spec:fail("square images needed, the data set has %dx%d", shape[2], shape[3])
    end
    o.classes = o.classes or o.data.classes
    o.in_channels = o.in_channels or shape[1]
    o.image_size = o.image_size or shape[2]
    o.data = nil
  end
  o.classes = o.classes or 10
  o.in_channels = o.in_channels or 3
  o.image_size = o.image_size or 32
  return o
end

return common
