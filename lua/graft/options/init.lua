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
--
-- This file is the declarations and their checks and help; messages.lua says how
-- errors reach the user, command_line.lua turns a spec into command line flags.
local messages = require "graft.options.messages"
local command_line = require "graft.options.command_line"

local options = {
  raise = messages.raise, user_message = messages.user_message, user_traceback = messages.user_traceback,
  show = messages.show,
  parser = command_line.parser, parse = command_line.parse, parse_or_exit = command_line.parse_or_exit,
  did_you_mean = command_line.did_you_mean,
}
local show_choice, either = messages.show_choice, messages.either

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

-- The option's default as help texts show it (its default_help, when given).
function Option:default_text()
  if self.default_help then return self.default_help end
  local v = self.default
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
      head = head .. " = " .. option:default_text()
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

Spec.add_arguments = command_line.add_arguments

local doc = require "graft.doc"
doc(options, [[graft.options: options declared once (type, default, range, help)
options.spec(owner, {{name, type, default =, min =, max =, choices =, help =}, ...})
-> spec; spec:check(opts) -> opts with defaults (errors name owner, option and what
was expected); spec:describe() -> help lines; spec:add_arguments(parser, names)
adds them to an argparse parser (options.parser, options.parse).]])

return options
