-- The pieces every graft.plot picture is made of: numbers from arrays or tensors,
-- the options every picture takes (declared once: title, labels, log axes, ranges,
-- key, grid, file and size), the gnuplot settings they give, and the call that
-- renders a figure through the gnuplot session.
local core = require "graft.core"
local gnuplot = require "graft.gnuplot"
local options = require "graft.options"

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
  local lo = r[1] and string.format("%.9g", r[1]) or ""
  local hi = r[2] and string.format("%.9g", r[2]) or ""
  return string.format("set %s [%s:%s]", name, lo, hi)
end

---------------------------------------------------------------------------- the options every picture takes

local function range_check(r)
  if (r[1] ~= nil and type(r[1]) ~= "number") or (r[2] ~= nil and type(r[2]) ~= "number")
     or (r[1] and r[2] and not (r[1] < r[2])) then
    return "{lo, hi} with lo < hi (either may be nil)"
  end
end

-- Declared once; every graft.plot function takes them besides its own (figure.spec).
local FIGURE = options.spec("graft.plot", {
  { "title", "string", help = "the title above the plot" },
  { "xlabel", "string", help = "the x axis's label" },
  { "ylabel", "string", help = "the y axis's label" },
  { "logx", "boolean", default = false, help = "a logarithmic x axis" },
  { "logy", "boolean", default = false, help = "a logarithmic y axis" },
  { "xrange", "table", help = "{lo, hi} of the x axis", check = range_check },
  { "yrange", "table", help = "{lo, hi} of the y axis", check = range_check },
  { "key", "string|boolean", default = "below",
    help = "where the key goes: a gnuplot key position ('top left', 'below': under the plot, off the data), or false for none",
    check = function(v) if v == true then return "a gnuplot key position or false" end end },
  { "grid", "boolean", default = true, help = "grid lines (the text terminal draws none)" },
  { "out", "string", help = "the file made: .png, .svg or .pdf; without it a window when there is a display, else text" },
  { "width", "integer", default = 800, min = 16, help = "pixels across" },
  { "height", "integer", default = 500, min = 16, help = "pixels down" },
  { "columns", "integer", min = 10, default_help = "the terminal's", help = "characters across a text picture" },
  { "rows", "integer", min = 5, default_help = "the terminal's", help = "lines of a text picture" },
  { "text", "boolean", default = false, help = "text rather than a window" },
})

-- The spec of the plot function `owner`: its own options (declarations as in
-- graft.options), then every picture's; `changes` gives some of these other
-- defaults or help (name = {default =, ...}, as spec:pick takes them), and
-- `without` names those it does not take.
local function spec(owner, own, changes, without)
  local wanted = {}
  for _, option in ipairs(FIGURE.list) do
    if not (without and without[option.name]) then wanted[option.name] = changes and changes[option.name] or {} end
  end
  local result = options.spec(owner, own)
  for _, option in ipairs(FIGURE:pick(owner, wanted).list) do result:add(option) end
  return result
end

-- The option of every picture called `name`, under another name (a heat map's
-- text size, whose rows and columns are labels).
local function renamed(name, new_name)
  local option = FIGURE:option(name)
  local copy = setmetatable({}, getmetatable(option))
  for k, v in pairs(option) do copy[k] = v end
  copy.name = new_name
  return copy
end

-- `t` (the options of a plot a paper figure is drawn with) with every picture
-- option of `opts` (checked by the figure's spec) that `t` does not set.
local function passed(opts, t)
  for _, option in ipairs(FIGURE.list) do
    if t[option.name] == nil then t[option.name] = opts[option.name] end
  end
  return t
end

-- The gnuplot settings of every picture's options (checked by a spec).
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
    c[#c + 1] = "set key " .. opts.key .. " noenhanced"
  end
  if opts.grid then c[#c + 1] = "set grid" end
  return c
end

-- The series of options checked by a spec, which must not be empty.
local function check_series(opts, name)
  if #opts.series == 0 then options.raise("graft.plot." .. name .. ": series must be a non-empty array") end
  return opts.series
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

-- Tick labels at 1..n; labels too long to stand side by side in `width` pixels (all
-- together, or the longest in its own tick's share) are rotated, and thinned (every
-- `every`-th) when even rotated they would overlap.
local function tics(axis, labels, every, width)
  local entries = {}
  local longest, total = 0, 0
  for _, label in ipairs(labels) do
    longest, total = math.max(longest, #label), total + #label + 1
  end
  local room = (width or 800) * 0.85 -- pixels of the plot area, about 7 a character
  every = every or math.max(1, math.ceil(#labels / 30))
  local rotate = axis == "xtics" and (total * 7 > room or longest * 7 > room / #labels)
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
  integer_tics = integer_tics, spec = spec, renamed = renamed, passed = passed, range_check = range_check,
  -- draws {blocks =, commands =} as opts.out says; returns the file made
  render = gnuplot.render,
}
