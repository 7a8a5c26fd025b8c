-- A trainer's history records as JSON lines: one object per epoch, written to the
-- log and into each checkpoint (history.jsonl), and read back on resume.
local json = require "graft.json"

local records = {}

function records.encode_record(record)
  local fields = {}
  for k, v in pairs(record) do fields[k] = v end
  return json.encode(json.object(fields))
end

function records.history_text(history)
  local lines = {}
  for i, record in ipairs(history) do lines[i] = records.encode_record(record) end
  return table.concat(lines, "\n") .. (#lines > 0 and "\n" or "")
end

-- Fields of a history record that the trainer writes as numbers (grafting adds others).
local NUMBER_FIELDS = { "loss", "train_top1", "test_loss", "test_top1", "test_top5", "lr",
                        "images_per_s", "seconds" }

-- The records of a checkpoint's history.jsonl: one JSON object per line, record i of
-- epoch i, one per completed epoch. Errors name the file, the line and the field.
function records.read_history(path, text, epochs)
  local history = {}
  local function bad(line, fmt, ...)
    error(string.format("%s line %d: " .. fmt, path, line, ...), 0)
  end
  for line in text:gmatch("[^\n]+") do
    local i = #history + 1
    local ok, record = pcall(json.decode, line)
    if not ok then bad(i, "%s", record) end
    if type(record) ~= "table" or json.is_array(record) then
      bad(i, "a record must be a JSON object, got %s", line:sub(1, 40))
    end
    setmetatable(record, nil)
    if record.epoch ~= i then bad(i, "epoch is %s, expected %d", tostring(record.epoch), i) end
    for _, field in ipairs(NUMBER_FIELDS) do
      if record[field] ~= nil and type(record[field]) ~= "number" then
        bad(i, "%s is %s, expected a number", field, tostring(record[field]))
      end
    end
    history[i] = record
  end
  if #history ~= epochs then
    error(string.format("%s holds %d history records for %d epochs", path, #history, epochs), 0)
  end
  return history
end

return records
