-- Writes the fingerprints of helpers.zoo_cases (tests/fixtures/zoo_fingerprints.lua),
-- which models_spec.lua holds the model zoo to:
--   graft tests/train/make_zoo_fingerprints.lua tests/fixtures/zoo_fingerprints.lua
-- Rerun it only where a change of keys or initialisation is meant.
local here = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local helpers = require "helpers"

local function literal(v)
  if type(v) == "table" then
    local items = {}
    for _, x in ipairs(v) do items[#items + 1] = literal(x) end
    return "{ " .. table.concat(items, ", ") .. " }"
  end
  if math.type(v) == "float" then return string.format("%.17g", v) end
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

local out = assert(arg[1], "usage: graft make_zoo_fingerprints.lua OUT")
local lines = { "-- Written by tests/train/make_zoo_fingerprints.lua; see there.", "return {" }
for _, case in ipairs(helpers.zoo_cases) do
  local net = graft.models[case[1]](case[2])
  local f = helpers.zoo_fingerprint(net)
  net:close()
  lines[#lines + 1] = string.format("  { model = %q, architecture = %q, tensors = {", f.model, f.architecture)
  for _, t in ipairs(f.tensors) do lines[#lines + 1] = "    " .. literal(t) .. "," end
  lines[#lines + 1] = "  } },"
end
lines[#lines + 1] = "}"
local file = assert(io.open(out, "w"))
file:write(table.concat(lines, "\n"), "\n")
file:close()
