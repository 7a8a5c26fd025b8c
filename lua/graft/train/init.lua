-- graft.train and graft.trainer: SGD training of one network on a graft.data set.
--
--   local history = graft.train{net = net, data = data, epochs = 10}
--
-- graft.train is a loop over a trainer object, which the grafting code drives
-- directly to keep K networks in lock-step:
--
--   local t = graft.trainer{net = net, data = data, epochs = 10, stream = k}
--   local record = t:train_epoch()   -- one pass over the training set
--   ...                              -- graft between networks here
--   t:end_epoch(record, t:evaluate())  -- test pass, history, log, checkpoint
--
-- The C core does the per-batch work (graft.core.train_step: forward, loss,
-- backward, SGD) while a background thread prepares the next batch.
--
--   options.lua      the options (declared with graft.options)
--   trainer.lua      the trainer object: its state and where its methods live
--   loop.lua         batches, epochs, the test pass, the end of an epoch
--   display.lua      the progress line, each epoch's line, the live picture
--   records.lua      history records as JSON lines (log, checkpoints, resume)
--   checkpoints.lua  a checkpoint after every epoch, and resume
--   stopped.lua      Ctrl-C: the graft.Stopped error and where training stopped
--   last.lua         graft.last
--   help.lua         the help text
local core = require "graft.core"
local doc = require "graft.doc"
local progress = require "graft.progress"
local trainer = require "graft.train.trainer"
local stop = require "graft.train.stopped"
local keep_last = require "graft.train.last"

local train = {}

train.options = require "graft.train.options"
train.trainer = trainer.new
train.Trainer = trainer.Trainer
train.Stopped = stop.Stopped
train.is_interrupt = stop.is_interrupt
train.where = stop.where
train.keep_last = keep_last

function train.train(opts)
  local t = train.trainer(opts)
  local ok, err = pcall(function()
    while t.epoch < t.options.epochs do t:run_epoch() end
  end)
  if t.progress then progress.finish() end
  keep_last(t.history)
  if not ok then
    local where = train.is_interrupt(err) and stop.message(t)
    t:close()
    if where then error(setmetatable({ message = where, history = t.history }, stop.Stopped), 0) end
    error(err, 0)
  end
  t:close()
  return t.history
end

-- graft.train{...} calls train.train; graft.trainer is the object underneath
setmetatable(train, { __call = function(_, opts) return train.train(opts) end })

doc(train, require "graft.train.help" .. train.options:describe())
doc(train.train, doc.lookup(train))

train.diff_lr = doc(core.diff_lr, [[graft.train.diff_lr(lr, i, K) -> number
The reference's "different LR": network i of K (1-based) starts at
lr * (1 + cos(pi * (K - i) / K)) / 2.]])

return train
