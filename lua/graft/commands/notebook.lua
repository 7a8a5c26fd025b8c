-- graft notebook IN.ipynb [-o OUT.ipynb | --inplace] [--continue] [--quick]
-- Runs the Lua code cells of a Jupyter notebook and writes their outputs into it.
local notebook = require "graft.notebook"
local options = require "graft.options"

local FLAGS = {"-o", "--output", "--inplace", "--continue", "--quick", "--help"}

local usage = [[
usage: graft notebook IN.ipynb [-o OUT.ipynb | --inplace] [--continue] [--quick]
Runs the Lua code cells of IN (nbformat 4) in order in one Lua state and writes
the notebook with their outputs (text, values, errors, pictures as PNG) to OUT;
without -o to IN.executed.ipynb beside IN (IN itself is left as it is).
  -o OUT       write the executed notebook here
  --inplace    write it back to IN
  --continue   go on after a cell fails (the run still exits with status 1)
  --quick      reduced settings: sets GRAFT_QUICK = true for the cells
                 (so does the environment variable GRAFT_QUICK=1)]]

return function(args)
  local input, output, opts = nil, nil, {progress = function(line) io.stderr:write(line, "\n") end}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "-o" or a == "--output" then
      output = args[i + 1]
      if not output then
        io.stderr:write("graft notebook: -o needs a file name\n", usage, "\n")
        return 2
      end
      i = i + 1
    elseif a == "--inplace" then
      opts.inplace = true
    elseif a == "--continue" then
      opts.continue = true
    elseif a == "--quick" then
      opts.quick = true
    elseif a == "-h" or a == "--help" then
      print(usage)
      return 0
    elseif a:sub(1, 1) == "-" or input then
      local hint = a:sub(1, 1) == "-" and options.did_you_mean(a, FLAGS) or ""
      io.stderr:write("graft notebook: unexpected argument '", a, "'", hint, "\n", usage, "\n")
      return 2
    else
      input = a
    end
    i = i + 1
  end
  if not input then
    io.stderr:write(usage, "\n")
    return 2
  end
  if opts.inplace and output then
    io.stderr:write("graft notebook: -o and --inplace name two outputs; give one\n", usage, "\n")
    return 2
  end
  if opts.inplace then
    output = input
  elseif not output then -- never over the input unless asked
    output = (input:match("^(.*)%.ipynb$") or input) .. ".executed.ipynb"
  end
  local loaded, ok, failures = pcall(notebook.run_file, input, output, opts)
  if not loaded then
    io.stderr:write("graft notebook: ", tostring(ok), "\n")
    return 1
  end
  io.stderr:write(string.format("graft notebook: wrote %s%s\n", output,
                                ok and "" or string.format(" (%d cell(s) failed)", #failures)))
  return ok and 0 or 1
end
