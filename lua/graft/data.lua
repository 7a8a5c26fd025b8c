-- graft.data: the data sets, read from the files users have.
--
--   local fm = graft.data.fashion_mnist{}          -- Debian's dataset-fashion-mnist
--   local c10 = graft.data.cifar10{dir = "~/data/cifar-10-batches-bin"}
--   fm.train, fm.test   -- datasets (graft.core): :size(), :image(i), :label(i), ...
--   fm.classes, fm.shape, fm.mean, fm.std, fm.pad, fm:size()
--
-- Where a data set is looked for (first match wins): the `dir` option; the
-- directory named by $GRAFT_DATA_DIR/<name>; /usr/share/datasets/<name> (where
-- Debian's dataset packages install); ./data/<name>. data/README.md says how to
-- place the CIFAR files.
local core = require "graft.core"
local doc = require "graft.doc"
local options = require "graft.options"

local data = {}

local function expand(path)
  if path:sub(1, 2) == "~/" then return (os.getenv("HOME") or "") .. path:sub(2) end
  return path
end

-- The directories searched for a data set called `name`, in order.
function data.search_dirs(name, dir)
  if dir then return { expand(dir) } end
  local dirs = {}
  local env = os.getenv("GRAFT_DATA_DIR")
  if env and env ~= "" then dirs[#dirs + 1] = env .. "/" .. name end
  dirs[#dirs + 1] = "/usr/share/datasets/" .. name
  dirs[#dirs + 1] = "data/" .. name
  return dirs
end

-- First directory holding every one of `files` (each a list of alternative names),
-- with the chosen paths; or an error listing where it looked.
local function locate(name, dir, files, hint)
  local dirs = data.search_dirs(name, dir)
  for _, d in ipairs(dirs) do
    for _, sub in ipairs(files.subdirs or { "" }) do
      local base = sub == "" and d or (d .. "/" .. sub)
      local found = {}
      for i, alternatives in ipairs(files) do
        for _, candidate in ipairs(alternatives) do
          if core.is_file(base .. "/" .. candidate) then
            found[i] = base .. "/" .. candidate
            break
          end
        end
        if not found[i] then break end
      end
      if #found == #files then return found, base end
    end
  end
  options.raise(string.format("graft.data.%s: files not found (looked in %s); %s", name:gsub("-", "_"),
    table.concat(dirs, ", "), hint))
end

-- Calls a reader; its error comes back as "graft.data.<name>: <file>: <what, where>",
-- without the position inside this file.
local function read(fname, reader, ...)
  local ok, result = pcall(reader, ...)
  if ok then return result end
  local message = tostring(result):gsub("^[^\n]-%.lua:%d+: ", ""):gsub("^graft%.core%.[%w_]+: ", "")
  error(fname .. ": " .. message, 0)
end

local Dataset = {}
Dataset.__index = Dataset

function Dataset:size() return self.train:size() end

function Dataset:__tostring()
  return string.format("%s: %d training and %d test images of %s, %d classes (from %s)",
    self.name, self.train:size(), self.test:size(), table.concat(self.shape, "x"),
    self.classes, self.dir)
end

-- The training and test sets must agree: a network built for one reads the other.
local function check_same_kind(name, dir, train, test)
  local a, b = table.concat(train:shape(), "x"), table.concat(test:shape(), "x")
  if a ~= b then
    error(string.format("graft.data.%s: the training images in %s are %s but the test images "
      .. "are %s", name:gsub("-", "_"), dir, a, b), 0)
  end
  if train:classes() ~= test:classes() then
    error(string.format("graft.data.%s: the training set in %s has %d classes but the test set "
      .. "has %d", name:gsub("-", "_"), dir, train:classes(), test:classes()), 0)
  end
end

local function make(name, dir, train, test, fields)
  check_same_kind(name, dir, train, test)
  local mean, std = fields.mean, fields.std
  train:set_normalisation(mean, std)
  test:set_normalisation(mean, std)
  local ds = {
    name = name, dir = dir, train = train, test = test, classes = train:classes(),
    shape = train:shape(), mean = mean, std = std, pad = fields.pad,
    class_names = fields.class_names,
  }
  return setmetatable(ds, Dataset)
end

-- The options of every data set; CIFAR-100 adds labels.
local function spec(name, more)
  return options.spec("graft.data." .. name, {
    { "dir", "string", default_help = "searched, see graft.data", help = "directory of the files" },
    { "subset", "integer", min = 1, default_help = "all", help = "the first n training images" },
    { "test_subset", "integer", min = 1, default_help = "all", help = "the first n test images" },
    table.unpack(more or {}),
  })
end
data.options = {
  fashion_mnist = spec("fashion_mnist"), mnist = spec("mnist"), cifar10 = spec("cifar10"),
  cifar100 = spec("cifar100", { { "labels", "string", default = "fine", choices = { "fine", "coarse" },
                                 help = "100 fine classes or 20 coarse ones" } }),
}

-- An MNIST-family data set in IDX files (gzip or plain).
local function idx_dataset(name, opts, fields)
  local function names(base) return { base .. ".gz", base } end
  local files, dir = locate(name, opts.dir, {
    names "train-images-idx3-ubyte", names "train-labels-idx1-ubyte",
    names "t10k-images-idx3-ubyte", names "t10k-labels-idx1-ubyte",
  }, fields.hint)
  local fname = "graft.data." .. name:gsub("-", "_")
  local train = read(fname, core.data_idx, files[1], files[2], 10, opts.subset or 0)
  local test = read(fname, core.data_idx, files[3], files[4], 10, opts.test_subset or 0)
  return make(name, dir, train, test, fields)
end

data.fashion_mnist = doc(function(opts)
  opts = data.options.fashion_mnist:check(opts)
  return idx_dataset("fashion-mnist", opts, {
    -- over the 60000 training images (tests/data/test_readers.c measures them)
    mean = { 0.2860 }, std = { 0.3530 }, pad = 2,
    class_names = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                    "Sneaker", "Bag", "Ankle boot" },
    hint = "install the Debian package dataset-fashion-mnist",
  })
end, [[graft.data.fashion_mnist{dir=, subset=n, test_subset=m} -> dataset
Fashion-MNIST (60000 training and 10000 test images, 1x28x28, 10 classes) from IDX
files, gzip or plain. By default from /usr/share/datasets/fashion-mnist (Debian package
dataset-fashion-mnist). Normalisation mean 0.2860, std 0.3530; crop padding 2.
Options:
]] .. data.options.fashion_mnist:describe())

data.mnist = doc(function(opts)
  opts = data.options.mnist:check(opts)
  return idx_dataset("mnist", opts, {
    mean = { 0.1307 }, std = { 0.3081 }, pad = 2,
    hint = "place train-images-idx3-ubyte.gz etc. there (see data/README.md) or pass dir=",
  })
end, [[graft.data.mnist{dir=, subset=n, test_subset=m} -> dataset
MNIST digits from the four IDX files (gzip or plain), 1x28x28, 10 classes.
Normalisation mean 0.1307, std 0.3081; crop padding 2.
Options:
]] .. data.options.mnist:describe())

data.cifar10 = doc(function(opts)
  opts = data.options.cifar10:check(opts)
  local wanted = { subdirs = { "", "cifar-10-batches-bin" } }
  for i = 1, 5 do wanted[i] = { "data_batch_" .. i .. ".bin" } end
  wanted[6] = { "test_batch.bin" }
  local files, dir = locate("cifar10", opts.dir, wanted,
    "download the binary version (cifar-10-binary.tar.gz) and see data/README.md")
  local train = read("graft.data.cifar10", core.data_cifar,
    { files[1], files[2], files[3], files[4], files[5] }, "cifar10", opts.subset or 0)
  local test = read("graft.data.cifar10", core.data_cifar, { files[6] }, "cifar10",
    opts.test_subset or 0)
  return make("cifar10", dir, train, test, {
    mean = { 0.4914, 0.4822, 0.4465 }, std = { 0.2023, 0.1994, 0.2010 }, pad = 4,
    class_names = { "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                    "ship", "truck" },
  })
end, [[graft.data.cifar10{dir=, subset=n, test_subset=m} -> dataset
CIFAR-10, binary version: data_batch_1..5.bin and test_batch.bin in dir (or in
dir/cifar-10-batches-bin), 3x32x32, 10 classes. Normalisation as in the paper's
code: mean (0.4914, 0.4822, 0.4465), std (0.2023, 0.1994, 0.2010); crop padding 4.
Options:
]] .. data.options.cifar10:describe())

data.cifar100 = doc(function(opts)
  opts = data.options.cifar100:check(opts)
  local labels = opts.labels
  local files, dir = locate("cifar100", opts.dir,
    { { "train.bin" }, { "test.bin" }, subdirs = { "", "cifar-100-binary" } },
    "download the binary version (cifar-100-binary.tar.gz) and see data/README.md")
  local train = read("graft.data.cifar100", core.data_cifar, { files[1] }, labels, opts.subset or 0)
  local test = read("graft.data.cifar100", core.data_cifar, { files[2] }, labels,
    opts.test_subset or 0)
  -- the reference normalises CIFAR-100 with CIFAR-10's statistics, not its own
  -- (0.5071, 0.4865, 0.4409 / 0.2673, 0.2564, 0.2762): the paper's numbers came so
  return make("cifar100", dir, train, test, {
    mean = { 0.4914, 0.4822, 0.4465 }, std = { 0.2023, 0.1994, 0.2010 }, pad = 4,
  })
end, [[graft.data.cifar100{dir=, labels='fine'|'coarse', subset=n, test_subset=m} -> dataset
CIFAR-100, binary version: train.bin and test.bin in dir (or dir/cifar-100-binary),
3x32x32, 100 fine classes or 20 coarse ones. Normalised as the reference does, with
CIFAR-10's mean (0.4914, 0.4822, 0.4465) and std (0.2023, 0.1994, 0.2010); crop
padding 4.
Options:
]] .. data.options.cifar100:describe())

data.load = doc(function(name, opts)
  local fn = data[(name or ""):gsub("-", "_")]
  if type(fn) ~= "function" or name == "load" or name == "search_dirs" then
    options.raise("graft.data.load: unknown data set '" .. tostring(name)
      .. "' (fashion-mnist, mnist, cifar10, cifar100)")
  end
  return fn(opts)
end, [[graft.data.load(name, opts) -> dataset
The data set called name ('fashion-mnist', 'mnist', 'cifar10', 'cifar100').]])

return doc(data, [[graft.data: data sets (fashion_mnist, mnist, cifar10, cifar100, load)
Each returns a table with train and test datasets, classes, shape {C, H, W}, mean,
std, pad (the crop padding of the default augmentation) and :size().]])
