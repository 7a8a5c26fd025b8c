-- Ctrl-C during training: the error it raises (graft.Stopped), how to tell it from
-- other errors, and the line that says where training stopped and how to resume.
local core = require "graft.core"

local stop = {}

-- The error raised when Ctrl-C stops training: one line (its tostring), no traceback
-- (an error object that is not a string is printed without one).
local Stopped = { __name = "graft.Stopped" }
Stopped.__index = Stopped
Stopped.__tostring = function(stopped) return stopped.message end
stop.Stopped = Stopped

-- Whether err is Ctrl-C's: the prompt's "interrupted!" (src/cli/interrupt.c), or a
-- wait of a child process cut short by it.
function stop.is_interrupt(err)
  return getmetatable(err) == Stopped or (type(err) == "string" and err:find("interrupted!?$") ~= nil)
end

-- "in epoch 3 of 10 (batch 120 of 469)": where training was when Ctrl-C came.
function stop.where(t)
  local run = t.running
  if not run then return string.format("after epoch %d of %d", t.epoch, t.options.epochs) end
  local name = t.options.name and (t.options.name .. ", ") or ""
  return string.format("in epoch %d of %d (%sbatch %d of %d)", run.epoch, t.options.epochs, name,
    run.batch, run.batches)
end

-- "graft.train: stopped by Ctrl-C after epoch 3 of 10; 3 complete epochs in graft.last; ..."
function stop.message(t)
  local done = t.epoch
  local kept = string.format("%d complete epoch%s in graft.last", done, done == 1 and "" or "s")
  local resume
  if t.checkpoint and core.checkpoint_last(t.checkpoint) then
    resume = string.format("continue with resume = '%s' (from epoch %d)", t.checkpoint, done + 1)
  else
    resume = "the network keeps its weights; give checkpoint = DIR to be able to resume"
  end
  return string.format("graft.train: stopped by Ctrl-C %s; %s; %s", stop.where(t), kept, resume)
end

return stop
