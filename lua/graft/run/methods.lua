-- The methods Table 5 compares grafting with, as graft.run runs them:
--   distill  knowledge distillation (Hinton et al. 2015), two stages: a teacher of
--            the same model is trained first (as a baseline run of seed + 1000, in
--            out/teacher), then network 1 learns from the labels and the teacher's
--            logits (core.train_step with a teacher);
--   mutual   deep mutual learning (Zhang et al. 2018): K networks read the same
--            batches (network 1's data order) and each learns from the labels and the
--            other networks' logits of the same forward pass (core.mutual_step).
-- Both give the trainers a step function (graft.trainer's `train_step`) and graft
-- nothing.
local core = require "graft.core"

local methods = {}

-- The seed of the teacher's own run: far from the seeds a sweep gives its students.
methods.TEACHER_SEED_OFFSET = 1000

-- The soft-target settings of o: the temperature (the method's default when unset)
-- and the weight of the soft term.
local function soft(o, default_temperature)
  return { temperature = o.temperature or default_temperature, weight = o.soft_weight or 1 }
end

-- The teacher of a distillation run: read from out/teacher when a finished run is
-- there, else trained there (or in memory without out) as a one-network baseline.
function methods.teacher(o, data)
  local dir = o.out and (o.out .. "/teacher")
  if dir and core.is_file(dir .. "/summary.json") and core.is_file(dir .. "/net1.safetensors") then
    local json = require "graft.json"
    local summary = json.read(dir .. "/summary.json")
    local net = require("graft").load(dir .. "/net1.safetensors")
    return net, summary.final[1]
  end
  local teacher = {}
  for key, value in pairs(o) do teacher[key] = value end
  teacher.method, teacher.nets, teacher.scion = nil, 1, "none"
  teacher.temperature, teacher.soft_weight = nil, nil
  teacher.seed = o.seed + methods.TEACHER_SEED_OFFSET
  teacher.out, teacher.resume = dir, dir and true or nil
  teacher.dataset, teacher.on_epoch, teacher.ensemble = data, nil, false
  if dir then core.make_dirs(o.out) end
  if not o.quiet then print("graft.run: training the teacher" .. (dir and (" in " .. dir) or "")) end
  local result = require "graft.run"(teacher)
  return result.nets[1], result.final[1]
end

-- The step of the student: the teacher scores each batch in evaluation mode.
function methods.distill_step(teacher, o)
  local settings = soft(o, 2)
  settings.teacher = teacher
  return function(trainer, lr)
    return core.train_step(trainer.net, trainer.sgd, trainer.loader, lr, settings)
  end
end

-- One step function per trainer: trainer 1's draws the batch from its loader and
-- steps every network; the others hand out their share of that step. The trainers
-- must take their batches in turn (graft.run's lock-step epochs).
function methods.mutual_steps(trainers, o)
  local settings = soft(o, 1)
  local shared = {}
  local steps = {
    function(trainer, lr)
      local nets, sgds, lrs = {}, {}, {}
      for k, t in ipairs(trainers) do nets[k], sgds[k], lrs[k] = t.net, t.sgd, t:lr() end
      lrs[1] = lr
      shared.n, shared.results, shared.finite = core.mutual_step(nets, sgds, trainer.loader, lrs,
                                                                 settings)
      if not shared.n then return nil end
      local r = shared.results[1]
      return shared.n, r.loss, r.top1, r.top5, shared.finite, r.bad_statistic, r.bad_value
    end,
  }
  for k = 2, o.nets do
    steps[k] = function()
      if not shared.n then return nil end
      local r = shared.results[k]
      return shared.n, r.loss, r.top1, r.top5, shared.finite, r.bad_statistic, r.bad_value
    end
  end
  return steps
end

return methods
