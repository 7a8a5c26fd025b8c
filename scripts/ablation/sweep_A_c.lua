-- The A and c sweep of the adaptive coefficient alpha = A/pi atan(c (H_self -
-- H_other)) + 0.5: A = 0.4 with c from 1 to 500, and c = 100 with A from 0 (plain
-- averaging) to 1. Two networks, own data order and learning rate. Compared with
-- the defaults A = 0.4, c = 500.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib/?.lua;" .. package.path
local ablation = require "ablation"
local graft = require "graft"

local C_VALUES = {1, 5, 10, 50, 100, 500}
local A_VALUES = {0, 0.2, 0.4, 0.6, 0.8, 1}
local PAPER_C = {[1] = 93.19, [5] = 92.76, [10] = 93.31, [50] = 93.24, [500] = 92.79} -- A = 0.4
local PAPER_A = {[0] = 93.4, [0.2] = 93.61, [0.4] = 93.46, [0.6] = 92.6, [0.8] = 93.03, [1] = 92.53} -- c = 100

local function name_of(A, c) return string.format("A%g-c%g", A, c) end

local function report(ctx)
  local pictures = {}
  for _, sweep in ipairs{{axis = "c", values = C_VALUES, fixed = "A = 0.4", logx = true},
                         {axis = "A", values = A_VALUES, fixed = "c = 100"}} do
    local x, means, sds, paper_x, paper_y = {}, {}, {}, {}, {}
    for _, value in ipairs(sweep.values) do
      local A, c = sweep.axis == "c" and 0.4 or value, sweep.axis == "c" and value or 100
      local v = ctx.by_variant[name_of(A, c)] -- nil when --only left it out
      if v then x[#x + 1], means[#means + 1], sds[#sds + 1] = value, v.mean, v.sd or 0 end
      local paper = sweep.axis == "c" and PAPER_C[c] or PAPER_A[A]
      if paper then paper_x[#paper_x + 1], paper_y[#paper_y + 1] = value, paper end
    end
    local out = string.format("%s/sweep_%s.png", ctx.out, sweep.axis)
    if #x > 0 then -- --only may have left a whole axis out
      graft.plot.lines{series = {{x = x, y = means, err = sds, title = "measured (left axis)"},
                                 {x = paper_x, y = paper_y, title = "paper, MobileNetV2 CIFAR-10 (right axis)",
                                  axis = "y2"}},
                       title = "test accuracy against " .. sweep.axis .. " (" .. sweep.fixed .. ")",
                       xlabel = sweep.axis, ylabel = "measured test accuracy (%)", y2label = "paper (%)",
                       logx = sweep.logx, key = "bottom left", out = out}
      pictures[#pictures + 1] = out
    end
  end
  return "\nPictures: " .. table.concat(pictures, ", ") .. "\n"
end

ablation.main{
  name = "sweep_A_c",
  title = "A and c of the adaptive coefficient",
  paper_note = "MobileNetV2 on CIFAR-10 (the paper's sweep; A = 0.4, c = 100 is in both of its sweeps, "
               .. "93.46 with c = 100, and its default row c = 500 gives 92.79)",
  presets = {
    quick = ablation.preset(ablation.quick, {subset = 800}),
    paper = ablation.preset(ablation.paper),
  },
  reference = name_of(0.4, 500),
  report = report,
  variants = function()
    local v, seen = {}, {}
    local function add(A, c, paper)
      local name = name_of(A, c)
      if seen[name] then return end
      seen[name] = true
      v[#v + 1] = {name = name, label = string.format("A=%g c=%g", A, c), paper = paper and {paper},
                   run = {nets = 2, scion = "external", criterion = "entropy", diff_lr = true, A = A, c = c}}
    end
    for _, c in ipairs(C_VALUES) do add(0.4, c, c == 100 and PAPER_A[0.4] or PAPER_C[c]) end
    for _, A in ipairs(A_VALUES) do add(A, 100, PAPER_A[A]) end
    return v
  end,
}
