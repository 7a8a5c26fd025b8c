-- net:summary(): a network as a table of its layers, one row per node (its name,
-- kind, output shape and parameter count), then the totals.
--
--   graft> graft.models.resnet{depth = 20}:summary()
--     #  name            kind          output     parameters
--     0  input           input         3x32x32             0
--     1  conv1           conv2d 3x3    16x32x32          432
--   ...
local core = require "graft.core"
local doc = require "graft.doc"

local summary = {}

-- 269722 -> "269,722"
local function count_text(n)
  local text = tostring(n)
  repeat
    local changed
    text, changed = text:gsub("^(-?%d+)(%d%d%d)", "%1,%2")
  until changed == 0
  return text
end

local function kind_of(node)
  if node.op == "conv2d" then
    local text = string.format("conv2d %dx%d", node.kernel, node.kernel)
    if node.stride ~= 1 then text = text .. " /" .. node.stride end
    if node.groups ~= 1 then text = text .. (node.groups == node.channels and " depthwise" or " groups " .. node.groups) end
    return text
  end
  if node.op == "activation" then return node.activation end
  if node.op == "maxpool" or node.op == "avgpool" then
    return string.format("%s %dx%d /%d", node.op, node.kernel, node.kernel, node.stride)
  end
  if node.op == "add" then
    return string.format("add %d + %d", node.inputs[1], node.inputs[2])
  end
  return node.op
end

local function shape_of(node)
  if node.height == 1 and node.width == 1 and node.op ~= "conv2d" then return tostring(node.channels) end
  return string.format("%dx%dx%d", node.channels, node.height, node.width)
end

-- The rows of the table: {index, name, kind, output, parameters} per node, and the
-- totals {parameters =, layers = (nodes with parameters), buffers = (values of the
-- BatchNorm running statistics)}.
function summary.rows(net)
  local params = net:parameters()
  local per_layer = {} -- "layer1.0.conv1" -> values of its tensors
  for name, view in pairs(params) do
    local layer = name:match("^(.*)%.[^.]+$") or name
    per_layer[layer] = (per_layer[layer] or 0) + view:numel()
  end
  local rows, totals = {}, { parameters = 0, layers = 0, buffers = 0 }
  for i, node in ipairs(net:nodes()) do
    local count = node.name ~= "" and per_layer[node.name] or 0
    rows[i] = { i - 1, node.name ~= "" and node.name or (node.op == "input" and "input" or "-"),
                kind_of(node), shape_of(node), count }
    totals.parameters = totals.parameters + count
    if count > 0 then totals.layers = totals.layers + 1 end
  end
  for _, value in pairs(net:buffers()) do
    if type(value) ~= "number" then totals.buffers = totals.buffers + value:numel() end
  end
  return rows, totals
end

-- The table as text, columns aligned (numbers to the right).
function summary.text(net)
  local rows, totals = summary.rows(net)
  local header = { "#", "name", "kind", "output", "parameters" }
  local right = { true, false, false, false, true }
  local shown = { header }
  for i, row in ipairs(rows) do
    shown[i + 1] = { tostring(row[1]), row[2], row[3], row[4], count_text(row[5]) }
  end
  local widths = {}
  for _, row in ipairs(shown) do
    for c, cell in ipairs(row) do widths[c] = math.max(widths[c] or 0, #cell) end
  end
  local lines = { string.format("%s: %d nodes, input %s", net:model(), #rows,
                                table.concat(net:input_shape(), "x")) }
  for _, row in ipairs(shown) do
    local cells = {}
    for c, cell in ipairs(row) do
      local pad = (" "):rep(widths[c] - #cell)
      cells[c] = right[c] and (pad .. cell) or (c < #row and cell .. pad or cell)
    end
    lines[#lines + 1] = "  " .. table.concat(cells, "  ")
  end
  lines[#lines + 1] = string.format("total: %s parameters in %d layers, %s BatchNorm running statistics",
    count_text(totals.parameters), totals.layers, count_text(totals.buffers))
  return table.concat(lines, "\n")
end

core.net_methods.summary = doc(function(net) print(summary.text(net)) end,
  [[net:summary() -> prints one row per layer (node): index, name, kind, output
shape (per image) and parameters; then the totals. graft.summary.text(net) is the
text, graft.summary.rows(net) the numbers.]])

return summary
