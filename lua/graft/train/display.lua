-- What a trainer shows while it trains: the progress line of the running epoch, the
-- line of each finished epoch, and the live picture (graft.live).
local options = require "graft.options"
local progress = require "graft.progress"
local stop = require "graft.train.stopped"

-- methods of the Trainer (graft.train.trainer)
local Trainer = {}

-- One line, redrawn in place and fitted to the terminal's width: epoch, batch,
-- loss, accuracy, images/s, the time left of the epoch and of the whole run.
function Trainer:draw_progress(run, now)
  local elapsed = now - run.start
  local clock, epochs = self.clock, self.options.epochs
  local fraction = run.batch / run.batches
  local left = (run.batches - run.batch) * (elapsed / run.batch)
  local done = (run.epoch - clock.first_epoch) * clock.count + self.place + fraction
  local total = (epochs - clock.first_epoch + 1) * clock.count
  local run_left = (now - clock.start) * (total - done) / done
  local fields = {
    { self:label() .. string.format("epoch %d/%d", run.epoch, epochs) },
    { bar = fraction, drop = 3 },
    { string.format("%d/%d", run.batch, run.batches), drop = 4 },
    { string.format("loss %.4f", run.loss_sum / run.images), drop = 5 },
    { string.format("acc %.2f%%", 100 * run.hits / run.images), drop = 6 },
    { string.format("%.0f img/s", run.images / math.max(elapsed, 1e-9)), drop = 7 },
    { string.format("%s left", progress.time(left)), drop = 2 },
  }
  if total - done > 1 - fraction + 1e-9 then
    fields[#fields + 1] = { string.format("(run %s)", progress.time(run_left)), drop = 1 }
  end
  progress.line(progress.fit(fields, progress.columns()))
end

-- "epoch 3/10: loss 0.3121, train 88.70%, test 89.12%, lr 0.0655, 2512 img/s, 23.9 s"
function Trainer:describe(record)
  local parts = { string.format("%sepoch %d/%d: loss %.4f, train %.2f%%", self:label(),
    record.epoch, self.options.epochs, record.loss, record.train_top1) }
  if record.test_top1 then parts[#parts + 1] = string.format("test %.2f%%", record.test_top1) end
  if record.test_top5 then parts[#parts + 1] = string.format("top-5 %.2f%%", record.test_top5) end
  parts[#parts + 1] = string.format("lr %.4g, %.0f img/s, %.1f s", record.lr, record.images_per_s,
    record.seconds)
  return table.concat(parts, ", ")
end

-- Draws the live picture; a picture that cannot be drawn (no gnuplot) is said once
-- and training goes on without it.
function Trainer:draw_live()
  local board = self.board
  local ok, err = pcall(board.update, board)
  if not ok then
    if stop.is_interrupt(err) then error(err, 0) end
    for _, t in ipairs(board.trainers) do t.board = nil end
    progress.say(string.format("%s: live picture stopped: %s", board.owner, options.user_message(err)))
  end
end

return Trainer
