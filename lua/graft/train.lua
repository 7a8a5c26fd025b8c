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
local core = require "graft.core"
local doc = require "graft.doc"
local json = require "graft.json"
local options = require "graft.options"
local progress = require "graft.progress"
local live = require "graft.live"

local train = {}

local SCHEDULES = { "cosine", "step", "multistep", "constant" }

train.options = options.spec("graft.train", {
  { "net", "network", required = true, help = "the network to train" },
  { "data", "dataset", required = true, help = "the images to train and test on" },
  { "epochs", "integer", default = 1, min = 1, help = "passes over the training set" },
  { "batch", "integer", default = 128, min = 1, help = "images per training batch" },
  { "lr", "number", default = 0.1, min = 0, help = "initial learning rate" },
  { "momentum", "number", default = 0.9, min = 0, help = "SGD momentum" },
  { "weight_decay", "number", default = 5e-4, min = 0, help = "L2 weight decay" },
  { "dampening", "number", default = 0, min = 0, max = 1, help = "SGD dampening" },
  { "nesterov", "boolean", default = false, help = "Nesterov momentum" },
  { "schedule", "string", default = "cosine", choices = SCHEDULES,
    help = "learning rate: cosine per iteration, x gamma every `step` epochs, x gamma at each "
      .. "of `milestones`, or constant" },
  { "step", "integer", default = 60, min = 1, help = "epochs between decays of schedule 'step'" },
  { "gamma", "number", default = 0.1, min = 0, help = "factor of each decay" },
  { "milestones", "table", default = {}, help = "epochs of the decays of schedule 'multistep'",
    check = function(list)
      for i, epoch in ipairs(list) do
        if math.type(epoch) ~= "integer" or epoch < 1 or (i > 1 and epoch <= list[i - 1]) then
          return "a list of increasing epochs (integers >= 1)"
        end
      end
    end },
  { "warmup", "number", default = 0, min = 0, help = "epochs of linear warm-up" },
  { "seed", "integer", default = 0, help = "seed of data order and augmentation" },
  { "stream", "integer", default = 0, min = 0,
    help = "random stream of the data order (one per network of a ring)" },
  { "augment_stream", "integer", min = 0, default_help = "stream",
    help = "random stream of the crops and flips (one per network of a ring)" },
  { "pad", "integer", min = 0, default_help = "the data set's (4 for CIFAR, 2 for MNIST)",
    help = "padding of the random crops" },
  { "flip", "boolean", default = true, help = "random horizontal flips" },
  { "test_batch", "integer", default = 500, min = 1, help = "images per test batch" },
  { "log", "string", help = "file to append one JSON line per epoch to" },
  { "checkpoint", "string", help = "directory of a checkpoint after every epoch" },
  { "resume", "string", help = "directory to continue from its last complete epoch" },
  { "on_epoch", "function", help = "called as on_epoch(epoch, record)" },
  { "on_batch", "function", help = "called as on_batch(epoch, batch, loss)" },
  { "live", "boolean|string",
    help = "draw loss and accuracy while training: true (in a terminal, or in the Jupyter kernel) "
      .. "or a .png/.svg file rewritten whole (graft.live)" },
  { "live_every", "integer", min = 1, default_help = "after every epoch",
    help = "redraw the live picture every n batches too" },
  { "name", "string", help = "prefix of printed lines" },
  { "train_step", "function", help = "one training step, train_step(trainer, lr) -> n, loss, top1 hits, "
    .. "top5 hits, finite [, the non-finite BatchNorm statistic's name and value] (nil at the end "
    .. "of the epoch), as graft.core.train_step returns them; default graft.core.train_step on the "
    .. "trainer's loader (graft.run's distillation and mutual learning give their own)" },
  { "quiet", "boolean", default = false, help = "no printed lines" },
})

local Trainer = {}
Trainer.__index = Trainer

local function fail(fmt, ...) options.raise(string.format("graft.train: " .. fmt, ...)) end

-- The network must take the data set's images (training and test) and give one
-- score per class.
local function check_shapes(net, data)
  local input = net:input_shape()
  for _, part in ipairs { "train", "test" } do
    local shape = data[part]:shape()
    if input[1] ~= shape[1] or input[2] ~= shape[2] or input[3] ~= shape[3] then
      fail("the network takes %s images, the data set's %s images are %s (build the model "
        .. "with data = the data set, or in_channels/image_size)", table.concat(input, "x"),
        part == "train" and "training" or "test", table.concat(shape, "x"))
    end
  end
  local out = net:output_shape()
  if #out ~= 1 or out[1] ~= data.classes then
    fail("the network gives %s outputs, the data set has %d classes",
      table.concat(out, "x"), data.classes)
  end
end

