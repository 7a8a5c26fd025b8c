-- The loop of graft.run: K networks train in lock-step; after every epoch (or every
-- `every` iterations) one grafting round runs over them; every epoch ends with the
-- analysis of each network, the tables and a checkpoint of the run.
local core = require "graft.core"
local grafting = require "graft.grafting"
local models = require "graft.models"
local train = require "graft.train"
local options = require "graft.run.options"
local records = require "graft.run.records"
local checkpoints = require "graft.run.checkpoints"
local ensemble_accuracy = require "graft.run.ensemble"
local methods = require "graft.run.methods"

-- One epoch of all K networks batch by batch in turn (trainer:train_batch), calling
-- graft_now() after every `every` iterations counted over the whole run. Returns
-- one record per network, as trainer:train_epoch() does.
local function lockstep_epoch(trainers, every, counter, graft_now)
  local epoch_records = {}
  while true do
    local stepped = false
    for k, t in ipairs(trainers) do
      if not epoch_records[k] then
        local n, record = t:train_batch()
        if n then stepped = true else epoch_records[k] = record end
      end
    end
    if not stepped then return epoch_records end
    counter.iterations = counter.iterations + 1
    if counter.iterations % every == 0 then graft_now() end
  end
end

-- The best test accuracy so far measured before a grafting round (the paper's and
-- the reference's metric), after this epoch's record: its test before the round, or
-- its only test when no round ran between its training and its test.
local function best_before(previous, record, grafted_after_training)
  local before = record.test_top1_before
  if not grafted_after_training then before = record.test_top1 end
  if before == nil then return previous end
  if previous == nil or before > previous then return before end
  return previous
end

local function analyse(net, o)
  local invalid = grafting.invalid_filters(net, o.threshold)
  return { information = grafting.information(net, o.bins), invalid = invalid.invalid,
           filters = invalid.filters, invalid_ratio = invalid.ratio }
end

-- Builds the K networks and trainers into nets and trainers (so that the caller can
-- close them if this fails) and trains the ring; root is the checkpoint folder (nil
-- without out), last its last complete epoch. Returns graft.run's result.
return function(o, data, root, last, nets, trainers)
  local K = o.nets
  local teacher, teacher_final, steps = nil, nil, {}
  if o.method == "distill" then
    teacher, teacher_final = methods.teacher(o, data)
    steps[1] = methods.distill_step(teacher, o)
  elseif o.method == "mutual" then
    steps = methods.mutual_steps(trainers, o)
  end
  for k = 1, K do
    -- each network its own initialisation and augmentation; data order: one stream
    -- per network unless same_order
    nets[k] = models.build(o.model, { data = data, seed = o.seed * 100 + k, init = o.init })
    trainers[k] = train.trainer {
      net = nets[k], data = data, epochs = o.epochs, batch = o.batch,
      lr = options.initial_lr(o, k), momentum = o.momentum, weight_decay = o.wd,
      schedule = o.schedule, seed = o.seed, stream = o.same_order and 0 or k,
      augment_stream = k, pad = o.pad, train_step = steps[k],
      quiet = o.quiet, name = K > 1 and string.format("net %d/%d", k, K) or nil,
    }
  end
  local ring = { scion = o.scion, criterion = o.criterion, bins = o.bins, A = o.A, c = o.c,
                 round = o.round, alpha = o.alpha, alpha_rule = o.alpha_rule,
                 filter_level = o.filter_level, filter_rule = o.filter_rule,
                 gamma = o.gamma, a = o.a, seed = o.seed }
  -- a ring of one network takes nothing from outside: external grafting is then a no-op
  local grafts = o.scion == "noise" or o.scion == "internal" or (o.scion == "external" and K > 1)

  local start = core.monotonic_seconds()
  local identity = checkpoints.identity(o, data)
  local state = { rounds = 0, iterations = 0, seconds = 0, log = {} }
  local history = {}
  if last then
    state = checkpoints.load(last, trainers, identity, o.out)
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
  if o.out then
    core.make_dirs(o.out)
    records.write_tables(o.out, history, log) -- on resume: exactly the completed epochs
  end

  local counter = { iterations = state.iterations }
  local function graft_now()
    state.rounds = state.rounds + 1
    local entries = grafting.graft_round(nets, ring, state.rounds)
    for _, entry in ipairs(entries) do log[#log + 1] = entry end
    return entries
  end
  for epoch = trainers[1].epoch + 1, o.epochs do
    local epoch_records = {}
    if o.every or o.method == "mutual" then
      -- mutual learning steps all networks on one batch: they must take turns
      epoch_records = lockstep_epoch(trainers, o.every or math.huge, counter,
        grafts and graft_now or function() end)
    else
      for k = 1, K do epoch_records[k] = trainers[k]:train_epoch() end
    end
    if grafts and not o.every then
      -- the authors' script tests before grafting; graft keeps both
      if o.test_before then
        for k = 1, K do epoch_records[k].test_top1_before = trainers[k]:evaluate().test_top1 end
      end
      local entries = graft_now()
      if not o.quiet then print(records.describe_round(o, state.rounds, entries, epoch_records)) end
    end
    for k = 1, K do
      local record = epoch_records[k]
      record.network = k
      for field, value in pairs(analyse(nets[k], o)) do record[field] = value end
      -- how far the ring's networks are apart after this epoch's rounds
      if K > 1 then record.distance = grafting.distance(nets[k], nets[k == 1 and K or k - 1]) end
      local test = trainers[k]:evaluate()
      record.test_top1 = test.test_top1
      local previous = trainers[k].history[#trainers[k].history]
      record.best_before = best_before(previous and previous.best_before, record,
                                       grafts and not o.every)
      trainers[k]:end_epoch(record, test)
      history[#history + 1] = record
      if o.on_epoch then o.on_epoch(k, epoch, record) end
    end
    if o.out then
      checkpoints.save(root, epoch, trainers, { rounds = state.rounds,
        iterations = counter.iterations, seconds = state.seconds + core.monotonic_seconds() - start,
        log = log, identity = identity })
      records.write_tables(o.out, history, log)
    end
  end

  local result = { options = o, histories = {}, log = log, final = {}, history = history,
                   seconds = state.seconds + core.monotonic_seconds() - start }
  for k = 1, K do
    result.histories[k] = trainers[k].history
    local last_record = trainers[k].history[#trainers[k].history]
    local final = analyse(nets[k], o)
    final.test_top1 = last_record.test_top1
    final.final = last_record.test_top1
    final.best_before = last_record.best_before
    final.lr = options.initial_lr(o, k)
    result.final[k] = final
  end
  if o.ensemble and K > 1 then result.ensemble = ensemble_accuracy(nets, data.test) end
  result.teacher = teacher_final
  for k = 1, K do trainers[k]:close() end
  result.nets = nets

  if o.out then
    for k = 1, K do nets[k]:save(string.format("%s/net%d.safetensors", o.out, k)) end
    records.write_summary(o.out, result)
    -- the run is complete: its results are the files above
    core.remove_tree(root)
  end
  return result
end
