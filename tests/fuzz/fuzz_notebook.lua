-- The notebook harness's check; tests/fuzz/fuzz_notebook.c calls the returned
-- function with each input. The input is read as graft notebook reads a file
-- (json.decode), a notebook is run, written as graft writes it (json.encode), and
-- what was written must be UTF-8 (Jupyter refuses anything else) and read back. A
-- refusal must be a Lua error with a message; anything else raises here, and the
-- harness aborts.
local json = require "graft.json"
local notebook = require "graft.notebook"

local real_load = load
local verbose = os.getenv("GRAFT_FUZZ_VERBOSE") ~= nil

-- The fuzzer writes the cells' code, and running it would test Lua, not graft:
-- cells are compiled by Lua's parser, and a compiled cell is replaced by one that
-- prints its source and returns it, or raises it as an error when it calls error.
local function stand_in_load(source, name, mode, env)
  local chunk, message = real_load(source, name, mode, env)
  if not chunk then return nil, message end
  return function()
    print(source)
    if source:find("^error") or source:find("^return error") then error(source) end
    return source
  end
end

-- Calls fn(...); a failure must be a string message. Returns ok, result.
local function refused_cleanly(what, fn, ...)
  local ok, result = pcall(fn, ...)
  if not ok and type(result) ~= "string" then
    error(what .. " failed with a " .. type(result) .. " instead of a message")
  end
  if not ok and verbose then io.stderr:write("refused: ", what, ": ", result, "\n") end
  return ok, result
end

return function(text)
  local decoded, nb = refused_cleanly("json.decode", json.decode, text)
  if not decoded then return end
  load = stand_in_load
  local ran = table.pack(pcall(notebook.run, nb, {continue = true,
                                                   env = setmetatable({}, {__index = _G})}))
  load = real_load
  if not ran[1] and type(ran[2]) ~= "string" then
    error("notebook.run failed with a " .. type(ran[2]) .. " instead of a message")
  end
  if verbose then
    io.stderr:write(ran[1] and string.format("ran: ok %s, %d failed cells\n", ran[2], #ran[3])
                    or "refused: notebook.run: " .. ran[2] .. "\n")
  end
  local encoded, written = refused_cleanly("json.encode", json.encode, nb, {indent = 1})
  if not encoded then return end
  if not utf8.len(written) then error("the written notebook is not UTF-8:\n" .. written) end
  local read_back, message = pcall(json.decode, written)
  if not read_back then
    error("the written notebook does not read back: " .. tostring(message) .. "\n" .. written)
  end
end
