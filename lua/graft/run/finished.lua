-- A finished run in `out`: summary.json, the networks and the tables, and no
-- checkpoints (graft.run removes them when the run completes). Running into such a
-- folder again would overwrite its results, so graft.run refuses unless asked to
-- resume, and then reads the run back instead of training it again.
local core = require "graft.core"
local json = require "graft.json"
local checkpoints = require "graft.run.checkpoints"

local finished = {}

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- The summary of the finished run in out, or nil when out holds none.
function finished.summary(out)
  local path = out .. "/summary.json"
  if not exists(path) then return nil end
  return json.read(path)
end

local function plain(record)
  setmetatable(record, nil)
  return record
end

local function read_records(path)
  local rows = {}
  local f = io.open(path, "rb")
  if not f then return rows end
  for line in f:lines() do
    if line ~= "" then rows[#rows + 1] = plain(json.decode(line)) end
  end
  f:close()
  return rows
end

-- graft.run's result for the finished run in o.out, whose summary is given: an error
-- when its options differ from o's (as a resume would refuse).
function finished.read_back(o, summary)
  checkpoints.check_same_options(plain(summary.options or {}), o, o.out)
  local result = { options = o, final = summary.final, ensemble = summary.ensemble,
                   seconds = summary.seconds, teacher = summary.teacher,
                   history = read_records(o.out .. "/history.jsonl"),
                   log = read_records(o.out .. "/grafting.jsonl"), histories = {}, nets = {} }
  for _, record in ipairs(result.history) do
    local k = record.network
    result.histories[k] = result.histories[k] or {}
    table.insert(result.histories[k], record)
  end
  for k = 1, #summary.final do
    result.nets[k] = core.load(string.format("%s/net%d.safetensors", o.out, k))
  end
  if not o.quiet then
    print(string.format("graft.run: %s holds this run finished (%d epochs); its results are "
      .. "read back, nothing is trained", o.out, o.epochs))
  end
  return result
end

return finished
