-- graft.core's integers: a value the C core holds in an int is refused beyond int's
-- range (a cast would wrap 2^32 + 20 to 20 and build the wrong thing silently), and a
-- model's sizes must be positive.
local core = graft.core
local two_to = function(n) return 1 << n end

local function resnet(changes)
  local o = { depth = 20, classes = 10, in_channels = 3, image_size = 32, seed = 1 }
  for k, v in pairs(changes) do o[k] = v end
  return core.resnet_cifar(o)
end

describe("graft.core integer options", function()
  it("refuses sizes beyond int's range instead of wrapping them", function()
    local wrapped = { two_to(32) + 20, two_to(32) + 10, -two_to(32) + 3 }
    for _, key in ipairs { "depth", "classes", "in_channels", "image_size" } do
      for _, v in ipairs(wrapped) do
        expect.error(function() return resnet { [key] = v } end,
          { "option '" .. key .. "'", "an integer in [1, 2147483647] expected", "got " .. v })
      end
    end
  end)

  it("refuses sizes of 0 and below, which the C core reads as its defaults", function()
    for _, key in ipairs { "classes", "in_channels", "image_size" } do
      for _, v in ipairs { 0, -1, -10 } do
        expect.error(function() return resnet { [key] = v } end,
          { "option '" .. key .. "'", "got " .. v })
      end
    end
    expect.error(function() return core.mobilenetv2_cifar { classes = 0, in_channels = 3, image_size = 32, seed = 1 } end,
      "option 'classes'")
    expect.eq(resnet { classes = 7 }:forward(graft.zeros { 2, 3, 32, 32 }):shape(), { 2, 7 },
      "a positive size still builds")
  end)

  it("refuses schedule epochs and milestones beyond int's range", function()
    local big = two_to(32) + 1
    expect.error(function() return core.schedule { kind = "cosine", lr = 0.1, iterations_per_epoch = 10, epochs = big } end,
      { "option 'epochs'", "got " .. big })
    expect.error(function() return core.schedule { kind = "step", lr = 0.1, iterations_per_epoch = 10, step = big, gamma = 0.1 } end,
      { "option 'step'", "got " .. big })
    expect.error(function()
      return core.schedule { kind = "multistep", lr = 0.1, iterations_per_epoch = 10, gamma = 0.1, milestones = { 2, big } }
    end, { "milestone 2 is " .. big })
    local s = core.schedule { kind = "cosine", lr = 0.1, iterations_per_epoch = 10, epochs = 3 }
    expect.eq(type(s), "userdata", "epochs in range still build a schedule")
  end)

  it("refuses node arguments beyond int's range", function()
    expect.error(function() return core.net_create(two_to(31), 3, 3) end,
      { "bad argument #1", "got 2147483648" })
    local net = core.net_create(1, 4, 4)
    expect.error(function() return core.net_conv2d(net, "c", two_to(32), 2, 3, 1, 1, 1, false) end,
      { "bad argument #3", "got 4294967296" })
  end)
end)
