-- Run by resume_spec.lua in a separate process: graft resume_run.lua MODE DIR
--   full    three epochs with checkpoints in DIR, then DIR/final.safetensors
--   kill    the same, killed with SIGKILL at epoch 2, batch 3 (no final file)
--   resume  continues the run in DIR from its last complete epoch
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local helpers = require "helpers"

local mode, dir = arg[1], arg[2]
local fm = graft.data.fashion_mnist { subset = 256, test_subset = 64 }
local net = helpers.small_cnn { seed = 3 }
local options = { net = net, data = fm, epochs = 3, batch = 64, lr = 0.05, seed = 5,
                  checkpoint = dir, log = dir .. "/run.jsonl", quiet = true }
if mode == "kill" then
  options.on_batch = function(epoch, batch)
    -- the shell's parent is this process: a real SIGKILL, mid-epoch
    if epoch == 2 and batch == 3 then os.execute("kill -KILL $PPID") end
  end
elseif mode == "resume" then
  options.checkpoint, options.resume = nil, dir
elseif mode ~= "full" then
  error("mode must be full, kill or resume")
end
graft.train(options)
net:save(dir .. "/final.safetensors")
