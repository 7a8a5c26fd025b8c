-- graft.nn: layer descriptions, PyTorch names, containers, and errors that name
-- the layer and the shapes.
local graft = require "graft"
local nn = graft.nn

local function sorted_names(net)
  local _, names = net:parameters()
  local copy = { table.unpack(names) }
  table.sort(copy)
  return copy
end

-- The reference's CIFAR ResNet-20 written with graft.nn, named as its state_dict.
local function resnet20_from_layers()
  local function block(planes, stride)
    local shortcut = stride ~= 1 and nn.shortcut_a { out = planes, stride = stride } or nil
    return nn.residual {
      nn.conv2d { name = "conv1", out = planes, kernel = 3, stride = stride, padding = 1, bias = false },
      nn.batchnorm { name = "bn1" },
      nn.relu {},
      nn.conv2d { name = "conv2", out = planes, kernel = 3, padding = 1, bias = false },
      nn.batchnorm { name = "bn2" },
      shortcut = shortcut,
      after = nn.relu {},
    }
  end
  local function stage(name, planes, stride)
    return nn.sequential { name = name, block(planes, stride), block(planes, 1), block(planes, 1) }
  end
  return nn.sequential {
    nn.conv2d { name = "conv1", out = 16, kernel = 3, padding = 1, bias = false },
    nn.batchnorm { name = "bn1" },
    nn.relu {},
    stage("layer1", 16, 1), stage("layer2", 32, 2), stage("layer3", 64, 2),
    nn.global_avgpool {},
    nn.linear { name = "linear", out = 10 },
  }
end

describe("names", function()
  it("children of a container are 0, 1, ... as in PyTorch's Sequential", function()
    local net = nn.build({
      nn.conv2d { out = 2, kernel = 1 },
      nn.relu {},
      nn.sequential { nn.conv2d { out = 2, kernel = 1, bias = false }, nn.batchnorm {} },
      nn.global_avgpool {},
      nn.linear { out = 2, name = "fc" },
    }, { in_channels = 1, size = 4 })
    expect.eq(sorted_names(net),
      { "0.bias", "0.weight", "2.0.weight", "2.1.bias", "2.1.weight", "fc.bias", "fc.weight" })
    local _, buffers = net:buffers()
    expect.eq(buffers, { "2.1.running_mean", "2.1.running_var", "2.1.num_batches_tracked" })
  end)

  it("a lone layer is named 0", function()
    expect.eq(sorted_names(nn.build(nn.linear { out = 3 }, { in_channels = 4, size = 1 })),
      { "0.bias", "0.weight" })
  end)

  it("ResNet-20 written with graft.nn equals the C builder: names, size and outputs", function()
    local ours = nn.build(resnet20_from_layers(), { in_channels = 3, size = 32, seed = 1 })
    local reference = graft.models.resnet { depth = 20, seed = 2 }
    expect.eq(ours:param_count(), 269722)
    expect.eq(sorted_names(ours), sorted_names(reference))
    ours:copy_state(reference)
    ours:eval(); reference:eval()
    local x = graft.randn({ 2, 3, 32, 32 }, 4)
    expect.near((ours:forward(x) - reference:forward(x)):abs_sum(), 0, 1e-5)
  end)
end)

describe("layers", function()
  it("pools, shortcuts and activations give the expected shapes", function()
    local net = nn.build({
      nn.maxpool { kernel = 2 },
      nn.avgpool { kernel = 3, stride = 1, padding = 1 },
      nn.shortcut_a { out = 6, stride = 2 },
      nn.relu6 {},
    }, { in_channels = 2, size = 8 })
    expect.eq(net:output_shape(), { 6, 2, 2 })
    local y = net:forward(graft.rand({ 1, 2, 8, 8 }, 1) * 10)
    expect.eq(y:shape(), { 1, 6, 2, 2 })
    expect.eq(y[1][1]:abs_sum(), 0, "option A pads zero channels in front")
    expect.truthy(y:max() <= 6, "relu6 clips at 6")
  end)

  it("a residual block without a shortcut adds its input", function()
    local net = nn.build(nn.residual { nn.relu {} }, { in_channels = 1, size = 2 })
    local x = graft.tensor { { { { -1, 2 }, { 3, -4 } } } }
    expect.eq(net:forward(x):totable(), { { { { -1, 4 }, { 6, -4 } } } })
  end)

  it("descriptions print like the calls that made them", function()
    local s = tostring(nn.sequential { nn.conv2d { out = 8, kernel = 3 }, nn.relu {} })
    expect.contains(s, { "nn.sequential{", "nn.conv2d{", "out_channels = 8", "nn.relu{}" })
  end)
end)

describe("errors", function()
  it("bad options name the layer and the option", function()
    expect.error(function() nn.conv2d { out = 8 } end, { "graft.nn.conv2d", "'kernel' is required" })
    expect.error(function() nn.conv2d { out = 8, kernel = 3, strid = 2 } end, "unknown option 'strid'")
    expect.error(function() nn.conv2d { out = 8, kernel = 0 } end, "option 'kernel': an integer >= 1 expected, got 0")
    expect.error(function() nn.linear { out = 2, out_features = 2 } end, "not both")
    expect.error(function() nn.sequential { nn.relu {}, 3 } end, "graft.nn.sequential: item 2: a layer (graft.nn.*) expected, got 3")
    expect.error(function() nn.residual { shortcut = nn.relu {} } end, "at least one layer")
  end)

  it("shape mismatches name the layer and the shapes", function()
    expect.error(function()
      nn.build({ nn.conv2d { out = 4, kernel = 3 }, nn.conv2d { name = "second", in_channels = 3, out = 4, kernel = 1 } },
        { in_channels = 1, size = 8 })
    end, { "conv2d 'second'", "in_channels 3", "[4, 6, 6]", "gives 4" })
    expect.error(function()
      nn.build({ nn.linear { in_features = 10, out = 2 } }, { in_channels = 3, size = 2 })
    end, { "linear '0'", "in_features 10", "gives 12" })
    local message = expect.error(function()
      nn.build({ nn.conv2d { out = 4, kernel = 5 } }, { in_channels = 1, size = 3 })
    end, "graft.nn.build: conv2d '0': kernel 5 does not fit the input 3x3")
    expect.truthy(not message:find("conv2d '0'.*conv2d '0'") and not message:find("graft.core"),
      "the layer named once, no core function: " .. message)
    expect.contains(message, "nn_spec.lua:", "the position of the call")
    expect.error(function()
      nn.build(nn.residual { nn.conv2d { out = 4, kernel = 1 } }, { in_channels = 2, size = 4 })
    end, { "graft.nn.build", "residual" })
    expect.error(function() nn.build({}, { size = 4, colour = 1 }) end, "unknown option 'colour'")
  end)
end)
