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

local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

-- CIFAR-100 train.bin/test.bin in dir: record i has coarse label i % 20, fine label
-- (i * 7) % 100 and pixels (i * 31 + p) % 256.
function helpers.write_cifar100(dir, train_count, test_count)
  assert(os.execute("mkdir -p '" .. dir .. "'"))
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

function helpers.remove_dir(dir) os.execute("rm -rf '" .. dir .. "'") end

return helpers
