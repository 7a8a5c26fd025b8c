-- Tensors from Lua: construction, indexing and views, arithmetic, reductions,
-- printing, memory (GC, <close>), safetensors files.
local graft = require "graft"

local function flatten(t, out)
  out = out or {}
  for _, v in ipairs(t) do
    if type(v) == "table" then flatten(v, out) else out[#out + 1] = v end
  end
  return out
end

local function values(t) return flatten(t:totable()) end

describe("construction", function()
  it("graft.tensor reads nested tables in row-major order", function()
    local t = graft.tensor { { 1, 2, 3 }, { 4, 5, 6 } }
    expect.eq(t:shape(), { 2, 3 })
    expect.eq(t:numel(), 6)
    expect.eq(t:dim(), 2)
    expect.eq(#t, 2)
    expect.eq(t:totable(), { { 1, 2, 3 }, { 4, 5, 6 } })
  end)

  it("graft.tensor refuses ragged rows, naming the row", function()
    expect.error(function() graft.tensor { { 1, 2 }, { 3 } } end,
      { "graft.tensor", "[2] has 1 entries, expected 2" })
    expect.error(function() graft.tensor { { 1, 2 }, { 3, "x" } } end, { "[2][2]", "number" })
    expect.error(function() graft.tensor {} end, "empty")
  end)

  it("zeros, ones and shape errors", function()
    expect.eq(values(graft.zeros { 2, 2 }), { 0, 0, 0, 0 })
    expect.eq(values(graft.ones { 3 }), { 1, 1, 1 })
    expect.error(function() graft.zeros { 2, 0 } end, { "graft.zeros", "size 2" })
    expect.error(function() graft.zeros { 1, 1, 1, 1, 1, 1 } end, "1 to 5")
    expect.error(function() graft.zeros(3) end, "table")
  end)

  it("randn is deterministic per seed and standard normal", function()
    local a, b, c = graft.randn({ 100, 100 }, 7), graft.randn({ 100, 100 }, 7), graft.randn({ 100, 100 }, 8)
    expect.eq((a - b):abs_sum(), 0)
    expect.truthy((a - c):abs_sum() > 0, "another seed gives other numbers")
    expect.near(a:mean(), 0, 0.03, "mean")
    local variance = (a * a):mean() - a:mean() ^ 2
    expect.near(variance, 1, 0.05, "variance")
  end)

  it("rand is uniform in [0, 1)", function()
    local u = graft.rand({ 10000 }, 3)
    expect.truthy(u:min() >= 0 and u:max() < 1, "range")
    expect.near(u:mean(), 0.5, 0.02, "mean")
  end)
end)

describe("indexing and views", function()
  it("reads 1-based, returns numbers for 1-D and views otherwise", function()
    local t = graft.tensor { { 1, 2 }, { 3, 4 }, { 5, 6 } }
    expect.eq(t[3][2], 6)
    local row = t[2]
    expect.eq(row:shape(), { 2 })
    row[1] = 30                      -- writes through the view
    expect.eq(t[2][1], 30)
    t[1] = 9                         -- a number fills the row
    expect.eq(values(t), { 9, 9, 30, 4, 5, 6 })
    t[3] = graft.tensor { 7, 8 }     -- a tensor is copied in
    expect.eq(values(t), { 9, 9, 30, 4, 7, 8 })
  end)

  it("index errors name the index and the shape", function()
    local t = graft.zeros { 3, 4 }
    expect.error(function() return t[4] end, { "tensor[4]", "[3, 4]", "1 to 3" })
    expect.error(function() return t[0] end, "out of range")
    -- indices beyond 32 bits are shown as given, not wrapped
    expect.error(function() return t[2 ^ 40] end, "tensor[1099511627776]: index out of range for shape [3, 4]")
    expect.error(function() t[-2 ^ 33] = 1 end, "tensor[-8589934592]")
    expect.error(function() t[1] = graft.zeros { 3 } end, { "[3]", "[4]" })
    expect.error(function() t[1][1] = "x" end, "number")
  end)

  it("reshape is a view with the same number of elements", function()
    local t = graft.tensor { 1, 2, 3, 4, 5, 6 }
    local m = t:reshape { 2, 3 }
    expect.eq(m[2][1], 4)
    m[1][1] = -1
    expect.eq(t[1], -1)
    expect.error(function() t:reshape { 4, 2 } end, { "tensor:reshape", "[6]", "[4, 2]" })
  end)

  it("fill, clone and copy", function()
    local t = graft.zeros { 2, 2 }
    expect.eq(t:fill(2.5), t)
    local c = t:clone()
    c[1][1] = 0
    expect.eq(t[1][1], 2.5, "a clone owns its memory")
    t:copy(c)
    expect.eq(values(t), { 0, 2.5, 2.5, 2.5 })
    expect.error(function() t:copy(graft.zeros { 4 }) end, { "tensor:copy", "[2, 2]", "[4]" })
  end)
end)

describe("arithmetic", function()
  local a = graft.randn({ 3, 4 }, 1)
  local b = graft.rand({ 3, 4 }, 2) + 0.5
  local av, bv = values(a), values(b)

  local function check(result, f, what)
    local expected = {}
    for i = 1, #av do expected[i] = f(av[i], bv[i]) end
    expect.eq(result:shape(), { 3, 4 }, what)
    expect.near(values(result), expected, 1e-6, what)
  end

  it("tensor with tensor, elementwise", function()
    check(a + b, function(x, y) return x + y end, "+")
    check(a - b, function(x, y) return x - y end, "-")
    check(a * b, function(x, y) return x * y end, "*")
    check(a / b, function(x, y) return x / y end, "/")
    check(-a, function(x) return -x end, "unary minus")
  end)

  it("with numbers on either side", function()
    check(a * 2, function(x) return x * 2 end, "t * 2")
    check(1 - a, function(x) return 1 - x end, "1 - t")
    check(2 / b, function(_, y) return 2 / y end, "2 / t")
    check(a + 0.25, function(x) return x + 0.25 end, "t + 0.25")
  end)

  it("different shapes are refused, naming both", function()
    local message = expect.error(function() return a + graft.zeros { 4, 3 } end,
      { "tensor +", "[3, 4]", "[4, 3]" })
    expect.contains(message, "differ")
    expect.error(function() return a * {} end, "tensor *")
  end)

  it("reductions match sums computed in Lua", function()
    local sum, abs, max, min = 0, 0, -math.huge, math.huge
    for _, v in ipairs(av) do
      sum, abs = sum + v, abs + math.abs(v)
      max, min = math.max(max, v), math.min(min, v)
    end
    expect.near(a:sum(), sum, 1e-6)
    expect.near(a:mean(), sum / #av, 1e-6)
    expect.near(a:abs_sum(), abs, 1e-6)
    expect.eq(a:max(), max)
    expect.eq(a:min(), min)
  end)
end)

describe("printing", function()
  it("a vector is one line: the shape and a few values", function()
    expect.eq(tostring(graft.tensor { 0.5, 1, 2 }), "graft.Tensor [3] {0.5, 1, 2}")
    expect.eq(tostring(graft.ones { 100 }), "graft.Tensor [100] {1, 1, 1, 1, 1, ..., 1}")
  end)

  it("a matrix prints as rows of aligned columns", function()
    expect.eq(tostring(graft.tensor { { 0.5, 1 }, { 2, -3 } }),
      "graft.Tensor [2, 2]\n[[0.5,   1],\n [  2,  -3]]")
  end)

  it("elides the middle rows and columns of a large matrix, as NumPy does", function()
    local t = graft.zeros { 1000, 1000 }
    for i = 1, 1000 do t[i][1] = i; t[i][1000] = -i end
    t[1000][999] = 7
    local lines = {}
    for line in tostring(t):gmatch("[^\n]+") do lines[#lines + 1] = line end
    expect.eq(#lines, 8, "the shape, 3 rows, the elision, 3 rows")
    expect.eq(lines[1], "graft.Tensor [1000, 1000]")
    expect.eq(lines[2], "[[    1,     0,     0, ...,     0,     0,    -1],")
    expect.eq(lines[5], " ...,")
    expect.eq(lines[6], " [  998,     0,     0, ...,     0,     0,  -998],")
    expect.eq(lines[8], " [ 1000,     0,     0, ...,     0,     7, -1000]]")
  end)

  it("shows the first and last matrix of each leading dimension, under its index", function()
    local t = graft.zeros { 16, 8, 3, 3 }
    t[16][8][3][3] = 5
    t[1][8][1][1] = -2
    local s = tostring(t)
    expect.contains(s, { "graft.Tensor [16, 8, 3, 3]\n[1, 1, :, :] =\n[[ 0,",
                         "[1, 8, :, :] =\n[[-2,", "[16, 1, :, :] =", "[16, 8, :, :] =", " 5]]" })
    expect.truthy(not s:find("[2, ", 1, true), "no other leading index")
    local _, count = s:gsub("\n", "")
    expect.truthy(count <= 24, count .. " lines")
    local three = tostring(graft.tensor { { { 1 } }, { { 2 } }, { { 3 } } })
    expect.eq(three, "graft.Tensor [3, 1, 1]\n[1, :, :] =\n[[1]]\n[2, :, :] =\n[[2]]\n[3, :, :] =\n[[3]]")
  end)
end)

describe("memory", function()
  it("a view keeps its tensor alive after the tensor is dropped", function()
    local row
    do
      local t = graft.tensor { { 1, 2 }, { 3, 4 } }
      row = t[2]
    end
    collectgarbage()
    collectgarbage()
    expect.eq(row:totable(), { 3, 4 })
  end)

  it("<close> frees the tensor; using it afterwards is an error", function()
    local escaped
    do
      local t <close> = graft.ones { 4 }
      escaped = t
    end
    expect.error(function() return escaped:sum() end, "closed")
    expect.eq(tostring(escaped), "graft.Tensor (closed)")
  end)

  it("closing a tensor with a live view leaves the view valid", function()
    local view
    do
      local t <close> = graft.tensor { { 5, 6 }, { 7, 8 } }
      view = t[1]
    end
    collectgarbage()
    expect.eq(view:totable(), { 5, 6 })
  end)
end)

describe("safetensors files", function()
  it("round-trips tensors, integers and metadata", function()
    local path = expect.tmpname(".safetensors")
    local w = graft.randn({ 2, 3, 4 }, 5)
    graft.save_tensors(path, { w = w, b = graft.tensor { 1, 2 }, steps = 42 }, { note = "hi", epoch = 3 })
    local loaded, meta = graft.load_tensors(path)
    expect.eq(loaded.w:shape(), { 2, 3, 4 })
    expect.eq((loaded.w - w):abs_sum(), 0)
    expect.eq(loaded.b:totable(), { 1, 2 })
    expect.eq(loaded.steps, 42)
    expect.eq(meta.note, "hi")
    expect.eq(meta.epoch, "3")
  end)

  it("refuses bad arguments", function()
    local path = expect.tmpname(".safetensors")
    expect.error(function() graft.save_tensors(path, { w = "x" }) end, { "graft.save_tensors", "w" })
    expect.error(function() graft.save_tensors(path, { graft.zeros { 1 } }) end, "not a string")
    expect.error(function() graft.save_tensors(path, {}) end, "no tensors")
  end)

  it("refuses missing, corrupt and truncated files, naming the file", function()
    local missing = expect.tmpname(".safetensors")
    expect.error(function() graft.load_tensors(missing) end, { "graft.load_tensors", missing })

    local garbage = expect.tmpname(".safetensors")
    local f = assert(io.open(garbage, "wb"))
    f:write(string.rep("\255", 64))
    f:close()
    expect.error(function() graft.load_tensors(garbage) end, { "graft.load_tensors", garbage })

    local good, truncated = expect.tmpname(".safetensors"), expect.tmpname(".safetensors")
    graft.save_tensors(good, { w = graft.randn({ 64 }, 1) })
    local bytes = assert(io.open(good, "rb")):read("a")
    f = assert(io.open(truncated, "wb"))
    f:write(bytes:sub(1, #bytes - 10))
    f:close()
    expect.error(function() graft.load_tensors(truncated) end, { "graft.load_tensors", truncated })

    -- a directory is not "too short"; a FIFO does not block
    local dir = expect.tmpname("-dir")
    graft.core.make_dirs(dir)
    expect.error(function() graft.load_tensors(dir) end,
      "graft.load_tensors: safetensors read '" .. dir .. "': not a regular file (a directory)")
    os.remove(dir)
    local fifo = expect.tmpname("-fifo")
    if os.execute("mkfifo " .. fifo .. " 2>/dev/null") then
      expect.error(function() graft.load_tensors(fifo) end, { fifo, "not a regular file" })
      os.remove(fifo)
    end

    -- a tensor without elements is refused naming the file and the tensor
    local empty = expect.tmpname(".safetensors")
    local header = '{"weights":{"dtype":"F32","shape":[3,0],"data_offsets":[0,0]}}'
    f = assert(io.open(empty, "wb"))
    f:write(string.pack("<I8", #header), header)
    f:close()
    expect.error(function() graft.load_tensors(empty) end,
      "graft.load_tensors: '" .. empty .. "': tensor 'weights' has shape [3, 0], with no elements")
  end)
end)
