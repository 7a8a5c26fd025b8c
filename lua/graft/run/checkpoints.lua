-- graft.run's checkpoints of a whole run, one folder per epoch:
--   out/checkpoints/epoch-0003/run_state.json     the run's own state (below)
--   out/checkpoints/epoch-0003/net<k>/epoch-0003/ network k's trainer checkpoint
-- graft.core.epoch_save fills an epoch's folder under a temporary name and renames
-- it into place, so a folder named epoch-NNNN always holds all K networks and the
-- run state.
local core = require "graft.core"
local json = require "graft.json"

local checkpoints = {}

local RUN_STATE_FORMAT = "graft-run/1"

-- Options that do not change what a run computes: they may differ on resume.
local FREE_ON_RESUME = { quiet = true, out = true, resume = true, data_dir = true,
                         ensemble = true, dataset = true, on_epoch = true }

-- The plain options that decide what a run computes.
local function plain_options(o)
  local identity = {}
  for key, value in pairs(o) do
    local kind = type(value)
    if not FREE_ON_RESUME[key] and (kind == "number" or kind == "string" or kind == "boolean") then
      identity[key] = value
    end
  end
  return identity
end

-- What must be the same to continue a run: those options, and the data set's size.
function checkpoints.identity(o, data)
  local identity = plain_options(o)
  identity.train_images, identity.test_images = data.train:size(), data.test:size()
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

-- An error when the options a finished run in dir recorded (its summary's) differ
-- from o's in anything that decides what the run computes.
function checkpoints.check_same_options(saved, o, dir)
  check_same_run(plain_options(saved), plain_options(o), dir)
end

-- Saves the run after `epoch` into root: every trainer's checkpoint (a folder per
-- network), then run_state.json (core.epoch_save: the epoch counts once all are
-- written; older epochs are removed). Under MPI every process writes its networks
-- into the epoch's shared temporary folder, and once all have, rank 0 adds the run
-- state and renames it (the folder must be on a file system every process sees).
-- state = {rounds, iterations, seconds, log, identity}; place: graft.run.ranks.
function checkpoints.save(root, epoch, trainers, state, place)
  local members = {}
  for k = place.first, place.last do
    local t = trainers[k]
    members[#members + 1] = { "net" .. k, function(path) t:save_checkpoint(path) end }
  end
  local function run_state()
    local log = {}
    for i, entry in ipairs(state.log) do
      local copy = {}
      for k, v in pairs(entry) do copy[k] = v end
      log[i] = json.object(copy)
    end
    return { "run_state.json", json.encode(json.object {
      format = RUN_STATE_FORMAT, epoch = epoch, rounds = state.rounds,
      iterations = state.iterations, seconds = state.seconds,
      options = json.object(state.identity), log = json.array(log),
    }) .. "\n" }
  end
  if place.size == 1 then
    members[#members + 1] = run_state()
    core.epoch_save(root, epoch, members)
    return
  end
  local what = string.format("the checkpoint of epoch %d", epoch)
  local written, problem = pcall(place.check_all, place, what,
    pcall(core.epoch_write, root, epoch, place.tag, members))
  if not written then
    -- every process is done with the folder: rank 0 removes what was written
    if place.root then core.epoch_discard(root, epoch, place.tag) end
    error(problem, 0)
  end
  local ok, message = true, nil
  if place.root then
    ok, message = pcall(function()
      core.epoch_write(root, epoch, place.tag, { run_state() })
      core.epoch_commit(root, epoch, place.tag)
    end)
  end
  place:check_all(what, ok, message)
end

-- Loads the run saved in the epoch folder `last` into the trainers and returns its
-- state; an error if its options differ from identity (out names the run).
function checkpoints.load(last, trainers, identity, out)
  local state = json.decode(read_file(last .. "/run_state.json"))
  if state.format ~= RUN_STATE_FORMAT then
    error(string.format("graft.run: %s/run_state.json is not a graft.run state (format %s)", last,
      tostring(state.format)), 0)
  end
  check_same_run(state.options, identity, out)
  for k, t in pairs(trainers) do
    local dir = string.format("%s/net%d", last, k)
    if not t:load_checkpoint(dir) or t.epoch ~= state.epoch then
      error(string.format("graft.run: %s does not hold network %d after epoch %d", dir, k,
        state.epoch), 0)
    end
  end
  for _, entry in ipairs(state.log) do plain(entry) end
  return state
end

return checkpoints
