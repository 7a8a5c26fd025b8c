-- Layers and containers for building networks at the prompt, as in PyTorch:
--
--   local net = graft.nn.build(graft.nn.sequential{
--     graft.nn.conv2d{out_channels = 16, kernel = 3, padding = 1, bias = false},
--     graft.nn.batchnorm{},
--     graft.nn.relu{},
--     graft.nn.global_avgpool{},
--     graft.nn.linear{out = 10},
--   }, {in_channels = 1, size = 28, seed = 1})
--
-- Layer functions return descriptions (plain tables); graft.nn.build turns one
-- into a network over a flat parameter buffer (graft.core's node builders).
-- Tensors are named as PyTorch names them: a container's children are "0", "1",
-- ... unless given name = "...", so the example has "0.weight", "1.running_mean",
-- "4.weight". A residual block's shortcut is named "shortcut".
local core = require "graft.core"
local doc = require "graft.doc"
local options = require "graft.options"

local nn = {}

local Layer = {} -- metatable of every description
Layer.__index = Layer

local function describe_value(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

-- "conv2d{out_channels = 16, kernel = 3, ...}", containers over several lines.
function Layer.__tostring(layer)
  local fields = {}
  for k, v in pairs(layer) do
    if k ~= "kind" and type(k) == "string" and type(v) ~= "table" then
      fields[#fields + 1] = k .. " = " .. describe_value(v)
    end
  end
  table.sort(fields)
  if layer.shortcut then fields[#fields + 1] = "shortcut = " .. tostring(layer.shortcut) end
  if layer.after then fields[#fields + 1] = "after = " .. tostring(layer.after) end
  local children = {}
  for i, child in ipairs(layer) do
    children[i] = "  " .. tostring(child):gsub("\n", "\n  ")
  end
  local head = "nn." .. layer.kind .. "{" .. table.concat(fields, ", ")
  if #children == 0 then return head .. "}" end
  return head .. (#fields > 0 and "," or "") .. "\n" .. table.concat(children, ",\n") .. "\n}"
end

options.define_type("layer", "a layer (graft.nn.*)", function(v) return getmetatable(v) == Layer end)

-- The options of each layer function, declared once (graft.options).
local specs = {}
local function declare(kind, list) specs[kind] = options.spec("graft.nn." .. kind, list) end

-- A layer description of `kind` from the options given to its function.
local function layer_of(kind, given)
  local layer = setmetatable(specs[kind]:check(given), Layer)
  layer.kind = kind
  return layer
end

-- `out` is accepted for out_channels / out_features, as shorthand.
local function alias(given, short, long)
  if type(given) == "table" and given[short] ~= nil then
    if given[long] ~= nil then
      error(string.format("graft.nn: give '%s' or '%s', not both", short, long), 3)
    end
    local copy = {}
    for k, v in pairs(given) do copy[k] = v end
    copy[long], copy[short] = copy[short], nil
    return copy
  end
  return given
end

local NAME = { "name", "string", help = "the name of its tensors' prefix (default: its position)" }
local POOL = {
  { "kernel", "integer", default = 2, min = 1, help = "window size" },
  { "stride", "integer", min = 1, default_help = "kernel", help = "step of the window" },
  { "padding", "integer", default = 0, min = 0, help = "zeros added on each side" },
}
declare("conv2d", {
  NAME,
  { "in_channels", "integer", min = 1, help = "checked against the input" },
  { "out_channels", "integer", required = true, min = 1, help = "output channels (or out =)" },
  { "kernel", "integer", required = true, min = 1, help = "kernel size" },
  { "stride", "integer", default = 1, min = 1, help = "stride" },
  { "padding", "integer", default = 0, min = 0, help = "zeros added on each side" },
  { "groups", "integer", default = 1, min = 1, help = "groups (the channels: depthwise)" },
  { "bias", "boolean", default = true, help = "a bias per output channel" },
})
declare("batchnorm", { NAME, { "channels", "integer", min = 1, help = "checked against the input" } })
declare("relu", {})
declare("relu6", {})
declare("leaky_relu", { { "slope", "number", default = 0.01, help = "slope below zero" } })
declare("maxpool", POOL)
declare("avgpool", POOL)
declare("global_avgpool", {})
declare("linear", {
  NAME,
  { "in_features", "integer", min = 1, help = "checked against the input" },
  { "out_features", "integer", required = true, min = 1, help = "outputs (or out =)" },
  { "bias", "boolean", default = true, help = "a bias per output" },
})
declare("shortcut_a", {
  { "out_channels", "integer", min = 1, default_help = "the input's", help = "output channels (or out =)" },
  { "stride", "integer", default = 1, min = 1, help = "stride" },
})
declare("sequential", { NAME })
declare("residual", {
  NAME,
  { "shortcut", "layer", default_help = "identity", help = "the shortcut branch" },
  { "after", "layer", help = "applied to the sum" },
})
local build_options = options.spec("graft.nn.build", {
  { "in_channels", "integer", default = 3, min = 1, help = "input channels" },
  { "size", "integer|table", default = 32, help = "input height and width, or {height, width}",
    check = function(size)
      if type(size) == "table" and not (#size == 2 and math.type(size[1]) == "integer"
          and math.type(size[2]) == "integer" and size[1] >= 1 and size[2] >= 1) then
        return "an integer or {height, width} (integers >= 1)"
      end
      if type(size) == "number" and size < 1 then return "an integer >= 1 or {height, width}" end
    end },
  { "seed", "integer", default = 0, help = "seed of the initial weights" },
  { "model", "string", default = "custom", help = "the network's model name" },
})

function nn.conv2d(o) return layer_of("conv2d", alias(o, "out", "out_channels")) end
function nn.batchnorm(o) return layer_of("batchnorm", o) end
function nn.relu(o) return layer_of("relu", o) end
function nn.relu6(o) return layer_of("relu6", o) end
function nn.leaky_relu(o) return layer_of("leaky_relu", o) end

local function pool(kind, o)
  local layer = layer_of(kind, o)
  layer.stride = layer.stride or layer.kernel
  return layer
end
function nn.maxpool(o) return pool("maxpool", o) end
function nn.avgpool(o) return pool("avgpool", o) end
function nn.global_avgpool(o) return layer_of("global_avgpool", o) end
function nn.linear(o) return layer_of("linear", alias(o, "out", "out_features")) end
function nn.shortcut_a(o) return layer_of("shortcut_a", alias(o, "out", "out_channels")) end

-- The array part of a container: its children, each a layer description.
local function children(kind, items)
  for i, child in ipairs(items) do
    if getmetatable(child) ~= Layer then
      error(string.format("graft.nn.%s: item %d: a layer (graft.nn.*) expected, got %s", kind, i,
        options.show(child)), 3)
    end
  end
end

function nn.sequential(items)
  if type(items) ~= "table" then
    error("graft.nn.sequential: a table of layers expected, got " .. options.show(items), 2)
  end
  local named = {}
  for k, v in pairs(items) do
    if math.type(k) ~= "integer" then named[k] = v end
  end
  local layer = layer_of("sequential", named)
  children("sequential", items)
  for i, child in ipairs(items) do layer[i] = child end
  return layer
end

function nn.residual(items)
  if type(items) ~= "table" then
    error("graft.nn.residual: a table of layers expected, got " .. options.show(items), 2)
  end
  local named = {}
  for k, v in pairs(items) do
    if math.type(k) ~= "integer" then named[k] = v end
  end
  local layer = layer_of("residual", named)
  children("residual", items)
  if #items == 0 then error("graft.nn.residual: the body needs at least one layer", 2) end
  for i, child in ipairs(items) do layer[i] = child end
  return layer
end

-- ---- building ----

local function join(prefix, name)
  if prefix == "" then return name end
  return prefix .. "." .. name
end

-- A node's per-sample output shape, "[C]" or "[C, H, W]".
local function describe_node(info)
  if info.height == 1 and info.width == 1 then return string.format("[%d]", info.channels) end
  return string.format("[%d, %d, %d]", info.channels, info.height, info.width)
end

-- Calls a core builder, turning its error into one that names the layer once:
-- "graft.nn.build: conv2d '0': kernel 40 does not fit ...".
local function add(builder, layer, name, net, ...)
  local ok, node = pcall(builder, net, ...)
  if not ok then
    local message = tostring(node):gsub("^graft%.core%.[%w_]+: ", "")
    local layer_name = string.format("%s '%s'", layer.kind, name)
    if message:sub(1, #layer_name) ~= layer_name then message = layer_name .. ": " .. message end
    options.raise("graft.nn.build: " .. message)
  end
  return node
end

local emit

local function emit_children(layer, net, input, prefix)
  local node = input
  for i, child in ipairs(layer) do
    node = emit(child, net, node, join(prefix, child.name or tostring(i - 1)))
  end
  return node
end

-- Adds the nodes of `layer` reading node `input`; returns the output node.
function emit(layer, net, input, name)
  local kind = layer.kind
  local info = core.net_node(net, input)
  local function mismatch(what, expected, got)
    options.raise(string.format("graft.nn.build: %s '%s' expects %s %d, its input %s gives %d",
      kind, name, what, expected, describe_node(info), got))
  end
  if kind == "conv2d" then
    if layer.in_channels and layer.in_channels ~= info.channels then
      mismatch("in_channels", layer.in_channels, info.channels)
    end
    return add(core.net_conv2d, layer, name, net, name, input, layer.out_channels, layer.kernel,
      layer.stride, layer.padding, layer.groups, layer.bias)
  elseif kind == "batchnorm" then
    if layer.channels and layer.channels ~= info.channels then
      mismatch("channels", layer.channels, info.channels)
    end
    return add(core.net_batchnorm, layer, name, net, name, input)
  elseif kind == "relu" or kind == "relu6" or kind == "leaky_relu" then
    return add(core.net_activation, layer, name, net, input, kind, layer.slope or 0)
  elseif kind == "maxpool" then
    return add(core.net_maxpool, layer, name, net, input, layer.kernel, layer.stride, layer.padding)
  elseif kind == "avgpool" then
    return add(core.net_avgpool, layer, name, net, input, layer.kernel, layer.stride, layer.padding)
  elseif kind == "global_avgpool" then
    return add(core.net_global_avgpool, layer, name, net, input)
  elseif kind == "linear" then
    local features = info.channels * info.height * info.width
    if layer.in_features and layer.in_features ~= features then
      mismatch("in_features", layer.in_features, features)
    end
    return add(core.net_linear, layer, name, net, name, input, layer.out_features, layer.bias)
  elseif kind == "shortcut_a" then
    return add(core.net_shortcut_a, layer, name, net, input, layer.out_channels or info.channels,
      layer.stride)
  elseif kind == "sequential" then
    return emit_children(layer, net, input, name)
  elseif kind == "residual" then
    local body = emit_children(layer, net, input, name)
    local shortcut = input
    if layer.shortcut then
      shortcut = emit(layer.shortcut, net, input, join(name, layer.shortcut.name or "shortcut"))
    end
    local sum = add(core.net_add, layer, name, net, body, shortcut)
    if layer.after then return emit(layer.after, net, sum, join(name, "after")) end
    return sum
  end
  error(string.format("graft.nn.build: unknown layer kind '%s'", tostring(kind)), 0)
end

function nn.build(layer, o)
  if getmetatable(layer) ~= Layer then
    if type(layer) == "table" then
      layer = nn.sequential(layer)
    else
      error("graft.nn.build: a layer or a list of layers expected, got " .. options.show(layer), 2)
    end
  end
  o = build_options:check(o)
  local height, width = o.size, o.size
  if type(o.size) == "table" then height, width = o.size[1], o.size[2] end
  local net = core.net_create(o.in_channels, height, width)
  -- A lone layer is named as the first child of a container would be.
  if layer.kind ~= "sequential" and layer.kind ~= "residual" then
    layer = nn.sequential { layer }
  end
  emit(layer, net, 0, layer.name or "")
  return core.net_finalize(net, o.seed, o.model)
end

doc(nn, [[graft.nn: layers and containers; graft.nn.build(layer, options) -> net
Children of a container are named "0", "1", ... (or name = "..."), so tensors
get PyTorch's state_dict names ("0.weight", "layer1.0.conv1.weight").]])
doc(nn.conv2d, [[graft.nn.conv2d{out_channels = | out =, kernel =, stride = 1, padding = 0,
                groups = 1, bias = true, in_channels = (checked), name =}
2-D convolution; groups = channels is depthwise. Weight [out, in/groups, k, k].]])
doc(nn.batchnorm, [[graft.nn.batchnorm{channels = (checked), name =}
BatchNorm2d as PyTorch (momentum 0.1, eps 1e-5), over the input's channels.]])
doc(nn.relu, "graft.nn.relu{}")
doc(nn.relu6, "graft.nn.relu6{}: min(max(x, 0), 6)")
doc(nn.leaky_relu, "graft.nn.leaky_relu{slope = 0.01}")
doc(nn.maxpool, "graft.nn.maxpool{kernel = 2, stride = kernel, padding = 0}")
doc(nn.avgpool, "graft.nn.avgpool{kernel = 2, stride = kernel, padding = 0}: padding counts in the mean")
doc(nn.global_avgpool, "graft.nn.global_avgpool{}: [N, C, H, W] -> [N, C]")
doc(nn.linear, [[graft.nn.linear{out_features = | out =, bias = true, in_features = (checked), name =}
Fully connected; flattens its input. Weight [out, in].]])
doc(nn.shortcut_a, [[graft.nn.shortcut_a{out_channels = | out = (default: the input's), stride = 1}
The CIFAR-ResNet option A shortcut: x[:, :, ::stride, ::stride], zero-padded to
out_channels (as many channels added on each side).]])
doc(nn.sequential, [[graft.nn.sequential{layer, layer, ..., name =}
Layers one after the other; children named "0", "1", ... or by their name.]])
doc(nn.residual, [[graft.nn.residual{layer, ..., shortcut = layer (identity if absent),
                  after = layer (applied to the sum), name =}
out = after(body(x) + shortcut(x)). The body's layers are named like a
sequential's children, the shortcut "shortcut". A CIFAR ResNet block:
  nn.residual{nn.conv2d{name = "conv1", out = 32, kernel = 3, stride = 2, padding = 1, bias = false},
              nn.batchnorm{name = "bn1"}, nn.relu{},
              nn.conv2d{name = "conv2", out = 32, kernel = 3, padding = 1, bias = false},
              nn.batchnorm{name = "bn2"},
              shortcut = nn.shortcut_a{out = 32, stride = 2}, after = nn.relu{}}]])
doc(nn.build, [[graft.nn.build(layer or {layers...}, {in_channels = 3, size = 32 | {h, w},
               seed = 0, model = "custom"}) -> net
Builds and initialises the network (weights as the reference initialises them,
from seed). Errors name the layer and the shapes that do not fit.]])
-- Each layer function's help ends with its options.
for kind, spec in pairs(specs) do
  if #spec.list > 0 then doc(nn[kind], doc.lookup(nn[kind]) .. "\nOptions:\n" .. spec:describe()) end
end
doc(nn.build, doc.lookup(nn.build) .. "\nOptions:\n" .. build_options:describe())

return nn
