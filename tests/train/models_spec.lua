-- The model zoo: parameter counts as PyTorch counts them, state_dict key names,
-- options, shapes, and keys, wiring and initial weights held to fingerprints.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local helpers = require "helpers"
local function keys(net)
  local names = {}
  for name in pairs(net:parameters()) do names[name] = true end
  for name in pairs(net:buffers()) do names[name] = true end
  return names
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

describe("graft.models", function()
  it("builds the reference ResNets with PyTorch's parameter counts", function()
    expect.eq(graft.models.resnet {}:param_count(), 269722)
    expect.eq(graft.models.resnet { depth = 32 }:param_count(), 464154)
    expect.eq(graft.models.resnet { depth = 56, classes = 100 }:param_count(), 858868)
    local k = keys(graft.models.resnet {})
    for _, name in ipairs { "conv1.weight", "bn1.running_var", "layer1.0.conv1.weight",
                            "layer3.2.bn2.num_batches_tracked", "linear.bias" } do
      expect.truthy(k[name], name)
    end
  end)

  it("switches to leaky ReLU with a slope", function()
    -- {activation = slope} over the network's activation nodes
    local function activations(net)
      local seen = {}
      for _, node in ipairs(net:nodes()) do
        if node.activation then seen[node.activation] = node.slope end
      end
      return seen
    end
    local leaky = activations(graft.models.resnet { leaky = 0.2 })
    expect.eq(count(leaky), 1)
    expect.near(leaky.leaky_relu, 0.2, 1e-6)
    expect.eq(count(activations(graft.models.resnet {})), 1)
    expect.truthy(activations(graft.models.resnet {}).relu)
    expect.near(activations(graft.models.build("resnet20_leaky")).leaky_relu, 0.01, 1e-6)
    expect.near(activations(graft.models.build("resnet8_leaky", { leaky = 0.2 })).leaky_relu, 0.2, 1e-6,
      "a slope given beside a _leaky name")
    expect.error(function() graft.models.resnet { leaky = -1 } end, "positive slope")
    expect.error(function() graft.models.resnet { depth = 18 } end, "option 'depth': 6n + 2 (8, 14, 20, 32, 44, 56, 110, ...) expected, got 18")
    expect.error(function() graft.models.resnet { depth = 2 } end, "option 'depth': 6n + 2 (8, 14, 20, 32, 44, 56, 110, ...) expected, got 2")
    expect.error(function() graft.models.resnet { depth = 1208 } end,
      "option 'depth': a depth <= 1202 (the deepest CIFAR ResNet of He et al. 2016) expected, got 1208")
    expect.error(function() graft.models.build("resnet6000002") end, "a depth <= 1202")
    -- n = 1 block per stage: ResNet-20 less two blocks per stage, each stage's block
    -- being two 3x3 convs and two BatchNorms (16, 32, 64 channels)
    local per_block_row = (2 * 16 * 16 * 9 + 4 * 16) + (2 * 32 * 32 * 9 + 4 * 32) + (2 * 64 * 64 * 9 + 4 * 64)
    local resnet8 = graft.models.build("resnet8")
    expect.eq(resnet8:param_count(), graft.models.resnet {}:param_count() - 2 * per_block_row)
    expect.eq(resnet8:forward(graft.randn({ 2, 3, 32, 32 }, 3)):shape(), { 2, 10 })
  end)

  it("builds MobileNetV2, VGG16 and WRN with the common PyTorch definitions", function()
    expect.eq(graft.models.mobilenetv2 {}:param_count(), 2296922)
    local vgg = graft.models.vgg16 {}
    expect.eq(vgg:param_count(), 14728266)
    local k = keys(vgg)
    expect.eq(count(k), 93)
    for _, name in ipairs { "features.0.weight", "features.0.bias", "features.1.running_mean",
                            "features.41.num_batches_tracked", "classifier.weight" } do
      expect.truthy(k[name], name)
    end
    local y = vgg:forward(graft.randn({ 2, 3, 32, 32 }, 1))
    expect.eq(y:shape(), { 2, 10 })
    vgg:close()
    local wrn = graft.models.wrn { depth = 16, widen = 2, classes = 7, in_channels = 1, image_size = 20 }
    expect.eq(wrn:param_count(), 691674 - 3 * 16 * 9 + 16 * 9 - (128 + 1) * 10 + (128 + 1) * 7)
    k = keys(wrn)
    expect.eq(count(k), 83)
    for _, name in ipairs { "conv.weight", "stage1.block1.shortcut.conv.weight", "stage2.block2.bn2.weight",
                            "bn.running_var", "fc.weight" } do
      expect.truthy(k[name], name)
    end
    expect.truthy(not k["stage2.block2.shortcut.conv.weight"], "no shortcut conv at equal widths")
    expect.eq(wrn:forward(graft.randn({ 3, 1, 20, 20 }, 2)):shape(), { 3, 7 })
    expect.eq(graft.models.build("wrn28_10"):param_count(), 36479194)
  end)

  it("names WRN-28-10's tensors as the reference's wrn.py does, in its order", function()
    -- tests/fixtures/wrn28_10_keys.txt: PyTorch's state_dict of the reference's model
    -- (tests/parity/make_fixture.py), one "key shape" line each
    local parameters, buffers = {}, {}
    for line in io.lines(here .. "/../fixtures/wrn28_10_keys.txt") do
      local key, shape = line:match("^(%S+) ?(%S*)$")
      local buffer = key:find("running_") or key:find("num_batches_tracked")
      local list = buffer and buffers or parameters
      list[#list + 1] = key .. " " .. shape
    end
    local net = graft.models.build("wrn28_10")
    local function listed(views, names)
      local lines = {}
      for i, name in ipairs(names) do
        local t = views[name]
        lines[i] = name .. " " .. (math.type(t) == "integer" and "" or table.concat(t:shape(), ","))
      end
      return lines
    end
    expect.eq(listed(net:parameters()), parameters)
    expect.eq(listed(net:buffers()), buffers)
    -- conv, 12 blocks of two BatchNorms (5 tensors each) and two convs, 3 shortcut convs, bn, fc
    expect.eq(#parameters + #buffers, 1 + 12 * (5 + 1 + 5 + 1) + 3 + 5 + 2, "the reference's 155 tensors")
    net:close()
  end)

  it("takes classes, channels and size from a data set, and names bad options", function()
    local fm = graft.data.fashion_mnist { subset = 10, test_subset = 10 }
    local net = graft.models.resnet { data = fm }
    expect.eq(net:input_shape(), { 1, 28, 28 })
    expect.eq(net:output_shape(), { 10 })
    expect.error(function() graft.models.vgg16 { data = fm } end,
      "graft.models.vgg16: option 'image_size': images of at least 32x32 (five 2x2 poolings) expected, got 28")
    expect.error(function() graft.models.mobilenetv2 { clases = 10 } end, "unknown option 'clases'")
    expect.error(function() graft.models.build("resnet19") end, "option 'depth': 6n + 2")
    expect.error(function() graft.models.build("alexnet") end, "unknown model 'alexnet'")
    expect.error(function() graft.models.wrn { depth = 27 } end, "6n + 4")
    -- graft.run (and graft train) refuse names the zoo does not make, before any work
    expect.error(function() graft.run { model = "resnet7" } end,
      "graft.run: option 'model': a model name whose depth is 6n + 2 (8, 14, 20, 32, 44, 56, 110, ...) expected, got \"resnet7\"")
    expect.error(function() graft.run { model = "alexnet" } end, "graft.run: option 'model': a model name (resnet20/32")
    expect.eq(graft.models.refuse_name("wrn16_2"), nil)
    expect.truthy(graft.models.refuse_name("wrn16_0"):find("widen"))
    -- each error names the builder, the option and what it takes, at the caller's line
    local message = expect.error(function() graft.models.resnet { data = 5 } end,
      "graft.models.resnet: option 'data': a data set (graft.data.*) expected, got 5")
    expect.contains(message, "models_spec.lua:", "the position of the call")
    expect.error(function() graft.models.wrn { widen = 0 } end,
      "graft.models.wrn: option 'widen': an integer >= 1 expected, got 0")
    expect.error(function() graft.models.mobilenetv2 { classes = "ten" } end,
      "graft.models.mobilenetv2: option 'classes': an integer >= 1 expected, got \"ten\"")
    expect.error(function() graft.models.mobilenetv2 { init = "xavier" } end,
      "graft.models.mobilenetv2: option 'init'")
  end)

  it("initialises each model as the reference does, or as asked", function()
    local function std(net, name)
      local t = net:parameters()[name]
      local mean = t:mean()
      return math.sqrt(((t - mean) * (t - mean)):sum() / (t:numel() - 1))
    end
    -- conv2 of MobileNetV2: 1280 filters of 320 values; PyTorch's default has std
    -- 1/sqrt(3 * 320), Kaiming normal sqrt(2 / 320)
    local reference = graft.models.mobilenetv2 { seed = 3 }
    local kaiming = graft.models.mobilenetv2 { seed = 3, init = "kaiming" }
    expect.near(std(reference, "conv2.weight"), 1 / math.sqrt(3 * 320), 2e-4)
    expect.near(std(kaiming, "conv2.weight"), math.sqrt(2 / 320), 5e-4)
    local resnet = graft.models.resnet { depth = 8, seed = 3 }
    expect.near(std(resnet, "layer3.0.conv2.weight"), math.sqrt(2 / 576), 1e-3)
    -- the rule stays with the network: drawn again, and in a clone
    reference:initialise(4)
    expect.near(std(reference, "conv2.weight"), 1 / math.sqrt(3 * 320), 2e-4)
    local copy = reference:clone()
    copy:initialise(5)
    expect.near(std(copy, "conv2.weight"), 1 / math.sqrt(3 * 320), 2e-4)
  end)

  it("keeps the architecture, keys, shapes and seeded initial weights of its fingerprints", function()
    -- tests/fixtures/zoo_fingerprints.lua was written (make_zoo_fingerprints.lua) by
    -- the builders before VGG16 and WRN moved from Lua to C
    local expected = dofile(here .. "/../fixtures/zoo_fingerprints.lua")
    expect.eq(#expected, #helpers.zoo_cases)
    for i, case in ipairs(helpers.zoo_cases) do
      local net = graft.models[case[1]](case[2])
      local got = helpers.zoo_fingerprint(net)
      net:close()
      local what = case[1] .. " " .. expect.show(case[2])
      expect.eq(got.model, expected[i].model, what)
      expect.eq(got.architecture, expected[i].architecture, what)
      expect.eq(#got.tensors, #expected[i].tensors, what)
      for k, tensor in ipairs(got.tensors) do expect.eq(tensor, expected[i].tensors[k], what) end
    end
  end)
end)
