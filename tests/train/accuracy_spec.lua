-- One epoch of a small CNN on the first 10,000 Fashion-MNIST training images
-- reaches a test accuracy at least 20 points above chance (10%). Under sanitizers
-- (GRAFT_SANITIZE set by tests/train/meson.build), where everything runs several
-- times slower, a reduced variant: 2,500 training and 500 test images.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local helpers = require "helpers"

local reduced = (os.getenv("GRAFT_SANITIZE") or "") ~= ""

describe("accuracy", function()
  it("learns Fashion-MNIST in one epoch", function()
    local fm = graft.data.fashion_mnist { subset = reduced and 2500 or 10000,
                                          test_subset = reduced and 500 or nil }
    local history = graft.train { net = helpers.small_cnn { seed = 1 }, data = fm, epochs = 1,
                                  batch = 128, lr = 0.1, seed = 0, quiet = true }
    local accuracy = history[1].test_top1
    print(string.format("test accuracy after one epoch on %d images: %.2f%% (%.1f s)", fm:size(),
      accuracy, history[1].seconds))
    expect.truthy(accuracy >= 30, string.format("test accuracy %.2f%% is under 30%%", accuracy))
  end)
end)
