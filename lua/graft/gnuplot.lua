-- The gnuplot session behind graft.plot: one long-lived gnuplot process, fed
-- through a pipe. After each picture a sync marker is printed and read back, so
-- gnuplot's errors arrive as Lua errors (with gnuplot's message), not silence.
--
-- A figure is data plus commands:
--   {blocks = {{{x, y}, ...}, ...},          -- data blocks, written to one file
--    commands = {"set xlabel 'x'", "plot $DATA index 0 with lines", ...}}
-- where $DATA stands for the quoted data file name. render() picks the terminal
-- from the output: a .png/.svg/.pdf file, a window when there is a display, or
-- text (gnuplot's dumb terminal, sized to the terminal) printed to stdout.
local core = require "graft.core"

local gnuplot = {}

-- Functions called as hook(path, format, figure) after a picture file was made
-- (the notebook runner collects the pictures of a cell this way).
gnuplot.hooks = {}
-- When set, a function returning a .png path for pictures made without `out`.
gnuplot.default_output = nil
gnuplot.program = os.getenv("GRAFT_GNUPLOT") or "gnuplot"
gnuplot.timeout_ms = 60000
gnuplot.package = "gnuplot-nox" -- the Debian package to name when gnuplot is missing

local session        -- the gnuplot process, started on first use
local sync_count = 0
local window_count = 0
local terminals      -- set of terminal names this gnuplot knows

---------------------------------------------------------------------------- strings

-- A gnuplot string expression that reads as `s`. Text goes in single quotes (no
-- backquote substitution or backslash escapes there); a quote is the variable
-- GRAFT_QUOTE (defined in every script and session) and a line break "\n".
-- Writing quotes literally ('' or "'") confuses gnuplot's scan for macros and
-- backquotes, which then expands @name inside the text.
gnuplot.quote_definition = [[GRAFT_QUOTE = "'"]]

function gnuplot.quote(s)
  local parts = {}
  for piece, separator in (tostring(s):gsub("\r\n", "\n") .. "\n"):gmatch("([^'\n]*)(['\n])") do
    if piece ~= "" then parts[#parts + 1] = "'" .. piece .. "'" end
    parts[#parts + 1] = separator == "'" and "GRAFT_QUOTE" or [["\n"]]
  end
  parts[#parts] = nil -- the line break added above
  if #parts == 0 then return '""' end
  return table.concat(parts, ".")
end

local function number_text(v)
  if type(v) ~= "number" then
    error("plot: data value " .. tostring(v) .. " is not a number", 4)
  end
  if v ~= v or v == math.huge or v == -math.huge then return "NaN" end
  return string.format("%.9g", v)
end

-- Blocks separated by two blank lines, so gnuplot reads block i as `index i-1`.
function gnuplot.data_text(blocks)
  local out = {}
  for b, block in ipairs(blocks) do
    if b > 1 then out[#out + 1] = "\n\n" end
    for _, row in ipairs(block) do
      if row == "" then -- a blank line separates scans (heat maps)
        out[#out + 1] = "\n"
      else
        local fields = {}
        for i, v in ipairs(row) do fields[i] = number_text(v) end
        out[#out + 1] = table.concat(fields, " ") .. "\n"
      end
    end
  end
  return table.concat(out)
end

-- as_text: for the dumb terminal, whose dotted grid would hide the curves
local function script_text(figure, data_name, header, as_text)
  local lines = {"# made by graft.plot", "reset", gnuplot.quote_definition}
  for _, line in ipairs(header) do lines[#lines + 1] = line end
  lines[#lines + 1] = "set termoption noenhanced"
  local data = gnuplot.quote(data_name)
  for _, command in ipairs(figure.commands) do
    if not (as_text and command:find("^set grid")) then
      lines[#lines + 1] = (command:gsub("%$DATA", function() return data end))
    end
  end
  lines[#lines + 1] = "unset output"
  return table.concat(lines, "\n") .. "\n"
end

-- The gnuplot executable on PATH, or nil.
function gnuplot.find()
  if gnuplot.program:find("/") then return core.is_file(gnuplot.program) and gnuplot.program or nil end
  for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    local candidate = dir .. "/" .. gnuplot.program
    if core.is_file(candidate) then return candidate end
  end
  return nil
end

---------------------------------------------------------------------------- session

local function start()
  if not gnuplot.find() then
    error(string.format("plot: gnuplot is not installed (no %s on PATH); install the Debian "
                        .. "package %s (apt-get install %s)", gnuplot.program, gnuplot.package,
                        gnuplot.package), 0)
  end
  session = core.spawn{gnuplot.program}
  -- print answers on stdout, errors stay on stderr
  session:write("set print '-'\n" .. gnuplot.quote_definition .. "\n")
  sync_count = 0
end

-- Shuts the session down (a new one starts with the next picture).
function gnuplot.close()
  if session then
    local s = session
    session = nil
    terminals = nil
    return s:close()
  end
end

-- gnuplot's message without the echo of the command and the caret under it,
-- with script line numbers turned into the text of that line.
local function clean_message(text, script_lines)
  local kept = {}
  for line in text:gmatch("[^\n]+") do
    if not line:find("^%s*gnuplot>") and not line:find("^%s*%^%s*$") then
      line = line:gsub("^%s+", "")
      local number = tonumber(line:match('^"[^"]*" line (%d+):'))
      if number and script_lines and script_lines[number] then
        line = line:gsub('^"[^"]*" line %d+: ', "") .. "  [in: " .. script_lines[number] .. "]"
      end
      kept[#kept + 1] = line
    end
  end
  return table.concat(kept, "\n")
end

-- Sends commands, waits for the sync marker and returns what they printed.
-- Errors (anything gnuplot writes to stderr that is not a warning) are raised.
local function exchange(commands, script_lines)
  if not session then start() end
  sync_count = sync_count + 1
  local marker = "GRAFT-SYNC-" .. sync_count
  local written, write_error = pcall(session.write, session,
                                     commands .. "\nset print '-'\nprint '" .. marker .. "'\n")
  if not written then -- gnuplot has gone; the next picture starts a new one
    gnuplot.close()
    error("plot: " .. tostring(write_error), 0)
  end
  local printed, errors, state = session:read_until(marker, gnuplot.timeout_ms, "stdout")
  if state ~= "marker" then
    local how = session:state()
    gnuplot.close()
    if state == "interrupted" then error("plot: interrupted", 0) end
    error(string.format("plot: gnuplot gave no answer (%s; %s)%s", state, how,
                        errors ~= "" and ": " .. clean_message(errors, script_lines) or ""), 0)
  end
  local message = clean_message(errors, script_lines)
  local only_warnings = true
  for line in message:gmatch("[^\n]+") do
    if not line:lower():find("warning:") then only_warnings = false end
  end
  if message ~= "" then
    if only_warnings then
      io.stderr:write("gnuplot: ", message, "\n")
    else
      error("plot: gnuplot: " .. message, 0)
    end
  end
  return printed
end

-- The process id of the running session, or nil.
function gnuplot.pid()
  return session and session:pid()
end

-- Runs gnuplot commands in the session and returns their printed output.
function gnuplot.command(text)
  return exchange(text)
end

local function known_terminals()
  if not terminals then
    terminals = {}
    for name in exchange("print GPVAL_TERMINALS"):gmatch("%S+") do terminals[name] = true end
  end
  return terminals
end

---------------------------------------------------------------------------- outputs

local function terminal_size()
  local columns, lines = tonumber(os.getenv("COLUMNS")), tonumber(os.getenv("LINES"))
  if not (columns and lines) then
    local c, r = core.terminal_size()
    lines, columns = lines or r, columns or c
  end
  return columns or 80, lines or 24
end

local formats = {png = true, svg = true, pdf = true}

-- Where a picture goes: {format = "png"|"svg"|"pdf", path = ...} for files,
-- {format = "window"} or {format = "text"}.
local function choose_target(opts)
  local out = opts.out
  if not out and gnuplot.default_output then out = gnuplot.default_output() end
  if out then
    local extension = (out:match("%.(%w+)$") or ""):lower()
    if not formats[extension] then
      error(string.format("plot: out = %q: the file name must end in .png, .svg or .pdf", out), 0)
    end
    return {format = extension, path = out}
  end
  if os.getenv("DISPLAY") and not opts.text then return {format = "window"} end
  return {format = "text"}
end

local function terminal_lines(target, opts, output_name)
  local width, height = opts.width, opts.height -- graft.plot declares their defaults
  if formats[target.format] and not (math.type(width) == "integer" and math.type(height) == "integer") then
    error("plot: a picture file needs width and height in pixels", 0)
  end
  local set_output = "set output " .. gnuplot.quote(output_name or "")
  if target.format == "png" then
    return {string.format("set terminal pngcairo size %d,%d font 'sans,10'", width, height),
            set_output}
  elseif target.format == "svg" then
    return {string.format("set terminal svg size %d,%d dynamic font 'sans,10'", width, height),
            set_output}
  elseif target.format == "pdf" then
    return {string.format("set terminal pdfcairo size %.2fin,%.2fin font 'sans,9'",
                          width / 160, height / 160), set_output}
  elseif target.format == "window" then
    window_count = window_count + 1
    local name
    for _, candidate in ipairs{"qt", "wxt", "x11"} do
      if known_terminals()[candidate] then name = candidate break end
    end
    if not name then return nil end
    return {string.format("set terminal %s %d persist", name, window_count)}
  else
    local columns, rows = terminal_size()
    columns = opts.columns or math.max(40, columns - 1)
    rows = opts.rows or math.max(12, math.min(rows - 2, math.floor(columns / 2.5)))
    return {string.format("set terminal dumb size %d,%d", columns, rows), set_output}
  end
end

local function without_extension(path)
  return path:match("^(.*)%.[^./]*$") or path
end

local function basename(path)
  return path:match("([^/]*)$")
end

-- Without gnuplot: leave the data and the script next to the requested picture.
local function leave_for_elsewhere(figure, target, opts)
  local base = target.path and without_extension(target.path)
  if not base then
    base = os.tmpname()
    os.remove(base)
    base = base .. "-graft-plot"
  end
  local data_path, script_path = base .. ".dat", base .. ".gp"
  local picture = target.path and basename(target.path) or basename(base) .. ".png"
  local picture_target = {format = target.path and target.format or "png"}
  local header = terminal_lines(picture_target, opts, picture)
  core.write_file(data_path, gnuplot.data_text(figure.blocks))
  core.write_file(script_path, script_text(figure, basename(data_path), header))
  error(string.format("plot: gnuplot is not installed (no %s on PATH); install the Debian "
                      .. "package %s (apt-get install %s). The data and the script were "
                      .. "written to %s and %s: run `gnuplot %s` in %s to make %s",
                      gnuplot.program, gnuplot.package, gnuplot.package, data_path, script_path,
                      basename(script_path), data_path:match("^(.*)/") or ".", picture), 0)
end

-- Draws the figure. opts: out (file name), width, height (pixels, needed for a file), columns,
-- rows (text size), text (prefer text over a window), capture (return the text
-- instead of writing it), hooks = false (a file made is not handed to
-- gnuplot.hooks: a picture shown another way, as graft.live's). Returns the file
-- made when out was given, otherwise nothing (text is written to stdout).
function gnuplot.render(figure, opts)
  opts = opts or {}
  local target = choose_target(opts)
  if not gnuplot.find() then leave_for_elsewhere(figure, target, opts) end

  local scratch = os.tmpname() -- removed below whatever happens
  local data_path, script_path = scratch .. ".dat", scratch .. ".gp"
  local output
  if target.path then -- drawn under a temporary name beside the target, then renamed
    output = string.format("%s.tmp-%d%s", without_extension(target.path), sync_count + 1,
                           target.path:match("%.[^.]*$"))
  elseif target.format == "text" then
    output = scratch .. ".txt"
  end
  local header = terminal_lines(target, opts, output)
  if not header then -- a window was asked for, but this gnuplot has none (gnuplot-nox)
    target, output = {format = "text"}, scratch .. ".txt"
    header = terminal_lines(target, opts, output)
  end
  local script = script_text(figure, data_path, header, target.format == "text")
  local script_lines = {}
  for line in script:gmatch("([^\n]*)\n") do script_lines[#script_lines + 1] = line end

  local ok, err = pcall(function()
    core.write_file(data_path, gnuplot.data_text(figure.blocks))
    core.write_file(script_path, script)
    exchange("load " .. gnuplot.quote(script_path) .. "\nunset output", script_lines)
  end)
  local text
  if ok and target.format == "text" then
    local f = io.open(output, "rb")
    text = (f and f:read("a") or ""):gsub("\f", "") -- the dumb terminal starts a page with a form feed
    if f then f:close() end
  end
  if ok and target.path then
    local renamed, rerr = os.rename(output, target.path)
    if not renamed then ok, err = false, "plot: cannot write " .. target.path .. ": " .. rerr end
  end
  for _, path in ipairs{scratch, data_path, script_path, output or scratch} do os.remove(path) end
  if not ok then error(err, 0) end

  if target.path then
    if opts.hooks ~= false then
      for _, hook in ipairs(gnuplot.hooks) do hook(target.path, target.format, figure) end
    end
    if opts.out then return target.path end -- a file chosen by default_output is not the caller's
  elseif text then
    if opts.capture then return text end
    io.write(text)
  end
end

return gnuplot
