-- graft.core.spawn: a child with pipes both ways.
local h = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "helpers.lua")
local core = require "graft.core"

-- Output of both streams comes back; text before the marker, the marker removed.
local p = core.spawn{"sh", "-c", "read line; echo \"got $line\"; echo oops >&2; echo MARK-1; echo after"}
h.check(type(p:pid()) == "number" and p:pid() > 0, "pid is %s", tostring(p:pid()))
p:write("hello\n")
local text, other, state = p:read_until("MARK-1", 5000)
h.check(state == "marker", "state %s", state)
h.check(text == "got hello\n", "stdout before the marker: %q", text)
h.check(other == "oops\n", "stderr: %q", other)
text, other, state = p:read_until("MARK-2", 5000)
h.check(state == "exited" and text == "after\n", "after the marker: %q %s", text, state)
h.check(p:close() == "exited with status 0", "close: %s", tostring(p:state()))
h.check(p:pid() == nil, "pid after close")

-- The marker may be awaited on stderr; a timeout says so and keeps the text.
p = core.spawn{"sh", "-c", "echo partial >&2; sleep 5"}
text, other, state = p:read_until("NEVER", 300, "stderr")
h.check(state == "timeout" and text == "partial\n", "timeout: %q %s", text, state)
h.check(p:close(100):find("signal"), "a child that does not end is killed")

-- More than a pipe holds both ways: writing drains the child's output meanwhile.
p = core.spawn{"cat"}
local big = string.rep("0123456789abcdef", 100000) -- 1.6 MB
p:write(big):write("\nEND\n")
text, other, state = p:read_until("END", 10000)
h.check(state == "marker" and text == big .. "\n", "echoed %d of %d bytes", #text, #big + 1)
p:close()

-- Writing to a child that has ended is a Lua error naming it, not SIGPIPE.
p = core.spawn{"sh", "-c", "exit 3"}
local message = h.fails(function()
  for _ = 1, 200 do p:write(string.rep("x", 65536)) end
end)
h.contains(message, "sh: write of 65536 bytes failed", "write error")
h.contains(message, "exited with status 3", "write error")

-- A program that does not exist.
message = h.fails(core.spawn, {"graft-no-such-program"})
h.contains(message, "spawn graft-no-such-program", "spawn error")
h.contains(message, "No such file or directory", "spawn error")
h.fails(core.spawn, {})

-- Collected processes are reaped (no zombies left behind).
for _ = 1, 20 do core.spawn{"true"} end
collectgarbage()
collectgarbage()
local shell = io.popen("echo $PPID") -- the shell's parent is this process
local own_pid = shell:read("l")
shell:close()
local ps = io.popen("ps -o stat= --ppid " .. own_pid)
local zombies = ps:read("a")
ps:close()
h.check(not zombies:find("Z"), "zombie children left: %s", zombies)
print("process: ok")
