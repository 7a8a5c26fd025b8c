-- CSV text (RFC 4180) from rows of named values, for the tables runs and ablations
-- write: csv.encode(columns, rows [, digits]) -> text. A missing value or NaN is an
-- empty cell; other numbers have `digits` significant digits (default 8).
local csv = {}

local function cell(v, digits)
  if v == nil then return "" end
  if type(v) == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return v ~= v and "" or string.format("%." .. digits .. "g", v)
  end
  if type(v) == "boolean" then return v and "true" or "false" end
  local s = tostring(v)
  if s:find('[,"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

function csv.encode(columns, rows, digits)
  digits = digits or 8
  local lines = { table.concat(columns, ",") }
  for _, row in ipairs(rows) do
    local cells = {}
    for i, c in ipairs(columns) do cells[i] = cell(row[c], digits) end
    lines[#lines + 1] = table.concat(cells, ",")
  end
  return table.concat(lines, "\n") .. "\n"
end

return csv
