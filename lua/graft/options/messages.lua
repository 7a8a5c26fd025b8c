-- graft.options.messages: how graft's errors reach their reader: raised at the
-- user's call, shown without the positions and frames of graft's own Lua files,
-- and values and choices written as an error message writes them.
local messages = {}

-- graft's Lua files (the folder above this one): errors are raised at the first
-- caller outside them.
local library = debug.getinfo(1, "S").source:match("^@(.*/)options/[^/]*$")

-- Raises message at the line of the first caller outside graft's Lua files (the
-- user's call), or without a position when there is none (a graft command).
function messages.raise(message)
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
function messages.user_message(err)
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
function messages.user_traceback(message)
  local text = messages.user_message(message)
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

-- A value as an error message shows it: numbers, booleans and short strings as they
-- are, anything else by its type ("a graft.Tensor").
function messages.show(v)
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

-- An allowed value as help and errors list it: 'text' or 12.
function messages.show_choice(v)
  if type(v) == "string" then return "'" .. v .. "'" end
  return tostring(v)
end

-- "'a', 'b' or 'c'"
function messages.either(values)
  local shown = {}
  for i, v in ipairs(values) do shown[i] = messages.show_choice(v) end
  if #shown == 1 then return shown[1] end
  return table.concat(shown, ", ", 1, #shown - 1) .. " or " .. shown[#shown]
end

return messages
