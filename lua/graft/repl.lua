-- What the prompt needs from Lua: printing results short and readable, and the
-- candidates for tab completion. The prompt itself (Readline, Ctrl-C, history)
-- is C: src/cli/repl.c.
local doc = require "graft.doc"

local repl = {}

-- Limits that keep one printed value on a screen.
repl.max_depth = 2       -- nested tables shown below the top one
repl.max_items = 20      -- entries shown per table
repl.max_string = 400    -- characters shown of a string
repl.line_width = 78     -- a table that fits goes on one line

local keywords = { "and", "break", "do", "else", "elseif", "end", "false", "for",
  "function", "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return",
  "then", "true", "until", "while" }

local function is_identifier(s)
  return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil
end

local function quote(s)
  if #s > repl.max_string then
    return string.format("%q", s:sub(1, repl.max_string)) ..
      string.format("... (%d characters)", #s)
  end
  return string.format("%q", s)
end

local function scalar(v)
  local kind = type(v)
  if kind == "string" then return quote(v) end
  if kind == "function" then
    local summary = doc.summary(v)
    return summary and ("function: " .. summary) or tostring(v)
  end
  return tostring(v)
end

-- Keys of a table in display order: 1..n first, then the rest sorted by name.
local function ordered_keys(t)
  local keys, n = {}, #t
  for i = 1, n do keys[i] = i end
  local rest = {}
  for k in pairs(t) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then rest[#rest + 1] = k end
  end
  table.sort(rest, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "number" or ta == "string" then return a < b end
    return tostring(a) < tostring(b)
  end)
  for _, k in ipairs(rest) do keys[#keys + 1] = k end
  return keys, n
end

local format

local function format_table(t, depth, seen, indent)
  if seen[t] then return "<cycle: " .. tostring(t) .. ">" end
  local mt = getmetatable(t)
  if type(mt) == "table" and rawget(mt, "__tostring") then return tostring(t) end
  local keys, n = ordered_keys(t)
  if #keys == 0 then return "{}" end
  if depth > repl.max_depth then return string.format("{... %d entries}", #keys) end
  seen[t] = true
  local items = {}
  for i, k in ipairs(keys) do
    if i > repl.max_items then
      items[#items + 1] = string.format("... (%d more)", #keys - repl.max_items)
      break
    end
    local value = format(t[k], depth + 1, seen, indent .. "  ")
    if math.type(k) == "integer" and k >= 1 and k <= n then
      items[#items + 1] = value
    elseif is_identifier(k) then
      items[#items + 1] = k .. " = " .. value
    else
      items[#items + 1] = "[" .. scalar(k) .. "] = " .. value
    end
  end
  seen[t] = nil
  local one_line = "{" .. table.concat(items, ", ") .. "}"
  if #one_line + #indent <= repl.line_width and not one_line:find("\n") then return one_line end
  return "{\n" .. indent .. "  " .. table.concat(items, ",\n" .. indent .. "  ") .. "\n" ..
    indent .. "}"
end

function format(v, depth, seen, indent)
  if type(v) == "table" then return format_table(v, depth, seen, indent) end
  -- inside a table, a matrix shows its first line (the shape), not its rows
  if depth > 0 and type(v) == "userdata" then return (tostring(v):match("^[^\n]*")) end
  return scalar(v)
end

-- A value as the prompt shows it: tables nested up to repl.max_depth, at most
-- repl.max_items entries each, long strings cut.
function repl.format(v)
  return format(v, 0, {}, "")
end

-- The results of a statement as the prompt prints them, separated by tabs (as lua does).
function repl.format_values(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = repl.format((select(i, ...))) end
  return table.concat(parts, "\t")
end

function repl.show(...)
  print(repl.format_values(...))
end

-- The table of names a value offers after "." or ":": its own string keys and
-- those reachable through metatables (__index tables, or `methods` of userdata
-- whose __index is a function), without calling any code.
local function add_fields(names, value, methods_only, visited)
  if value == nil or visited[value] then return end
  visited[value] = true
  if type(value) == "table" then
    for k, v in pairs(value) do
      if is_identifier(k) and (not methods_only or type(v) == "function") then
        names[k] = true
      end
    end
  end
  local mt = getmetatable(value)
  if type(mt) ~= "table" then return end
  local index = rawget(mt, "__index")
  if type(index) == "table" then add_fields(names, index, methods_only, visited) end
  local methods = rawget(mt, "methods")
  if type(methods) == "table" then add_fields(names, methods, methods_only, visited) end
end

-- value[key] through rawget and metatables' __index / methods tables, calling nothing.
local function field(value, key, visited)
  if value == nil or visited[value] then return nil end
  visited[value] = true
  if type(value) == "table" then
    local found = rawget(value, key)
    if found ~= nil then return found end
  end
  local mt = getmetatable(value)
  if type(mt) ~= "table" then return nil end
  local index, methods = rawget(mt, "__index"), rawget(mt, "methods")
  if type(index) == "table" then
    local found = field(index, key, visited)
    if found ~= nil then return found end
  end
  if type(methods) == "table" then return field(methods, key, visited) end
  return nil
end

-- The key written inside brackets: an integer or a quoted string without escapes.
local function bracket_key(inner)
  local number = math.tointeger(tonumber(inner))
  if number then return number end
  return inner:match('^"([^"\\]*)"$') or inner:match("^'([^'\\]*)'$")
end

-- The chain of keys that text ends with ("x[1].y" -> {"x", 1, "y"}) and where it
-- starts in text, or nil when text does not end with one.
local function trailing_chain(text)
  local keys, stop = {}, #text
  while true do
    local before = text:sub(1, stop)
    local start, inner = before:match("()%[%s*([^%[%]]-)%s*%]$")
    if start then
      local key = bracket_key(inner)
      if key == nil then return nil end
      table.insert(keys, 1, key)
      stop = #(text:sub(1, start - 1):match("^(.-)%s*$")) -- what is indexed comes first
    else
      local name
      start, name = before:match("()([%a_][%w_]*)$")
      if not start then return nil end
      table.insert(keys, 1, name)
      local dot = text:sub(1, start - 1):match("()%.%s*$")
      if not dot then return keys, start end
      stop = #(text:sub(1, dot - 1):match("^(.-)%s*$"))
    end
  end
end

-- Follows a chain of keys from the globals, calling nothing.
local function lookup(keys)
  local value = _G
  for _, key in ipairs(keys) do
    value = field(value, key, {})
    if value == nil then return nil end
  end
  return value
end

-- Completions of the text before the cursor ("gra", "graft.ze", "t:sh",
-- "nets[1]:fo"): full replacements of the expression it ends with, sorted, and
-- where that expression starts in text (a byte index).
function repl.complete(text)
  local partial = text:match("[%w_]*$")
  local separator = text:sub(-#partial - 1, -#partial - 1)
  local names = {}
  local start = #text - #partial + 1
  if separator == "." or separator == ":" then
    local keys
    keys, start = trailing_chain(text:sub(1, -#partial - 2))
    local value = keys and lookup(keys)
    if value == nil then return {}, #text + 1 end
    add_fields(names, value, separator == ":", {})
  else
    separator = ""
    add_fields(names, _G, false, {})
    for _, k in ipairs(keywords) do names[k] = true end
  end
  local prefix = text:sub(start, -#partial - 1)
  local result = {}
  for name in pairs(names) do
    if name:sub(1, #partial) == partial then result[#result + 1] = prefix .. name end
  end
  table.sort(result)
  return result, start
end

-- The value named by the text before the cursor ("graft.nn.conv2d", "nets[1]:forward")
-- for help, calling nothing; nil when there is none.
function repl.value_before(text)
  local keys = trailing_chain(text)
  return keys and lookup(keys)
end

doc(repl.format, [[graft.repl.format(value) -> string
The prompt's printed form: tables nested to repl.max_depth (2), repl.max_items (20)
entries each, strings cut at repl.max_string (400); tensors print short.]])
doc(repl.show, "graft.repl.show(...) -> prints the values as the prompt does")
doc(repl.format_values, "graft.repl.format_values(...) -> the values as the prompt prints them")
doc(repl.complete, [[graft.repl.complete(text) -> {candidates}, start
Tab completion of the text before the cursor: globals and keywords, fields after
'.', methods after ':' (through metatables' __index tables and the methods of
tensors and networks), also after indexing (nets[1]:, t["key"].). The candidates
replace text from byte `start` on.]])

return repl
