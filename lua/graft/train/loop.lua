-- The trainer's epoch loop: batches (graft.core.train_step does each one's work
-- while a background thread prepares the next), the epoch's record, the test pass,
-- and the end of an epoch (history, log, checkpoint, on_epoch, printed line).
local core = require "graft.core"
local progress = require "graft.progress"
local records = require "graft.train.records"

-- methods of the Trainer (graft.train.trainer)
local Trainer = {}

-- One batch of the current epoch (the first call starts it): n, loss, top1 of the
-- batch, or nil and the epoch's record when the epoch has no batch left (the next
-- call starts the next epoch). The epoch's sums live in self.running meanwhile.
function Trainer:train_batch()
  local run = self.running
  if not run then
    self.loader:start_epoch()
    local now = core.monotonic_seconds()
    run = { epoch = self.epoch + 1, batches = self.loader:batches(), loss_sum = 0.0, hits = 0,
            images = 0, batch = 0, last_lr = self:lr(), start = now, next_draw = now }
    self.running = run
    if not self.clock.start then self.clock.start, self.clock.first_epoch = now, run.epoch end
  end
  local lr = self.schedule:lr(self.iteration)
  local n, loss, top1, _, finite, statistic, value
  if self.options.train_step then
    n, loss, top1, _, finite, statistic, value = self.options.train_step(self, lr)
  else
    n, loss, top1, _, finite, statistic, value = core.train_step(self.net, self.sgd, self.loader, lr)
  end
  if not n then
    self.running = nil
    if self.progress then progress.clear_line() end
    local seconds = core.monotonic_seconds() - run.start
    return nil, { epoch = run.epoch, loss = run.loss_sum / run.images,
                  train_top1 = 100 * run.hits / run.images, lr = run.last_lr,
                  images_per_s = run.images / seconds, seconds = seconds }
  end
  run.last_lr = lr
  run.batch = run.batch + 1
  if not finite then
    if self.progress then progress.finish() end
    local last = self.checkpoint and core.checkpoint_last(self.checkpoint)
    local what = statistic and string.format("loss is %s but the BatchNorm running statistic "
      .. "%s is %s", tostring(loss), statistic, tostring(value)) or ("loss is " .. tostring(loss))
    error(string.format("graft.train: %s%s at epoch %d, batch %d of %d (learning rate %g); "
      .. "training stopped, the weights and BatchNorm statistics are those before this batch%s",
      self:label(), what, run.epoch, run.batch, run.batches, lr,
      last and ("; the last good checkpoint is " .. last) or ""), 0)
  end
  self.iteration = self.iteration + 1
  run.loss_sum, run.hits, run.images = run.loss_sum + loss * n, run.hits + top1, run.images + n
  if self.options.on_batch then self.options.on_batch(run.epoch, run.batch, loss) end
  if self.progress then
    local now = core.monotonic_seconds()
    if now >= run.next_draw or run.batch == run.batches then
      self:draw_progress(run, now)
      run.next_draw = now + 0.25
    end
  end
  if self.board and self.live_every and run.batch % self.live_every == 0 then self:draw_live() end
  return n, loss, top1
end

function Trainer:train_epoch()
  while true do
    local n, record = self:train_batch()
    if not n then return record end
  end
end

function Trainer:evaluate()
  local n, loss, top1, top5 = core.evaluate(self.net, self.test_loader)
  local result = { test_loss = loss, test_top1 = 100 * top1 / n }
  if self.data.classes >= 100 then result.test_top5 = 100 * top5 / n end
  return result
end

function Trainer:end_epoch(record, test)
  for k, v in pairs(test or {}) do record[k] = v end
  self.epoch = record.epoch
  self.history[#self.history + 1] = record
  local o = self.options
  if o.on_epoch then o.on_epoch(record.epoch, record) end
  if self.checkpoint then self:save_checkpoint(self.checkpoint) end
  if o.log then
    local f, err = io.open(o.log, "ab")
    if not f then error("graft.train: cannot append to the log " .. o.log .. ": " .. err, 2) end
    f:write(records.encode_record(record), "\n")
    f:close()
  end
  if not o.quiet then progress.say(self:describe(record)) end
  -- a board shared by several trainers is drawn once all of them ended the epoch
  if self.board and self.board.trainers[#self.board.trainers] == self then self:draw_live() end
  return record
end

function Trainer:run_epoch()
  local record = self:train_epoch()
  return self:end_epoch(record, self:evaluate())
end

return Trainer
