-- graft train [options]: a grafting experiment from the shell, with the flags of the
-- authors' script (--model --epochs --lr --num --a --c --cos --difflr) and graft's own;
-- every flag is an option of graft.run, checked and explained by its declaration.
local core = require "graft.core"
local cli = require "graft.options"
local run = require "graft.run"
local run_options = require "graft.run.options"

local function parser()
  local spec = run_options.spec
  local p = cli.parser("graft train",
    "Trains --num networks together and grafts them after every epoch (graft.run).",
    "Without --cos the authors' script steps the rate x0.1 every 60 epochs: use --schedule step.")
  local _, authors = spec:add_arguments(p, {
    "model", "epochs", "lr", { "nets", flag = "--num" }, { "A", flag = "--a" }, { "c", flag = "--c" },
    { "schedule", flag = "--cos", value = "cosine", help = "cosine annealing per iteration (the default here)" },
    { "diff_lr", flag = "--difflr", value = true,
      help = "network i of K starts at lr*(1+cos(pi*(K-i)/K))/2 (the default here)" },
  })
  local _, own = spec:add_arguments(p, {
    "data", "data_dir", "scion", "criterion", "alpha", "every", "filter_level", "round", "gamma",
    { "a", flag = "--noise-a" }, "schedule", { "diff_lr", flag = "--same-lr", value = false,
                                              help = "every network starts at --lr" },
    "same_order", "seed", "subset", "test_subset", "batch", "wd", "threshold", "test_before",
    "ensemble", "out", { "resume", value = true,
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
  local ok, result = pcall(run, opts)
  if not ok then
    io.stderr:write("graft train: ", tostring(result), "\n")
    -- stopped by Ctrl-C: the status of a program ended by SIGINT
    return getmetatable(result) == require("graft.train").Stopped and 130 or 1
  end
  -- under MPI every process holds the results; one prints them
  if core.mpi_rank() == 0 then print_summary(result) end
  return 0
end
