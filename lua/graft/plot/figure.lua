-- The pieces every graft.plot picture is made of: numbers from arrays or tensors,
-- the gnuplot settings shared by all figures (title, labels, log axes, ranges,
-- key, grid), and the call that renders a figure through the gnuplot session.
local core = require "graft.core"
local gnuplot = require "graft.gnuplot"

local q = gnuplot.quote

-- A flat Lua array of numbers from an array (nested or not) or a tensor. Errors
-- name the caller of the plot function (`level` levels up, default 3).
local function numbers(v, what, level)
  level = level or 3
  local kind = type(v)
  local totable = (kind == "userdata" or kind == "table") and pcall(function() return v.totable end)
                  and v.totable
  if type(totable) == "function" then
    v = v:totable()
  elseif kind ~= "table" then
    error(string.format("plot: %s must be an array of numbers or a tensor, got %s", what, kind), level)
  end
  local flat = {}
  local function walk(t)
    for _, x in ipairs(t) do
      if type(x) == "table" then
        walk(x)
      elseif type(x) == "number" then
        flat[#flat + 1] = x
      else
        error(string.format("plot: %s holds a %s, not a number", what, type(x)), level + 1)
      end
    end
  end
  walk(v)
  return flat
end

-- The numbers of v (an array, nested or not, or a tensor) as a tensor for the C
-- side, or nil when there are none.
local function tensor_of(v, what)
  local is_tensor = type(v) == "userdata" and pcall(function() return v.numel end)
                    and type(v.numel) == "function"
  if is_tensor then return v:numel() > 0 and v or nil end
  local flat = numbers(v, what, 4)
  return #flat > 0 and core.tensor(flat) or nil
end

local function sequence(n)
  local s = {}
  for i = 1, n do s[i] = i end
  return s
end

local function finite(x) return x == x and x ~= math.huge and x ~= -math.huge end

local function title_of(t) return t and ("title " .. q(t)) or "notitle" end

local function range_text(r, name)
  if r == nil then return nil end
  if type(r) ~= "table" then error("plot: " .. name .. " must be {lo, hi}", 4) end
  local lo = r[1] and string.format("%.9g", r[1]) or ""
  local hi = r[2] and string.format("%.9g", r[2]) or ""
  return string.format("set %s [%s:%s]", name, lo, hi)
end

-- The settings shared by every figure.
local function axes(opts)
  local c = {}
  if opts.title then c[#c + 1] = "set title " .. q(opts.title) end
  if opts.xlabel then c[#c + 1] = "set xlabel " .. q(opts.xlabel) end
  if opts.ylabel then c[#c + 1] = "set ylabel " .. q(opts.ylabel) end
  if opts.logx then c[#c + 1] = "set logscale x"; c[#c + 1] = "set format x '%g'" end
  if opts.logy then c[#c + 1] = "set logscale y"; c[#c + 1] = "set format y '%g'" end
  c[#c + 1] = range_text(opts.xrange, "xrange")
  c[#c + 1] = range_text(opts.yrange, "yrange")
  if opts.key == false then
    c[#c + 1] = "unset key"
  else
    -- under the plot by default, so that it never hides the data
    c[#c + 1] = "set key " .. (opts.key or "below") .. " noenhanced"
  end
  if opts.grid ~= false then c[#c + 1] = "set grid" end
  return c
end

local function check_series(opts, name)
  if type(opts) ~= "table" then error("plot." .. name .. ": expected a table of options", 3) end
  local series = opts.series
  if type(series) ~= "table" or #series == 0 then
    error("plot." .. name .. ": series must be a non-empty array of {x =, y =, title =}", 3)
  end
  return series
end

-- Integer ticks for an axis whose values are all integers (epochs, rounds, networks):
-- at most about 10, every `step` integers; nil when a value is not an integer.
local function integer_tics(axis, values)
  local lo, hi = math.huge, -math.huge
  for _, v in ipairs(values) do
    if v ~= math.floor(v) or v ~= v then return nil end
    lo, hi = math.min(lo, v), math.max(hi, v)
  end
  if lo > hi then return nil end
  local step = math.max(1, math.ceil((hi - lo) / 10))
  return string.format("set %s %d, %d", axis, math.floor(lo / step) * step, step)
end

-- Tick labels at 1..n; labels too long to stand side by side in `width` pixels are
-- rotated, and thinned (every `every`-th) when even rotated they would overlap.
local function tics(axis, labels, every, width)
  local entries = {}
  local longest, total = 0, 0
  for _, label in ipairs(labels) do
    longest, total = math.max(longest, #label), total + #label + 1
  end
  local room = (width or 800) * 0.85 -- pixels of the plot area, about 7 a character
  every = every or math.max(1, math.ceil(#labels / 30))
  local rotate = axis == "xtics" and total * 7 > room
  if rotate then every = math.max(every, math.ceil(#labels * 14 / room)) end
  for i, label in ipairs(labels) do
    if (i - 1) % every == 0 then entries[#entries + 1] = string.format("%s %d", q(label), i) end
  end
  return string.format("set %s (%s)%s", axis, table.concat(entries, ", "),
                       rotate and " rotate by 40 right" or "")
end

return {
  quote = q, numbers = numbers, tensor_of = tensor_of, sequence = sequence, finite = finite,
  title_of = title_of, range_text = range_text, axes = axes, check_series = check_series, tics = tics,
  integer_tics = integer_tics,
  -- draws {blocks =, commands =} as opts.out says; returns the file made
  render = gnuplot.render,
}
