-- graft.train's options, declared once (graft.options); graft.run takes its training
-- options from here too.
local options = require "graft.options"

local SCHEDULES = { "cosine", "step", "multistep", "constant" }

local spec = options.spec("graft.train", {
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

return spec