train.trainer = doc(function(opts)
  local o = train.options:check(opts)
  o.pad = o.pad or o.data.pad or 0
  if o.augment_stream == nil then o.augment_stream = o.stream end
  check_shapes(o.net, o.data)
  local self = setmetatable({ net = o.net, data = o.data, options = o, epoch = 0,
                              iteration = 0, history = {} }, Trainer)
  self.loader = core.loader(o.data.train, { batch = o.batch, shuffle = true, pad = o.pad,
                                           flip = o.flip, seed = o.seed, stream = o.stream,
                                           augment_stream = o.augment_stream })
  self.test_loader = core.loader(o.data.test, { batch = o.test_batch })
  self.sgd = core.sgd { net = o.net, momentum = o.momentum, dampening = o.dampening,
                        weight_decay = o.weight_decay, nesterov = o.nesterov }
  local per_epoch = self.loader:batches()
  self.schedule = core.schedule {
    kind = o.schedule, lr = o.lr, iterations_per_epoch = per_epoch, epochs = o.epochs,
    step = o.step, gamma = o.gamma, milestones = o.milestones,
    warmup_iterations = math.floor(o.warmup * per_epoch + 0.5),
  }
  self.checkpoint = o.checkpoint or o.resume
  if o.resume then
    self:load_checkpoint(o.resume)
  elseif o.checkpoint and core.checkpoint_last(o.checkpoint) then
    fail("%s already holds checkpoints (%s); pass resume = '%s' to continue that run, or "
      .. "choose another directory", o.checkpoint, core.checkpoint_last(o.checkpoint), o.checkpoint)
  end
  self.progress = not o.quiet and core.stdout_is_terminal()
  -- the whole run's clock, shared by the trainers of graft.run: this trainer's place
  -- among the `count` that take turns in each epoch
  self.clock = { count = 1 }
  self.place = 0
  -- the live picture: this trainer's own, or one shared by graft.run's trainers
  self.live_every = o.live_every
  if o.live then
    self.board = live.board(o.live, "graft.train")
    if self.board then self.board:watch(self) end
  end
  return self
end, [[graft.trainer{net=, data=, epochs=, ...} -> trainer
The training loop as an object, for driving several networks in lock-step. Takes
the options of graft.train. Methods: t:train_epoch() -> record (one pass over the
training set), t:train_batch() -> n, loss, top1 (one batch of the current epoch; nil
and the epoch's record when it is over), t:evaluate() -> test metrics, t:end_epoch(record, test) (history, log,
checkpoint, on_epoch), t:run_epoch() (all three), t:save_checkpoint(dir),
t:load_checkpoint(dir), t:lr() (the rate of the next batch). Fields: net, data,
epoch (completed), history, options.]])

function Trainer:lr() return self.schedule:lr(self.iteration) end

function Trainer:label()
  return self.options.name and (self.options.name .. " ") or ""
end

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

train.Trainer = Trainer

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

local function encode_record(record)
  local fields = {}
  for k, v in pairs(record) do fields[k] = v end
  return json.encode(json.object(fields))
end

