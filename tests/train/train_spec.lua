-- graft.train and graft.trainer: records, log, hooks, schedules seen from the loop,
-- lock-step trainers, the NaN stop and checkpoint rules.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local helpers = require "helpers"
local json = require "graft.json"

local fm = graft.data.fashion_mnist { subset = 256, test_subset = 128 }

describe("graft.train", function()
  it("returns per-epoch records, appends JSON lines and calls the hooks", function()
    local log = expect.tmpname(".jsonl")
    local epochs_seen, batches_seen = {}, 0
    local net = helpers.small_cnn {}
    local history = graft.train {
      net = net, data = fm, epochs = 2, batch = 32, lr = 0.05, log = log,
      quiet = true,
      on_epoch = function(epoch, record) epochs_seen[#epochs_seen + 1] = epoch; expect.eq(record.epoch, epoch) end,
      on_batch = function(epoch, batch) batches_seen = batches_seen + 1 end,
    }
    expect.eq(#history, 2)
    -- the trained network keeps no activation memory, and works on
    expect.eq(net:activation_bytes(), 0)
    net:forward(graft.zeros { 3, 1, 28, 28 })
    expect.truthy(net:activation_bytes() > 0)
    expect.eq(epochs_seen, { 1, 2 })
    expect.eq(batches_seen, 16)
    for i, r in ipairs(history) do
      expect.eq(r.epoch, i)
      for _, field in ipairs { "loss", "train_top1", "test_loss", "test_top1", "lr", "images_per_s", "seconds" } do
        expect.truthy(type(r[field]) == "number", field)
      end
      expect.truthy(r.test_top5 == nil, "no top-5 below 100 classes")
      expect.truthy(r.test_top1 >= 0 and r.test_top1 <= 100)
    end
    -- cosine per iteration: the last batch of epoch 2 is iteration 15 of T = 16
    expect.near(history[2].lr, 0.05 * (1 + math.cos(math.pi * 15 / 16)) / 2, 1e-6)
    expect.near(history[1].lr, 0.05 * (1 + math.cos(math.pi * 7 / 16)) / 2, 1e-6)
    local lines = helpers.lines(log)
    expect.eq(#lines, 2)
    local first = json.decode(lines[1])
    expect.eq(first.epoch, 1)
    expect.near(first.loss, history[1].loss, 1e-12)
  end)

  it("applies step and multistep schedules per epoch, with warm-up", function()
    local t = graft.trainer { net = helpers.small_cnn {}, data = fm, epochs = 5, batch = 64,
                              schedule = "multistep", milestones = { 1, 3 }, gamma = 0.5,
                              warmup = 0.5, quiet = true }
    -- 4 iterations per epoch, warm-up 2 iterations
    expect.near(t.schedule:lr(0), 0.05, 1e-12)
    expect.near(t.schedule:lr(1), 0.1, 1e-12)
    expect.near(t.schedule:lr(4), 0.05, 1e-12)
    expect.near(t.schedule:lr(12), 0.025, 1e-12)
    t:close()
    t = graft.trainer { net = helpers.small_cnn {}, data = fm, epochs = 5, batch = 64,
                        schedule = "step", step = 2, gamma = 0.1, lr = 1, quiet = true }
    expect.near(t.schedule:lr(7), 1, 1e-12)
    expect.near(t.schedule:lr(8), 0.1, 1e-12)
    t:close()
    expect.near(graft.train.diff_lr(0.1, 1, 2), 0.05, 1e-12)
    -- graft.core.schedule takes what its kind uses from graft.train, which declares the defaults
    expect.near(graft.core.schedule { kind = "constant", lr = 0.5, iterations_per_epoch = 4 }:lr(9), 0.5, 1e-12)
    expect.error(function() graft.core.schedule { kind = "step", lr = 1, iterations_per_epoch = 4, step = 2 } end,
      { "schedule", "option 'gamma': number expected, got nil" })
    expect.error(function() graft.core.schedule { kind = "cosine", iterations_per_epoch = 4, epochs = 2 } end,
      { "schedule", "option 'lr': number expected, got nil" })
  end)

  it("drives several trainers in lock-step with their own data orders", function()
    local a = graft.trainer { net = helpers.small_cnn { seed = 1 }, data = fm, epochs = 1, batch = 64, quiet = true }
    local b = graft.trainer { net = helpers.small_cnn { seed = 1 }, data = fm, epochs = 1, batch = 64,
                              stream = 1, quiet = true }
    local ra, rb = a:train_epoch(), b:train_epoch()
    expect.truthy(ra.loss ~= rb.loss, "different orders give different losses")
    local test = a:evaluate()
    expect.truthy(test.test_top1 and test.test_loss)
    a:end_epoch(ra, test)
    expect.eq(a.epoch, 1)
    expect.eq(#a.history, 1)
    expect.eq(b.epoch, 0)
    a:close(); b:close()
  end)

  it("evaluates an ensemble in C: the summed softmax of its networks", function()
    local core = graft.core
    local a, b = helpers.small_cnn { seed = 1 }, helpers.small_cnn { seed = 2 }
    local loader <close> = core.loader(fm.test, { batch = 50 })
    local top1, count, sums = core.ensemble_evaluate({ a, b }, loader, true)
    expect.eq(count, 128)
    expect.eq(sums:shape(), { 128, 10 })
    local rows, hits = sums:totable(), 0
    for i, row in ipairs(rows) do
      local total, best = 0, 1
      for c, p in ipairs(row) do
        total = total + p
        if p > row[best] then best = c end
      end
      expect.near(total, 2, 1e-5, "two distributions in row " .. i)
      hits = hits + (best - 1 == fm.test:label(i) and 1 or 0)
    end
    expect.eq(top1, hits, "the argmax of the sums")
    -- one network: its own top-1, as graft's evaluation counts it
    local _, _, alone = core.evaluate(a, loader)
    expect.eq(core.ensemble_evaluate({ a }, loader), alone)
    expect.error(function() core.ensemble_evaluate({ a, "b" }, loader) end,
      "entry 2 of the networks is a string, not a network")
  end)

  it("reports top-5 with 100 classes", function()
    local dir = expect.tmpname("-c100")
    helpers.write_cifar100(dir, 40, 20)
    local c100 = graft.data.cifar100 { dir = dir }
    local h = graft.train { net = helpers.small_cnn { classes = 100, in_channels = 3, size = 32, width = 4 },
                            data = c100, epochs = 1, batch = 20, quiet = true }
    expect.truthy(h[1].test_top5 >= h[1].test_top1)
    helpers.remove_dir(dir)
  end)

  it("names mismatched shapes and unknown options", function()
    expect.error(function() graft.train { net = graft.models.resnet {}, data = fm } end,
      { "takes 3x32x32 images", "1x28x28" })
    expect.error(function() graft.train { net = helpers.small_cnn { classes = 7 }, data = fm } end,
      { "7 outputs", "10 classes" })
    expect.error(function() graft.train { net = helpers.small_cnn {}, data = fm, epoch = 3 } end,
      "unknown option 'epoch'")
    expect.error(function() graft.train { net = helpers.small_cnn {}, data = fm, schedule = "linear" } end,
      "option 'schedule': 'cosine', 'step', 'multistep' or 'constant' expected, got \"linear\"")
    local message = expect.error(function() graft.train { net = graft.zeros { 3 }, data = fm } end,
      "graft.train: option 'net': a network (graft.models.*, graft.nn.build, graft.load) expected, got a graft.Tensor")
    expect.contains(message, "train_spec.lua:", "the position of the call")
    expect.error(function() graft.trainer { net = helpers.small_cnn {}, data = { train = 1 } } end,
      "graft.train: option 'data': a data set (graft.data.*) expected, got a table")
    expect.error(function() graft.train { net = helpers.small_cnn {}, data = fm, milestones = { 5, 3 } } end,
      "option 'milestones': a list of increasing epochs")
    -- a checkpoint that cannot be read: the trainer's words, the directory, the file
    local broken = expect.tmpname("-broken")
    graft.core.make_dirs(broken .. "/epoch-0001")
    local f = assert(io.open(broken .. "/epoch-0001/trainer.safetensors", "wb"))
    f:write("x")
    f:close()
    message = expect.error(function()
      graft.train { net = helpers.small_cnn {}, data = fm, resume = broken, quiet = true }
    end, { "graft.train: cannot resume from " .. broken .. ": safetensors read '" .. broken
           .. "/epoch-0001/trainer.safetensors'" })
    expect.contains(message, "train_spec.lua:", "the position of the call")
    expect.truthy(not message:find("graft.core"), "no core function named: " .. message)
    helpers.remove_dir(broken)
    expect.error(function() graft.train { data = fm } end, "option 'net' is required: a network")
  end)

  it("refuses test images of another shape than the network's input", function()
    local net = helpers.small_cnn {}
    -- 14x14 images: the first 16 Fashion-MNIST images, every other pixel
    local dir = expect.tmpname("-small")
    graft.core.make_dirs(dir)
    local pixels, labels = {}, {}
    for i = 1, 16 do
      local image, label = fm.train:image(i)
      local rows = image:totable()[1]
      for y = 1, 28, 2 do
        for x = 1, 28, 2 do pixels[#pixels + 1] = string.char(math.floor(rows[y][x] * 255 + 0.5)) end
      end
      labels[i] = string.char(label)
    end
    local function write(name, bytes)
      local f = assert(io.open(dir .. "/" .. name, "wb"))
      f:write(bytes)
      f:close()
    end
    write("images", string.pack(">I4I4I4I4", 0x803, 16, 14, 14) .. table.concat(pixels))
    write("labels", string.pack(">I4I4", 0x801, 16) .. table.concat(labels))
    local test = graft.core.data_idx(dir .. "/images", dir .. "/labels", 10)
    local mixed = { train = fm.train, test = test, classes = 10, shape = fm.shape }
    expect.error(function() graft.train { net = net, data = mixed, quiet = true } end,
      { "the network takes 1x28x28 images", "test images are 1x14x14" })
    -- the core functions check too: reading 14x14 images as 28x28 runs past them
    local loader = graft.core.loader(test, { batch = 8 })
    expect.error(function() graft.core.evaluate(net, loader) end,
      { "graft.core.evaluate", "images are 1x14x14 but the network takes 1x28x28" })
    local sgd = graft.core.sgd { net = net }
    loader:start_epoch()
    expect.error(function() graft.core.train_step(net, sgd, loader, 0.1) end,
      { "graft.core.train_step", "images are 1x14x14 but the network takes 1x28x28" })
    loader:close()
    sgd:close()
    helpers.remove_dir(dir)
  end)

  it("refuses a damaged trainer state or history on resume, changing nothing", function()
    local dir = expect.tmpname("-state")
    graft.train { net = helpers.small_cnn {}, data = fm, epochs = 1, batch = 64, checkpoint = dir,
                  quiet = true }
    local epoch_dir = dir .. "/epoch-0001"
    local net = helpers.small_cnn { seed = 5 }
    local function saved(n)
      local path = expect.tmpname(".safetensors")
      n:save(path)
      local f = assert(io.open(path, "rb"))
      local bytes = f:read("a")
      f:close()
      os.remove(path)
      return bytes
    end
    local before = saved(net)
    local function write(name, bytes)
      local f = assert(io.open(epoch_dir .. "/" .. name, "wb"))
      f:write(bytes)
      f:close()
    end
    local function resume()
      return graft.trainer { net = net, data = fm, epochs = 2, batch = 64, resume = dir,
                             quiet = true }
    end
    local good_history = assert(io.open(epoch_dir .. "/history.jsonl", "rb")):read("a")
    for _, case in ipairs {
      { '{"epoch":1,"loss":"low"}\n', "line 1: loss is low, expected a number" },
      { '[1, 2]\n', "line 1: a record must be a JSON object" },
      { '{"epoch":3}\n', "line 1: epoch is 3, expected 1" },
      { '{"epoch":1,\n', "line 1: json.decode" },
      { good_history .. '{"epoch":2}\n', "holds 2 history records for 1 epochs" },
    } do
      write("history.jsonl", case[1])
      expect.error(resume, { epoch_dir .. "/history.jsonl", case[2] })
      expect.truthy(saved(net) == before, "the network is unchanged after: " .. case[2])
    end
    write("history.jsonl", good_history)
    -- a generator of state 0 and increment 0 would make shuffling spin forever
    local header = string.format('{"__metadata__":{"format":"graft-trainer/2","epoch":"1",'
      .. '"momentum_filled":"0","parameters":"%d"},"loader_rng":{"dtype":"I64","shape":[4],'
      .. '"data_offsets":[0,32]}}', net:param_count())
    header = header .. string.rep(" ", (8 - #header % 8) % 8)
    write("trainer.safetensors", string.pack("<I8", #header) .. header .. string.pack("<i8i8i8i8", 0, 0, 5, 7))
    expect.error(resume, { epoch_dir .. "/trainer.safetensors", "order generator",
                           "generator increment 0 is even" })
    expect.truthy(saved(net) == before, "the network is unchanged")
    helpers.remove_dir(dir)
  end)

  it("stops when a BatchNorm running statistic becomes non-finite, the loss still finite", function()
    local net = helpers.small_cnn {}
    -- activations near 1e30: their variance overflows a float, the normalised values do not
    local weight = net:parameters()["0.weight"]
    for i = 1, 16 do weight[i][1][2][2] = 1e30 end
    local before = {}
    for name, t in pairs(net:buffers()) do
      before[name] = type(t) == "number" and t or table.concat(t:totable(), ",")
    end
    local message = expect.error(function()
      graft.train { net = net, data = fm, epochs = 1, batch = 64, quiet = true }
    end, { "but the BatchNorm running statistic 1.running_var is inf", "at epoch 1, batch 1 of 4",
           "the weights and BatchNorm statistics are those before this batch" })
    expect.truthy(not message:find("loss is nan"), message)
    for name, t in pairs(net:buffers()) do
      expect.eq(type(t) == "number" and t or table.concat(t:totable(), ","), before[name], name)
    end
  end)

  it("stops on a non-finite loss, naming epoch and batch, and keeps the last checkpoint", function()
    local dir = expect.tmpname("-ckpt")
    local net = helpers.small_cnn {}
    graft.train { net = net, data = fm, epochs = 1, batch = 32, checkpoint = dir, quiet = true }
    expect.truthy(graft.core.checkpoint_last(dir):find("epoch%-0001$"))
    -- the same directory again without resume is refused
    expect.error(function() graft.train { net = net, data = fm, epochs = 2, checkpoint = dir, quiet = true } end,
      { "already holds checkpoints", "resume" })
    local message = expect.error(function()
      graft.train { net = helpers.small_cnn {}, data = fm, epochs = 2, batch = 32, resume = dir,
                    lr = 1e9, schedule = "constant", quiet = true }
    end, { "loss is", "at epoch 2, batch", "the last good checkpoint is " .. dir .. "/epoch-0001" })
    expect.truthy(message:find("nan") or message:find("inf"), message)
    expect.truthy(graft.core.checkpoint_last(dir):find("epoch%-0001$"))
    helpers.remove_dir(dir)
  end)

  it("Ctrl-C keeps the complete epochs in graft.last and says where it stopped, in one line", function()
    graft.last = nil
    local dir = expect.tmpname("-ckpt")
    -- the prompt's interrupt raises "interrupted!" at the next Lua instruction:
    -- here, inside the hook of batch 3 of epoch 3
    local ok, stopped = pcall(graft.train, {
      net = helpers.small_cnn {}, data = fm, epochs = 5, batch = 32, quiet = true, checkpoint = dir,
      on_batch = function(epoch, batch) if epoch == 3 and batch == 3 then error("interrupted!") end end,
    })
    expect.truthy(not ok, "an error")
    expect.truthy(getmetatable(stopped) == graft.train.Stopped, "the error object of Ctrl-C")
    local message = tostring(stopped)
    expect.eq(message, "graft.train: stopped by Ctrl-C in epoch 3 of 5 (batch 3 of 8); 2 complete "
      .. "epochs in graft.last; continue with resume = '" .. dir .. "' (from epoch 3)")
    expect.eq(#graft.last, 2)
    expect.eq(graft.last[2].epoch, 2)
    expect.truthy(stopped.history == graft.last)
    -- another error is passed on as it was
    local _, other = pcall(graft.train, { net = helpers.small_cnn {}, data = fm, quiet = true,
      on_batch = function() error("not an interrupt", 0) end })
    expect.eq(other, "not an interrupt")
    graft.core.remove_tree(dir)
  end)

  it("Ctrl-C stops graft.run with the partial histories in graft.last", function()
    local ok, stopped = pcall(graft.run, { dataset = fm, nets = 2, epochs = 3, batch = 32, quiet = true,
      model = "resnet20", on_epoch = function(k, epoch) if k == 2 and epoch == 2 then error("x: interrupted!") end end })
    expect.truthy(not ok)
    expect.truthy(getmetatable(stopped) == graft.train.Stopped, "the error object of Ctrl-C")
    expect.contains(tostring(stopped), { "graft.run: stopped by Ctrl-C after epoch 2 of 3",
      "2 complete epochs of 2 networks in graft.last", "give out = DIR to be able to resume" })
    expect.eq(#graft.last.histories, 2)
    expect.eq(#graft.last.histories[1], 2)
    expect.eq(#graft.last.histories[2], 2)
  end)
end)
