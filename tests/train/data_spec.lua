-- graft.data from Lua: the data set tables, CIFAR files written here in the exact
-- binary format, loaders (determinism, streams, epochs), and clear errors.
local core = graft.core

local write = core.write_file

-- A CIFAR directory: record i has label(s) from i and pixels from (i, position).
local function cifar_dir(kind, counts)
  local dir = expect.tmpname("-cifar")
  graft.core.make_dirs(dir)
  local function records(first, n, label_bytes)
    local parts = {}
    for i = first, first + n - 1 do
      local label = label_bytes == 1 and string.char(i % 10)
        or string.char(i % 20, (i * 7) % 100)
      local pixels = {}
      for p = 0, 3071 do pixels[p + 1] = string.char((i * 31 + p) % 256) end
      parts[#parts + 1] = label .. table.concat(pixels)
    end
    return table.concat(parts)
  end
  if kind == "cifar10" then
    local first = 0
    for b = 1, 5 do
      write(dir .. "/data_batch_" .. b .. ".bin", records(first, counts[1], 1))
      first = first + counts[1]
    end
    write(dir .. "/test_batch.bin", records(1000, counts[2], 1))
  else
    write(dir .. "/train.bin", records(0, counts[1], 2))
    write(dir .. "/test.bin", records(1000, counts[2], 2))
  end
  return dir
end

local remove_dir = graft.core.remove_tree

-- Plain IDX files in dir: `prefix`-images-idx3-ubyte (n images of side x side) and
-- `prefix`-labels-idx1-ubyte (labels i % 10).
local function idx_files(dir, prefix, n, side)
  local pixels, labels = {}, {}
  for i = 0, n - 1 do
    labels[#labels + 1] = string.char(i % 10)
    for p = 0, side * side - 1 do pixels[#pixels + 1] = string.char((i * 7 + p) % 256) end
  end
  write(dir .. "/" .. prefix .. "-images-idx3-ubyte",
    string.pack(">I4I4I4I4", 0x803, n, side, side) .. table.concat(pixels))
  write(dir .. "/" .. prefix .. "-labels-idx1-ubyte",
    string.pack(">I4I4", 0x801, n) .. table.concat(labels))
end

describe("graft.data", function()
  it("reads Fashion-MNIST with its shape, classes and normalisation", function()
    local fm = graft.data.fashion_mnist { subset = 100, test_subset = 50 }
    expect.eq(fm:size(), 100)
    expect.eq(fm.test:size(), 50)
    expect.eq(fm.shape, { 1, 28, 28 })
    expect.eq(fm.classes, 10)
    expect.eq(fm.pad, 2)
    expect.near(fm.mean, { 0.2860 }, 1e-6)
    local mean, std = fm.train:normalisation()
    expect.near(mean, { 0.2860 }, 1e-6)
    expect.near(std, { 0.3530 }, 1e-6)
    local image, label = fm.train:image(1)
    expect.eq(image:shape(), { 1, 28, 28 })
    -- the first training image of Fashion-MNIST is an ankle boot (class 9)
    expect.eq(label, 9)
    expect.eq(fm.class_names[label + 1], "Ankle boot")
    expect.contains(tostring(fm), "fashion-mnist: 100 training and 50 test images of 1x28x28")
  end)

  it("reads CIFAR-10 batches in order", function()
    local dir = cifar_dir("cifar10", { 3, 4 })
    local c = graft.data.cifar10 { dir = dir }
    expect.eq(c:size(), 15)
    expect.eq(c.test:size(), 4)
    expect.eq(c.shape, { 3, 32, 32 })
    expect.near(c.std, { 0.2023, 0.1994, 0.2010 }, 1e-6)
    expect.eq(c.pad, 4)
    for i = 1, 15 do expect.eq(c.train:label(i), (i - 1) % 10) end
    -- red plane first: pixel p of record i is (i * 31 + p) % 256
    local image = c.train:image(8):totable()
    expect.near(image[2][1][1], ((7 * 31 + 1024) % 256) / 255, 1e-6, "green (0, 0) of image 8")
    expect.eq(c.test:label(1), 0)
    expect.eq(graft.data.cifar10 { dir = dir, subset = 4 }:size(), 4)
    remove_dir(dir)
  end)

  it("reads CIFAR-100 with fine or coarse labels", function()
    local dir = cifar_dir("cifar100", { 6, 2 })
    local fine = graft.data.cifar100 { dir = dir }
    local coarse = graft.data.cifar100 { dir = dir, labels = "coarse" }
    expect.eq(fine.classes, 100)
    expect.eq(coarse.classes, 20)
    -- normalised as the reference does, with CIFAR-10's statistics
    expect.eq({ fine.mean, fine.std }, { { 0.4914, 0.4822, 0.4465 }, { 0.2023, 0.1994, 0.2010 } })
    for i = 1, 6 do
      expect.eq(fine.train:label(i), ((i - 1) * 7) % 100)
      expect.eq(coarse.train:label(i), (i - 1) % 20)
    end
    expect.error(function() graft.data.cifar100 { dir = dir, labels = "medium" } end,
      "option 'labels': 'fine' or 'coarse' expected")
    remove_dir(dir)
  end)

  it("says where it looked when files are missing, and names bad options", function()
    local dir = expect.tmpname("-empty")
    expect.error(function() graft.data.cifar10 { dir = dir } end,
      { "graft.data.cifar10: files not found", dir, "data/README.md" })
    expect.error(function() graft.data.mnist { dir = dir } end, { "graft.data.mnist", dir })
    expect.error(function() graft.data.fashion_mnist { subsets = 3 } end, "unknown option 'subsets'")
    expect.error(function() graft.data.fashion_mnist { subset = 0 } end, "option 'subset': an integer >= 1 expected, got 0")
    expect.error(function() graft.data.load("imagenet") end, "unknown data set 'imagenet'")
    local message = expect.error(function() graft.data.mnist { dir = 123 } end,
      "graft.data.mnist: option 'dir': a string expected, got 123")
    expect.contains(message, "data_spec.lua:", "the position of the call")
    expect.error(function() graft.data.cifar10 { labels = "fine" } end, "graft.data.cifar10: unknown option 'labels'")
    expect.error(function() graft.data.load("mnist", { test_subset = 1.5 }) end,
      "graft.data.mnist: option 'test_subset': an integer >= 1 expected, got 1.5")
  end)

  it("refuses training and test images of different shapes, naming both", function()
    local dir = expect.tmpname("-mixed")
    graft.core.make_dirs(dir)
    idx_files(dir, "train", 4, 28)
    idx_files(dir, "t10k", 3, 14)
    expect.error(function() graft.data.mnist { dir = dir } end,
      { "graft.data.mnist", dir, "training images", "1x28x28", "test images are 1x14x14" })
    idx_files(dir, "t10k", 3, 28)
    expect.eq(graft.data.mnist { dir = dir }.test:size(), 3)
    remove_dir(dir)
  end)

  it("refuses a damaged CIFAR file, naming file and offset", function()
    local dir = cifar_dir("cifar10", { 2, 2 })
    local f = assert(io.open(dir .. "/data_batch_3.bin", "r+b"))
    f:seek("set", 3073) -- the label of record 2
    f:write(string.char(12))
    f:close()
    expect.error(function() graft.data.cifar10 { dir = dir } end,
      { dir .. "/data_batch_3.bin", "label 12 at byte offset 3073 is out of range [0, 10)" })
    write(dir .. "/test_batch.bin", string.rep("\0", 3073 + 5))
    expect.error(function() graft.data.cifar10 { dir = dir, subset = 1 } end,
      { "test_batch.bin", "truncated record at byte offset 3073" })
    write(dir .. "/test_batch.bin", "")
    expect.error(function() graft.data.cifar10 { dir = dir, subset = 1 } end,
      { "test_batch.bin", "empty file (no CIFAR records)" })
    remove_dir(dir)
  end)
end)

describe("data/make_test_files.lua", function()
  it("makes every format, gzip included, and one set per defect", function()
    local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
    local out = expect.tmpname("-made")
    local exe = os.getenv("GRAFT_EXE") or error("GRAFT_EXE must name the graft executable")
    expect.truthy(os.execute(string.format("'%s' '%s/../../data/make_test_files.lua' '%s' 40 >/dev/null",
      exe, here, out)), "the tool ran")
    for _, kind in ipairs { "idx-plain", "idx-gzip" } do
      local m = graft.data.mnist { dir = out .. "/" .. kind }
      expect.eq(m:size(), 40)
      expect.eq(m.test:size(), 20)
      expect.eq(m.train:label(1), 1)
    end
    local gz = io.open(out .. "/idx-gzip/train-images-idx3-ubyte.gz", "rb")
    expect.truthy(gz and gz:read(2) == "\31\139", "gzip magic bytes")
    gz:close()
    -- the same pixels whether compressed or not
    local a = graft.data.mnist { dir = out .. "/idx-plain" }.train:image(7):totable()[1]
    local b = graft.data.mnist { dir = out .. "/idx-gzip" }.train:image(7):totable()[1]
    for y = 1, 28 do
      expect.truthy(table.concat(a[y], ",") == table.concat(b[y], ","), "row " .. y)
    end
    expect.eq(graft.data.cifar10 { dir = out .. "/cifar10" }:size(), 40)
    expect.eq(graft.data.cifar100 { dir = out .. "/cifar100" }.train:label(2), 14)
    local defects = {
      ["wrong-magic"] = "wrong magic number 0x00000801 at byte offset 0",
      ["truncated"] = "truncated at byte offset",
      ["label-out-of-range"] = "label 10 at byte offset 12 is out of range [0, 10)",
      ["count-mismatch"] = "declares 39 labels",
    }
    for defect, message in pairs(defects) do
      expect.error(function() graft.data.mnist { dir = out .. "/damaged/" .. defect } end,
        { defect, message })
    end
    graft.core.remove_tree(out)
  end)
end)

describe("graft.core.loader", function()
  local fm = graft.data.fashion_mnist { subset = 50, test_subset = 10 }

  local function epoch_labels(loader)
    local labels = {}
    for _, y in loader:epoch() do
      for _, v in ipairs(y) do labels[#labels + 1] = v end
    end
    return labels
  end

  it("gives the same batches for a seed and stream, other orders for other streams", function()
    local a = core.loader(fm.train, { batch = 16, shuffle = true, pad = 2, flip = true, seed = 3 })
    local b = core.loader(fm.train, { batch = 16, shuffle = true, pad = 2, flip = true, seed = 3 })
    local c = core.loader(fm.train, { batch = 16, shuffle = true, pad = 2, flip = true, seed = 3,
                                      stream = 1 })
    expect.eq(a:batches(), 4)
    local xa, ya, na = a:epoch()(a)
    local xb, yb = b:epoch()(b)
    expect.eq(na, 16)
    expect.eq(xa:shape(), { 16, 1, 28, 28 })
    expect.eq(ya, yb)
    expect.eq(xa:totable(), xb:totable())
    local la, lc = epoch_labels(a), epoch_labels(c)
    expect.eq(#la, 50)
    expect.truthy(table.concat(la, ",") ~= table.concat(lc, ","), "streams 0 and 1 differ")
    -- generator state carries an epoch sequence over to another loader
    local s, inc, as, ainc = a:rng_state()
    local after = epoch_labels(a)
    c:set_rng_state(s, inc, as, ainc)
    expect.eq(epoch_labels(c), after)
    expect.error(function() c:set_rng_state(s, 2, as, ainc) end,
      { "loader:set_rng_state", "order generator", "increment 2 is even" })
    expect.error(function() c:set_rng_state(s, inc, as, 4) end,
      { "loader:set_rng_state", "augmentation generator", "increment 4 is even" })
    a:close(); b:close(); c:close()
  end)

  it("keeps the data set open while a loader reads it", function()
    local ds = graft.data.fashion_mnist { subset = 20, test_subset = 10 }.train
    local loader = core.loader(ds, { batch = 8 })
    expect.error(function() ds:close() end, "1 loader(s) still read this dataset")
    loader:close()
    ds:close()
    expect.error(function() ds:size() end, "dataset was closed")
    expect.error(function() core.loader(fm.train, { batches = 3 }) end, "unknown option 'batches'")
    expect.error(function() core.loader(fm.train, { batch = 8, pad = 30 }) end, "padding 30")
    -- the batch size's default is graft.train's, not the binding's
    expect.error(function() core.loader(fm.train, { shuffle = true }) end,
      { "loader", "option 'batch': integer expected, got nil" })
  end)
end)
