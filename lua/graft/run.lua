-- graft.run{...}: one grafting experiment. K networks of one model train in
-- lock-step on one data set, each with its own initialisation, data order and
-- (with diff_lr) initial learning rate; after every epoch one grafting round
-- (lua/graft/grafting.lua) runs over them. Returns every network's history, the
-- grafting log, the final accuracies and the ensemble's, and writes them into `out`,
-- with a checkpoint of the whole run after every epoch so that `resume = true`
-- continues a killed run to the same bytes.
local core = require "graft.core"
local doc = require "graft.doc"
local json = require "graft.json"
local grafting = require "graft.grafting"
local data_sets = require "graft.data"
local models = require "graft.models"
local train = require "graft.train"

local DEFAULTS = {
  model = "resnet20", data = "fashion-mnist", nets = 2, epochs = 10, scion = "external",
  criterion = "entropy", A = 0.4, c = 500, round = true, bins = 10, filter_level = false,
  diff_lr = true, same_order = false, schedule = "cosine", seed = 1, batch = 128, lr = 0.1,
  wd = 5e-4, momentum = 0.9, ensemble = true, threshold = 1e-2, gamma = 1e-2, a = 0.9,
  test_before = true, quiet = false,
}
local OPTIONAL = { alpha = true, every = true, subset = true, test_subset = true, out = true,
                   data_dir = true, pad = true, dataset = true, on_epoch = true, resume = true }
local SCIONS = { none = true, noise = true, internal = true, external = true }

-- Errors name the line that called graft.run: fail is called by graft.run itself,
-- option_fail by read_options.
local function fail(fmt, ...) error(string.format("graft.run: " .. fmt, ...), 3) end
local function option_fail(fmt, ...) error(string.format("graft.run: " .. fmt, ...), 4) end

local function read_options(opts)
  if type(opts) ~= "table" then option_fail("options must be a table") end
  local o = {}
  for k, v in pairs(opts) do
    if DEFAULTS[k] == nil and not OPTIONAL[k] then option_fail("unknown option '%s'", tostring(k)) end
    o[k] = v
  end
  for k, v in pairs(DEFAULTS) do
    if o[k] == nil then o[k] = v end
  end
  for _, k in ipairs { "nets", "epochs", "seed", "batch", "bins" } do
    if math.type(o[k]) ~= "integer" or o[k] < 1 then
      option_fail("%s must be a positive integer, got %s", k, tostring(o[k]))
    end
  end
  if not SCIONS[o.scion] then
    option_fail("scion must be 'none', 'noise', 'internal' or 'external', got '%s'", tostring(o.scion))
  end
  if o.criterion ~= "entropy" and o.criterion ~= "entropy_sum" and o.criterion ~= "l1" then
    option_fail("criterion must be 'entropy', 'entropy_sum' or 'l1', got '%s'", tostring(o.criterion))
  end
  if o.every ~= nil and (math.type(o.every) ~= "integer" or o.every < 1) then
    option_fail("every (iterations between grafting rounds) must be a positive integer, got %s",
      tostring(o.every))
  end
  if o.alpha ~= nil and (type(o.alpha) ~= "number" or o.alpha < 0 or o.alpha > 1) then
    option_fail("alpha (fixed) must be a number in [0, 1], got %s", tostring(o.alpha))
  end
  if type(o.resume) == "string" then
    if o.out ~= nil and o.out ~= o.resume then
      option_fail("resume = '%s' and out = '%s' name different directories", o.resume, tostring(o.out))
    end
    o.out = o.resume
  elseif o.resume ~= nil and type(o.resume) ~= "boolean" then
    option_fail("resume must be true or the run's directory, got %s", tostring(o.resume))
  end
  if o.resume and not o.out then option_fail("resume needs out (the directory of the run to continue)") end
  return o
end

-- Network k's initial learning rate: the reference's "different LR" when asked.
local function initial_lr(o, k)
  if o.diff_lr then return train.diff_lr(o.lr, k, o.nets) end
  return o.lr
end

local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function make_dir(dir)
  local ok = os.execute("mkdir -p " .. shell_quote(dir))
  if not ok then fail("cannot create the output directory %s", dir) end
end

-- Writes text to path through a temporary file and a rename (never a partial file).
local function write_file(path, text)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "wb")
  if not f then error("graft.run: cannot write " .. path .. ": " .. err, 0) end
  f:write(text)
  f:close()
  local ok, rename_err = os.rename(tmp, path)
  if not ok then error("graft.run: cannot rename " .. tmp .. ": " .. rename_err, 0) end
