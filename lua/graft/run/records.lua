-- What graft.run writes and prints about its epochs and grafting rounds: the
-- history and grafting-log tables (CSV and JSON lines), the summary, and the line
-- printed after each round.
local core = require "graft.core"
local csv = require "graft.csv"
local json = require "graft.json"

local records = {}

local HISTORY_COLUMNS = { "network", "epoch", "lr", "loss", "train_top1", "test_top1_before",
  "test_top1", "best_before", "test_loss", "information", "invalid", "invalid_ratio", "distance", "images_per_s",
  "seconds" }
local LOG_COLUMNS = { "round", "scion", "network", "source", "layer", "alpha", "info_self",
  "info_other", "entropy_self", "entropy_other", "l1_self", "l1_other", "grafted", "sigma" }

local function jsonl(rows)
  local lines = {}
  for i, row in ipairs(rows) do
    local copy = {}
    for k, v in pairs(row) do copy[k] = v end
    lines[i] = json.encode(json.object(copy))
  end
  return table.concat(lines, "\n") .. (#lines > 0 and "\n" or "")
end

-- Rewrites out/history.{csv,jsonl} and out/grafting.{csv,jsonl}.
function records.write_tables(out, history, log)
  core.write_file(out .. "/history.csv", csv.encode(HISTORY_COLUMNS, history))
  core.write_file(out .. "/history.jsonl", jsonl(history))
  core.write_file(out .. "/grafting.csv", csv.encode(LOG_COLUMNS, log))
  core.write_file(out .. "/grafting.jsonl", jsonl(log))
end

-- The rows of a JSON-lines file written by write_tables, as plain tables; an error
-- names the file and the line.
function records.read_rows(path)
  local f, problem = io.open(path, "rb")
  if not f then error("graft.run: cannot read " .. tostring(problem), 0) end
  local rows = {}
  for line in f:lines() do
    if line ~= "" then
      local ok, row = pcall(json.decode, line)
      if not ok or type(row) ~= "table" then
        f:close()
        error(string.format("graft.run: %s line %d: %s", path, #rows + 1, tostring(row)), 0)
      end
      rows[#rows + 1] = setmetatable(row, nil)
    end
  end
  f:close()
  return rows
end

-- The history's records of each network, in order: histories[k] = {epoch 1, ...}.
function records.by_network(history)
  local histories = {}
  for _, record in ipairs(history) do
    local k = record.network
    histories[k] = histories[k] or {}
    table.insert(histories[k], record)
  end
  return histories
end

-- out/summary.json: the final figures and every plain option.
function records.write_summary(out, result)
  local summary = { final = result.final, ensemble = result.ensemble, seconds = result.seconds,
                    teacher = result.teacher, options = {} }
  for key, value in pairs(result.options) do
    if type(value) ~= "function" and type(value) ~= "table" then summary.options[key] = value end
  end
  core.write_file(out .. "/summary.json", json.encode(summary, { indent = 2 }) .. "\n")
end

-- "grafting round 3 (external, entropy): mean alpha 0.52 / 0.48; tested before: 85.10% 84.20%"
function records.describe_round(o, round, entries, epoch_records)
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
  if epoch_records[1].test_top1_before then
    local before = {}
    for k, r in ipairs(epoch_records) do before[k] = string.format("%.2f%%", r.test_top1_before) end
    parts[#parts + 1] = "test before grafting " .. table.concat(before, " / ")
  end
  if #parts == 1 then return parts[1] end
  return parts[1] .. ": " .. table.concat(parts, ", ", 2)
end

return records
