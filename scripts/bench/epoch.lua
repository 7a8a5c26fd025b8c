-- graft scripts/bench/epoch.lua: graft's side of scripts/bench/epoch. One epoch of
-- ResNet-20 on all of Fashion-MNIST with the protocol of scripts/train_fashion_resnet20
-- (batch 128, lr 0.1 cosine per iteration, momentum 0.9, weight decay 5e-4, crops
-- with 2 pixels of padding and flips, seed 0), the test pass included; prints one
-- key=value line with the fields of scripts/bench/epoch.py: train_s (the training
-- loop), test_s (the test pass: from the last batch to the end of the epoch), load_s
-- (reading the data and building the network). The caller times the whole process.
--   graft scripts/bench/epoch.lua [subset]   (subset: that many training images, for a
--   quick check of the script; the benchmark uses all)
local now = graft.core.monotonic_seconds
local start, start_clock = now(), os.clock()
local subset = math.tointeger(tonumber(arg[1] or ""))
local data = graft.data.fashion_mnist { subset = subset }
local net = graft.models.resnet { depth = 20, data = data, seed = 0 }
local loaded, last_batch, test_s = now(), nil, nil
local history = graft.train {
  net = net, data = data, epochs = 1, batch = 128, lr = 0.1, momentum = 0.9,
  weight_decay = 5e-4, schedule = "cosine", pad = 2, flip = true, seed = 0, quiet = true,
  on_batch = function() last_batch = now() end,
  on_epoch = function() test_s = now() - last_batch end,
}
local r = history[1]
print(string.format("train_s=%.2f test_s=%.2f test_top1=%.2f loss=%.4f load_s=%.2f cpu_s=%.1f",
  r.seconds, test_s, r.test_top1, r.loss, loaded - start, os.clock() - start_clock))
