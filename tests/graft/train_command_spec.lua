-- End to end through `graft train`: two ResNet-20s, one epoch, on a Fashion-MNIST
-- subset, entropy grafting. Checks the files it writes and that grafting happened:
-- alphas in the log, paired as alpha(-d) = 1 - alpha(d), and the two networks
-- identical after the round (K = 2 with the entropy criterion).
local graft = require "graft"
local json = require "graft.json"

local exe = assert(os.getenv("GRAFT_EXE"), "GRAFT_EXE names the graft executable")

local function read(path) return assert(expect.read(path), "missing " .. path) end

local function csv_rows(path)
  local lines = {}
  for line in read(path):gmatch("[^\n]+") do lines[#lines + 1] = line end
  local columns = {}
  for name in lines[1]:gmatch("[^,]+") do columns[#columns + 1] = name end
  local rows = {}
  for i = 2, #lines do
    local row, c = {}, 0
    for cell in (lines[i] .. ","):gmatch("([^,]*),") do
      c = c + 1
      row[columns[c]] = tonumber(cell) or (cell ~= "" and cell or nil)
    end
    rows[#rows + 1] = row
  end
  return rows
end

describe("graft train", function()
  local out = expect.tmpname("-graft-train")
  local command = string.format("%q train --model resnet20 --num 2 --epochs 1 --subset 1000 "
    .. "--test-subset 500 --batch 100 --seed 3 --criterion entropy --quiet --out %q 2>&1", exe, out)

  it("trains two networks, grafts them and writes its files", function()
    local pipe = assert(io.popen(command))
    local output = pipe:read("a")
    local ok = pipe:close()
    expect.truthy(ok, "graft train failed:\n" .. output)
    expect.contains(output, { "| network |", "| 1 | 0.05 |", "| 2 | 0.1 |", "ensemble of 2" })

    local history = csv_rows(out .. "/history.csv")
    expect.eq(#history, 2, "one record per network and epoch")
    expect.eq({ history[1].network, history[2].network }, { 1, 2 })
    for _, r in ipairs(history) do
      expect.truthy(r.test_top1 and r.test_top1_before and r.loss and r.information, "fields")
    end
    -- identical networks give identical test accuracy after the round
    expect.eq(history[1].test_top1, history[2].test_top1)
    expect.eq({ history[1].distance, history[2].distance }, { 0, 0 }, "no distance between them")

    local log = csv_rows(out .. "/grafting.csv")
    expect.eq(#log, 2 * 20, "19 convs and the linear layer of ResNet-20, per network")
    for i = 1, 20 do
      local r, s = log[i], log[20 + i]
      expect.eq({ r.round, r.scion, r.network, r.source, s.network }, { 1, "external", 1, 2, 2 })
      expect.eq(r.layer, s.layer)
      expect.truthy(r.alpha >= 0.3 - 1e-6 and r.alpha <= 0.7 + 1e-6, "alpha in [0.3, 0.7]")
      expect.near(r.alpha + s.alpha, 1, 1e-6, "alpha(-d) = 1 - alpha(d)")
      expect.near(r.entropy_self, s.entropy_other, 1e-6)
    end

    local summary = json.decode(read(out .. "/summary.json"))
    expect.eq(summary.options.nets, 2)
    expect.eq(summary.final[1].test_top1, summary.final[2].test_top1)
    expect.truthy(summary.ensemble ~= nil, "ensemble accuracy")

    -- the saved networks are the same, tensor by tensor
    local a = graft.load_tensors(out .. "/net1.safetensors")
    local b = graft.load_tensors(out .. "/net2.safetensors")
    local count = 0
    for name, t in pairs(a) do
      if type(t) == "userdata" and t.abs_sum then
        expect.eq((t - b[name]):abs_sum(), 0, name)
        count = count + 1
      end
    end
    expect.truthy(count > 60, "the checkpoint holds the network's tensors")
    graft.core.remove_tree(out)
  end)

  it("grafts every N iterations with every = N", function()
    -- 256 images in batches of 128: two iterations per epoch, a round after each
    local result = graft.run { nets = 2, epochs = 1, subset = 256, test_subset = 100, every = 1,
                               quiet = true, ensemble = false, seed = 4 }
    expect.eq(#result.log, 2 * 2 * 20, "two rounds of two networks and 20 layers")
    expect.eq({ result.log[1].round, result.log[#result.log].round }, { 1, 2 })
    expect.eq(result.final[1].test_top1, result.final[2].test_top1, "identical after the last round")
    expect.eq(#result.histories[1], 1)
    -- the epoch's lr is its last batch's (cosine over 2 iterations: half the initial rate),
    -- not the rate after the schedule ended (0)
    expect.near(result.histories[1][1].lr, 0.05 / 2, 1e-9, "network 1 starts at 0.05")
    expect.near(result.histories[2][1].lr, 0.1 / 2, 1e-9, "network 2 starts at 0.1")
  end)

  it("prints lines, no progress line, into a pipe", function()
    local pipe = assert(io.popen(string.format("%q train --model resnet8 --num 2 --epochs 2 --subset 64 "
      .. "--test-subset 32 --batch 16 2>&1", exe)))
    local output = pipe:read("a")
    expect.truthy(pipe:close(), "graft train failed:\n" .. output)
    expect.contains(output, { "net 1/2 epoch 1/2: loss", "net 2/2 epoch 2/2: loss", "grafting round 2" })
    expect.truthy(not output:find("[\r\27]") and not output:find(" left", 1, true),
      "a progress line or terminal control in a pipe:\n" .. output)
  end)

  it("takes the authors' command line as their scripts write it", function()
    -- a CIFAR-10 of 10 records per batch file: label i % 10, pixels (i * 31 + p) % 256
    local cifar = expect.tmpname("-cifar10")
    graft.core.make_dirs(cifar)
    local function batch(name, first)
      local records = {}
      for i = first, first + 9 do
        local pixels = {}
        for p = 0, 3071 do pixels[p + 1] = string.char((i * 31 + p) % 256) end
        records[#records + 1] = string.char(i % 10) .. table.concat(pixels)
      end
      graft.core.write_file(cifar .. "/" .. name, table.concat(records))
    end
    for i = 1, 5 do batch("data_batch_" .. i .. ".bin", 10 * i) end
    batch("test_batch.bin", 100)
    local dir = expect.tmpname("-authors")
    local pipe = assert(io.popen(string.format("%q train --s %q --cifar 10 --model resnet20 --num 2 --i 1 "
      .. "--cos --batch-size 25 --epochs 1 --device cuda --print_frequence 1000 --r x --a 0.4 --c 500 "
      .. "--data-dir %q --quiet --live %q 2>&1", exe, dir, cifar, cifar .. "/curves.png")))
    local output = pipe:read("a")
    expect.truthy(pipe:close(), "graft train failed:\n" .. output)
    local summary = json.decode(read(dir .. "/summary.json"))
    expect.eq({ summary.options.data, summary.options.batch, summary.options.nets, summary.options.out },
              { "cifar10", 25, 2, dir })
    for _, said in ipairs { "graft train: --device cuda has no effect here: graft computes on the CPU",
                            "graft train: --i 1 has no effect here: graft trains all --num networks",
                            "graft train: --print_frequence 1000 has no effect here",
                            "graft train: --r x has no effect here" } do
      expect.contains(output, said)
      local _, times = output:gsub(said:gsub("%p", "%%%0"), "")
      expect.eq(times, 1, "said once: " .. said)
    end
    expect.contains(output, "resnet20 on cifar10, 2 network(s)")
    local png = io.open(cifar .. "/curves.png", "rb")
    expect.truthy(png and png:read(8) == "\137PNG\r\n\26\n", "--live FILE writes the training curves")
    if png then png:close() end
    graft.core.remove_tree(dir)
    graft.core.remove_tree(cifar)
  end)

  it("explains its flags and refuses unknown ones", function()
    local pipe = assert(io.popen(string.format("%q train --help", exe)))
    local help = pipe:read("a")
    expect.truthy(pipe:close())
    expect.contains(help, { "--model", "--epochs", "--lr", "--num", "--a", "--c", "--cos", "--difflr",
                            "--data", "--scion", "--criterion", "--out", "--resume" })
    -- the help comes from graft.run's declarations: defaults and allowed values
    expect.contains(help, { "(default 10)", "--scion {none,noise,internal,external}",
                            "networks in the ring (K; 1 is the baseline) (default 2)" })
    local function refused(args, text)
      local p = assert(io.popen(string.format("%q train %s 2>&1", exe, args)))
      local message = p:read("a")
      local ok, _, status = p:close()
      expect.eq({ ok, status }, { nil, 2 }, args .. " exits with status 2")
      expect.contains(message, { "Usage: graft train", text })
    end
    refused("--epochs ten", "graft train: --epochs: an integer >= 1 expected, got 'ten'")
    refused("--num 0", "graft train: --num: an integer >= 1 expected, got '0'")
    refused("--scion grass --epochs 1", "graft train: --scion: 'none', 'noise', 'internal' or 'external' expected, got 'grass'")
    refused("--alpha 2", "graft train: --alpha: a number in [0, 1] expected, got '2'")
    refused("--frobnicate", "unknown option '--frobnicate'")
    refused("--epoch 3", "unknown option '--epoch'\nDid you mean '--epochs'?")
    refused("--cifar 1000", "graft train: --cifar: '10' or '100' expected, got '1000'")
    -- a negative number is the value of the flag before it, not an option of its own
    refused("--epochs -1", "graft train: --epochs: an integer >= 1 expected, got '-1'")
    refused("--lr -.5", "graft train: --lr: a number >= 0 expected, got '-.5'")
    -- a user's error is one line of graft's: no Lua file or traceback
    local p = assert(io.popen(string.format("%q train --data cifar100 --data-dir /nonexistent --epochs 1 2>&1", exe)))
    local message = p:read("a")
    p:close()
    expect.contains(message, "graft train: graft.data.cifar100: files not found")
    expect.truthy(not message:find("%.lua:%d") and not message:find("traceback"), message)
    p = assert(io.popen(string.format("%q train --out /proc/graft-cannot --epochs 1 --subset 100 --test-subset 50 --quiet 2>&1", exe)))
    message = p:read("a")
    p:close()
    expect.contains(message, "graft train: graft.core.make_dirs: make folder /proc/graft-cannot")
    expect.truthy(not message:find("%.lua:%d") and not message:find("traceback"), message)
    -- a live picture that cannot be written is refused before training, not after an epoch
    p = assert(io.popen(string.format("%q train --live /proc/graft-cannot/curves.png --epochs 1 --subset 100 "
      .. "--test-subset 50 2>&1", exe)))
    message = p:read("a")
    expect.truthy(not p:close(), "refused")
    expect.eq(message, "graft train: graft.run: live = '/proc/graft-cannot/curves.png': cannot write in "
      .. "/proc/graft-cannot: No such file or directory\n")
  end)
end)
