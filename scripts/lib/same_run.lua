-- graft scripts/lib/same_run.lua REFERENCE OTHER: whether the run in OTHER (a
-- `graft train --out` directory) ended with the same results as REFERENCE.
-- Byte for byte: the networks (net<k>.safetensors, every k of the reference) and
-- the grafting log (grafting.csv, grafting.jsonl). The histories (history.csv, history.jsonl) hold
-- wall-clock fields (seconds, images_per_s), which are left out; summary.json is
-- compared by its results (final, ensemble), since its options name the directory
-- and whether the run was resumed. Prints one line per file; exits with 1 when
-- anything differs.
local json = require "graft.json"

local reference, other = arg[1], arg[2]
if not reference or not other then
  io.stderr:write("usage: graft scripts/lib/same_run.lua REFERENCE OTHER\n")
  os.exit(2)
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local bytes = f:read("a")
  f:close()
  return bytes
end

local TIMES = { seconds = true, images_per_s = true }

local function history_jsonl(text)
  local records = {}
  for line in text:gmatch("[^\n]+") do
    local record = json.decode(line)
    for field in pairs(TIMES) do record[field] = nil end
    records[#records + 1] = json.encode(record)
  end
  return table.concat(records, "\n")
end

local function history_csv(text)
  local rows, keep = {}, nil
  for line in text:gmatch("[^\n]+") do
    local fields = {}
    for field in (line .. ","):gmatch("([^,]*),") do fields[#fields + 1] = field end
    if not keep then
      keep = {}
      for i, name in ipairs(fields) do keep[i] = not TIMES[name] end
    end
    local kept = {}
    for i, field in ipairs(fields) do if keep[i] then kept[#kept + 1] = field end end
    rows[#rows + 1] = table.concat(kept, ",")
  end
  return table.concat(rows, "\n")
end

local function summary_results(text)
  local summary = json.decode(text)
  return json.encode(json.object { final = summary.final, ensemble = summary.ensemble })
end

local same = function(text) return text end
local FILES = {}
for k = 1, math.huge do
  local name = string.format("net%d.safetensors", k)
  if k > 2 and not read(reference .. "/" .. name) then break end
  FILES[#FILES + 1] = { name, same }
end
for _, file in ipairs {
  { "grafting.csv", same }, { "grafting.jsonl", same },
  { "history.csv", history_csv }, { "history.jsonl", history_jsonl },
  { "summary.json", summary_results },
} do FILES[#FILES + 1] = file end

local differ = 0
for _, file in ipairs(FILES) do
  local name, view = file[1], file[2]
  local a, b = read(reference .. "/" .. name), read(other .. "/" .. name)
  local verdict
  if not a then
    verdict = "missing in the reference"
  elseif not b then
    verdict = "missing"
  elseif view(a) == view(b) then
    verdict = view == same and "identical bytes" or "identical results"
  else
    verdict = "DIFFERENT"
  end
  if verdict ~= "identical bytes" and verdict ~= "identical results" then differ = differ + 1 end
  print(string.format("  %-18s %s", name, verdict))
end

os.exit(differ == 0 and 0 or 1)
