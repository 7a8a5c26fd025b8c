-- graft train [options]: a grafting experiment from the shell, with the flags of the
-- authors' script (--model --epochs --lr --num --a --c --cos --difflr) and graft's own.
local usage = [[
usage: graft train [options]
Trains --num networks together and grafts them after every epoch (graft.run).
The authors' flags:
  --model NAME      resnet20 (default), resnet32/44/56/110, resnet20_leaky, mobilenetv2, ...
  --epochs N        epochs (default 10)
  --lr X            initial learning rate (default 0.1)
  --num K           networks in the ring (default 2; 1 is the baseline)
  --a A             A of the adaptive coefficient, eq. 7 (default 0.4)
  --c C             c of the adaptive coefficient, eq. 7 (default 500)
  --cos             cosine annealing per iteration (the default here; without --cos the
                    authors' script steps x0.1 every 60 epochs: use --schedule step)
  --difflr          network i of K starts at lr*(1+cos(pi*(K-i)/K))/2 (the default here;
                    --same-lr turns it off)
graft's own:
  --data NAME       fashion-mnist (default), mnist, cifar10, cifar100
  --data-dir DIR    where the data set is (default: see graft.data)
  --scion S         external (default), noise, internal, none
  --criterion C     entropy (default, eq. 6), entropy_sum (eq. 5), l1
  --alpha X         a fixed alpha instead of eq. 7
  --every N         graft every N iterations instead of after every epoch
  --filter-level    graft filter by filter instead of layer by layer
  --no-round        do not round alpha to 2 decimals
  --gamma X         invalid-filter threshold of the noise and internal scions (1e-2)
  --noise-a X       sigma_t = a^t of the noise scion (0.9)
  --schedule S      cosine (default), step, multistep, constant
  --same-order      every network reads the data in the same order
  --seed N          seed of initialisation, data order and noise (default 1)
  --subset N        first N training images; --test-subset N: first N test images
  --batch N         batch size (default 128)
  --wd X            weight decay (default 5e-4)
  --threshold X     l1 threshold for counting invalid filters (default 1e-2)
  --no-test-before  do not test before each grafting round
  --no-ensemble     skip the ensemble's test accuracy
  --out DIR         write history.csv/.jsonl, grafting.csv/.jsonl (after every epoch),
                    summary.json and net<k>.safetensors (at the end), and a checkpoint of
                    every network and of the run after every epoch (removed at the end)
  --resume          continue the run in --out from its last complete epoch (give the
                    same options; the result is bit-identical to an uninterrupted run)
  --quiet           no per-epoch lines
  -h, --help        this text]]

local VALUE = {
  ["--model"] = { "model", "string" }, ["--epochs"] = { "epochs", "integer" },
  ["--lr"] = { "lr", "number" }, ["--num"] = { "nets", "integer" }, ["--a"] = { "A", "number" },
  ["--c"] = { "c", "number" }, ["--data"] = { "data", "string" },
  ["--data-dir"] = { "data_dir", "string" }, ["--scion"] = { "scion", "string" },
  ["--criterion"] = { "criterion", "string" }, ["--alpha"] = { "alpha", "number" },
  ["--every"] = { "every", "integer" },
  ["--gamma"] = { "gamma", "number" }, ["--noise-a"] = { "a", "number" },
  ["--schedule"] = { "schedule", "string" }, ["--seed"] = { "seed", "integer" },
  ["--subset"] = { "subset", "integer" }, ["--test-subset"] = { "test_subset", "integer" },
  ["--batch"] = { "batch", "integer" }, ["--wd"] = { "wd", "number" },
  ["--threshold"] = { "threshold", "number" }, ["--out"] = { "out", "string" },
}
local FLAG = {
  ["--cos"] = { "schedule", "cosine" }, ["--difflr"] = { "diff_lr", true },
  ["--same-lr"] = { "diff_lr", false }, ["--filter-level"] = { "filter_level", true },
  ["--no-round"] = { "round", false }, ["--same-order"] = { "same_order", true },
  ["--no-test-before"] = { "test_before", false }, ["--no-ensemble"] = { "ensemble", false },
  ["--quiet"] = { "quiet", true }, ["--resume"] = { "resume", true },
}

local function convert(text, kind)
  if kind == "string" then return text end
  local n = tonumber(text)
  if n == nil then return nil end
  if kind == "integer" then return math.tointeger(n) end
  return n
end

-- Options for graft.run from the arguments, or nil and a message.
local function parse(args)
  local opts = {}
  local i = 1
  while i <= #args do
    local a = args[i]
    local name, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    name = name or a
    if VALUE[name] then
      local text = inline or args[i + 1]
      if text == nil then return nil, name .. " needs a value" end
      local key, kind = VALUE[name][1], VALUE[name][2]
      local value = convert(text, kind)
      if value == nil then return nil, string.format("%s needs %s %s, got '%s'", name,
        kind == "integer" and "an" or "a", kind, text) end
      opts[key] = value
      if not inline then i = i + 1 end
    elseif FLAG[name] and not inline then
      opts[FLAG[name][1]] = FLAG[name][2]
    else
      return nil, "unknown argument '" .. a .. "'"
    end
    i = i + 1
  end
  return opts
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
  for _, a in ipairs(args) do
    if a == "-h" or a == "--help" then
      print(usage)
      return 0
    end
  end
  local opts, err = parse(args)
  if not opts then
    io.stderr:write("graft train: ", err, "\n", usage, "\n")
    return 2
  end
  local run = require "graft.run"
  local ok, result = pcall(run, opts)
  if not ok then
    io.stderr:write("graft train: ", tostring(result), "\n")
    return 1
  end
  print_summary(result)
  return 0
end
