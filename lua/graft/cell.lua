-- Running one cell of code, as `graft notebook` and the Jupyter kernel (`graft
-- kernel`) both do: what the cell prints goes to a sink as it is written, each
-- picture graft.plot makes is handed to the sink as a MIME bundle, the cell's
-- values come back, and an error comes back with the traceback of the cell's own
-- frames. A sink is {write = function(name, text), picture = function(bundle)},
-- name "stdout" or "stderr".
local gnuplot = require "graft.gnuplot"
local json = require "graft.json"
local options = require "graft.options"

local cell = {}

local base64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function cell.base64(data)
  local out = {}
  for i = 1, #data, 3 do
    local a, b, c = data:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = {}
    for k = 1, 4 do
      local index = (n >> (6 * (4 - k))) & 63
      chars[k] = base64_alphabet:sub(index + 1, index + 1)
    end
    if not b then chars[3] = "=" end
    if not c then chars[4] = "=" end
    out[#out + 1] = table.concat(chars)
  end
  return table.concat(out)
end

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then error(err, 0) end
  local data = f:read("a")
  f:close()
  return data
end

-- The MIME bundle of a picture file: image/png (base64) or image/svg+xml, and a
-- text/plain line that names the file unless it was a scratch file (gone after
-- the cell).
function cell.picture_bundle(path, format, scratch)
  local bundle = {["text/plain"] = scratch and string.format("<picture (%s)>", format)
                                            or string.format("<picture %s>", path)}
  if format == "png" then
    bundle["image/png"] = cell.base64(read_file(path))
  elseif format == "svg" then
    bundle["image/svg+xml"] = json.valid_utf8(read_file(path))
  end
  return bundle
end

-- A file stand-in whose write goes to the sink; everything else to the real file.
local function capturing_file(real, write)
  local proxy = {}
  proxy.write = function(self, ...)
    for _, v in ipairs(table.pack(...)) do write(tostring(v)) end
    return self
  end
  return setmetatable(proxy, {__index = function(_, key)
    local value = real[key]
    if type(value) ~= "function" then return value end
    return function(self, ...) return value(self == proxy and real or self, ...) end
  end})
end

-- Redirects print, io.write and the standard files into the sink while fn runs
-- (and print in env, when the cell runs in its own environment), and sends the
-- pictures graft.plot makes; puts everything back afterwards, whatever happens.
-- Returns what pcall(fn) returns.
function cell.capture(sink, env, fn)
  local saved = {print = print, write = io.write, stdout = io.stdout, stderr = io.stderr,
                 default_output = gnuplot.default_output, env_print = env and rawget(env, "print")}
  local function out(text) sink.write("stdout", text) end
  local function err(text) sink.write("stderr", text) end
  local scratch = os.tmpname()
  local count = 0
  local made = {} -- pictures drawn to scratch files, removed afterwards
  local function print_capture(...)
    local parts = table.pack(...)
    for i = 1, parts.n do parts[i] = tostring(parts[i]) end
    out(table.concat(parts, "\t", 1, parts.n) .. "\n")
  end
  local function hook(path, format) sink.picture(cell.picture_bundle(path, format, made[path])) end
  if env then env.print = print_capture end
  print = print_capture
  io.write = function(...)
    for _, v in ipairs(table.pack(...)) do out(tostring(v)) end
    return io.stdout
  end
  io.stdout = capturing_file(saved.stdout, out)
  io.stderr = capturing_file(saved.stderr, err)
  gnuplot.default_output = function()
    count = count + 1
    local path = scratch .. "-" .. count .. ".png"
    made[path] = true
    return path
  end
  table.insert(gnuplot.hooks, hook)
  local results = table.pack(pcall(fn))
  for i = #gnuplot.hooks, 1, -1 do
    if gnuplot.hooks[i] == hook then table.remove(gnuplot.hooks, i) end
  end
  print, io.write, io.stdout, io.stderr = saved.print, saved.write, saved.stdout, saved.stderr
  if env then env.print = saved.env_print end
  gnuplot.default_output = saved.default_output
  for path in pairs(made) do os.remove(path) end
  os.remove(scratch)
  return table.unpack(results, 1, results.n)
end

-- The traceback of the cell's own frames (graft's and the runner's are noise), as
-- the prompt shows it (graft.options.user_traceback).
local function cell_traceback(message)
  -- an error object with its own text (training stopped by an interrupt) is one line
  local mt = getmetatable(message)
  if type(message) == "table" and type(mt) == "table" and mt.__tostring then return {tostring(message)} end
  local lines = {}
  for line in options.user_traceback(tostring(message)):gmatch("[^\n]+") do
    lines[#lines + 1] = json.valid_utf8(line)
  end
  return lines
end

-- Runs the compiled chunk of a cell with its output captured into sink. Returns
-- true, the values (table.pack) or false, {message =, traceback = {lines}}.
function cell.run(chunk, sink, env)
  local failure
  local ran, values = cell.capture(sink, env, function()
    local results = table.pack(xpcall(chunk, function(message)
      local text = type(message) == "string" and options.user_message(message) or message
      return {message = text, traceback = cell_traceback(message)}
    end))
    if not results[1] then
      failure = results[2]
      return table.pack()
    end
    return table.pack(table.unpack(results, 2, results.n))
  end)
  if not ran then -- a fault of the capture itself, reported like a cell error
    failure = {message = values, traceback = {tostring(values)}}
  end
  if failure then
    if type(failure.message) ~= "string" then failure.message = tostring(failure.message) end
    return false, failure
  end
  return true, values
end

return cell
