-- The documentation registry behind help(x) and ?name at the prompt.
--
--   graft.doc(fn, [[graft.thing(a, b) -> result
--   What it does, in a few lines.]])
--
-- registers text for a function (or a table, such as a module or a methods table)
-- and returns the value, so it can wrap a definition. The first line is the
-- signature; help() lists documented values by their first lines.
local doc = {}

local texts = setmetatable({}, { __mode = "k" }) -- value -> text

local function register(value, text)
  local kind = type(value)
  if kind ~= "function" and kind ~= "table" and kind ~= "userdata" then
    error("graft.doc: only functions and tables can be documented, got " .. kind, 2)
  end
  if type(text) ~= "string" or text == "" then
    error("graft.doc: the text must be a non-empty string", 2)
  end
  -- Lines after the first lose the indentation they share (text written indented
  -- inside code); the first line is the signature.
  local margin
  for line in text:gmatch("\n([^\n]+)") do
    local lead = #line:match("^ *")
    if lead < #line and (margin == nil or lead < margin) then margin = lead end
  end
  if margin and margin > 0 then
    text = text:gsub("\n" .. (" "):rep(margin), "\n")
  end
  texts[value] = text
  return value
end

setmetatable(doc, { __call = function(_, value, text) return register(value, text) end })

-- The type of a userdata documents its values: tensors and networks.
local function documented(value)
  if texts[value] then return value end
  local mt = getmetatable(value)
  if type(mt) == "table" then
    local methods = rawget(mt, "methods") or rawget(mt, "__index")
    if type(methods) == "table" and texts[methods] then return methods end
  end
  return nil
end

-- The text registered for value (or for its type), or nil.
function doc.lookup(value)
  local key = documented(value)
  return key and texts[key]
end

-- The first line of the documentation, or nil.
function doc.summary(value)
  local text = doc.lookup(value)
  return text and text:match("^[^\n]*")
end

-- Resolves "graft.nn.conv2d" or "t:sum" from the globals without calling anything
-- but metatables' __index tables and the `methods` table of userdata types.
function doc.resolve(name)
  local value = _G
  for key in ("." .. name):gmatch("[.:]([%w_]+)") do
    local found
    if type(value) == "table" then found = rawget(value, key) end
    if found == nil then
      local mt = getmetatable(value)
      local methods = type(mt) == "table" and (rawget(mt, "methods") or rawget(mt, "__index"))
      if type(methods) == "table" then found = methods[key] end
    end
    if found == nil then return nil end
    value = found
  end
  return value
end

-- Documented fields of a table, "  name  summary" sorted by name.
local function field_lines(t)
  local lines = {}
  for key, value in pairs(t) do
    local summary = type(key) == "string" and doc.summary(value)
    if summary then lines[#lines + 1] = string.format("  %-18s %s", key, summary) end
  end
  table.sort(lines)
  return lines
end

local overview = [[
graft: filter grafting (Meng et al., CVPR 2020) on a C core, driven from Lua.

  help(x) or ?name        documentation of a function, module or value
  graft.tensor{...}       tensors; graft.zeros, graft.randn, graft.rand
  graft.nn                layers and containers to build networks
  graft.load(path)        a network saved with net:save(path)
  Tab                     completes names, fields and methods (t:<Tab>)
  Ctrl-C                  interrupts the running code (the session stays)
  Ctrl-D                  leaves the prompt]]

-- The text help(x) prints: the documentation of x (a value, or a name such as
-- "graft.zeros"), the documented fields of a table, or a line saying there is none.
function doc.text(x, ...)
  local name
  if select("#", ...) == 0 and x == nil then
    local parts = {overview}
    local graft = package.loaded["graft"]
    if type(graft) == "table" then
      parts[2] = "\ngraft.*:\n" .. table.concat(field_lines(graft), "\n")
    end
    return table.concat(parts, "\n")
  end
  if type(x) == "string" then
    name = x
    x = doc.resolve(name)
    if x == nil then return string.format("help: no value named '%s'", name) end
  end
  local text = doc.lookup(x)
  if type(x) == "table" then
    local lines = field_lines(x)
    if #lines > 0 then return (text and text .. "\n\n" or "") .. table.concat(lines, "\n") end
  end
  return text or string.format("help: no documentation for %s", name or tostring(x))
end

-- help(x): prints the documentation of x (a value, or a name such as "graft.zeros").
function doc.help(...)
  print(doc.text(...))
end

register(doc, [[graft.doc(value, text) -> value
Registers documentation for a function or table, shown by help(value) and ?name.
The first line is the signature; returns value so it can wrap a definition.]])
register(doc.help, [[help(x)   or, at the prompt,   ?name
Prints the documentation of x: a function, a module (lists its documented
fields), a tensor or network (their methods), or a name like "graft.zeros".
help() gives an overview.]])
register(doc.text, [[graft.doc.text(x) -> string
The text help(x) prints (the Jupyter kernel's inspection shows it too).]])
register(doc.lookup, [[graft.doc.lookup(value) -> text or nil
The registered documentation of value (or of its type, for tensors and networks).]])

return doc
