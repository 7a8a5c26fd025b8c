-- Shared by the plot and notebook tests: assertions and scratch folders.
-- Programs are called by absolute path: one test runs with a PATH that finds none.
local core = require "graft.core"

local helpers = {}

function helpers.check(condition, message, ...)
  if not condition then error(string.format(message, ...), 2) end
end

-- Runs fn, which must fail; returns the error message.
function helpers.fails(fn, ...)
  local ok, message = pcall(fn, ...)
  if ok then error("expected an error, got none", 2) end
  return tostring(message)
end

function helpers.contains(text, fragment, what)
  if not tostring(text):find(fragment, 1, true) then
    error(string.format("%s lacks %q:\n%s", what or "text", fragment, tostring(text):sub(1, 2000)), 2)
  end
end

function helpers.read(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("a")
  f:close()
  return data
end

function helpers.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- A fresh folder, removed by helpers.cleanup().
local folders = {}
function helpers.folder()
  local base = os.tmpname()
  os.remove(base)
  core.make_dirs(base)
  folders[#folders + 1] = base
  return base
end

function helpers.cleanup()
  for _, dir in ipairs(folders) do core.remove_tree(dir) end
end

-- Names in a folder (sorted).
function helpers.listing(dir)
  local p = io.popen("/bin/ls -A '" .. dir .. "'")
  local names = {}
  for name in p:read("a"):gmatch("[^\n]+") do names[#names + 1] = name end
  p:close()
  table.sort(names)
  return names
end

-- Width and height from a PNG's IHDR chunk; errors unless the file is a PNG.
function helpers.png_size(path)
  local data = helpers.read(path)
  helpers.check(data:sub(1, 8) == "\137PNG\r\n\26\n", "%s is not a PNG (signature)", path)
  helpers.check(data:sub(13, 16) == "IHDR", "%s has no IHDR chunk first", path)
  local width, height = string.unpack(">I4>I4", data, 17)
  return width, height, #data
end

function helpers.base64_decode(text)
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  local value = {}
  for i = 1, 64 do value[alphabet:sub(i, i)] = i - 1 end
  local out, bits, count = {}, 0, 0
  for c in text:gmatch("[^=%s]") do
    helpers.check(value[c], "not base64: %q", c)
    bits, count = (bits << 6) | value[c], count + 6
    if count >= 8 then
      count = count - 8
      out[#out + 1] = string.char((bits >> count) & 255)
    end
  end
  return table.concat(out)
end

-- Runs a shell command; returns its exit status and what it wrote (both streams).
function helpers.run(command)
  local p = io.popen(command .. " 2>&1")
  local output = p:read("a")
  local _, _, status = p:close()
  return status, output
end

function helpers.shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

return helpers
