-- graft.run's options: their defaults, the checks that name a bad one, and what
-- follows from them (network k's initial learning rate).
local train = require "graft.train"

local options = {}

options.DEFAULTS = {
  model = "resnet20", data = "fashion-mnist", nets = 2, epochs = 10, scion = "external",
  criterion = "entropy", A = 0.4, c = 500, round = true, bins = 10, filter_level = false,
  diff_lr = true, same_order = false, schedule = "cosine", seed = 1, batch = 128, lr = 0.1,
  wd = 5e-4, momentum = 0.9, ensemble = true, threshold = 1e-2, gamma = 1e-2, a = 0.9,
  test_before = true, quiet = false,
}
local OPTIONAL = { alpha = true, every = true, subset = true, test_subset = true, out = true,
                   data_dir = true, pad = true, dataset = true, on_epoch = true, resume = true }
local SCIONS = { none = true, noise = true, internal = true, external = true }

-- Errors name the line that called graft.run (which calls options.read).
local function option_fail(fmt, ...) error(string.format("graft.run: " .. fmt, ...), 4) end

-- The options table with every default filled in; an error for any bad option.
function options.read(opts)
  if type(opts) ~= "table" then option_fail("options must be a table") end
  local o = {}
  for k, v in pairs(opts) do
    if options.DEFAULTS[k] == nil and not OPTIONAL[k] then
      option_fail("unknown option '%s'", tostring(k))
    end
    o[k] = v
  end
  for k, v in pairs(options.DEFAULTS) do
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
function options.initial_lr(o, k)
  if o.diff_lr then return train.diff_lr(o.lr, k, o.nets) end
  return o.lr
end

return options
