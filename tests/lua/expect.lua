-- Assertions for the Lua specs: each raises an error saying what was expected
-- and what came, so a failing test explains itself.
local expect = {}

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  local parts = {}
  for k, x in pairs(v) do parts[#parts + 1] = tostring(k) .. "=" .. show(x) end
  table.sort(parts)
  return "{" .. table.concat(parts, ", ") .. "}"
end
expect.show = show

local function fail(what, message)
  error((what and (what .. ": ") or "") .. message, 3)
end

local function deep_equal(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  for k, v in pairs(a) do
    if not deep_equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- actual == expected (tables compared by content)
function expect.eq(actual, expected, what)
  if not deep_equal(actual, expected) then
    fail(what, "expected " .. show(expected) .. ", got " .. show(actual))
  end
end

function expect.truthy(value, what)
  if not value then fail(what, "expected a true value, got " .. show(value)) end
end

-- |actual - expected| <= tol * max(1, |expected|), for numbers or flat tables of numbers
function expect.near(actual, expected, tol, what)
  tol = tol or 1e-6
  if type(expected) == "table" then
    if type(actual) ~= "table" or #actual ~= #expected then
      fail(what, "expected " .. #expected .. " numbers, got " .. show(actual))
    end
    for i = 1, #expected do
      local a, e = actual[i], expected[i]
      if type(a) ~= "number" or math.abs(a - e) > tol * math.max(1, math.abs(e)) then
        fail(what, string.format("item %d: expected %.9g, got %s (tolerance %g)", i, e, show(a), tol))
      end
    end
    return
  end
  if type(actual) ~= "number" or math.abs(actual - expected) > tol * math.max(1, math.abs(expected)) then
    fail(what, string.format("expected %.9g, got %s (tolerance %g)", expected, show(actual), tol))
  end
end

-- haystack contains every needle (plain text, not patterns)
function expect.contains(haystack, needles, what)
  if type(needles) ~= "table" then needles = { needles } end
  for _, needle in ipairs(needles) do
    if type(haystack) ~= "string" or not haystack:find(needle, 1, true) then
      fail(what, "expected " .. show(haystack) .. " to contain " .. show(needle))
    end
  end
end

-- fn(...) raises an error whose message contains every needle; returns the message
function expect.error(fn, needles, ...)
  local ok, message = pcall(fn, ...)
  if ok then fail(nil, "expected an error containing " .. show(needles) .. ", got none") end
  message = tostring(message)
  if needles then
    if type(needles) ~= "table" then needles = { needles } end
    for _, needle in ipairs(needles) do
      if not message:find(needle, 1, true) then
        fail(nil, "expected the error to contain " .. show(needle) .. ", got " .. show(message))
      end
    end
  end
  return message
end

-- The bytes of the file at path, or nil when it cannot be opened.
function expect.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local bytes = f:read("a")
  f:close()
  return bytes
end

-- A path for a temporary file, removed when the run ends.
local temporary = {}
function expect.tmpname(suffix)
  local path = os.tmpname()
  os.remove(path)
  path = path .. (suffix or "")
  temporary[#temporary + 1] = path
  return path
end
function expect.cleanup()
  for _, path in ipairs(temporary) do os.remove(path) end
  temporary = {}
end

return expect
