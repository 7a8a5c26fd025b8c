-- graft.options: every option of graft's functions and commands is declared once,
-- with its type, default, range or allowed values and one line of help. From that
-- declaration a spec checks an option table (unknown keys, types, ranges; the
-- defaults filled in), writes the options part of help texts, and adds the
-- options to a command line parser (Debian's lua-argparse), so that a function,
-- its help and the command built on it cannot disagree.
--
--   local spec = options.spec("graft.train", {
--     {"net", "network", required = true, help = "the network to train"},
--     {"epochs", "integer", default = 1, min = 1, help = "passes over the training set"},
--     {"schedule", "string", default = "cosine", choices = {"cosine", "step"}, help = "..."},
--   })
--   local o = spec:check(opts)   -- a new table: the given values, then the defaults
--   spec:describe()              -- "  net (required)  the network to train\n  epochs = 1 ..."
--
-- A declaration may also be another spec's option (spec:option(name)), to share it.
-- An option's fields: its name, its type (a name below, or several joined by "|":
-- "string|boolean"), default, required, min and max (inclusive), choices (the
-- allowed values), check (a function(value) returning nil, or what was expected
-- when the value is refused), help, and default_help (the help's words for a
-- default that is computed, such as "the data set's").
local options = {}

---------------------------------------------------------------------------- errors

-- graft's Lua files: errors are raised at the first caller outside them.
local library = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$")

