-- graft.options.command_line: a spec's options as the flags of a command line
-- (Debian's lua-argparse): the parser of a command or script, its help and its
-- errors. graft.options exposes these as spec:add_arguments, options.parser,
-- options.parse, options.parse_or_exit and options.did_you_mean.
local messages = require "graft.options.messages"

local command_line = {}

-- A value from the text of a command line argument, checked as the option says;
-- or nil and the message. `map` (text -> value), when given, names the texts taken.
local function convert(option, flag, text, map)
  if map then
    if map[text] == nil then
      local texts = {}
      for key in pairs(map) do texts[#texts + 1] = key end
      table.sort(texts)
      return nil, string.format("%s: %s expected, got '%s'", flag, messages.either(texts), text)
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

-- Adds options of `spec` to an argparse parser (or group of one). Each item of
-- `arguments` is an option's name (flag --name, "_" written "-") or a table
-- {name, flag = "--num", value = v, help = "..."}: with value, the flag takes no
-- argument and sets the option to v; {name, flag = "--cifar", map = {["10"] =
-- "cifar10", ...}} takes one of the map's texts and sets the option to its value;
-- {name, positional = true} is an optional argument without a flag; {name,
-- optional = "<file>"} is a flag whose argument may be left out (the option is then
-- true: --live or --live curves.png). A boolean option without value is a flag
-- that sets it to true, or to false when its default is true (--no-name).
-- Returns the parser and the list of the elements added (for parser:group).
function command_line.add_arguments(spec, parser, arguments)
  local elements = {}
  for _, item in ipairs(arguments) do
    if type(item) == "string" then item = { item } end
    local option = spec:option(item[1])
    if not option then error(string.format("%s: no option '%s'", spec.owner, tostring(item[1])), 2) end
    local value = item.value
    local dashed = option.name:gsub("_", "-")
    if value == nil and option.types[1] == "boolean" and #option.types == 1 then
      value = option.default ~= true
    end
    local flag = item.flag or ((value == false and "--no-" or "--") .. dashed)
    local help = item.help or option.help or ""
    if value == false and not item.help and option.default == true then help = "turn off: " .. help end
    local default = ""
    if option.default ~= nil or option.default_help then default = " (default " .. option:default_text() .. ")" end
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

local parser_names = setmetatable({}, { __mode = "k" }) -- parser -> its command's name

-- A command line parser (argparse) for `name` with `description`; -h/--help is
-- handled by command_line.parse.
function command_line.parser(name, description, epilog)
  local argparse = require "argparse"
  local parser = argparse(name, description, epilog):add_help(false):help_max_width(88)
  parser_names[parser] = name
  parser:flag("-h --help", "Show this help and exit.")
  return parser
end

-- Parses the list of strings `args` with a parser made by command_line.parser.
-- Returns the result table; or nil, the exit status and the text to print: the
-- help (0, on -h or --help, for stdout) or the usage and the error (2, for stderr).
function command_line.parse(parser, args)
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

-- command_line.parse for a script's own command line: prints the help or the error
-- and exits when there is no result.
function command_line.parse_or_exit(parser, args)
  local result, status, text = command_line.parse(parser, args)
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
function command_line.did_you_mean(given, known)
  local best, best_distance = nil, 3
  for _, flag in ipairs(known) do
    local d = distance(given, flag)
    if d < best_distance and 2 * d < #given then best, best_distance = flag, d end
  end
  return best and string.format("\nDid you mean '%s'?", best) or ""
end

return command_line
