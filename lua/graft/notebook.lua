-- Runs the Lua code cells of a Jupyter notebook (nbformat 4) in one Lua state,
-- in order, and writes their outputs into the notebook, so Jupyter, VS Code and
-- GitHub show it with its text and pictures:
--   printed text (print, io.write, io.stdout:write / io.stderr:write) -> stream output
--   the value of a cell that is an expression                        -> execute_result
--   an error                                                         -> error output
--   each picture graft.plot makes                                    -> display_data (PNG)
-- Cells share one environment (globals of one cell are seen by the next); the
-- run stops at the first error unless opts.continue is set.
local json = require "graft.json"
local gnuplot = require "graft.gnuplot"

local notebook = {}

local language_info = {name = "lua", version = _VERSION:match("[%d.]+"), file_extension = ".lua",
                       mimetype = "text/x-lua", codemirror_mode = "lua"}
local kernelspec = {name = "graft", display_name = "Lua (graft)", language = "lua"}

---------------------------------------------------------------------------- text helpers

local base64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function notebook.base64(data)
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

-- "a\nb\n" -> {"a\n", "b\n"}, as Jupyter stores multi-line text.
local function lines_of(text)
  local lines = json.array()
  for line in text:gmatch("[^\n]*\n?") do
    if line ~= "" then lines[#lines + 1] = line end
  end
  return lines
end

local function source_of(cell)
  if type(cell.source) == "table" then return table.concat(cell.source) end
  return cell.source or ""
end

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then error(err, 0) end
  local data = f:read("a")
  f:close()
  return data
end

---------------------------------------------------------------------------- one cell

-- Collects a cell's outputs in order; text is merged until a picture comes.
local function new_collector()
  local c = {outputs = json.array(), pending_name = nil, pending = {}}
  function c.flush()
    if c.pending_name and #c.pending > 0 then
      local text = table.concat(c.pending)
      c.outputs[#c.outputs + 1] = json.object{output_type = "stream", name = c.pending_name,
                                              text = lines_of(text)}
    end
    c.pending_name, c.pending = nil, {}
  end
  function c.write(name, text)
    if c.pending_name ~= name then c.flush() end
    c.pending_name = name
    c.pending[#c.pending + 1] = text
  end
  function c.add(output)
    c.flush()
    c.outputs[#c.outputs + 1] = output
  end
  return c
end

local function picture_output(path, format)
  local data = json.object{["text/plain"] = lines_of("<picture " .. path .. ">")}
  if format == "png" then
    data["image/png"] = notebook.base64(read_file(path))
  elseif format == "svg" then
    data["image/svg+xml"] = lines_of(read_file(path))
  end
  return json.object{output_type = "display_data", data = data, metadata = json.object()}
end

-- A file stand-in whose write goes to the collector; everything else to the real file.
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

-- Values as the prompt shows them (short tables, quoted strings).
local function format_values(values)
  local repl = require "graft.repl"
  local parts = {}
  for i = 1, values.n do parts[i] = repl.format(values[i]) end
  return table.concat(parts, "\t")
end

-- Redirects print, io.write and the standard files into the collector while
-- fn runs; puts everything back afterwards, whatever happens.
local function with_capture(collector, env, fn)
  local saved = {print = print, write = io.write, stdout = io.stdout, stderr = io.stderr,
                 default_output = gnuplot.default_output}
  local function out(text) collector.write("stdout", text) end
  local function err(text) collector.write("stderr", text) end
  local scratch = os.tmpname()
  local count = 0
  local made = {} -- pictures drawn to scratch files, removed afterwards
  local function print_capture(...)
    local parts = table.pack(...)
    for i = 1, parts.n do parts[i] = tostring(parts[i]) end
    out(table.concat(parts, "\t", 1, parts.n) .. "\n")
  end
  local function hook(path, format) collector.add(picture_output(path, format)) end
  env.print = print_capture
  print = print_capture
  io.write = function(...)
    for _, v in ipairs(table.pack(...)) do out(tostring(v)) end
    return io.stdout
  end
  io.stdout = capturing_file(saved.stdout, out)
  io.stderr = capturing_file(saved.stderr, err)
  gnuplot.default_output = function()
    count = count + 1
    made[#made + 1] = scratch .. "-" .. count .. ".png"
    return made[#made]
  end
  table.insert(gnuplot.hooks, hook)
  local results = table.pack(pcall(fn))
  for i = #gnuplot.hooks, 1, -1 do
    if gnuplot.hooks[i] == hook then table.remove(gnuplot.hooks, i) end
  end
  print, io.write, io.stdout, io.stderr = saved.print, saved.write, saved.stdout, saved.stderr
  env.print = saved.print
  gnuplot.default_output = saved.default_output
  for _, path in ipairs(made) do os.remove(path) end
  os.remove(scratch)
  collector.flush()
  return table.unpack(results, 1, results.n)
end

-- The traceback up to the cell's own frames (the runner's frames are noise).
local function cell_traceback(message, chunk_name)
  local lines = json.array()
  local traceback = debug.traceback(tostring(message), 3)
  local last_cell_line = 1
  local all = {}
  for line in traceback:gmatch("[^\n]+") do
    all[#all + 1] = line
    if line:find(chunk_name, 1, true) then last_cell_line = #all end
  end
  for i = 1, last_cell_line do lines[#lines + 1] = all[i] end
  return lines
end

local function run_cell(cell, env, count)
  local collector = new_collector()
  local chunk_name = "cell " .. count
  local source = source_of(cell)
  local failure
  local ran, values = with_capture(collector, env, function()
    -- an expression shows its value, as at the prompt
    local chunk = load("return " .. source, "=" .. chunk_name, "t", env)
    local compile_error
    if not chunk then chunk, compile_error = load(source, "=" .. chunk_name, "t", env) end
    if not chunk then
      failure = {message = compile_error, traceback = json.array{compile_error}}
      return table.pack()
    end
    local results = table.pack(xpcall(chunk, function(message)
      return {message = message, traceback = cell_traceback(message, chunk_name)}
    end))
    if not results[1] then
      failure = results[2]
      return table.pack()
    end
    return table.pack(table.unpack(results, 2, results.n))
  end)
  if not ran then -- a fault of the capture itself, reported like a cell error
    failure = {message = values, traceback = json.array{tostring(values)}}
  elseif values.n > 0 then
    collector.add(json.object{output_type = "execute_result", execution_count = count,
                              data = json.object{["text/plain"] = lines_of(format_values(values))},
                              metadata = json.object()})
  end
  if failure then
    local message = type(failure.message) == "string" and failure.message or tostring(failure.message)
    collector.add(json.object{output_type = "error", ename = "LuaError",
                              evalue = message, traceback = failure.traceback})
  end
  cell.outputs = collector.outputs
  cell.execution_count = count
  return failure == nil, failure and failure.message
end

---------------------------------------------------------------------------- notebooks

local function new_cell_id(index)
  return string.format("cell-%d", index)
end

-- Runs every code cell of nb (a decoded notebook) in order. opts: continue
-- (go on after an error), quick (sets the global GRAFT_QUICK in the cells),
-- env (the environment; default: a fresh one over _G), progress (a function
-- called with a line per cell). Returns ok, a list of {cell =, message =}.
function notebook.run(nb, opts)
  opts = opts or {}
  if type(nb) ~= "table" or nb.nbformat ~= 4 or type(nb.cells) ~= "table" then
    error("notebook: not an nbformat 4 notebook (nbformat = " .. tostring(nb and nb.nbformat) .. ")", 2)
  end
  nb.metadata = nb.metadata or json.object()
  nb.metadata.kernelspec = json.object(kernelspec)
  nb.metadata.language_info = json.object(language_info)
  local env = opts.env or setmetatable({}, {__index = _G})
  env.GRAFT_QUICK = opts.quick or os.getenv("GRAFT_QUICK") == "1" or nil
  local count, failures, stopped = 0, {}, false
  local total = 0
  for _, cell in ipairs(nb.cells) do if cell.cell_type == "code" then total = total + 1 end end
  for index, cell in ipairs(nb.cells) do
    if (nb.nbformat_minor or 0) >= 5 and not cell.id then cell.id = new_cell_id(index) end
    if cell.cell_type == "code" then
      if stopped then
        cell.outputs, cell.execution_count = json.array(), json.null
      else
        count = count + 1
        local started = os.clock()
        local ok, message = run_cell(cell, env, count)
        if opts.progress then
          opts.progress(string.format("cell %d/%d %s (%.1f s cpu)%s", count, total,
                                      ok and "ok" or "failed", os.clock() - started,
                                      ok and "" or ": " .. tostring(message)))
        end
        if not ok then
          failures[#failures + 1] = {cell = count, message = message}
          stopped = not opts.continue
        end
      end
    end
  end
  return #failures == 0, failures
end

-- Reads in_path, runs it and writes the result to out_path (default: in_path)
-- atomically. Returns ok, failures as notebook.run.
function notebook.run_file(in_path, out_path, opts)
  local nb = json.read(in_path)
  local ok, failures = notebook.run(nb, opts)
  json.write(out_path or in_path, nb, {indent = true})
  return ok, failures
end

-- A new notebook table from a list of cells: strings are code cells, and
-- {markdown = "text"} are markdown cells.
function notebook.new(cells)
  local nb = json.object{nbformat = 4, nbformat_minor = 5, cells = json.array(),
                         metadata = json.object{kernelspec = json.object(kernelspec),
                                                language_info = json.object(language_info)}}
  for index, c in ipairs(cells) do
    local cell
    if type(c) == "table" then
      cell = json.object{cell_type = "markdown", source = lines_of(c.markdown),
                         metadata = json.object()}
    else
      cell = json.object{cell_type = "code", source = lines_of(c), metadata = json.object(),
                         outputs = json.array(), execution_count = json.null}
    end
    cell.id = new_cell_id(index)
    nb.cells[#nb.cells + 1] = cell
  end
  return nb
end

local doc = require "graft.doc"
doc(notebook, [==[graft.notebook: run the Lua cells of Jupyter notebooks (graft notebook IN [-o OUT])
notebook.run(nb, {continue =, quick =, env =, progress =}) -> ok, failures
notebook.run_file(in_path [, out_path [, opts]]) -> ok, failures
notebook.new{"code", {markdown = "text"}, ...} -> a new nbformat 4.5 notebook]==])
doc(notebook.run_file, [==[graft.notebook.run_file(in_path [, out_path [, opts]]) -> ok, failures
Runs the code cells in order in one environment and writes text, values, errors
and pictures (PNG) into the notebook, atomically; stops at the first error
unless opts.continue.]==])

return notebook
