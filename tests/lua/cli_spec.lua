-- The graft command line: scripts with arguments, -e, standard input, --help,
-- --version, exit statuses and tracebacks, subcommands, Ctrl-C in a script.
-- GRAFT_EXE is the executable under test (set by tests/lua/meson.build).
local exe = assert(os.getenv("GRAFT_EXE"), "GRAFT_EXE must name the graft executable")

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Runs a shell command line; returns its output (stdout and stderr) and exit status.
local function run(command)
  local f = assert(io.popen(command .. " 2>&1"))
  local output = f:read("a")
  local _, _, status = f:close()
  return output, status
end

local write = require("graft").core.write_file

describe("scripts", function()
  it("get their arguments in arg and ...", function()
    local script = expect.tmpname(".lua")
    write(script, 'print(arg[0] == ..., #arg, arg[1], arg[2], select("#", ...), (select(2, ...)))')
    local out, status = run(quote(exe) .. " " .. script .. " one two")
    expect.eq(status, 0, out)
    expect.eq(out, "false\t2\tone\ttwo\t2\ttwo\n")
  end)

  it("fail with status 1 and a traceback on stderr", function()
    local script = expect.tmpname(".lua")
    write(script, "local function inner() error('boom in inner') end\ninner()\n")
    local out, status = run(quote(exe) .. " " .. script)
    expect.eq(status, 1)
    expect.contains(out, { "boom in inner", "stack traceback", "inner" })
  end)

  it("show graft's errors with the script's frames only", function()
    local script = expect.tmpname(".lua")
    write(script, "local function make()\n  local net = graft.models.resnet{depth = 7}\n  return net\nend\n"
      .. "make()\n")
    local out, status = run(quote(exe) .. " " .. script)
    expect.eq(status, 1)
    expect.eq(out, string.format("graft: %s:2: graft.models.resnet: option 'depth': 6n + 2 (8, 14, 20, 32, "
      .. "44, 56, 110, ...) expected, got 7\nstack traceback:\n\t%s:2: in local 'make'\n\t%s:5: in main "
      .. "chunk\n", script, script, script))
    -- where the message already points, no traceback
    out, status = run(quote(exe) .. " -e 'graft.train{}'")
    expect.eq(status, 1)
    expect.eq(out, "graft: (command line):1: graft.train: option 'net' is required: a network "
      .. "(graft.models.*, graft.nn.build, graft.load) expected\n")
  end)

  it("a missing script is an error naming it", function()
    local out, status = run(quote(exe) .. " /nonexistent/x.lua")
    expect.eq(status, 1)
    expect.contains(out, "/nonexistent/x.lua")
  end)

  it("come from standard input when it is not a terminal", function()
    local out, status = run("echo 'print(40 + 2)' | " .. quote(exe))
    expect.eq(status, 0, out)
    expect.eq(out, "42\n")
  end)

  it("see graft as a global, and require 'graft' gives the same table", function()
    local out = run(quote(exe) .. [[ -e 'print(graft == require "graft", type(help))']])
    expect.eq(out, "true\tfunction\n")
  end)

  it("stop at Ctrl-C (SIGINT) with 'interrupted!' and status 1", function()
    local out, status = run("sh -c " .. quote(quote(exe) ..
      " -e 'print(\"started\"); io.stdout:flush(); while true do end' & pid=$!; sleep 1; kill -INT $pid; wait $pid"))
    expect.eq(status, 1, out)
    expect.contains(out, { "started", "interrupted!" })
  end)
end)

describe("options", function()
  it("-e runs code, several times, in order", function()
    local out, status = run(quote(exe) .. " -e 'x = 6' -e 'print(x * 7)'")
    expect.eq(status, 0, out)
    expect.eq(out, "42\n")
  end)

  it("-e with an error exits 1", function()
    local out, status = run(quote(exe) .. " -e 'error(\"bad code\")'")
    expect.eq(status, 1)
    expect.contains(out, "bad code")
  end)

  it("--help and --version", function()
    local out, status = run(quote(exe) .. " --help")
    expect.eq(status, 0)
    expect.contains(out, { "usage: graft", "-e code", "-i", "GRAFT_HISTORY" })
    -- the commands found in lua/graft/commands/, as the unknown-command error lists them
    expect.contains(out, { "available commands: ", "notebook", "train (graft <command> --help)" })
    out, status = run(quote(exe) .. " --version")
    expect.eq(status, 0)
    expect.contains(out, { "graft 0.1.0", "Lua 5.4" })
  end)

  it("an unknown option prints the usage and exits 1", function()
    local out, status = run(quote(exe) .. " --frobnicate")
    expect.eq(status, 1)
    expect.contains(out, { "unknown option '--frobnicate'", "usage" })
    out = run(quote(exe) .. " --verison")
    expect.contains(out, "graft: unknown option '--verison'\nDid you mean '--version'?\nusage: graft")
  end)
end)

describe("subcommands", function()
  local dir = expect.tmpname("-lua")
  graft.core.make_dirs(dir .. "/graft/commands")
  write(dir .. "/graft/init.lua", "return { marker = 'test tree' }\n")
  write(dir .. "/graft/commands/hello.lua",
    "return function(args) print(#args, args[1], graft.marker) return 3 end\n")
  write(dir .. "/graft/commands/broken.lua", "return function(args) error('broken command') end\n")
  local env = "GRAFT_LUA_DIR=" .. quote(dir) .. " " .. quote(exe)

  it("run lua/graft/commands/<name>.lua with the arguments; its result is the status", function()
    local out, status = run(env .. " hello x y")
    expect.eq(status, 3, out)
    expect.eq(out, "2\tx\ttest tree\n")
  end)

  it("an unknown command lists the available ones", function()
    local out, status = run(env .. " nosuch")
    expect.eq(status, 1)
    expect.contains(out, { "unknown command 'nosuch'", "available commands: broken, hello" })
  end)

  it("a failing command exits 1 with its error", function()
    local out, status = run(env .. " broken")
    expect.eq(status, 1)
    expect.contains(out, { "broken command", "stack traceback" })
    graft.core.remove_tree(dir)
  end)
end)
