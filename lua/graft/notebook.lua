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
local cell = require "graft.cell"
local repl = require "graft.repl"

local notebook = {}

local jupyter = require "graft.jupyter"

-- The kernel the notebooks name (graft kernel) and their language.
local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end
local language_info, kernelspec = copy(jupyter.language_info), copy(jupyter.kernelspec)

---------------------------------------------------------------------------- text helpers

notebook.base64 = cell.base64

-- "a\nb\n" -> {"a\n", "b\n"}, as Jupyter stores multi-line text.
local function lines_of(text)
  local lines = json.array()
  for line in text:gmatch("[^\n]*\n?") do
    if line ~= "" then lines[#lines + 1] = line end
  end
  return lines
end

local function source_of(code_cell)
  if type(code_cell.source) == "table" then return table.concat(code_cell.source) end
  return code_cell.source or ""
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

-- A picture's MIME bundle (graft.cell) as a display_data output, text as lines.
local function picture_output(bundle)
  local data = json.object()
  for mime, value in pairs(bundle) do
    data[mime] = mime == "image/png" and value or lines_of(value)
  end
  return json.object{output_type = "display_data", data = data, metadata = json.object()}
end

local function run_cell(code_cell, env, count)
  local collector = new_collector()
  local chunk_name = "cell " .. count
  local source = source_of(code_cell)
  -- an expression shows its value, as at the prompt
  local chunk = load("return " .. source, "=" .. chunk_name, "t", env)
  local compile_error
  if not chunk then chunk, compile_error = load(source, "=" .. chunk_name, "t", env) end
  local ok, values
  if chunk then
    local sink = {write = collector.write,
                  picture = function(bundle) collector.add(picture_output(bundle)) end}
    ok, values = cell.run(chunk, sink, env)
  else
    ok, values = false, {message = compile_error, traceback = {compile_error}}
  end
  collector.flush()
  if ok and values.n > 0 then
    local text = repl.format_values(table.unpack(values, 1, values.n))
    collector.add(json.object{output_type = "execute_result", execution_count = count,
                              data = json.object{["text/plain"] = lines_of(text)},
                              metadata = json.object()})
  end
  if not ok then
    collector.add(json.object{output_type = "error", ename = "LuaError",
                              evalue = values.message, traceback = json.array(values.traceback)})
  end
  code_cell.outputs = collector.outputs
  code_cell.execution_count = count
  return ok, not ok and values.message or nil
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
