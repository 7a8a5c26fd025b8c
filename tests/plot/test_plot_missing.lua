-- Without gnuplot on PATH: an error naming the Debian package, and the data and
-- the script written next to the requested picture, so it can be made elsewhere.
-- Run with PATH set to a folder without gnuplot; arg[1] is the real gnuplot (or
-- empty) to prove the script works.
local h = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "helpers.lua")
local plot = require "graft.plot"
local real_gnuplot = arg and arg[1] or ""
local dir = h.folder()

h.check(plot.gnuplot.find() == nil, "this test needs a PATH without gnuplot (PATH=%s)", os.getenv("PATH"))
local out = dir .. "/accuracy.png"
local message = h.fails(plot.lines, {series = {{x = {1, 2, 3}, y = {80.5, 85.25, 0 / 0}, title = "it's net_1"}},
                                     title = "accuracy", out = out, width = 320, height = 240})
h.contains(message, "gnuplot-nox", "error")
h.contains(message, "apt-get install gnuplot-nox", "error")
h.contains(message, dir .. "/accuracy.dat", "error")
h.contains(message, dir .. "/accuracy.gp", "error")
h.check(not h.exists(out), "no picture without gnuplot")
local names = table.concat(h.listing(dir), " ")
h.check(names == "accuracy.dat accuracy.gp", "folder holds: %s", names)

-- The data: one row per point, undefined values as NaN.
h.check(h.read(dir .. "/accuracy.dat") == "1 80.5\n2 85.25\n3 NaN\n", "data file: %q", h.read(dir .. "/accuracy.dat"))
-- The script names the data and the picture relative to its folder.
local script = h.read(dir .. "/accuracy.gp")
h.contains(script, "set terminal pngcairo size 320,240", "script")
h.contains(script, "set output 'accuracy.png'", "script")
h.contains(script, "plot 'accuracy.dat' index 0 using 1:2", "script")
h.contains(script, [[title 'it'.GRAFT_QUOTE.'s net_1']], "script")

-- Pictures with no file asked for leave the script in a temporary place.
message = h.fails(plot.histogram, {values = {1, 2, 2, 3}, text = true})
h.contains(message, "gnuplot-nox", "text plot error")
local script_path = message:match("and (%S+%.gp):")
h.check(script_path and h.exists(script_path), "temporary script named in: %s", message)
os.remove(script_path)
os.remove((script_path:gsub("%.gp$", ".dat")))

-- Where gnuplot exists, the script makes the picture.
if real_gnuplot ~= "" then
  h.check(os.execute("cd '" .. dir .. "' && '" .. real_gnuplot .. "' accuracy.gp"), "gnuplot accuracy.gp failed")
  local width, height = h.png_size(out)
  h.check(width == 320 and height == 240, "picture from the script is %dx%d", width, height)
end
h.cleanup()
print("plot without gnuplot: ok")
