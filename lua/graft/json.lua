-- JSON for notebooks and run logs, on Debian's lua-dkjson.
--
--   json.decode(text)            -> value   (objects and arrays keep their kind)
--   json.encode(value [, opts])  -> text    opts.indent = true: one item a line
--
-- Lua tables do not say whether they are arrays or objects, so decoded tables carry
-- a metatable saying which (json.array / json.object mark new ones), and JSON null
-- is the sentinel json.null. An unmarked table is an array when its keys are exactly
-- 1..n with n > 0, otherwise an object. What graft adds to dkjson: objects are
-- written with sorted keys, so the same value always gives the same text; floats
-- with the shortest digits that read back as the same double (dkjson writes 14);
-- NaN and infinities are refused (dkjson writes null); and text that is not UTF-8
-- becomes U+FFFD, since Jupyter refuses a notebook that is not UTF-8. dkjson's
-- reader is lenient (it takes a trailing comma or a missing colon): graft reads
-- JSON that it or Jupyter wrote.
local dkjson = require "dkjson"

local json = {}

local array_mt = {__name = "json.array", __jsontype = "array"}
local object_mt = {__name = "json.object", __jsontype = "object"}
json.null = setmetatable({}, {__name = "json.null", __tostring = function() return "null" end,
                              __tojson = function() return "null" end})

-- Marks t (default: a new table) as a JSON array / object; returns it.
function json.array(t) return setmetatable(t or {}, array_mt) end
function json.object(t) return setmetatable(t or {}, object_mt) end
function json.is_array(t) return getmetatable(t) == array_mt end

-- s with every byte that does not start a valid UTF-8 sequence replaced by U+FFFD.
function json.valid_utf8(s)
  if utf8.len(s) then return s end
  local out, pos = {}, 1
  while pos <= #s do
    local ok, bad = utf8.len(s, pos)
    if ok then
      out[#out + 1] = s:sub(pos)
      break
    end
    out[#out + 1] = s:sub(pos, bad - 1) .. "\u{FFFD}"
    pos = bad + 1
  end
  return table.concat(out)
end

---------------------------------------------------------------------------- encoding

-- The shortest decimal that reads back as the same double.
local function shortest_float(x)
  for digits = 15, 16 do
    local text = string.format("%." .. digits .. "g", x)
    if tonumber(text) == x then return text end
  end
  return string.format("%.17g", x)
end

-- Numbers go to dkjson as their text in a table it writes through __tojson: so
-- floats keep every digit, and no object is taken for an array (dkjson reads an
-- object whose only key is "n" with a number value as an array of n items).
local number_mt = {__tojson = function(self) return self[1] end}

local function is_sequence(t)
  local n = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  return n > 0 and n == #t
end

-- A copy of value that dkjson writes as graft wants it (marked tables, floats as
-- text); collects every object key into `keys`. `path` names the place in errors.
local function prepare(value, path, keys, seen)
  local kind = type(value)
  if value == nil then return json.null end
  if kind == "number" then
    if value ~= value or value == math.huge or value == -math.huge then
      error(string.format("json.encode: %s at %s cannot be written as JSON", value, path), 0)
    end
    local text = math.type(value) == "integer" and string.format("%d", value) or shortest_float(value)
    return setmetatable({text}, number_mt)
  end
  if kind == "string" or kind == "boolean" or value == json.null then return value end
  if kind ~= "table" then
    error(string.format("json.encode: a %s at %s cannot be written as JSON", kind, path), 0)
  end
  if seen[value] then error("json.encode: a table at " .. path .. " contains itself", 0) end
  seen[value] = true
  local mt = getmetatable(value)
  local copy
  if mt == array_mt or (mt ~= object_mt and is_sequence(value)) then
    copy = setmetatable({}, array_mt)
    for i = 1, #value do copy[i] = prepare(value[i], path .. "[" .. i .. "]", keys, seen) end
  else
    copy = setmetatable({}, object_mt)
    for k, v in pairs(value) do
      if type(k) ~= "string" then
        error(string.format("json.encode: key %s at %s is not a string", tostring(k), path), 0)
      end
      keys[k] = true
      copy[k] = prepare(v, path .. "." .. k, keys, seen)
    end
  end
  seen[value] = nil
  return copy
end

function json.encode(value, opts)
  local keys = {}
  local prepared = prepare(value, "$", keys, {})
  local order = {}
  for k in pairs(keys) do order[#order + 1] = k end
  table.sort(order)
  local text = dkjson.encode(prepared, {indent = opts and opts.indent and true or nil, keyorder = order})
  -- JSON's own characters are ASCII: only string bytes can be invalid UTF-8
  return json.valid_utf8(text)
end

---------------------------------------------------------------------------- decoding

function json.decode(text)
  if type(text) ~= "string" then error("json.decode: expected a string, got " .. type(text), 2) end
  local value, pos, message = dkjson.decode(text, 1, json.null, object_mt, array_mt)
  if message == nil then
    local rest = text:find("[^ \t\r\n]", pos)
    if not rest then return value end
    local line, column = 1, rest
    for newline in text:sub(1, rest - 1):gmatch("()\n") do line, column = line + 1, rest - newline end
    message = string.format("text after the value at line %d, column %d", line, column)
  end
  error("json.decode: " .. message, 0)
end

-- Reads and decodes a JSON file; errors name the file.
function json.read(path)
  local f, err = io.open(path, "rb")
  if not f then error("json.read: " .. err, 0) end
  local text, read_error = f:read("a")
  f:close()
  if not text then error("json.read: " .. path .. ": " .. tostring(read_error), 0) end
  local ok, value = pcall(json.decode, text)
  if not ok then error(path .. ": " .. value, 0) end
  return value
end

-- Writes value as JSON to path, whole or not at all (graft.core.write_file).
function json.write(path, value, opts)
  local ok, err = pcall(require("graft.core").write_file, path, json.encode(value, opts) .. "\n")
  if not ok then error("json.write: " .. tostring(err):gsub("^graft%.core%.write_file: ", ""), 2) end
end

local doc = require "graft.doc"
doc(json, [[graft.json: JSON for notebooks and run logs (on lua-dkjson)
json.decode(text), json.encode(value [, {indent = true}]), json.read(path),
json.write(path, value [, opts]) (atomic). Objects and arrays keep their kind
(json.object(t), json.array(t) mark new ones); json.null is null.]])
doc(json.decode, [[graft.json.decode(text) -> value
Arrays and objects come back marked (json.is_array); null is json.null; errors
name line and column.]])
doc(json.encode, [[graft.json.encode(value [, {indent = true}]) -> text
Keys sorted; integers stay integers, floats read back exactly; NaN and infinities
are refused naming where; bytes that are not UTF-8 become U+FFFD.]])

return json
