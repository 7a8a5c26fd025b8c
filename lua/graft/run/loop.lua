-- The loop of graft.run: K networks train in lock-step; after every epoch (or every
-- `every` iterations) one grafting round runs over them; every epoch ends with the
-- analysis of each network, the tables and a checkpoint of the run.
local core = require "graft.core"
local progress = require "graft.progress"
local live = require "graft.live"
local grafting = require "graft.grafting"
local models = require "graft.models"
local train = require "graft.train"
local options = require "graft.run.options"
local records = require "graft.run.records"
local checkpoints = require "graft.run.checkpoints"
local ensemble_accuracy = require "graft.run.ensemble"
local ranks = require "graft.run.ranks"
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

-- Builds this process's networks and trainers into nets and trainers, indexed by
-- their number in the ring (so that the caller can close them if this fails), and
-- trains the ring; root is the checkpoint folder (nil without out), last its last
-- complete epoch. Under MPI (graft.run.ranks) the process holds networks
-- place.first..place.last and the records of all. Returns graft.run's result.
return function(o, data, root, last, nets, trainers)
  local K = o.nets
  local place = ranks.place(K)
  if place.size > 1 and (o.method == "distill" or o.method == "mutual") then
    -- distillation trains its teacher as a run of its own, mutual learning steps all
    -- networks on each batch: neither is spread over processes
    error(string.format("graft.run: method = '%s' cannot run over %d MPI processes; run it "
      .. "in one process (without mpirun)", o.method, place.size), 0)
  end
  if place.size > 1 and o.live then
    -- a process trains its block of the ring: one picture a process, drawn over each other
    error(string.format("graft.run: live cannot run over %d MPI processes (each holds a block of "
      .. "the ring); follow history.csv in out, or run in one process (without mpirun)", place.size), 0)
  end
  local teacher, teacher_final, steps = nil, nil, {}
  if o.method == "distill" then
    teacher, teacher_final = methods.teacher(o, data)
    steps[1] = methods.distill_step(teacher, o)
  elseif o.method == "mutual" then
    steps = methods.mutual_steps(trainers, o)
  end
  for k = place.first, place.last do
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
    -- the processes of an MPI run share one terminal: lines, not redrawn progress bars
    if place.size > 1 then trainers[k].progress = false end
  end
  -- under MPI: the state of the network before this block, received at each round
  local ghost = place.size > 1 and models.build(o.model, { data = data, seed = 0 }) or nil
  local block = { first = place.first, networks = K, ghost = ghost }
  local here = place:list(nets)
  local ring = { scion = o.scion, criterion = o.criterion, bins = o.bins, A = o.A, c = o.c,
                 round = o.round, alpha = o.alpha, alpha_rule = o.alpha_rule,
                 filter_level = o.filter_level, filter_rule = o.filter_rule,
                 gamma = o.gamma, a = o.a, seed = o.seed }
  -- a ring of one network takes nothing from outside: external grafting is then a no-op
  local grafts = o.scion == "noise" or o.scion == "internal" or (o.scion == "external" and K > 1)
  local say = not o.quiet and place.root

  -- one clock for the whole run's time left: the K trainers take turns in each
  -- epoch, or advance together when grafting every n iterations
  local clock = { count = o.every and 1 or K }
  for k = place.first, place.last do trainers[k].clock, trainers[k].place = clock, o.every and 0 or k - 1 end
  -- one live picture of this process's networks
  local board = o.live and live.board(o.live, "graft.run")
  for k = place.first, place.last do
    if board then board:watch(trainers[k]) end
    trainers[k].board, trainers[k].live_every = board or nil, o.live_every
  end

  local start = core.monotonic_seconds()
  local identity = checkpoints.identity(o, data)
  local state = { rounds = 0, iterations = 0, seconds = 0, log = {} }
  local history = {}
  local done = trainers[place.first].epoch
  if last then
    state = checkpoints.load(last, trainers, identity, o.out)
    done = trainers[place.first].epoch
    local histories = {}
    for k = place.first, place.last do histories[k] = trainers[k].history end
    histories = place:gather_networks(histories)
    for epoch = 1, done do
      for k = 1, K do history[#history + 1] = histories[k][epoch] end
    end
    if say then
      print(string.format("graft.run: resumed %s after epoch %d of %d", o.out, done, o.epochs))
    end
  elseif o.resume and say then
    print(string.format("graft.run: no complete epoch in %s: starting from epoch 1", o.out))
  end
  local log = state.log
  if o.out then
    core.make_dirs(o.out)
    -- on resume: exactly the completed epochs
    if place.root then records.write_tables(o.out, history, log) end
  end

  local counter = { iterations = state.iterations }
  -- one round over this process's block; returns the whole ring's entries
  local function graft_now()
    state.rounds = state.rounds + 1
    if ghost and o.scion == "external" then place:receive_previous(nets, ghost, "the state") end
    local entries = place:gather_list(grafting.graft_round(here, ring, state.rounds, block))
    for _, entry in ipairs(entries) do log[#log + 1] = entry end
    return entries
  end
  for epoch = done + 1, o.epochs do
    local epoch_records = {}
    if o.every or o.method == "mutual" then
      -- mutual learning steps all networks on one batch: they must take turns
      local steps = lockstep_epoch(place:list(trainers), o.every or math.huge, counter,
        grafts and graft_now or function() end)
      for i, record in ipairs(steps) do epoch_records[place.first + i - 1] = record end
    else
      for k = place.first, place.last do epoch_records[k] = trainers[k]:train_epoch() end
    end
    if grafts and not o.every then
      -- the authors' script tests before grafting; graft keeps both
      local before = {}
      for k = place.first, place.last do
        if o.test_before then epoch_records[k].test_top1_before = trainers[k]:evaluate().test_top1 end
        before[k] = { test_top1_before = epoch_records[k].test_top1_before }
      end
      local entries = graft_now()
      before = place:gather_networks(before)
      if say then progress.say(records.describe_round(o, state.rounds, entries, before)) end
    end
    -- how far the ring's networks are apart after this epoch's rounds: network k
    -- from k - 1 (the ghost, for the first of a block under MPI)
    if K > 1 and ghost then place:receive_previous(nets, ghost, "the grafted state") end
    local finished = {}
    for k = place.first, place.last do
      local record = epoch_records[k]
      record.network = k
      for field, value in pairs(analyse(nets[k], o)) do record[field] = value end
      if K > 1 then
        local previous = k > place.first and nets[k - 1] or ghost or nets[K]
        record.distance = grafting.distance(nets[k], previous)
      end
      local test = trainers[k]:evaluate()
      record.test_top1 = test.test_top1
      local previous = trainers[k].history[#trainers[k].history]
      record.best_before = best_before(previous and previous.best_before, record,
                                       grafts and not o.every)
      trainers[k]:end_epoch(record, test)
      finished[k] = record
      if o.on_epoch then o.on_epoch(k, epoch, record) end
    end
    finished = place:gather_networks(finished)
    for k = 1, K do history[#history + 1] = finished[k] end
    if o.out then
      checkpoints.save(root, epoch, trainers, { rounds = state.rounds,
        iterations = counter.iterations, seconds = state.seconds + core.monotonic_seconds() - start,
        log = log, identity = identity }, place)
      if place.root then records.write_tables(o.out, history, log) end
    end
  end

  local result = { options = o, histories = records.by_network(history), log = log, final = {}, history = history,
                   seconds = state.seconds + core.monotonic_seconds() - start }
  local finals = {}
  for k = place.first, place.last do
    local last_record = trainers[k].history[#trainers[k].history]
    local final = analyse(nets[k], o)
    final.test_top1 = last_record.test_top1
    final.final = last_record.test_top1
    final.best_before = last_record.best_before
    final.lr = options.initial_lr(o, k)
    finals[k] = final
  end
  result.final = place:gather_networks(finals)
  if o.ensemble and K > 1 then result.ensemble = ensemble_accuracy(here, data.test, place) end
  result.teacher = teacher_final
  for k = place.first, place.last do trainers[k]:close() end
  result.nets = nets

  if o.out then
    local saved, message = pcall(function()
      for k = place.first, place.last do
        nets[k]:save(string.format("%s/net%d.safetensors", o.out, k))
      end
    end)
    place:check_all("saving the networks", saved, message)
    if place.root then
      records.write_summary(o.out, result)
      -- the run is complete: its results are the files above
      core.remove_tree(root)
    end
  end
  return result
end
