-- gnuplot's errors come back as Lua errors carrying gnuplot's message, leave no
-- file behind, and the session keeps working.
local h = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "helpers.lua")
local plot = require "graft.plot"
local gnuplot = plot.gnuplot
local dir = h.folder()

-- All y values undefined on a log scale: gnuplot refuses the plot.
local out = dir .. "/negative.png"
local message = h.fails(plot.lines, {series = {{y = {-1, -2, -3}}}, logy = true, out = out})
h.contains(message, "plot: gnuplot: ", "error")
h.contains(message, "all points y value undefined", "error")
h.contains(message, "[in: plot ", "error names the failing command")
h.check(not h.exists(out), "a failed plot leaves no %s", out)
h.check(#h.listing(dir) == 0, "a failed plot leaves no files: %s", table.concat(h.listing(dir), " "))

-- Raw commands: an unknown command and an undefined function.
h.contains(h.fails(gnuplot.command, "frobnicate 3"), "invalid command", "unknown command")
h.contains(h.fails(gnuplot.command, "print undefined_function_xyz(1)"),
           "undefined function: undefined_function_xyz", "undefined function")
-- Printed output of a command comes back as text.
h.check(gnuplot.command("print 6*7") == "42\n", "print 6*7")

-- The same session still draws afterwards.
local good = dir .. "/good.png"
plot.lines{series = {{y = {1, 2, 3}}}, logy = true, out = good}
h.png_size(good)

-- A gnuplot that dies is reported, and the next picture starts a new one.
local session_pid = gnuplot.pid()
h.check(math.type(session_pid) == "integer", "session pid %s", tostring(session_pid))
os.execute("kill -9 " .. session_pid)
h.contains(h.fails(gnuplot.command, "print 1"), "gnuplot", "dead session")
h.check(gnuplot.command("print 1") == "1\n", "a new session after a dead one")

-- Bad options are refused before gnuplot runs, naming the function, the option and
-- what it takes.
h.contains(h.fails(plot.histogram, {bins = 0}),
           "graft.plot.histogram: option 'bins': an integer in [1, 1000000] expected, got 0", "bins = 0")
h.contains(h.fails(plot.histogram, {values = {1, 2}, range = {2, 1}}),
           "option 'range': {lo, hi} with lo < hi expected", "an empty range")
h.contains(h.fails(plot.histogram, {values = "x"}), "option 'values': a table or a tensor expected", "values")
h.contains(h.fails(plot.histogram, {}), "give values = {...}", "no values")

gnuplot.close()
h.cleanup()
print("plot errors: ok")
