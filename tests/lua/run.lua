-- Runs Lua spec files: graft run.lua spec.lua... (also works under stock lua5.4
-- with LUA_PATH/LUA_CPATH set). A spec uses the globals
--   describe(name, fn)   a group        it(name, fn) / test(name, fn)   a test
--   expect               assertions (tests/lua/expect.lua)
-- Prints each failure with its traceback, then "N passed, N failed"; the exit
-- status is non-zero when a test failed or a spec could not be loaded.
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path

local expect = require "expect"

local passed, failed = 0, 0
local groups = {}

local function run_test(name, fn)
  local full = table.concat(groups, " > ") .. (#groups > 0 and " > " or "") .. name
  local ok, message = xpcall(fn, debug.traceback)
  if ok then
    passed = passed + 1
  else
    failed = failed + 1
    io.stderr:write("FAIL ", full, "\n  ", tostring(message):gsub("\n", "\n  "), "\n")
  end
end

function describe(name, fn)
  groups[#groups + 1] = name
  local ok, message = xpcall(fn, debug.traceback)
  if not ok then
    failed = failed + 1
    io.stderr:write("FAIL ", table.concat(groups, " > "), " (outside a test)\n  ", message, "\n")
  end
  groups[#groups] = nil
end

it = run_test
test = run_test
_G.expect = expect

if #arg == 0 then
  io.stderr:write("usage: graft run.lua spec.lua...\n")
  os.exit(2)
end
for _, path in ipairs(arg) do
  local chunk, message = loadfile(path)
  if chunk then
    local ok, err = xpcall(chunk, debug.traceback)
    if not ok then chunk, message = nil, err end
  end
  if not chunk then
    failed = failed + 1
    io.stderr:write("FAIL loading ", path, "\n  ", message, "\n")
  end
end
expect.cleanup()
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and passed > 0 and 0 or 1, true)
