-- graft.run{...}: one grafting experiment. K networks of one model train in
-- lock-step on one data set, each with its own initialisation, data order and
-- (with diff_lr) initial learning rate; after every epoch one grafting round
-- (lua/graft/grafting.lua) runs over them. Returns every network's history, the
-- grafting log, the final accuracies and the ensemble's, and writes them into `out`,
-- with a checkpoint of the whole run after every epoch so that `resume = true`
-- continues a killed run to the same bytes.
--   options.lua      the options (declared with graft.options)
--   loop.lua         the K networks' epochs and grafting rounds
--   records.lua      history and grafting-log tables, the summary, round lines
--   checkpoints.lua  one folder per epoch of the whole run, and resume
--   ensemble.lua     the ensemble's test accuracy
--   ranks.lua        the ring spread over the processes of an MPI run
--   help.lua         the help text
local core = require "graft.core"
local doc = require "graft.doc"
local data_sets = require "graft.data"
local options = require "graft.run.options"
local run_ring = require "graft.run.loop"

local graft_options = require "graft.options"

local function fail(fmt, ...) graft_options.raise(string.format("graft.run: " .. fmt, ...)) end

local function run(opts)
  local o = options.read(opts)
  local root = o.out and (o.out .. "/checkpoints")
  local last = root and core.checkpoint_last(root)
  if last and not o.resume then
    fail("%s already holds the checkpoints of a run (%s); pass resume = true (graft train "
      .. "--resume) to continue it, or choose another out", o.out, last)
  end
  local data = o.dataset or data_sets.load(o.data, { dir = o.data_dir, subset = o.subset,
                                                     test_subset = o.test_subset })
  local nets, trainers = {}, {}
  local ok, result = pcall(run_ring, o, data, root, last, nets, trainers)
  if not ok then
    -- a failed run releases its loader threads and buffers now, not at some later
    -- garbage collection; the checkpoints of its complete epochs stay for resume
    for _, t in pairs(trainers) do t:close() end
    error(result, 0)
  end
  return result
end

return doc(run, require "graft.run.help" .. "\nOptions:\n" .. options.spec:describe())
