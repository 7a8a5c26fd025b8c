-- A finished run in `out`: summary.json, the networks and the tables, and no
-- checkpoints (graft.run removes them when the run completes). Running into such a
-- folder again would overwrite its results, so graft.run refuses unless asked to
-- resume, and then reads the run back instead of training it again.
local core = require "graft.core"
local json = require "graft.json"
local checkpoints = require "graft.run.checkpoints"
local records = require "graft.run.records"

local finished = {}

-- The summary of the finished run in out, or nil when out holds none.
function finished.summary(out)
  local path = out .. "/summary.json"
  if not core.is_file(path) then return nil end
  return json.read(path)
end

-- graft.run's result for the finished run in o.out, whose summary is given: an error
-- when its options differ from o's (as a resume would refuse).
function finished.read_back(o, summary)
  checkpoints.check_same_options(setmetatable(summary.options or {}, nil), o, o.out)
  local result = { options = o, final = summary.final, ensemble = summary.ensemble,
                   seconds = summary.seconds, teacher = summary.teacher,
                   history = records.read_rows(o.out .. "/history.jsonl"),
                   log = records.read_rows(o.out .. "/grafting.jsonl"), nets = {} }
  result.histories = records.by_network(result.history)
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
