-- The Lua half of the Jupyter kernel (`graft kernel`; the protocol is C:
-- src/cli/kernel.c): what a cell does (as `graft notebook` runs one, through
-- graft.cell, its value printed as the prompt prints it), completion and help as
-- at the prompt (graft.repl, graft.doc), and what a program may show while the
-- kernel runs it: graft.jupyter.display and graft.jupyter.update_display.
local cell = require "graft.cell"
local doc = require "graft.doc"
local json = require "graft.json"
local repl = require "graft.repl"

local jupyter = {}

jupyter.kernelspec = {name = "graft", display_name = "Lua (graft)", language = "lua"}
jupyter.language_info = {name = "lua", version = _VERSION:match("[%d.]+"), file_extension = ".lua",
                         mimetype = "text/x-lua", codemirror_mode = "lua", pygments_lexer = "lua"}

-- Empty tables are JSON objects unless marked as arrays (src/cli/kernel_json.h).
local array_mt = {__jsontype = "array"}
local function array(t) return setmetatable(t or {}, array_mt) end

-- The C side, built into the graft program when it has the kernel.
local server_loaded, server = pcall(require, "graft.jupyter.server")
if not server_loaded then server = nil end

-- True while this process is a Jupyter kernel answering a request.
function jupyter.active()
  return server ~= nil and server.serving()
end

-- Sends an IOPub message (stream, display_data, ...) about the request being
-- answered.
function jupyter.publish(msg_type, content)
  if not jupyter.active() then
    error("graft.jupyter: no Jupyter kernel is running (graft kernel)", 2)
  end
  server.publish(msg_type, content)
end

local function transient(display_id)
  return display_id and {display_id = tostring(display_id)} or {}
end

-- Shows a MIME bundle ({["image/png"] = base64, ["text/plain"] = ...}) in the
-- cell's output. opts.display_id names the output, so that update_display can
-- replace it in place (a picture redrawn while training runs).
function jupyter.display(data, opts)
  opts = opts or {}
  jupyter.publish("display_data", {data = data, metadata = opts.metadata or {},
                                   transient = transient(opts.display_id)})
end

-- Replaces the output shown with display{..., display_id = display_id}.
function jupyter.update_display(display_id, data, opts)
  assert(display_id ~= nil, "graft.jupyter.update_display: display_id is missing")
  opts = opts or {}
  jupyter.publish("update_display_data", {data = data, metadata = opts.metadata or {},
                                          transient = transient(display_id)})
end

-- The MIME bundle of a picture file (PNG or SVG), for display and update_display.
function jupyter.picture(path, format)
  format = format or (path:match("%.(%w+)$") or ""):lower()
  return cell.picture_bundle(path, format)
end

---------------------------------------------------------------------------- requests

function jupyter.kernel_info()
  local version = (package.loaded["graft"] or {}).version or "?"
  return {
    status = "ok", protocol_version = "5.3", implementation = "graft",
    implementation_version = version, language_info = jupyter.language_info,
    banner = string.format("graft %s (%s) -- help() for help; ?name for the help of a name",
                           version, _VERSION),
    help_links = array(),
  }
end

-- Runs a cell compiled by the kernel (chunk, or nil and the compile error):
-- streams its output and pictures, shows its values, publishes an error.
-- Returns the content of the execute_reply (without execution_count).
function jupyter.execute(chunk, compile_error, count, silent)
  local sink = {
    write = function(name, text)
      if not silent then jupyter.publish("stream", {name = name, text = json.valid_utf8(text)}) end
    end,
    picture = function(bundle)
      if not silent then jupyter.display(bundle) end
    end,
  }
  local ok, values
  if chunk then
    ok, values = cell.run(chunk, sink)
  else
    ok, values = false, {message = compile_error, traceback = {compile_error}}
  end
  if not ok then
    local failure = {ename = "LuaError", evalue = json.valid_utf8(values.message),
                     traceback = array(values.traceback)}
    if not silent then jupyter.publish("error", failure) end
    failure.status = "error"
    return failure
  end
  if values.n > 0 and not silent then
    local text = repl.format_values(table.unpack(values, 1, values.n))
    jupyter.publish("execute_result", {execution_count = count, metadata = {},
                                       data = {["text/plain"] = json.valid_utf8(text)}})
  end
  return {status = "ok"}
end

-- Jupyter counts positions in code points; Lua strings index bytes.
local function bytes_before(code, cursor_pos)
  local offset = utf8.offset(code, cursor_pos + 1)
  return code:sub(1, (offset or #code + 1) - 1)
end

function jupyter.complete(code, cursor_pos)
  local before = bytes_before(code, cursor_pos)
  local matches, start = repl.complete(before)
  return {status = "ok", matches = array(matches), metadata = {},
          cursor_start = utf8.len(before, 1, start - 1) or 0,
          cursor_end = utf8.len(before) or cursor_pos}
end

-- The help text of the name the cursor is in or after ("graft.nn.conv2d", "net:forward").
function jupyter.inspect(code, cursor_pos)
  local before = bytes_before(code, cursor_pos)
  local rest = code:sub(#before + 1):match("^[%w_]*")
  local value = repl.value_before(before .. rest)
  if value == nil or (doc.lookup(value) == nil and type(value) ~= "table") then return {status = "ok", found = false, data = {}, metadata = {}} end
  return {status = "ok", found = true, data = {["text/plain"] = json.valid_utf8(doc.text(value))},
          metadata = {}}
end

doc(jupyter, [==[graft.jupyter: the Lua side of the Jupyter kernel (graft kernel)
jupyter.active() -> true while the kernel runs a request
jupyter.display(data [, {display_id =, metadata =}])  shows a MIME bundle
jupyter.update_display(display_id, data)  replaces what display showed under that id
jupyter.picture(path [, format]) -> the MIME bundle of a PNG or SVG file]==])
doc(jupyter.display, [==[graft.jupyter.display(data [, {display_id =, metadata =}])
Shows a MIME bundle ({["image/png"] = base64, ["text/plain"] = "..."}) in the output
of the running cell; with display_id, update_display can replace it later.]==])
doc(jupyter.update_display, [==[graft.jupyter.update_display(display_id, data [, {metadata =}])
Replaces the output shown by display{..., display_id = display_id} (update_display_data).]==])

return jupyter