local function history_text(history)
  local lines = {}
  for i, record in ipairs(history) do lines[i] = encode_record(record) end
  return table.concat(lines, "\n") .. (#lines > 0 and "\n" or "")
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
    f:write(encode_record(record), "\n")
    f:close()
  end
  if not o.quiet then progress.say(self:describe(record)) end
  -- a board shared by several trainers is drawn once all of them ended the epoch
  if self.board and self.board.trainers[#self.board.trainers] == self then self:draw_live() end
  return record
end

-- Draws the live picture; a picture that cannot be drawn (no gnuplot) is said once
-- and training goes on without it.
function Trainer:draw_live()
  local board = self.board
  local ok, err = pcall(board.update, board)
  if not ok then
    if train.is_interrupt(err) then error(err, 0) end
    for _, t in ipairs(board.trainers) do t.board = nil end
    progress.say(string.format("%s: live picture stopped: %s", board.owner, options.user_message(err)))
  end
end

function Trainer:run_epoch()
  local record = self:train_epoch()
  return self:end_epoch(record, self:evaluate())
end

function Trainer:save_checkpoint(dir)
  core.checkpoint_save(dir, self.net, self.sgd, self.loader, self.epoch, history_text(self.history))
end

-- Fields of a history record that the trainer writes as numbers (grafting adds others).
local NUMBER_FIELDS = { "loss", "train_top1", "test_loss", "test_top1", "test_top5", "lr",
                        "images_per_s", "seconds" }

-- The records of a checkpoint's history.jsonl: one JSON object per line, record i of
-- epoch i, one per completed epoch. Errors name the file, the line and the field.
local function read_history(path, text, epochs)
  local history = {}
  local function bad(line, fmt, ...)
    error(string.format("%s line %d: " .. fmt, path, line, ...), 0)
  end
  for line in text:gmatch("[^\n]+") do
    local i = #history + 1
    local ok, record = pcall(json.decode, line)
    if not ok then bad(i, "%s", record) end
    if type(record) ~= "table" or json.is_array(record) then
      bad(i, "a record must be a JSON object, got %s", line:sub(1, 40))
    end
    setmetatable(record, nil)
    if record.epoch ~= i then bad(i, "epoch is %s, expected %d", tostring(record.epoch), i) end
    for _, field in ipairs(NUMBER_FIELDS) do
      if record[field] ~= nil and type(record[field]) ~= "number" then
        bad(i, "%s is %s, expected a number", field, tostring(record[field]))
      end
    end
    history[i] = record
  end
  if #history ~= epochs then
    error(string.format("%s holds %d history records for %d epochs", path, #history, epochs), 0)
  end
  return history
end

function Trainer:load_checkpoint(dir)
  -- the history is checked before the network and optimizer change
  local history
  local ok, epoch = pcall(core.checkpoint_load, dir, self.net, self.sgd, self.loader,
    function(epochs, text, path) history = read_history(path, text, epochs) end)
  if not ok then
    local message = tostring(epoch):gsub("^graft%.core%.checkpoint_load: ", ""):gsub("^resuming: ", "")
    fail("cannot resume from %s: %s", dir, message)
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
  if self.options.log then core.write_file(self.options.log, history_text(history)) end
  if not self.options.quiet then
    print(string.format("%sresumed from %s after epoch %d", self:label(), dir, epoch))
  end
  return true
end

-- Ends training: the loaders' threads and buffers, the optimiser's state, and the
-- network's activation memory (gigabytes for MobileNetV2 after a test pass at
-- batch 500, which Lua's collector cannot see) are released; the network stays usable.
function Trainer:close()
  self.net:release_activations()
  self.loader:close()
  self.test_loader:close()
  self.sgd:close()
end

-- The error raised when Ctrl-C stops training: one line (its tostring), no traceback
-- (an error object that is not a string is printed without one).
local Stopped = { __name = "graft.Stopped" }
Stopped.__index = Stopped
Stopped.__tostring = function(stopped) return stopped.message end
train.Stopped = Stopped

-- Whether err is Ctrl-C's: the prompt's "interrupted!" (src/cli/interrupt.c), or a
-- wait of a child process cut short by it.
function train.is_interrupt(err)
  return getmetatable(err) == Stopped or (type(err) == "string" and err:find("interrupted!?$") ~= nil)
end

-- "in epoch 3 of 10 (batch 120 of 469)": where training was when Ctrl-C came.
function train.where(t)
  local run = t.running
  if not run then return string.format("after epoch %d of %d", t.epoch, t.options.epochs) end
  local name = t.options.name and (t.options.name .. ", ") or ""
  return string.format("in epoch %d of %d (%sbatch %d of %d)", run.epoch, t.options.epochs, name,
    run.batch, run.batches)
end

local function stopped_message(t)
  local o, done = t.options, t.epoch
  local kept = string.format("%d complete epoch%s in graft.last", done, done == 1 and "" or "s")
  local resume
  if t.checkpoint and core.checkpoint_last(t.checkpoint) then
    resume = string.format("continue with resume = '%s' (from epoch %d)", t.checkpoint, done + 1)
  else
    resume = "the network keeps its weights; give checkpoint = DIR to be able to resume"
  end
  return string.format("graft.train: stopped by Ctrl-C %s; %s; %s", train.where(t), kept, resume)
end

-- graft.last: the history (complete epochs) of the last graft.train, or the result of
-- the last graft.run, also when Ctrl-C stopped it.
local function keep_last(value)
  local graft = package.loaded["graft"]
  if type(graft) == "table" then graft.last = value end
end
train.keep_last = keep_last

function train.train(opts)
  local t = train.trainer(opts)
  local ok, err = pcall(function()
    while t.epoch < t.options.epochs do t:run_epoch() end
  end)
  if t.progress then progress.finish() end
  keep_last(t.history)
  if not ok then
    local where = train.is_interrupt(err) and stopped_message(t)
    t:close()
    if where then error(setmetatable({ message = where, history = t.history }, Stopped), 0) end
    error(err, 0)
  end
  t:close()
  return t.history
end

-- graft.train{...} calls train.train; graft.trainer is the object underneath
setmetatable(train, { __call = function(_, opts) return train.train(opts) end })

doc(train, [[graft.train{net=, data=, epochs=1, ...} -> history
Trains net on data with SGD and returns one record per epoch: epoch, loss,
train_top1, test_loss, test_top1 (test_top5 with >= 100 classes), lr, images_per_s,
seconds (accuracies in %).
A NaN or infinite loss, or BatchNorm running statistic, stops with an error naming
epoch and batch (and the statistic); that batch changes nothing. Ctrl-C stops with
one line saying where and how to resume; graft.last holds the history of the
complete epochs (after any graft.train, the last one's history).
In a terminal, a progress line fitted to its width shows the epoch's and the whole
run's time left (not in logs or pipes).
See also graft.trainer (the same loop as an object) and graft.train.diff_lr.
Options:
]] .. train.options:describe())
doc(train.train, doc.lookup(train))

train.diff_lr = doc(core.diff_lr, [[graft.train.diff_lr(lr, i, K) -> number
The reference's "different LR": network i of K (1-based) starts at
lr * (1 + cos(pi * (K - i) / K)) / 2.]])

return train
