-- graft data/make_test_files.lua OUTDIR [count]
--
-- Writes small data sets in the exact on-disk formats graft reads, for tests and
-- for trying graft without the real files:
--   OUTDIR/idx-plain/   MNIST-style IDX files, uncompressed
--   OUTDIR/idx-gzip/    the same, gzip-compressed (needs the gzip program)
--   OUTDIR/cifar10/     data_batch_1..5.bin, test_batch.bin
--   OUTDIR/cifar100/    train.bin, test.bin (coarse label, fine label, pixels)
--   OUTDIR/damaged/<defect>/  IDX sets with one defect each: wrong-magic,
--                       truncated, label-out-of-range, count-mismatch
-- `count` training images per set (default 200; test sets get count / 2).
-- Image i of class k shows a bright band whose position depends on k, over noise,
-- so that a network can learn the classes.
local out, count = arg[1], tonumber(arg[2] or "200")
if not out or not count or count < 10 then
  io.stderr:write("usage: graft data/make_test_files.lua OUTDIR [count >= 10]\n")
  os.exit(2)
end

local seed
local function random_byte()
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed >> 16 & 255
end

local function mkdir(path) assert(os.execute("mkdir -p '" .. path .. "'"), "cannot create " .. path) end

local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

-- channels planes of side x side bytes for image `index` of class k out of
-- classes; the noise depends only on the index, so every copy of a set is the same
local function image(index, k, classes, channels, side)
  seed = index * 7919 + 17
  local band = (k * side) // classes
  local width = math.max(1, side // classes)
  local bytes = {}
  for c = 0, channels - 1 do
    for y = 0, side - 1 do
      for x = 0, side - 1 do
        local v = random_byte() // 4
        local position = (c % 2 == 0) and y or x
        if position >= band and position < band + width then v = v + 160 end
        bytes[#bytes + 1] = string.char(v)
      end
    end
  end
  return table.concat(bytes)
end

-- IDX: magic, dimensions (big-endian int32), bytes
local function idx_images(n, side, labels, first)
  local parts = { string.pack(">I4I4I4I4", 0x00000803, n, side, side) }
  for i = 1, n do parts[#parts + 1] = image(first + i, labels[i], 10, 1, side) end
  return table.concat(parts)
end

local function idx_labels(labels)
  local parts = { string.pack(">I4I4", 0x00000801, #labels) }
  for i = 1, #labels do parts[#parts + 1] = string.char(labels[i]) end
  return table.concat(parts)
end

local function labels_for(n, classes, offset)
  local labels = {}
  for i = 1, n do labels[i] = (i + offset) % classes end
  return labels
end

local function write_idx(dir, n_train, n_test, edit)
  mkdir(dir)
  local sets = {
    { "train", labels_for(n_train, 10, 0), 0 },
    { "t10k", labels_for(n_test, 10, 3), 100000 },
  }
  for _, set in ipairs(sets) do
    local images, labels = idx_images(#set[2], 28, set[2], set[3]), idx_labels(set[2])
    if edit then images, labels = edit(set[1], images, labels) end
    write(dir .. "/" .. set[1] .. "-images-idx3-ubyte", images)
    write(dir .. "/" .. set[1] .. "-labels-idx1-ubyte", labels)
  end
end

local n_train, n_test = count, count // 2
write_idx(out .. "/idx-plain", n_train, n_test)
write_idx(out .. "/idx-gzip", n_train, n_test)
assert(os.execute("gzip -f '" .. out .. "/idx-gzip/'*-ubyte"), "gzip failed (is it installed?)")

-- CIFAR-10: five training batches and a test batch of 1 + 3072-byte records
mkdir(out .. "/cifar10")
local per_batch = math.max(1, n_train // 5)
for b = 1, 5 do
  local parts = {}
  for i = 1, per_batch do
    local k = (i + b) % 10
    parts[#parts + 1] = string.char(k) .. image(b * per_batch + i, k, 10, 3, 32)
  end
  write(out .. "/cifar10/data_batch_" .. b .. ".bin", table.concat(parts))
end
local test = {}
for i = 1, n_test do test[#test + 1] = string.char(i % 10) .. image(100000 + i, i % 10, 10, 3, 32) end
write(out .. "/cifar10/test_batch.bin", table.concat(test))

-- CIFAR-100: coarse label (fine // 5 here), fine label, 3072 bytes
mkdir(out .. "/cifar100")
for _, set in ipairs { { "train", n_train }, { "test", n_test } } do
  local parts = {}
  for i = 1, set[2] do
    local fine = (i * 7) % 100
    parts[#parts + 1] = string.char(fine // 5, fine) .. image(i, fine, 100, 3, 32)
  end
  write(out .. "/cifar100/" .. set[1] .. ".bin", table.concat(parts))
end

-- Damaged IDX sets, one defect each (the training files carry it)
local damaged = {
  ["wrong-magic"] = function(set, images, labels)
    if set == "train" then images = string.pack(">I4", 0x00000801) .. images:sub(5) end
    return images, labels
  end,
  ["truncated"] = function(set, images, labels)
    if set == "train" then images = images:sub(1, #images - 100) end
    return images, labels
  end,
  ["label-out-of-range"] = function(set, images, labels)
    -- the label of training image 5 sits at byte 8 + 4
    if set == "train" then labels = labels:sub(1, 12) .. string.char(10) .. labels:sub(14) end
    return images, labels
  end,
  ["count-mismatch"] = function(set, images, labels)
    if set == "train" then labels = labels:sub(1, 4) .. string.pack(">I4", n_train - 1) .. labels:sub(9, -2) end
    return images, labels
  end,
}
for name, edit in pairs(damaged) do write_idx(out .. "/damaged/" .. name, n_train, n_test, edit) end
print("wrote " .. out .. ": idx-plain, idx-gzip, cifar10, cifar100, damaged/{wrong-magic, truncated, label-out-of-range, count-mismatch}")
