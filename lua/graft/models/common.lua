-- Options every model takes: classes (10), in_channels (3), image_size (32), seed (0),
-- or data = a graft.data set to take classes, channels and size from.
local common = {}

function common.options(fname, opts, extra)
  opts = opts or {}
  if type(opts) ~= "table" then error(fname .. ": options must be a table", 3) end
  local allowed = { classes = true, in_channels = true, image_size = true, seed = true, data = true }
  for k in pairs(opts) do
    if not allowed[k] and not extra[k] then
      error(string.format("%s: unknown option '%s'", fname, tostring(k)), 3)
    end
  end
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  if o.data then
    local shape = o.data.shape
    if shape[2] ~= shape[3] then
      error(string.format("%s: square images needed, the data set has %dx%d", fname, shape[2], shape[3]), 3)
    end
    o.classes = o.classes or o.data.classes
    o.in_channels = o.in_channels or shape[1]
    o.image_size = o.image_size or shape[2]
    o.data = nil
  end
  o.classes = o.classes or 10
  o.in_channels = o.in_channels or 3
  o.image_size = o.image_size or 32
  o.seed = o.seed or 0
  for _, k in ipairs { "classes", "in_channels", "image_size" } do
    if math.type(o[k]) ~= "integer" or o[k] < 1 then
      error(string.format("%s: %s must be a positive integer, got %s", fname, k, tostring(o[k])), 3)
    end
  end
  if math.type(o.seed) ~= "integer" then
    error(fname .. ": seed must be an integer, got " .. tostring(o.seed), 3)
  end
  return o
end

return common