end

local function csv_value(v)
  if v == nil then return "" end
  if type(v) == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.8g", v)
  end
  if type(v) == "boolean" then return v and "true" or "false" end
  local s = tostring(v)
  if s:find('[,"\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function csv(columns, rows)
  local lines = { table.concat(columns, ",") }
  for _, row in ipairs(rows) do
    local cells = {}
    for i, c in ipairs(columns) do cells[i] = csv_value(row[c]) end
    lines[#lines + 1] = table.concat(cells, ",")
  end
  return table.concat(lines, "\n") .. "\n"
end

local function jsonl(rows)
  local lines = {}
  for i, row in ipairs(rows) do
    local copy = {}
    for k, v in pairs(row) do copy[k] = v end
    lines[i] = json.encode(json.object(copy))
  end
  return table.concat(lines, "\n") .. (#lines > 0 and "\n" or "")
end

local HISTORY_COLUMNS = { "network", "epoch", "lr", "loss", "train_top1", "test_top1_before",
  "test_top1", "test_loss", "information", "invalid", "invalid_ratio", "distance", "images_per_s",
  "seconds" }
local LOG_COLUMNS = { "round", "scion", "network", "source", "layer", "alpha", "info_self",
  "info_other", "entropy_self", "entropy_other", "l1_self", "l1_other", "grafted", "sigma" }

-- Test accuracy (%) of the ensemble: the mean of the K networks' softmax outputs.
local function ensemble_accuracy(nets, test_set)
  local loader = core.loader(test_set, { batch = 500 })
  local modes = {}
  for k, net in ipairs(nets) do
    modes[k] = net:is_training()
    net:eval()
  end
  local hits, total = 0, 0
  for images, labels, n in loader:epoch() do
    local sums = {}
    for _, net in ipairs(nets) do
      local logits = net:forward(images):totable()
      for i = 1, n do
        local row, top = logits[i], -math.huge
        for _, v in ipairs(row) do top = math.max(top, v) end
        local z = 0
        for _, v in ipairs(row) do z = z + math.exp(v - top) end
        local s = sums[i] or {}
        for j, v in ipairs(row) do s[j] = (s[j] or 0) + math.exp(v - top) / z end
        sums[i] = s
      end
    end
    for i = 1, n do
      local best, best_j = -1, 0
      for j, v in ipairs(sums[i]) do
        if v > best then best, best_j = v, j end
      end
      if best_j - 1 == labels[i] then hits = hits + 1 end
    end
    total = total + n
  end
  loader:close()
  for k, net in ipairs(nets) do
    if modes[k] then net:train() end
  end
  return 100 * hits / total
end

-- One epoch of all K networks batch by batch in turn (trainer:train_batch), calling
-- graft_now() after every `every` iterations counted over the whole run. Returns
-- one record per network, as trainer:train_epoch() does.
local function lockstep_epoch(trainers, every, counter, graft_now)
  local records = {}
  while true do
    local stepped = false
    for k, t in ipairs(trainers) do
      if not records[k] then
        local n, record = t:train_batch()
        if n then stepped = true else records[k] = record end
      end
    end
    if not stepped then return records end
    counter.iterations = counter.iterations + 1
    if counter.iterations % every == 0 then graft_now() end
  end
end

local function analyse(net, o)
  local invalid = grafting.invalid_filters(net, o.threshold)
  return { information = grafting.information(net, o.bins), invalid = invalid.invalid,
           filters = invalid.filters, invalid_ratio = invalid.ratio }
end

-- "grafting round 3 (external, entropy): mean alpha 0.52 / 0.48; tested before: 85.10% 84.20%"
local function describe_round(o, round, entries, records)
  local parts = { string.format("grafting round %d (%s%s)", round, o.scion,
    o.scion == "external" and (", " .. (o.alpha and ("alpha " .. o.alpha) or o.criterion)) or "") }
  local sums, counts, grafted = {}, {}, {}
  for _, e in ipairs(entries) do
    if e.alpha then
      sums[e.network] = (sums[e.network] or 0) + e.alpha
      counts[e.network] = (counts[e.network] or 0) + 1
    end
    if e.grafted then grafted[#grafted + 1] = tostring(e.grafted) end
  end
  if #sums > 0 then
    local means = {}
    for k = 1, #sums do means[k] = string.format("%.2f", sums[k] / counts[k]) end
    parts[#parts + 1] = "mean alpha " .. table.concat(means, " / ")
  end
  if #grafted > 0 then parts[#parts + 1] = "filters grafted " .. table.concat(grafted, " / ") end
  if records[1].test_top1_before then
    local before = {}
    for k, r in ipairs(records) do before[k] = string.format("%.2f%%", r.test_top1_before) end
    parts[#parts + 1] = "test before grafting " .. table.concat(before, " / ")
  end
  if #parts == 1 then return parts[1] end
  return parts[1] .. ": " .. table.concat(parts, ", ", 2)
end

-- ---- checkpoints of the whole run ----
-- out/checkpoints/epoch-0003/run_state.json     the run's own state (below)
-- out/checkpoints/epoch-0003/net<k>/epoch-0003/ network k's trainer checkpoint
-- An epoch's directory is filled under a temporary name and renamed into place,
-- so a directory named epoch-NNNN always holds all K networks and the run state.
local RUN_STATE_FORMAT = "graft-run/1"

-- Options that do not change what a run computes: they may differ on resume.
local FREE_ON_RESUME = { quiet = true, out = true, resume = true, data_dir = true,
                         ensemble = true, dataset = true, on_epoch = true }

-- What must be the same to continue a run: every other option, and the data set's size.
local function run_identity(o, data)
  local identity = { train_images = data.train:size(), test_images = data.test:size() }
  for key, value in pairs(o) do
    local kind = type(value)
    if not FREE_ON_RESUME[key] and (kind == "number" or kind == "string" or kind == "boolean") then
      identity[key] = value
    end
  end
  return identity
end

local function check_same_run(saved, identity, dir)
  local keys = {}
  for key in pairs(saved) do keys[#keys + 1] = key end
  for key in pairs(identity) do
    if saved[key] == nil then keys[#keys + 1] = key end
  end
  table.sort(keys)
  for _, key in ipairs(keys) do
    local was, now = saved[key], identity[key]
    if was == json.null then was = nil end
    if was ~= now then
      error(string.format("graft.run: cannot resume %s with different options: %s is %s here, "
        .. "%s in the run being resumed; give the run's options again, or start a new run in "
        .. "another out", dir, key, now == nil and "unset" or tostring(now),
        was == nil and "unset" or tostring(was)), 0)
    end
  end
end

local function remove_dir(dir) os.execute("rm -rf " .. shell_quote(dir)) end

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then error("graft.run: cannot read " .. path .. ": " .. err, 0) end
  local text = f:read("a")
  f:close()
  return text
end

local function plain(record)
  setmetatable(record, nil)
  return record
end

-- Saves the run after `epoch`: every trainer, then run_state.json, then the rename
-- that makes the epoch count; older epochs are removed afterwards.
local function save_run(root, epoch, trainers, state)
  local name = string.format("epoch-%04d", epoch)
  local tmp = string.format("%s/.%s.tmp", root, name)
  remove_dir(tmp)
  make_dir(tmp)
  for k, t in ipairs(trainers) do t:save_checkpoint(string.format("%s/net%d", tmp, k)) end
  local log = {}
  for i, entry in ipairs(state.log) do
    local copy = {}
    for k, v in pairs(entry) do copy[k] = v end
    log[i] = json.object(copy)
  end
  write_file(tmp .. "/run_state.json", json.encode(json.object {
    format = RUN_STATE_FORMAT, epoch = epoch, rounds = state.rounds,
    iterations = state.iterations, seconds = state.seconds,
    options = json.object(state.identity), log = json.array(log),
  }) .. "\n")
  local ok, err = os.rename(tmp, root .. "/" .. name)
  if not ok then error("graft.run: cannot rename " .. tmp .. ": " .. err, 0) end
  os.execute(string.format("cd %s && for d in epoch-* .epoch-*; do [ \"$d\" = %s ] || "
    .. "rm -rf \"$d\"; done", shell_quote(root), name))
end

-- Loads the run saved in the epoch directory `last` into the trainers; returns its state.
local function load_run(last, trainers, identity, out)
  local state = json.decode(read_file(last .. "/run_state.json"))
  if state.format ~= RUN_STATE_FORMAT then
    error(string.format("graft.run: %s/run_state.json is not a graft.run state (format %s)", last,
      tostring(state.format)), 0)
  end
  check_same_run(state.options, identity, out)
  for k, t in ipairs(trainers) do
    local dir = string.format("%s/net%d", last, k)
    if not t:load_checkpoint(dir) or t.epoch ~= state.epoch then
      error(string.format("graft.run: %s does not hold network %d after epoch %d", dir, k,
        state.epoch), 0)
    end
  end
  for _, entry in ipairs(state.log) do plain(entry) end
  return state
end

-- The body of graft.run: builds the K networks and trainers into nets and trainers
-- (so that the caller can close them if this fails) and trains the ring; root is
-- the checkpoint directory (nil without out), last its last complete epoch.
local function run_ring(o, data, root, last, nets, trainers)
  local K = o.nets
  for k = 1, K do
    -- each network its own initialisation; data order: one stream per network
    -- unless same_order
    nets[k] = models.build(o.model, { data = data, seed = o.seed * 100 + k })
    trainers[k] = train.trainer {
      net = nets[k], data = data, epochs = o.epochs, batch = o.batch, lr = initial_lr(o, k),
      momentum = o.momentum, weight_decay = o.wd, schedule = o.schedule, seed = o.seed,
      stream = o.same_order and 0 or k, pad = o.pad, quiet = o.quiet,
      name = K > 1 and string.format("net %d/%d", k, K) or nil,
    }
  end
  local ring = { scion = o.scion, criterion = o.criterion, bins = o.bins, A = o.A, c = o.c,
                 round = o.round, alpha = o.alpha, filter_level = o.filter_level,
                 gamma = o.gamma, a = o.a, seed = o.seed }
  -- a ring of one network takes nothing from outside: external grafting is then a no-op
  local grafts = o.scion == "noise" or o.scion == "internal" or (o.scion == "external" and K > 1)

  local start = core.monotonic_seconds()
  local identity = run_identity(o, data)
  local state = { rounds = 0, iterations = 0, seconds = 0, log = {} }
  local history = {}
  if last then
    state = load_run(last, trainers, identity, o.out)
    for epoch = 1, trainers[1].epoch do
      for k = 1, K do history[#history + 1] = trainers[k].history[epoch] end
    end
    if not o.quiet then
      print(string.format("graft.run: resumed %s after epoch %d of %d", o.out, trainers[1].epoch,
        o.epochs))
    end
  elseif o.resume and not o.quiet then
    print(string.format("graft.run: no complete epoch in %s: starting from epoch 1", o.out))
  end
  local log = state.log
  if o.out then make_dir(o.out) end
  local function save_tables()
    if not o.out then return end
    write_file(o.out .. "/history.csv", csv(HISTORY_COLUMNS, history))
    write_file(o.out .. "/history.jsonl", jsonl(history))
    write_file(o.out .. "/grafting.csv", csv(LOG_COLUMNS, log))
    write_file(o.out .. "/grafting.jsonl", jsonl(log))
  end
  save_tables() -- on resume: exactly the completed epochs

  local counter = { iterations = state.iterations }
  local function graft_now()
    state.rounds = state.rounds + 1
    local entries = grafting.graft_round(nets, ring, state.rounds)
    for _, entry in ipairs(entries) do log[#log + 1] = entry end
    return entries
  end
  for epoch = trainers[1].epoch + 1, o.epochs do
    local records = {}
    if o.every then
      records = lockstep_epoch(trainers, o.every, counter, grafts and graft_now or function() end)
    else
      for k = 1, K do records[k] = trainers[k]:train_epoch() end
    end
    if grafts and not o.every then
      -- the authors' script tests before grafting; graft keeps both
      if o.test_before then
        for k = 1, K do records[k].test_top1_before = trainers[k]:evaluate().test_top1 end
      end
      local entries = graft_now()
      if not o.quiet then print(describe_round(o, state.rounds, entries, records)) end
    end
    for k = 1, K do
      local record = records[k]
      record.network = k
      for field, value in pairs(analyse(nets[k], o)) do record[field] = value end
      -- how far the ring's networks are apart after this epoch's rounds
      if K > 1 then record.distance = grafting.distance(nets[k], nets[k == 1 and K or k - 1]) end
      trainers[k]:end_epoch(record, trainers[k]:evaluate())
      history[#history + 1] = record
      if o.on_epoch then o.on_epoch(k, epoch, record) end
    end
    if o.out then
      save_run(root, epoch, trainers, { rounds = state.rounds, iterations = counter.iterations,
        seconds = state.seconds + core.monotonic_seconds() - start, log = log,
        identity = identity })
    end
    save_tables()
  end

  local result = { options = o, histories = {}, log = log, final = {}, history = history,
                   seconds = state.seconds + core.monotonic_seconds() - start }
  for k = 1, K do
    result.histories[k] = trainers[k].history
    local last_record = trainers[k].history[#trainers[k].history]
    local final = analyse(nets[k], o)
    final.test_top1 = last_record.test_top1
    final.lr = initial_lr(o, k)
    result.final[k] = final
  end
  if o.ensemble and K > 1 then result.ensemble = ensemble_accuracy(nets, data.test) end
  for k = 1, K do trainers[k]:close() end
  result.nets = nets

  if o.out then
    for k = 1, K do nets[k]:save(string.format("%s/net%d.safetensors", o.out, k)) end
    local summary = { final = result.final, ensemble = result.ensemble, seconds = result.seconds,
                      options = {} }
    for key, value in pairs(o) do
      if type(value) ~= "function" and type(value) ~= "table" then summary.options[key] = value end
    end
    write_file(o.out .. "/summary.json", json.encode(summary, { indent = 2 }) .. "\n")
    -- the run is complete: its results are the files above
    remove_dir(root)
  end
  return result
end

local run = function(opts)
  local o = read_options(opts)
  local root = o.out and (o.out .. "/checkpoints")
  local last = root and core.checkpoint_last(root)
  if last and not o.resume then
    fail("%s already holds the checkpoints of a run (%s); pass resume = true (graft train "
      .. "--resume) to continue it, or choose another out", o.out, last)
  end
  local data = o.dataset or data_sets.load(o.data, { dir = o.data_dir, subset = o.subset,
                                                     test_subset = o.test_subset })
  local nets, trainers = {}, {}
  local ok, result = pcall(run_ring, o, data, root, last, nets, trainers)
  if not ok then
    -- a failed run releases its loader threads and buffers now, not at some later
    -- garbage collection; the checkpoints of its complete epochs stay for resume
    for _, t in ipairs(trainers) do t:close() end
    error(result, 0)
  end
  return result
end

local M = doc(run, [==[
graft.run{model='resnet20', data='fashion-mnist', nets=2, epochs=10, scion='external', ...} -> result
One grafting experiment: `nets` networks (K) train in lock-step, and after every epoch
one grafting round runs (grafting happens after the last epoch too, as in Algorithm 1);
with every=N, a round runs after every N iterations instead (the K networks then
train batch by batch in turn; no test before the rounds).
Network k (1-based) is initialised with seed*100 + k, reads the data in its own order
(stream k; same_order=true: one order for all) and, with diff_lr=true, starts at the
reference's different learning rate lr*(1+cos(pi*(K-k)/K))/2.
Options (defaults): scion='external' | 'noise' | 'internal' | 'none'; criterion='entropy'
(eq. 6) | 'entropy_sum' (eq. 5) | 'l1'; A=0.4, c=500, round=true (alpha to 2 decimals);
alpha=nil (a number: fixed alpha); every=nil (graft every N iterations);
filter_level=false; bins=10; gamma=1e-2 and a=0.9 (noise and internal scions:
threshold, sigma_t = a^t); diff_lr=true; same_order=false;
schedule='cosine' | 'step' (x0.1 every 60 epochs) | ...; seed=1; subset, test_subset
(first n images); batch=128; lr=0.1; wd=5e-4; momentum=0.9; pad (crop padding, the data
set's); threshold=1e-2 (invalid filters: l1 under it); test_before=true (also test
each network before each grafting round, as the authors' script reports);
ensemble=true; out='runs/x'; quiet=false; dataset (an already loaded graft.data set);
on_epoch=function(k, epoch, record); resume=true (or the run's directory): continue
the run in out from its last complete epoch, bit-identical to an uninterrupted run
(the options must be the same; quiet, ensemble, data_dir, dataset, on_epoch may differ).
result: histories[k] (per epoch: loss, train_top1, test_top1_before, test_top1, lr,
information, invalid, invalid_ratio, distance (to network k - 1, see graft.distance;
K > 1), seconds...), history (all records), log (the
grafting log: one entry per round, network and layer), final[k] = {test_top1,
invalid, filters, invalid_ratio, information, lr}, ensemble (test accuracy of the
mean softmax of the K networks), nets, seconds.
Files in out: history.csv, history.jsonl, grafting.csv, grafting.jsonl (rewritten
after every epoch), checkpoints/epoch-NNNN (every network and the run's state after
every epoch; removed when the run is complete), net<k>.safetensors and summary.json
at the end. Without resume, an out that holds checkpoints is refused.]==])

local graft = package.loaded["graft"]
if type(graft) == "table" then graft.run = M end

return M
