-- graft train [options]: a grafting experiment from the shell, with the flags of the
-- authors' grafting.py as their scripts write them (--model --epochs --lr --num --a
-- --c --cos --difflr --s --cifar --batch-size; --i --r --device --print_frequence are
-- taken and said to have no effect) and graft's own; every flag that has an effect is
-- an option of graft.run, checked and explained by its declaration.
local core = require "graft.core"
local cli = require "graft.options"
local run = require "graft.run"
local run_options = require "graft.run.options"

-- The authors' flags that mean nothing here, and why (said once on stderr when given).
local NO_EFFECT = {
  { "--i", "<integer>", "i", "graft trains all --num networks of the ring in one process (the authors "
    .. "start one process per network, --i being its index)" },
  { "--r", "<path>", "r", "the authors' script parses it and never reads it; graft continues a run "
    .. "with --out DIR --resume" },
  { "--device", "<name>", "device", "graft computes on the CPU, with its own kernels" },
  { "--print_frequence", "<integer>", "print_frequence", "graft draws a progress line on a terminal "
    .. "and prints one line per epoch" },
}

local function parser()
  local spec = run_options.spec
  local p = cli.parser("graft train",
    "Trains --num networks together and grafts them after every epoch (graft.run).",
    "Without --cos the authors' script steps the rate x0.1 every 60 epochs: use --schedule step.")
  local _, authors = spec:add_arguments(p, {
    "model", "epochs", "lr", { "nets", flag = "--num" }, { "A", flag = "--a" }, { "c", flag = "--c" },
    { "schedule", flag = "--cos", value = "cosine", help = "cosine annealing per iteration (the default here)" },
    { "diff_lr", flag = "--difflr", value = true,
      help = "network i of K starts at lr*(1+cos(pi*(K-i)/K))/2 (the default here; in the authors' "
        .. "script since March 2021, passing it turns it off: use --same-lr for that)" },
    { "out", flag = "--s", help = "the directory of the run (the authors': of the ring's checkpoints)" },
    { "data", flag = "--cifar", map = { ["10"] = "cifar10", ["100"] = "cifar100" },
      help = "CIFAR-10 or CIFAR-100 (--data cifar10 or cifar100)" },
    { "batch", flag = "--batch-size", help = "images per batch (the authors' script ignores it and uses 128)" },
  })
  for _, flag in ipairs(NO_EFFECT) do
    authors[#authors + 1] = p:option(flag[1], "no effect here: " .. flag[4]):argname(flag[2])
      :target("no_effect_" .. flag[3])
  end
  local _, own = spec:add_arguments(p, {
    "data", "data_dir", "scion", "criterion", "alpha", "every", "filter_level", "round", "gamma",
    { "a", flag = "--noise-a" }, "schedule", { "diff_lr", flag = "--same-lr", value = false,
                                              help = "every network starts at --lr" },
    "same_order", "seed", "subset", "test_subset", "batch", "wd", "threshold", "test_before",
    "ensemble", { "live", optional = "file.png" }, "live_every", "out", { "resume", value = true,
                         help = "continue the run in --out from its last complete epoch (give the same options)" },
    "quiet",
  })
  p:group("The authors' flags", table.unpack(authors))
  p:group("graft's own", table.unpack(own))
  return p
end

local function print_summary(result)
  local o = result.options
  print(string.format("\n%s on %s, %d network(s), scion %s, criterion %s, %d epoch(s), seed %d",
    o.model, o.data, o.nets, o.scion, o.criterion, o.epochs, o.seed))
  print(string.format("| network | initial lr | test top-1 %% | invalid filters (l1 < %g) | information |",
    o.threshold))
  print("|---|---|---|---|---|")
  for k, f in ipairs(result.final) do
    print(string.format("| %d | %.4g | %.2f | %d / %d (%.2f%%) | %.3f |", k, f.lr, f.test_top1,
      f.invalid, f.filters, 100 * f.invalid_ratio, f.information))
  end
  if result.ensemble then
    print(string.format("| ensemble of %d | | %.2f | | |", #result.final, result.ensemble))
  end
  print(string.format("%.1f s", result.seconds))
  if o.out then print("results in " .. o.out) end
end

return function(args)
  local opts, status, text = cli.parse(parser(), args)
  if not opts then
    local out = status == 0 and io.stdout or io.stderr
    out:write(text, "\n")
    return status
  end
  for _, flag in ipairs(NO_EFFECT) do
    local key = "no_effect_" .. flag[3]
    if opts[key] ~= nil then
      io.stderr:write(string.format("graft train: %s %s has no effect here: %s\n", flag[1], opts[key], flag[4]))
      opts[key] = nil
    end
  end
  local ok, result = pcall(run, opts)
  if not ok then
    io.stderr:write("graft train: ", cli.user_message(result), "\n")
    -- stopped by Ctrl-C: the status of a program ended by SIGINT
    return getmetatable(result) == require("graft.train").Stopped and 130 or 1
  end
  -- under MPI every process holds the results; one prints them
  if core.mpi_rank() == 0 then print_summary(result) end
  return 0
end
