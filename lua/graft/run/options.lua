-- graft.run's options, declared once (graft.options): the training and grafting
-- ones are those of graft.train and graft.graft_round; and what follows from them
-- (network k's initial learning rate).
local graft_options = require "graft.options"
local grafting = require "graft.grafting"
local models = require "graft.models"
local train = require "graft.train"

local options = {}

local trains, rounds = train.options, grafting.round_options

-- Options without a default stay unset (nil); those with one are part of a run's
-- identity on resume (graft.run.checkpoints), so a new option that changes what a
-- run computes needs a default that keeps old runs' results.
options.spec = graft_options.spec("graft.run", {
  { "model", "string", default = "resnet20",
    help = "resnet20 (32, 44, 56, 110, resnetN_leaky), mobilenetv2, vgg16, wrn28_10 (graft.models.build)",
    check = models.refuse_name },
  { "data", "string", default = "fashion-mnist", choices = { "fashion-mnist", "mnist", "cifar10", "cifar100" },
    help = "the data set" },
  { "data_dir", "string", default_help = "searched, see graft.data", help = "where the data set's files are" },
  { "dataset", "dataset", help = "an already loaded data set, used instead of data" },
  { "subset", "integer", min = 1, default_help = "all", help = "the first n training images" },
  { "test_subset", "integer", min = 1, default_help = "all", help = "the first n test images" },
  { "nets", "integer", default = 2, min = 1, help = "networks in the ring (K; 1 is the baseline)" },
  { "epochs", "integer", default = 10, min = 1, help = "epochs; a grafting round after each" },
  { "every", "integer", min = 1, help = "graft every n iterations instead of after every epoch" },
  rounds:option("scion"), rounds:option("criterion"), rounds:option("A"), rounds:option("c"),
  rounds:option("round"), rounds:option("alpha"), rounds:option("alpha_rule"),
  rounds:option("filter_level"), rounds:option("filter_rule"), rounds:option("bins"),
  rounds:option("gamma"), rounds:option("a"),
  { "method", "string", choices = { "graft", "distill", "mutual" }, default_help = "graft",
    help = "graft; or a method Table 5 compares with: distill (knowledge distillation, a "
      .. "teacher trained first) or mutual (deep mutual learning of the nets networks); "
      .. "those graft nothing" },
  { "temperature", "number", min = 1e-6, default_help = "2 for distill, 1 for mutual",
    help = "temperature T of the soft targets (distill, mutual)" },
  { "soft_weight", "number", min = 0, default_help = "1",
    help = "weight of the soft-target term, T^2 KL (distill, mutual)" },
  { "init", "string", choices = { "kaiming", "pytorch", "wrn" }, default_help = "the model's reference rule",
    help = "initial weights (graft.models)" },
  { "diff_lr", "boolean", default = true,
    help = "network k of K starts at lr*(1+cos(pi*(K-k)/K))/2 (the reference's different LR)" },
  { "same_order", "boolean", default = false, help = "every network reads the data in the same order" },
  trains:option("schedule"),
  { "seed", "integer", default = 1, min = 1,
    help = "seed of the run: network k is initialised with seed*100 + k; data order, noise" },
  trains:option("batch"), trains:option("lr"),
  { "wd", "number", default = 5e-4, min = 0, help = "weight decay" },
  trains:option("momentum"), trains:option("pad"),
  { "threshold", "number", default = 1e-2, min = 0, help = "l1 under which a filter counts as invalid" },
  { "test_before", "boolean", default = true,
    help = "also test each network before each grafting round, as the authors' script reports" },
  { "ensemble", "boolean", default = true, help = "test the mean softmax of the K networks at the end" },
  { "out", "string", help = "directory of the tables, checkpoints, networks and summary" },
  { "resume", "string|boolean",
    help = "true (or the run's directory): continue the run in out from its last complete epoch" },
  trains:option("live"), trains:option("live_every"),
  { "on_epoch", "function", help = "called as on_epoch(k, epoch, record)" },
  { "quiet", "boolean", default = false, help = "no printed lines" },
})

-- The checked options with every default filled in; an error for any bad option.
function options.read(opts)
  local o = options.spec:check(opts)
  if type(o.resume) == "string" then
    if o.out ~= nil and o.out ~= o.resume then
      graft_options.raise(string.format("graft.run: resume = '%s' and out = '%s' name different "
        .. "directories", o.resume, o.out))
    end
    o.out = o.resume
  end
  if o.resume and not o.out then
    graft_options.raise("graft.run: resume needs out (the directory of the run to continue)")
  end
  if o.method == "distill" or o.method == "mutual" then
    -- the baselines of Table 5 graft nothing; distillation has one student
    if opts.scion ~= nil and opts.scion ~= "none" then
      graft_options.raise(string.format("graft.run: method '%s' grafts nothing: scion must be "
        .. "'none' or unset, got '%s'", o.method, tostring(opts.scion)))
    end
    o.scion = "none"
    if o.method == "distill" then
      if opts.nets ~= nil and opts.nets ~= 1 then
        graft_options.raise(string.format("graft.run: method 'distill' trains one student (its "
          .. "teacher apart): nets must be 1 or unset, got %s", tostring(opts.nets)))
      end
      o.nets = 1
    elseif o.nets < 2 then
      graft_options.raise(string.format("graft.run: method 'mutual' needs at least 2 networks, "
        .. "got nets = %d", o.nets))
    end
  end
  return o
end

-- Network k's initial learning rate: the reference's "different LR" when asked.
function options.initial_lr(o, k)
  if o.diff_lr then return train.diff_lr(o.lr, k, o.nets) end
  return o.lr
end

return options