-- Raises message at the line of the first caller outside graft's Lua files (the
-- user's call), or without a position when there is none (a graft command).
function options.raise(message)
  local level = 2
  while true do
    local info = debug.getinfo(level, "S")
    if not info then error(message, 0) end
    local source = info.source
    local inside = info.what == "C" or (library and source:sub(1, #library + 1) == "@" .. library)
    if not inside then error(message, level) end -- not a tail call: that would drop a level
    level = level + 1
  end
end

-- An error message as a command shows it to its user: without the positions in
-- graft's own Lua files ("/usr/share/lua/5.4/graft/run/loop.lua:105: ") that an
-- error raised inside them carries.
function options.user_message(err)
  local text = tostring(err)
  if not library then return text end
  local escaped = library:gsub("%p", "%%%0")
  return (text:gsub("^" .. escaped .. "[^:\n]*:%d+: ", ""):gsub("\n" .. escaped .. "[^:\n]*:%d+: ", "\n"))
end

-- A frame of the traceback, as Lua's own traceback words it.
local function describe_frame(info)
  local what
  if info.what == "main" then
    what = "main chunk"
  elseif info.name then
    local kind = (info.namewhat == "" or info.namewhat == "global") and "function" or info.namewhat
    what = string.format("%s '%s'", kind, info.name)
  else
    what = string.format("function <%s:%d>", info.short_src, info.linedefined)
  end
  return string.format("%s:%d: in %s", info.short_src, info.currentline, what)
end

-- An error as the prompt, a script or a notebook cell shows it (called by the error
-- handler, on the failing stack): the message without positions in graft's Lua files,
-- then the frames of the user's own code only; graft's Lua files and C functions are
-- left out, and so is a traceback whose one frame is where the message already points.
function options.user_traceback(message)
  local text = options.user_message(message)
  local frames, first = {}, nil
  for level = 2, math.huge do
    local info = debug.getinfo(level, "Sln")
    if not info then break end
    local inside = library and info.source:sub(1, #library + 1) == "@" .. library
    if info.what ~= "C" and not inside then
      first = first or info
      frames[#frames + 1] = "\t" .. describe_frame(info)
    end
  end
  local where = first and string.format("%s:%d:", first.short_src, first.currentline)
  local pointed = where and text:sub(1, #where) == where
  if #frames == 0 or (#frames == 1 and pointed) then return text end
  return text .. "\nstack traceback:\n" .. table.concat(frames, "\n")
end

---------------------------------------------------------------------------- types

-- name -> {expected = "an integer", test = function(value) -> boolean}
local types = {}

-- Declares a type of option values; modules declare their own ("layer").
function options.define_type(name, expected, test)
  types[name] = { expected = expected, test = test }
end

options.define_type("integer", "an integer", function(v) return math.type(v) == "integer" end)
options.define_type("number", "a number", function(v) return type(v) == "number" and v == v end)
options.define_type("string", "a string", function(v) return type(v) == "string" end)
options.define_type("boolean", "a boolean", function(v) return type(v) == "boolean" end)
options.define_type("table", "a table", function(v) return type(v) == "table" end)
options.define_type("function", "a function", function(v) return type(v) == "function" end)
options.define_type("tensor", "a tensor",
  function(v) local mt = getmetatable(v) return type(mt) == "table" and mt.__name == "graft.Tensor" end)
options.define_type("network", "a network (graft.models.*, graft.nn.build, graft.load)",
  function(v) local mt = getmetatable(v) return type(mt) == "table" and mt.__name == "graft.Net" end)
options.define_type("dataset", "a data set (graft.data.*)",
  function(v) return type(v) == "table" and type(v.train) == "userdata" and type(v.test) == "userdata"
                     and type(v.shape) == "table" and math.type(v.classes) == "integer" end)

-- A value as an error message shows it: numbers, booleans and short strings as they
-- are, anything else by its type ("a graft.Tensor").
function options.show(v)
  if v == nil then return "nothing" end
  if type(v) == "string" then
    if #v > 40 then v = v:sub(1, 37) .. "..." end
    return string.format("%q", v)
  end
  if type(v) == "number" or type(v) == "boolean" then return tostring(v) end
  local mt = getmetatable(v)
  local name = type(mt) == "table" and type(mt.__name) == "string" and mt.__name or type(v)
  return "a " .. name
end

local function show_choice(v)
  if type(v) == "string" then return "'" .. v .. "'" end
  return tostring(v)
end

-- "'a', 'b' or 'c'"
local function either(values)
  local shown = {}
  for i, v in ipairs(values) do shown[i] = show_choice(v) end
  if #shown == 1 then return shown[1] end
  return table.concat(shown, ", ", 1, #shown - 1) .. " or " .. shown[#shown]
end

---------------------------------------------------------------------------- one option

local Option = {}
Option.__index = Option

local function new_option(owner, entry)
  local o = setmetatable({}, Option)
  if getmetatable(entry) == Option then -- the declaration of another spec, shared
    for k, v in pairs(entry) do o[k] = v end
    return o
  end
  for k, v in pairs(entry) do o[k] = v end
  o.name, o.type = entry[1], entry[2]
  o[1], o[2] = nil, nil
  if type(o.name) ~= "string" or type(o.type) ~= "string" then
    error(owner .. ": an option needs a name and a type", 3)
  end
  o.types = {}
  for name in o.type:gmatch("[^|]+") do
    if not types[name] then error(string.format("%s: option '%s': unknown type '%s'", owner, o.name, name), 3) end
    o.types[#o.types + 1] = name
  end
  return o
end

-- What the option takes, as an error message says it: "an integer >= 1",
-- "'cosine', 'step' or 'constant'", "a number in [0, 1]".
function Option:expected()
  if self.choices then return either(self.choices) end
  local names = {}
  for i, name in ipairs(self.types) do names[i] = types[name].expected end
  local text = table.concat(names, " or ")
  if self.min and self.max then
    text = string.format("%s in [%s, %s]", text, self.min, self.max)
  elseif self.min then
    text = string.format("%s >= %s", text, self.min)
  elseif self.max then
    text = string.format("%s <= %s", text, self.max)
  end
  return text
end

-- nil when value is acceptable, else what was expected.
function Option:refuse(value)
  local typed = false
  for _, name in ipairs(self.types) do typed = typed or types[name].test(value) end
  if not typed then return self:expected() end
  if self.choices then
    for _, choice in ipairs(self.choices) do
      if value == choice then return self.check and self.check(value) end
    end
    return self:expected()
  end
  if type(value) == "number" and ((self.min and value < self.min) or (self.max and value > self.max)) then
    return self:expected()
  end
  return self.check and self.check(value)
end

local function copy(v)
  if type(v) ~= "table" then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = copy(x) end
  return c
end

---------------------------------------------------------------------------- a spec

local Spec = {}
Spec.__index = Spec

-- A spec for the options of the function called `owner` ("graft.train"), from a
-- list of option declarations (see the top of this file).
function options.spec(owner, list)
  local spec = setmetatable({ owner = owner, list = {}, by_name = {} }, Spec)
  for _, entry in ipairs(list) do spec:add(entry) end
  return spec
end

-- Adds one option (a declaration as in options.spec); returns the spec.
function Spec:add(entry)
  local option = new_option(self.owner, entry)
  if self.by_name[option.name] then
    error(string.format("%s: option '%s' is declared twice", self.owner, option.name), 2)
  end
  self.list[#self.list + 1] = option
  self.by_name[option.name] = option
  return self
end

-- A new spec for `owner` (a command or script built on this spec's function) with
-- some of its options, in this spec's order: `wanted` lists their names, and
-- name = {field = value, ...} entries take an option with some fields changed
-- (default, default_help, help, ...); a change that gives default_help and no
-- default leaves the option without a default. Add more options with :add.
function Spec:pick(owner, wanted)
  local spec = setmetatable({ owner = owner, list = {}, by_name = {} }, Spec)
  local changes = {} -- name -> fields to change
  for key, value in pairs(wanted) do
    local name, change = key, value
    if math.type(key) == "integer" then name, change = value, {} end
    if not self.by_name[name] then error(string.format("%s: no option '%s'", self.owner, tostring(name)), 2) end
    if type(change) ~= "table" then error(string.format("%s: the change of '%s' must be a table", owner, name), 2) end
    changes[name] = change
  end
  for _, option in ipairs(self.list) do
    local change = changes[option.name]
    if change then
      local copy = setmetatable({}, Option)
      for k, v in pairs(option) do copy[k] = v end
      if change.default_help and change.default == nil then copy.default = nil end
      for k, v in pairs(change) do copy[k] = v end
      spec.list[#spec.list + 1] = copy
      spec.by_name[copy.name] = copy
    end
  end
  return spec
end

function Spec:option(name) return self.by_name[name] end

-- Raises "<owner>: <message>" at the user's call (options.raise).
function Spec:fail(fmt, ...)
  options.raise(self.owner .. ": " .. string.format(fmt, ...))
end

-- "option 'epochs': an integer >= 1 expected, got 0"
function Spec:refusal(name, expected, value)
  return string.format("option '%s': %s expected, got %s", name, expected, options.show(value))
end

-- Checks the option table `given` (nil is no options) and returns a new table with
-- every given value and the defaults of the others. Errors name the owner, the
-- option and what was expected, at the user's call. With `others` true, keys
-- the spec does not declare are copied unchecked (for a function that passes
-- them on to another that checks them).
function Spec:check(given, others)
  if given == nil then given = {} end
  if type(given) ~= "table" then
    self:fail("expected a table of options, got %s", options.show(given))
  end
  local o = {}
  for key, value in pairs(given) do
    if others and not (type(key) == "string" and self.by_name[key]) then o[key] = value end
  end
  for key in pairs(others and {} or given) do
    if type(key) ~= "string" or not self.by_name[key] then
      local names = {}
      for i, option in ipairs(self.list) do names[i] = option.name end
      self:fail("unknown option %s (options: %s)",
        type(key) == "string" and ("'" .. key .. "'") or options.show(key), table.concat(names, ", "))
    end
  end
  for _, option in ipairs(self.list) do
    local value = given[option.name]
    if value == nil then value = copy(option.default) end
    if value == nil then
      if option.required then
        self:fail("option '%s' is required: %s expected", option.name, option:expected())
      end
    else
      local expected = option:refuse(value)
      if expected then self:fail("%s", self:refusal(option.name, expected, value)) end
      o[option.name] = value
    end
  end
  return o
end

local function show_default(option)
  if option.default_help then return option.default_help end
  local v = option.default
  if type(v) == "table" then
    local items = {}
    for i, x in ipairs(v) do items[i] = show_choice(x) end
    return "{" .. table.concat(items, ", ") .. "}"
  end
  return show_choice(v)
end

-- Words of text in lines of at most `width` characters, each after `lead`.
local function wrap(text, lead, width)
  local lines, line = {}, nil
  for word in text:gmatch("%S+") do
    if line and #line + 1 + #word > width then
      lines[#lines + 1] = line
      line = nil
    end
    line = line and (line .. " " .. word) or (lead .. word)
  end
  lines[#lines + 1] = line or lead
  return table.concat(lines, "\n")
end

-- Types whose name a help text need not repeat.
local PLAIN_TYPES = { integer = true, number = true, string = true, boolean = true, table = true,
                      ["function"] = true }

-- The option's help and, when the help does not say it, what it takes (a range,
-- the choices or a type of graft's).
function Option:help_text()
  local text = self.help or ""
  local expected = self:expected()
  local plain = #self.types == 1 and PLAIN_TYPES[self.types[1]]
  local shown = self.choices or self.min or self.max or not plain
  if shown and not text:find(expected, 1, true) then
    text = text .. (text ~= "" and " " or "") .. "(" .. expected .. ")"
  end
  return text
end

-- The options as help texts list them, one or more lines each:
--   "  epochs = 1        passes over the training set (an integer >= 1)"
function Spec:describe(indent)
  indent = indent or "  "
  local heads, width = {}, 0
  for i, option in ipairs(self.list) do
    local head = option.name
    if option.default ~= nil or option.default_help then
      head = head .. " = " .. show_default(option)
    elseif option.required then
      head = head .. " (required)"
    end
    heads[i] = head
    width = math.max(width, #head)
  end
  width = math.min(width, 20)
  local column = #indent + width + 2
  local lines = {}
  for i, option in ipairs(self.list) do
    local text = wrap(option:help_text(), string.rep(" ", column), 88)
    local head = indent .. heads[i]
    if #head + 2 > column then
      lines[i] = head .. "\n" .. text
    else
      lines[i] = head .. text:sub(#head + 1)
    end
  end
  return table.concat(lines, "\n")
end

---------------------------------------------------------------------------- command lines

-- A value from the text of a command line argument, checked as the option says;
-- or nil and the message. `map` (text -> value), when given, names the texts taken.
local function convert(option, flag, text, map)
  if map then
    if map[text] == nil then
      local texts = {}
      for key in pairs(map) do texts[#texts + 1] = key end
      table.sort(texts)
      return nil, string.format("%s: %s expected, got '%s'", flag, either(texts), text)
    end
    return map[text]
  end
  local value = text
  if option.types[1] == "integer" or option.types[1] == "number" then
    value = tonumber(text)
    if value and option.types[1] == "integer" then value = math.tointeger(value) end
  end
  local expected = value == nil and option:expected() or option:refuse(value)
  if expected then return nil, string.format("%s: %s expected, got '%s'", flag, expected, text) end
  return value
end

-- Adds options of this spec to an argparse parser (or group of one). Each item of
-- `arguments` is an option's name (flag --name, "_" written "-") or a table
-- {name, flag = "--num", value = v, help = "..."}: with value, the flag takes no
-- argument and sets the option to v; {name, flag = "--cifar", map = {["10"] =
-- "cifar10", ...}} takes one of the map's texts and sets the option to its value;
-- {name, positional = true} is an optional argument without a flag; {name,
-- optional = "<file>"} is a flag whose argument may be left out (the option is then
-- true: --live or --live curves.png). A boolean option without value is a flag
-- that sets it to true, or to false when its default is true (--no-name).
-- Returns the parser and the list of the elements added (for parser:group).
function Spec:add_arguments(parser, arguments)
  local elements = {}
  for _, item in ipairs(arguments) do
    if type(item) == "string" then item = { item } end
    local option = self.by_name[item[1]]
    if not option then error(string.format("%s: no option '%s'", self.owner, tostring(item[1])), 2) end
    local value = item.value
    local dashed = option.name:gsub("_", "-")
    if value == nil and option.types[1] == "boolean" and #option.types == 1 then
      value = option.default ~= true
    end
    local flag = item.flag or ((value == false and "--no-" or "--") .. dashed)
    local help = item.help or option.help or ""
    if value == false and not item.help and option.default == true then help = "turn off: " .. help end
    local default = ""
    if option.default ~= nil or option.default_help then default = " (default " .. show_default(option) .. ")" end
    local element
    if item.optional then
      element = parser:option(flag, help):args("?"):target(option.name):argname("<" .. item.optional .. ">")
        :action(function(result, target, values)
          if values[1] == nil then result[target] = true else result[target] = values[1] end
        end)
    elseif item.positional then
      element = parser:argument(option.name, help .. default):args("?")
        :convert(function(text) return convert(option, option.name, text) end)
    elseif value ~= nil then
      element = parser:flag(flag, help):target(option.name)
        :action(function(result, target) result[target] = value end)
    else
      local texts = option.choices
      if item.map then
        texts = {}
        for key in pairs(item.map) do texts[#texts + 1] = key end
        table.sort(texts)
        default = ""
      end
      element = parser:option(flag, help .. default):target(option.name)
        :argname(texts and ("{" .. table.concat(texts, ",") .. "}") or ("<" .. option.types[1] .. ">"))
        :convert(function(text) return convert(option, flag, text, item.map) end)
      if option.required then element:count(1) end
    end
    elements[#elements + 1] = element
  end
  return parser, elements
end

-- A command line parser (argparse) for `name` with `description`; -h/--help is
-- handled by options.parse.
local parser_names = setmetatable({}, { __mode = "k" }) -- parser -> its command's name

function options.parser(name, description, epilog)
  local argparse = require "argparse"
  local parser = argparse(name, description, epilog):add_help(false):help_max_width(88)
  parser_names[parser] = name
  parser:flag("-h --help", "Show this help and exit.")
  return parser
end

-- Parses the list of strings `args` with a parser made by options.parser. Returns
-- the result table; or nil, the exit status and the text to print: the help (0, on
-- -h or --help, for stdout) or the usage and the error (2, for stderr).
function options.parse(parser, args)
  local joined = {}
  for i, a in ipairs(args) do
    if a == "--" then table.move(args, i, #args, #joined + 1, joined) break end
    if a == "-h" or a == "--help" then return nil, 0, parser:get_help() end
    -- a negative number after --name is its value (argparse would take "-1" for an
    -- option of its own): --epochs -1 is refused by --epochs' range
    local previous = joined[#joined]
    if a:match("^%-%.?%d") and previous and previous:match("^%-%-[^=]+$") then
      joined[#joined] = previous .. "=" .. a
    else
      joined[#joined + 1] = a
    end
  end
  local ok, result = parser:pparse(joined)
  if not ok then return nil, 2, parser:get_usage() .. "\n" .. (parser_names[parser] or "error") .. ": " .. result end
  result.help = nil
  return result
end

-- options.parse for a script's own command line: prints the help or the error and
-- exits when there is no result.
function options.parse_or_exit(parser, args)
  local result, status, text = options.parse(parser, args)
  if result then return result end
  local out = status == 0 and io.stdout or io.stderr
  out:write(text, "\n")
  out:flush()
  os.exit(status)
end

-- Edits (insertions, deletions, substitutions) that turn a into b.
local function distance(a, b)
  local previous = {}
  for j = 0, #b do previous[j] = j end
  for i = 1, #a do
    local row = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      row[j] = math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
    end
    previous = row
  end
  return previous[#b]
end

-- For a command that reads its own few flags: "\nDid you mean '--inplace'?" when a
-- flag of `known` is within two edits of `given`, fewer than half its characters
-- (-x is not taken for -e), as argparse says it; else "".
function options.did_you_mean(given, known)
  local best, best_distance = nil, 3
  for _, flag in ipairs(known) do
    local d = distance(given, flag)
    if d < best_distance and 2 * d < #given then best, best_distance = flag, d end
  end
  return best and string.format("\nDid you mean '%s'?", best) or ""
end

local doc = require "graft.doc"
doc(options, [[graft.options: options declared once (type, default, range, help)
options.spec(owner, {{name, type, default =, min =, max =, choices =, help =}, ...})
-> spec; spec:check(opts) -> opts with defaults (errors name owner, option and what
was expected); spec:describe() -> help lines; spec:add_arguments(parser, names)
adds them to an argparse parser (options.parser, options.parse).]])

return options
