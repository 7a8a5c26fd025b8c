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
--   finished.lua     a finished run in out: refused, or read back on resume
--   ensemble.lua     the ensemble's test accuracy
--   ranks.lua        the ring spread over the processes of an MPI run
--   help.lua         the help text
local core = require "graft.core"
local doc = require "graft.doc"
local data_sets = require "graft.data"
local options = require "graft.run.options"
local run_ring = require "graft.run.loop"
local finished = require "graft.run.finished"
local train = require "graft.train"
local progress = require "graft.progress"

local graft_options = require "graft.options"

local function fail(fmt, ...) graft_options.raise(string.format("graft.run: " .. fmt, ...)) end

-- One line: where Ctrl-C stopped the run, what is kept, how to resume.
local function stopped_message(o, trainers)
  -- under MPI a process holds a block of the ring: its trainers are not numbered from 1
  local running, last, count, done = nil, nil, 0, math.huge
  for k, t in pairs(trainers) do
    if t.running then running = t end
    if not last or k > last then last = k end
    count, done = count + 1, math.min(done, t.epoch)
  end
  local resume
  if o.out and done > 0 then
    resume = string.format("continue with resume = true and out = '%s' (graft train ... --out %s --resume), "
      .. "from epoch %d", o.out, o.out, done + 1)
  else
    resume = o.out and "no epoch was complete: nothing to resume"
      or "give out = DIR to be able to resume (a checkpoint after every epoch)"
  end
  return string.format("graft.run: stopped by Ctrl-C %s; %d complete epoch%s of %d network%s in graft.last; %s",
    train.where(running or trainers[last]), done, done == 1 and "" or "s", count,
    count == 1 and "" or "s", resume)
end

local function run(opts)
  local o = options.read(opts)
  local root = o.out and (o.out .. "/checkpoints")
  local last = root and core.checkpoint_last(root)
  if last and not o.resume then
    fail("%s already holds the checkpoints of a run (%s); pass resume = true (graft train "
      .. "--resume) to continue it, or choose another out", o.out, last)
  end
  local done = o.out and not last and finished.summary(o.out)
  if done and not o.resume then
    fail("%s already holds a finished run (summary.json); pass resume = true (graft train "
      .. "--resume) to read its results back, or choose another out", o.out)
  end
  if done then
    local result = finished.read_back(o, done)
    train.keep_last(result)
    return result
  end
  local data = o.dataset or data_sets.load(o.data, { dir = o.data_dir, subset = o.subset,
                                                     test_subset = o.test_subset })
  local nets, trainers = {}, {}
  local ok, result = pcall(run_ring, o, data, root, last, nets, trainers)
  progress.finish()
  if not ok then
    -- a failed run releases its loader threads and buffers now, not at some later
    -- garbage collection; the checkpoints of its complete epochs stay for resume
    local stopped = train.is_interrupt(result) and next(trainers) ~= nil and stopped_message(o, trainers)
    local partial = { options = o, histories = {}, nets = nets, stopped = true }
    for k, t in pairs(trainers) do partial.histories[k] = t.history end
    train.keep_last(partial)
    for _, t in pairs(trainers) do t:close() end
    if stopped then error(setmetatable({ message = stopped, result = partial }, train.Stopped), 0) end
    error(result, 0)
  end
  train.keep_last(result)
  return result
end

return doc(run, require "graft.run.help" .. "\nOptions:\n" .. options.spec:describe())
