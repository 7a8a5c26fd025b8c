-- Shared by the training specs and scripts: a small CNN and synthetic CIFAR files.
local helpers = {}

-- conv-BN-ReLU x3 with two max-poolings, global average, linear: fast enough for
-- tests under sanitizers, good enough to learn Fashion-MNIST in one epoch.
function helpers.small_cnn(opts)
  local nn = graft.nn
  local width = opts.width or 16
  return nn.build(nn.sequential {
    nn.conv2d { out_channels = width, kernel = 3, padding = 1, bias = false },
    nn.batchnorm {}, nn.relu {}, nn.maxpool { kernel = 2, stride = 2 },
    nn.conv2d { out_channels = 2 * width, kernel = 3, padding = 1, bias = false },
    nn.batchnorm {}, nn.relu {}, nn.maxpool { kernel = 2, stride = 2 },
    nn.conv2d { out_channels = 4 * width, kernel = 3, padding = 1, bias = false },
    nn.batchnorm {}, nn.relu {},
    nn.global_avgpool {}, nn.linear { out = opts.classes or 10 },
  }, { in_channels = opts.in_channels or 1, size = opts.size or 28, seed = opts.seed or 1 })
end

local write = graft.core.write_file

-- CIFAR-100 train.bin/test.bin in dir: record i has coarse label i % 20, fine label
-- (i * 7) % 100 and pixels (i * 31 + p) % 256.
function helpers.write_cifar100(dir, train_count, test_count)
  graft.core.make_dirs(dir)
  local function records(first, n)
    local parts = {}
    for i = first, first + n - 1 do
      local pixels = {}
      for p = 0, 3071 do pixels[p + 1] = string.char((i * 31 + p) % 256) end
      parts[#parts + 1] = string.char(i % 20, (i * 7) % 100) .. table.concat(pixels)
    end
    return table.concat(parts)
  end
  write(dir .. "/train.bin", records(0, train_count))
  write(dir .. "/test.bin", records(1000, test_count))
end

-- Every line of a file, as a list.
function helpers.lines(path)
  local lines = {}
  for line in io.lines(path) do lines[#lines + 1] = line end
  return lines
end

-- The model zoo's builds whose state the fingerprints below pin (builder, options).
helpers.zoo_cases = {
  { "vgg16", {} },
  { "vgg16", { classes = 7, in_channels = 1, image_size = 64, seed = 3 } },
  { "wrn", { depth = 16, widen = 2, classes = 7, in_channels = 1, image_size = 20, seed = 3 } },
  { "wrn", { depth = 10, widen = 1, seed = 5 } },
}

-- What a freshly built network is: its model name, its architecture text (the nodes
-- and their wiring, as checkpoints store it) and per tensor in state_dict order the
-- key, the shape, the sum and the sum of squares (in double), the first and the last
-- value; counters as integers.
function helpers.zoo_fingerprint(net)
  local path = os.tmpname()
  net:save(path)
  local _, meta = graft.load_tensors(path)
  os.remove(path)
  local tensors = {}
  for _, views in ipairs { table.pack(net:parameters()), table.pack(net:buffers()) } do
    for _, name in ipairs(views[2]) do
      local t = views[1][name]
      if math.type(t) == "integer" then
        tensors[#tensors + 1] = { name, t }
      else
        local flat = t:reshape { t:numel() }
        tensors[#tensors + 1] = { name, t:shape(), t:sum(), (t * t):sum(), flat[1], flat[t:numel()] }
      end
    end
  end
  return { model = net:model(), architecture = meta["graft.architecture"], tensors = tensors }
end

helpers.remove_dir = graft.core.remove_tree

return helpers
