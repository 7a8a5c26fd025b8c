-- A trainer's checkpoints: one folder per completed epoch (src/train/checkpoint_dir.h:
-- weights, optimizer state, data order, history), and resuming from the last one.
local core = require "graft.core"
local options = require "graft.train.options"
local records = require "graft.train.records"

-- methods of the Trainer (graft.train.trainer)
local Trainer = {}

function Trainer:save_checkpoint(dir)
  core.checkpoint_save(dir, self.net, self.sgd, self.loader, self.epoch, records.history_text(self.history))
end

function Trainer:load_checkpoint(dir)
  -- the history is checked before the network and optimizer change
  local history
  local ok, epoch = pcall(core.checkpoint_load, dir, self.net, self.sgd, self.loader,
    function(epochs, text, path) history = records.read_history(path, text, epochs) end)
  if not ok then
    local message = tostring(epoch):gsub("^graft%.core%.checkpoint_load: ", ""):gsub("^resuming: ", "")
    options:fail("cannot resume from %s: %s", dir, message)
  end
  if not epoch then
    if not self.options.quiet then
      print(string.format("%sno complete epoch in %s: starting from epoch 1", self:label(), dir))
    end
    return false
  end
  self.epoch, self.history = epoch, history
  self.iteration = epoch * self.loader:batches()
  -- the log holds exactly the completed epochs (a kill may have cut it short)
  if self.options.log then core.write_file(self.options.log, records.history_text(history)) end
  if not self.options.quiet then
    print(string.format("%sresumed from %s after epoch %d", self:label(), dir, epoch))
  end
  return true
end

return Trainer
