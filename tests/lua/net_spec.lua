-- Networks from Lua: the reference models, forward/backward (checked against
-- finite differences), parameter views and their lifetime, modes, checkpoints
-- that carry their architecture, and the errors of each.
local graft = require "graft"
local core = graft.core
local nn = graft.nn

-- The options of a graft.core model builder: `opts` and CIFAR-10's sizes and seed 0,
-- which the builders take from their caller.
local function sized(opts)
  local o = { classes = 10, in_channels = 3, image_size = 32, seed = 0 }
  for k, v in pairs(opts) do o[k] = v end
  return o
end

-- A small network with every kind of layer that carries state.
local function small_net(seed)
  return nn.build({
    nn.conv2d { out = 4, kernel = 3, padding = 1, bias = true },
    nn.batchnorm {},
    nn.leaky_relu { slope = 0.1 },
    nn.conv2d { out = 4, kernel = 3, stride = 2, padding = 1, groups = 4, bias = false },
    nn.relu6 {},
    nn.global_avgpool {},
    nn.linear { out = 3 },
  }, { in_channels = 2, size = 6, seed = seed or 1 })
end

describe("the reference models", function()
  it("have the parameter counts of PyTorch", function()
    expect.eq(graft.models.resnet { depth = 20 }:param_count(), 269722, "ResNet-20")
    expect.eq(graft.models.mobilenetv2 {}:param_count(), 2296922, "MobileNetV2")
  end)

  it("print short and name their tensors as the state_dict", function()
    -- 269,722 for 10 classes and 3 channels; + 64 * 90 + 90 (linear), - 16 * 2 * 9 (conv1)
    local net = graft.models.resnet { depth = 20, classes = 100, in_channels = 1, image_size = 28 }
    expect.eq(tostring(net),
      "graft.Net resnet20: 275,284 parameters, input [N, 1, 28, 28] -> output [N, 100], training mode")
    local params = net:parameters()
    expect.eq(params["layer1.0.conv1.weight"]:shape(), { 16, 16, 3, 3 })
    expect.eq(params["linear.weight"]:shape(), { 100, 64 })
    local buffers = net:buffers()
    expect.eq(buffers["bn1.running_var"]:shape(), { 16 })
    expect.eq(buffers["bn1.num_batches_tracked"], 0)
  end)

  it("net:summary() prints one row per layer and the totals", function()
    local net = small_net()
    local lines = {}
    local real_print = print
    print = function(text) for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end end
    local ok, message = pcall(net.summary, net)
    print = real_print
    assert(ok, message)
    expect.eq(#lines, 2 + 8 + 1, "title, header, 8 nodes, totals")
    expect.eq(lines[1], "custom: 8 nodes, input 2x6x6")
    expect.truthy(lines[2]:match("#%s+name%s+kind%s+output%s+parameters"), lines[2])
    -- conv 2->4 3x3 with bias: 72 + 4; depthwise 3x3 stride 2: 4 * 9; linear 4->3: 12 + 3
    expect.truthy(lines[4]:match("^%s+1%s+0%s+conv2d 3x3%s+4x6x6%s+76$"), lines[4])
    expect.truthy(lines[5]:match("^%s+2%s+1%s+batchnorm%s+4x6x6%s+8$"), lines[5])
    expect.truthy(lines[6]:match("^%s+3%s+%-%s+leaky_relu%s+4x6x6%s+0$"), lines[6])
    expect.truthy(lines[7]:match("conv2d 3x3 /2 depthwise%s+4x3x3%s+36$"), lines[7])
    expect.truthy(lines[10]:match("^%s+7%s+6%s+linear%s+3%s+15$"), lines[10])
    expect.eq(lines[11], "total: 135 parameters in 4 layers, 8 BatchNorm running statistics")
    local rows, totals = graft.summary.rows(graft.models.resnet { depth = 20 })
    expect.eq(totals.parameters, 269722, "the rows add up to param_count")
    expect.eq(#rows, 71)
  end)

  it("refuse unknown options", function()
    expect.error(function() core.resnet_cifar { depht = 20 } end, "unknown option 'depht'")
    expect.error(function() core.resnet_cifar(sized { depth = 21 }) end,
      "graft.core.resnet_cifar: resnet: depth 21: 6n + 2 (8, 14, 20, 32, 44, 56, 110, ...) expected")
    expect.error(function() core.vgg16_cifar(sized { image_size = 28 }) end,
      "graft.core.vgg16_cifar: vgg16: image_size 28: images of at least 32x32 (five 2x2 poolings) expected")
  end)

  it("take in graft.core no defaults that graft.models declares", function()
    expect.error(function() core.resnet_cifar { depth = 20 } end,
      { "resnet_cifar", "option 'classes': integer expected, got nil" })
    expect.error(function() core.wrn_cifar(sized { depth = 10 }) end,
      { "wrn_cifar", "option 'widen': integer expected, got nil" })
    expect.error(function() core.vgg16_cifar { classes = 10, in_channels = 3, image_size = 32 } end,
      { "vgg16_cifar", "option 'seed': integer expected, got nil" })
    expect.eq(core.resnet_cifar(sized { depth = 8, seed = 4 }):param_count(),
      graft.models.resnet { depth = 8, seed = 4 }:param_count())
  end)

  it("name the function and the option whose value has the wrong type", function()
    expect.error(function() core.resnet_cifar(sized { depth = "twenty" }) end,
      { "resnet_cifar", "option 'depth'", "integer expected, got string" })
    expect.error(function() core.resnet_cifar(sized { depth = 20.5 }) end, "option 'depth': integer expected")
    expect.error(function() core.sgd { count = 4, momentum = {} } end,
      { "sgd", "option 'momentum'", "number expected, got table" })
  end)
end)

describe("forward and backward", function()
  it("forward checks the input shape, naming both shapes", function()
    local net = small_net()
    expect.error(function() net:forward(graft.zeros { 2, 3, 6, 6 }) end,
      { "net:forward", "[2, 3, 6, 6]", "[N, 2, 6, 6]" })
    expect.eq(net:forward(graft.zeros { 5, 2, 6, 6 }):shape(), { 5, 3 })
  end)

  it("backward checks its order, mode and gradient shape", function()
    local net = small_net()
    expect.error(function() net:backward(graft.zeros { 2, 3 }) end, "no forward")
    net:forward(graft.randn({ 2, 2, 6, 6 }, 1))
    expect.error(function() net:backward(graft.zeros { 3, 3 }) end, { "net:backward", "[3, 3]", "[2, 3]" })
    net:eval()
    net:forward(graft.randn({ 2, 2, 6, 6 }, 1))
    expect.error(function() net:backward(graft.zeros { 2, 3 }) end, "evaluation mode")
  end)

  it("parameter gradients match finite differences (training mode, BatchNorm included)", function()
    local net = small_net(3)
    local x = graft.randn({ 3, 2, 6, 6 }, 4)
    local r = graft.randn({ 3, 3 }, 5) -- loss = sum(y * r), so dloss/dy = r
    local function loss() return (net:forward(x) * r):sum() end
    loss()
    net:backward(r)
    local params, names = net:parameters()
    local grads = net:grads()
    local eps, checked = 1e-2, 0
    for _, name in ipairs(names) do
      local p, g = params[name]:reshape { params[name]:numel() }, grads[name]:reshape { grads[name]:numel() }
      for _, i in ipairs { 1, p:numel() } do
        local saved = p[i]
        p[i] = saved + eps
        local up = loss()
        p[i] = saved - eps
        local down = loss()
        p[i] = saved
        local numeric = (up - down) / (2 * eps)
        expect.near(g[i], numeric, 2e-2, name .. "[" .. i .. "]")
        checked = checked + 1
      end
    end
    expect.truthy(checked >= 12, "checked " .. checked .. " entries")
  end)

  it("the loss gradient matches softmax cross-entropy computed in Lua", function()
    local logits = graft.randn({ 4, 5 }, 9)
    local labels = { 0, 4, 2, 2 }
    local loss, grad = graft.cross_entropy(logits, labels)
    local rows, expected_loss, expected_grad = logits:totable(), 0, {}
    for i, row in ipairs(rows) do
      local max = math.max(table.unpack(row))
      local total = 0
      for _, v in ipairs(row) do total = total + math.exp(v - max) end
      for j, v in ipairs(row) do
        local p = math.exp(v - max) / total
        expected_grad[#expected_grad + 1] = (p - (j - 1 == labels[i] and 1 or 0)) / #rows
        if j - 1 == labels[i] then expected_loss = expected_loss - math.log(p) / #rows end
      end
    end
    expect.near(loss, expected_loss, 1e-5)
    local flat = {}
    for _, row in ipairs(grad:totable()) do for _, v in ipairs(row) do flat[#flat + 1] = v end end
    expect.near(flat, expected_grad, 1e-5)
    expect.error(function() graft.cross_entropy(logits, { 0, 5, 0, 0 }) end, "graft.cross_entropy")
    expect.error(function() graft.cross_entropy(logits, { 0 }) end, { "1 labels", "[4, 5]" })
  end)

  it("evaluation uses running statistics: a sample's output does not depend on its batch", function()
    local net = small_net(2)
    net:forward(graft.randn({ 8, 2, 6, 6 }, 1)) -- moves the running statistics
    net:eval()
    expect.eq(net:is_training(), false)
    local batch = graft.randn({ 4, 2, 6, 6 }, 6)
    local together = net:forward(batch)
    local alone = net:forward(batch:reshape { 4, 2 * 6 * 6 }[1]:reshape { 1, 2, 6, 6 })
    expect.near(alone[1]:totable(), together[1]:totable(), 1e-5)
    net:train()
    local trained = net:forward(batch)
    expect.truthy((trained - together):abs_sum() > 1e-3, "training mode normalises by the batch")
  end)
end)

describe("parameter views", function()
  it("write into the network", function()
    local net = small_net()
    local x = graft.randn({ 2, 2, 6, 6 }, 1)
    net:eval()
    local bias = net:parameters()["6.bias"]
    bias:fill(0)
    local before = net:forward(x)
    bias[2] = 1
    local change = (net:forward(x) - before):totable()
    expect.near(change[1], { 0, 1, 0 }, 1e-6, "sample 1")
    expect.near(change[2], { 0, 1, 0 }, 1e-6, "sample 2")
  end)

  it("keep the network alive after it is dropped", function()
    local weight
    do
      local net = small_net(5)
      weight = net:parameters()["0.weight"]
    end
    collectgarbage()
    collectgarbage()
    expect.eq(weight:shape(), { 4, 2, 3, 3 })
    expect.truthy(weight:abs_sum() > 0, "the initialised weights are still readable")
    weight = nil
    collectgarbage() -- the network goes with its last view (ASan checks the memory)
  end)

  it("a closed network keeps its memory while views exist", function()
    local bias
    do
      local net <close> = small_net(6)
      bias = net:parameters()["6.bias"]
      expect.error(function() net:close(); net:forward(graft.zeros { 1, 2, 6, 6 }) end, "closed")
    end
    expect.eq(bias:numel(), 3)
    expect.truthy(bias:abs_sum() >= 0, "still readable")
  end)

  it("clone and copy_state give independent networks with equal outputs", function()
    local a, b = small_net(1), small_net(2)
    local x = graft.randn({ 2, 2, 6, 6 }, 3)
    a:eval(); b:eval()
    local c = a:clone()
    expect.eq((c:forward(x) - a:forward(x)):abs_sum(), 0)
    c:parameters()["6.bias"]:fill(5)
    expect.truthy((c:forward(x) - a:forward(x)):abs_sum() > 0, "the clone is independent")
    b:copy_state(a)
    expect.eq((b:forward(x) - a:forward(x)):abs_sum(), 0)
    expect.error(function() b:copy_state(graft.models.resnet {}) end, "net:copy_state")
  end)
end)

describe("checkpoints", function()
  it("graft.load rebuilds a custom network and its state", function()
    local net = small_net(7)
    net:forward(graft.randn({ 4, 2, 6, 6 }, 1)) -- non-trivial running statistics
    local path = expect.tmpname(".safetensors")
    net:save(path, { epoch = 3, note = "test" })
    local loaded = graft.load(path)
    expect.eq(loaded:model(), "custom")
    expect.eq(loaded:param_count(), net:param_count())
    local x = graft.randn({ 3, 2, 6, 6 }, 2)
    net:eval(); loaded:eval()
    expect.eq((loaded:forward(x) - net:forward(x)):abs_sum(), 0)
    expect.eq(loaded:buffers()["1.num_batches_tracked"], 1)
    local _, meta = graft.load_tensors(path)
    expect.eq(meta.epoch, "3")
    expect.eq(meta["graft.model"], "custom")
  end)

  it("graft.load rebuilds a reference model", function()
    local net = graft.models.resnet { depth = 20, classes = 7, seed = 3 }
    local path = expect.tmpname(".safetensors")
    net:save(path)
    local loaded = graft.load(path)
    expect.eq(loaded:model(), "resnet20")
    local x = graft.randn({ 2, 3, 32, 32 }, 1)
    net:eval(); loaded:eval()
    expect.eq((loaded:forward(x) - net:forward(x)):abs_sum(), 0)
  end)

  it("net:load takes weights into a built network, refusing another architecture", function()
    local a, b = small_net(1), small_net(2)
    local path = expect.tmpname(".safetensors")
    a:save(path)
    b:load(path)
    a:eval(); b:eval()
    local x = graft.randn({ 1, 2, 6, 6 }, 1)
    expect.eq((b:forward(x) - a:forward(x)):abs_sum(), 0)
    local resnet = graft.models.resnet {}
    expect.error(function() resnet:load(path) end, { "net:load", path })
  end)

  it("refuses files without an architecture, corrupt architectures and bad metadata", function()
    local plain = expect.tmpname(".safetensors")
    graft.save_tensors(plain, { w = graft.zeros { 2 } })
    expect.error(function() graft.load(plain) end, { "graft.load", plain, "graft.architecture", "net:load" })

    local bad = expect.tmpname(".safetensors")
    graft.save_tensors(bad, { w = graft.zeros { 2 } },
      { ["graft.architecture"] = "input 3 8 8;conv2d c 0 x 3 1 1 1 0" })
    expect.error(function() graft.load(bad) end, { "graft.load", bad, "node 1", "\"x\"" })

    graft.save_tensors(bad, { w = graft.zeros { 2 } },
      { ["graft.architecture"] = "input 3 8 8;conv2d c 0 4 3 1 1 1 0" })
    expect.error(function() graft.load(bad) end, { "graft.load", bad })

    local net = small_net()
    expect.error(function() net:save(expect.tmpname(), { ["graft.model"] = "x" }) end, "graft's own")
    expect.error(function() graft.load(expect.tmpname(".missing")) end, "graft.load")
  end)
end)
