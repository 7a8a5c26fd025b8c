-- graft scripts/bench/epoch.lua: graft's side of scripts/bench/epoch. One epoch of
-- ResNet-20 on all of Fashion-MNIST with the protocol of scripts/train_fashion_resnet20
-- (batch 128, lr 0.1 cosine per iteration, momentum 0.9, weight decay 5e-4, crops
-- with 2 pixels of padding and flips, seed 0), the test pass included; prints one
-- key=value line. The caller times the whole process (loading included).
--   graft scripts/bench/epoch.lua [subset]   (subset: that many training images, for a
--   quick check of the script; the benchmark uses all)
local start = os.clock()
local subset = math.tointeger(tonumber(arg[1] or ""))
local data = graft.data.fashion_mnist { subset = subset }
local net = graft.models.resnet { depth = 20, data = data, seed = 0 }
local history = graft.train {
  net = net, data = data, epochs = 1, batch = 128, lr = 0.1, momentum = 0.9,
  weight_decay = 5e-4, schedule = "cosine", pad = 2, flip = true, seed = 0, quiet = true,
}
local r = history[1]
print(string.format("train_s=%.2f test_top1=%.2f loss=%.4f cpu_s=%.1f", r.seconds, r.test_top1,
  r.loss, os.clock() - start))
