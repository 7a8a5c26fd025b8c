-- JSON (RFC 8259) to and from Lua values, for notebooks and run logs.
--
--   json.decode(text)            -> value   (objects and arrays keep their kind)
--   json.encode(value [, opts])  -> text    opts.indent = spaces per level (none: compact)
--
-- Lua tables do not say whether they are arrays or objects, so decoded tables carry
-- a metatable saying which (json.array / json.object mark new ones), and JSON null
-- is the sentinel json.null. An unmarked table is an array when its keys are exactly
-- 1..n with n > 0, otherwise an object; objects are written with sorted keys so the
-- same value always gives the same text.
local json = {}

local array_mt = {__name = "json.array"}
local object_mt = {__name = "json.object"}
json.null = setmetatable({}, {__name = "json.null", __tostring = function() return "null" end})

-- Marks t (default: a new table) as a JSON array / object; returns it.
function json.array(t) return setmetatable(t or {}, array_mt) end
function json.object(t) return setmetatable(t or {}, object_mt) end
function json.is_array(t) return getmetatable(t) == array_mt end

---------------------------------------------------------------------------- encoding

local escapes = {['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
                 ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t'}

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

-- The shortest decimal that reads back as the same double.
local function shortest_float(x)
  for digits = 15, 16 do
    local text = string.format("%." .. digits .. "g", x)
    if tonumber(text) == x then return text end
  end
  return string.format("%.17g", x)
end

local function is_sequence(t)
  local n = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  return n > 0 and n == #t
end

local function encode_value(value, out, indent, depth, path, seen)
  local kind = type(value)
  if value == nil or value == json.null then
    out[#out + 1] = "null"
  elseif kind == "boolean" then
    out[#out + 1] = tostring(value)
  elseif kind == "number" then
    if value ~= value or value == math.huge or value == -math.huge then
      error(string.format("json.encode: %s at %s cannot be written as JSON", value, path), 0)
    end
    out[#out + 1] = math.type(value) == "integer" and string.format("%d", value)
                    or shortest_float(value)
  elseif kind == "string" then
    out[#out + 1] = encode_string(value)
  elseif kind == "table" then
    if seen[value] then error("json.encode: a table at " .. path .. " contains itself", 0) end
    seen[value] = true
    local mt = getmetatable(value)
    local as_array = mt == array_mt or (mt ~= object_mt and is_sequence(value))
    local newline = indent and ("\n" .. string.rep(" ", indent * (depth + 1))) or ""
    local close = indent and ("\n" .. string.rep(" ", indent * depth)) or ""
    if as_array then
      if #value == 0 then
        out[#out + 1] = "[]"
      else
        out[#out + 1] = "["
        for i = 1, #value do
          out[#out + 1] = (i > 1 and "," or "") .. newline
          encode_value(value[i], out, indent, depth + 1, path .. "[" .. i .. "]", seen)
        end
        out[#out + 1] = close .. "]"
      end
    else
      local keys = {}
      for k in pairs(value) do
        if type(k) ~= "string" then
          error(string.format("json.encode: key %s at %s is not a string", tostring(k), path), 0)
        end
        keys[#keys + 1] = k
      end
      table.sort(keys)
      if #keys == 0 then
        out[#out + 1] = "{}"
      else
        out[#out + 1] = "{"
        for i, k in ipairs(keys) do
          out[#out + 1] = (i > 1 and "," or "") .. newline .. encode_string(k)
                          .. (indent and ": " or ":")
          encode_value(value[k], out, indent, depth + 1, path .. "." .. k, seen)
        end
        out[#out + 1] = close .. "}"
      end
    end
    seen[value] = nil
  else
    error(string.format("json.encode: a %s at %s cannot be written as JSON", kind, path), 0)
  end
end

function json.encode(value, opts)
  local out = {}
  encode_value(value, out, opts and opts.indent, 0, "$", {})
  return table.concat(out)
end

---------------------------------------------------------------------------- decoding

local function fail(text, pos, what)
  local line, column = 1, pos
  for newline in text:sub(1, pos - 1):gmatch("()\n") do
    line = line + 1
    column = pos - newline
  end
  error(string.format("json.decode: %s at line %d column %d", what, line, column), 0)
end

local unescapes = {['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n',
                   r = '\r', t = '\t'}

local decode_value

local function decode_string(text, pos) -- pos at the opening quote
  local parts, i = {}, pos + 1
  while true do
    local stop = text:find('["\\%c]', i)
    if not stop then fail(text, pos, "unterminated string") end
    parts[#parts + 1] = text:sub(i, stop - 1)
    local c = text:sub(stop, stop)
    if c == '"' then return table.concat(parts), stop + 1 end
    if c ~= "\\" then fail(text, stop, "control character in string") end
    local e = text:sub(stop + 1, stop + 1)
    if unescapes[e] then
      parts[#parts + 1] = unescapes[e]
      i = stop + 2
    elseif e == "u" then
      local hex = text:match("^%x%x%x%x", stop + 2)
      if not hex then fail(text, stop, "bad \\u escape") end
      local code = tonumber(hex, 16)
      i = stop + 6
      if code >= 0xD800 and code <= 0xDBFF then -- a surrogate pair
        local low = text:match("^\\u(%x%x%x%x)", i)
        low = low and tonumber(low, 16)
        if not low or low < 0xDC00 or low > 0xDFFF then fail(text, stop, "lone surrogate") end
        code = 0x10000 + (code - 0xD800) * 0x400 + (low - 0xDC00)
        i = i + 6
      end
      parts[#parts + 1] = utf8.char(code)
    else
      fail(text, stop, "bad escape \\" .. e)
    end
  end
end

local function skip_space(text, pos)
  return text:find("[^ \t\r\n]", pos) or #text + 1
end

function decode_value(text, pos, depth)
  if depth > 500 then fail(text, pos, "nesting deeper than 500") end
  pos = skip_space(text, pos)
  local c = text:sub(pos, pos)
  if c == "{" then
    local object = json.object()
    pos = skip_space(text, pos + 1)
    if text:sub(pos, pos) == "}" then return object, pos + 1 end
    while true do
      if text:sub(pos, pos) ~= '"' then fail(text, pos, "expected a string key") end
      local key
      key, pos = decode_string(text, pos)
      pos = skip_space(text, pos)
      if text:sub(pos, pos) ~= ":" then fail(text, pos, "expected ':'") end
      object[key], pos = decode_value(text, pos + 1, depth + 1)
      pos = skip_space(text, pos)
      c = text:sub(pos, pos)
      if c == "}" then return object, pos + 1 end
      if c ~= "," then fail(text, pos, "expected ',' or '}'") end
      pos = skip_space(text, pos + 1)
    end
  elseif c == "[" then
    local array = json.array()
    pos = skip_space(text, pos + 1)
    if text:sub(pos, pos) == "]" then return array, pos + 1 end
    while true do
      array[#array + 1], pos = decode_value(text, pos, depth + 1)
      pos = skip_space(text, pos)
      c = text:sub(pos, pos)
      if c == "]" then return array, pos + 1 end
      if c ~= "," then fail(text, pos, "expected ',' or ']'") end
      pos = pos + 1
    end
  elseif c == '"' then
    return decode_string(text, pos)
  elseif text:find("^true", pos) then
    return true, pos + 4
  elseif text:find("^false", pos) then
    return false, pos + 5
  elseif text:find("^null", pos) then
    return json.null, pos + 4
  else
    local number = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    local value = number and tonumber(number)
    if not value then fail(text, pos, c == "" and "unexpected end" or "unexpected '" .. c .. "'") end
    -- integers stay integers (execution counts); others are floats
    if not number:find("[.eE]") and math.type(value) == "integer" then return value, pos + #number end
    return value + 0.0, pos + #number
  end
end

function json.decode(text)
  if type(text) ~= "string" then error("json.decode: expected a string, got " .. type(text), 2) end
  local value, pos = decode_value(text, 1, 0)
  pos = skip_space(text, pos)
  if pos <= #text then fail(text, pos, "text after the value") end
  return value
end

-- Reads and decodes a JSON file; errors name the file.
function json.read(path)
  local f, err = io.open(path, "rb")
  if not f then error("json.read: " .. err, 0) end
  local text = f:read("a")
  f:close()
  local ok, value = pcall(json.decode, text)
  if not ok then error(path .. ": " .. value, 0) end
  return value
end

-- Writes value as JSON to path atomically (temporary file, then rename).
function json.write(path, value, opts)
  local text = json.encode(value, opts) .. "\n"
  local temporary = path .. ".tmp"
  local f, err = io.open(temporary, "wb")
  if not f then error("json.write: " .. err, 2) end
  local ok, werr = f:write(text)
  local closed, cerr = f:close()
  if not ok or not closed then
    os.remove(temporary)
    error("json.write: " .. temporary .. ": " .. tostring(werr or cerr), 2)
  end
  local renamed, rerr = os.rename(temporary, path)
  if not renamed then
    os.remove(temporary)
    error("json.write: " .. rerr, 2)
  end
end

local doc = require "graft.doc"
doc(json, [[graft.json: JSON for notebooks and run logs
json.decode(text), json.encode(value [, {indent = n}]), json.read(path),
json.write(path, value [, opts]) (atomic). Objects and arrays keep their kind
(json.object(t), json.array(t) mark new ones); json.null is null.]])
doc(json.decode, [[graft.json.decode(text) -> value
Arrays and objects come back marked (json.is_array); null is json.null; errors
name line and column.]])
doc(json.encode, [[graft.json.encode(value [, {indent = n}]) -> text
Keys sorted; integers stay integers; NaN and infinities are refused naming where.]])

return json
