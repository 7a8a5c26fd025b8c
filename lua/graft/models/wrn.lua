-- Wide ResNets (Zagoruyko & Komodakis 2016) with pre-activation blocks, as the
-- common PyTorch code defines them: conv1 (3x3, 16), three groups block1..3 of n =
-- (depth - 4) / 6 blocks of widths 16k, 32k, 64k (strides 1, 2, 2), then bn1, ReLU,
-- global average pooling and fc. Block i of group g, "blockG.layer.I": bn1, relu,
-- conv1 (3x3, stride), bn2, relu, conv2 (3x3); when the width changes, convShortcut
-- (1x1, stride) reads the activated input; otherwise the block input is added.
-- No dropout (the reference's default).
local core = require "graft.core"
local common = require "graft.models.common"

local spec = common.spec("graft.models.wrn", {
  { "depth", "integer", default = 28, help = "layers: 6n + 4, n >= 1",
    check = function(depth)
      if depth < 10 or (depth - 4) % 6 ~= 0 then return "6n + 4 (10, 16, 22, 28, 40, ...)" end
    end },
  { "widen", "integer", default = 10, min = 1, help = "width factor k" },
})

return function(opts)
  opts = common.options(spec, opts)
  local depth, widen = opts.depth, opts.widen
  local n = (depth - 4) // 6
  local widths = { 16, 16 * widen, 32 * widen, 64 * widen }
  local net = core.net_create(opts.in_channels, opts.image_size, opts.image_size)
  local x = core.net_conv2d(net, "conv1", 0, widths[1], 3, 1, 1, 1, false)
  local planes = widths[1]
  for g = 1, 3 do
    for i = 0, n - 1 do
      local name = string.format("block%d.layer.%d", g, i)
      local out_planes, stride = widths[g + 1], (i == 0 and g > 1) and 2 or 1
      local activated = core.net_batchnorm(net, name .. ".bn1", x)
      activated = core.net_activation(net, activated, "relu")
      local y = core.net_conv2d(net, name .. ".conv1", activated, out_planes, 3, stride, 1, 1, false)
      y = core.net_batchnorm(net, name .. ".bn2", y)
      y = core.net_activation(net, y, "relu")
      y = core.net_conv2d(net, name .. ".conv2", y, out_planes, 3, 1, 1, 1, false)
      local shortcut = x
      if planes ~= out_planes then
        shortcut = core.net_conv2d(net, name .. ".convShortcut", activated, out_planes, 1, stride, 0, 1, false)
      end
      x = core.net_add(net, shortcut, y)
      planes = out_planes
    end
  end
  x = core.net_batchnorm(net, "bn1", x)
  x = core.net_activation(net, x, "relu")
  x = core.net_global_avgpool(net, x)
  core.net_linear(net, "fc", x, opts.classes, true)
  return core.net_finalize(net, opts.seed, string.format("wrn%d_%d", depth, widen))
end
