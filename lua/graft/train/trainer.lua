-- The trainer object (graft.trainer): its state, made from graft.train's options,
-- and its methods, each kept with its concept: the epoch loop (loop.lua), what it
-- shows while it trains (display.lua), its checkpoints (checkpoints.lua).
local core = require "graft.core"
local doc = require "graft.doc"
local live = require "graft.live"
local options = require "graft.train.options"
local loop = require "graft.train.loop"
local display = require "graft.train.display"
local checkpoints = require "graft.train.checkpoints"

local trainer = {}

local Trainer = {}
Trainer.__index = Trainer
-- the methods of the other files
for _, methods in ipairs { loop, display, checkpoints } do
  for name, method in pairs(methods) do Trainer[name] = method end
end
trainer.Trainer = Trainer

-- The network must take the data set's images (training and test) and give one
-- score per class.
local function check_shapes(net, data)
  local input = net:input_shape()
  for _, part in ipairs { "train", "test" } do
    local shape = data[part]:shape()
    if input[1] ~= shape[1] or input[2] ~= shape[2] or input[3] ~= shape[3] then
      options:fail("the network takes %s images, the data set's %s images are %s (build the model "
        .. "with data = the data set, or in_channels/image_size)", table.concat(input, "x"),
        part == "train" and "training" or "test", table.concat(shape, "x"))
    end
  end
  local out = net:output_shape()
  if #out ~= 1 or out[1] ~= data.classes then
    options:fail("the network gives %s outputs, the data set has %d classes",
      table.concat(out, "x"), data.classes)
  end
end

trainer.new = doc(function(opts)
  local o = options:check(opts)
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
    options:fail("%s already holds checkpoints (%s); pass resume = '%s' to continue that run, or "
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

-- Ends training: the loaders' threads and buffers, the optimiser's state, and the
-- network's activation memory (gigabytes for MobileNetV2 after a test pass at
-- batch 500, which Lua's collector cannot see) are released; the network stays usable.
function Trainer:close()
  self.net:release_activations()
  self.loader:close()
  self.test_loader:close()
  self.sgd:close()
end

return trainer
