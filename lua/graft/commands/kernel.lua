-- graft kernel -f CONNECTION_FILE       the Jupyter kernel (started by Jupyter)
-- graft kernel install [--user | --prefix DIR]   writes its kernelspec
local jupyter = require "graft.jupyter"
local json = require "graft.json"
local core = require "graft.core"
local options = require "graft.options"

local usage = [[
usage: graft kernel -f CONNECTION_FILE
       graft kernel install [--user | --prefix DIR]
The Jupyter kernel "Lua (graft)": Jupyter starts it with a connection file; every
cell runs in one Lua state, as at the graft prompt. `install` writes the kernelspec
named graft (kernel.json and the logos) where Jupyter looks for it:
  (default)     /usr/local/share/jupyter/kernels/graft (for every user; needs root)
  --user        $JUPYTER_DATA_DIR or ~/.local/share/jupyter, kernels/graft
  --prefix DIR  DIR/share/jupyter/kernels/graft (found with JUPYTER_PATH=DIR/share/jupyter)
The kernelspec runs this graft program and keeps GRAFT_LUA_DIR when it is set.]]

local server_loaded, server = pcall(require, "graft.jupyter.server")

local function fail(message, status)
  io.stderr:write("graft kernel: ", message, "\n")
  return status or 1
end

local function directory_of_this_file()
  return debug.getinfo(1, "S").source:match("^@(.*)/commands/[^/]*$") or "."
end

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then error("cannot read " .. err, 0) end
  local data = f:read("a")
  f:close()
  return data
end

local function user_data_directory()
  local explicit = os.getenv("JUPYTER_DATA_DIR")
  if explicit and explicit ~= "" then return explicit end
  local xdg = os.getenv("XDG_DATA_HOME")
  if xdg and xdg ~= "" then return xdg .. "/jupyter" end
  local home = os.getenv("HOME")
  if not home or home == "" then error("--user: neither JUPYTER_DATA_DIR nor HOME is set", 0) end
  return home .. "/.local/share/jupyter"
end

-- Calls a graft.core file function; its error without this file's position.
local function attempt(f, ...)
  local ok, err = pcall(f, ...)
  if not ok then error(err, 0) end
end

-- The kernelspec (kernel.json and the logos) in <data directory>/kernels/graft.
local function install(data_directory)
  local directory = data_directory .. "/kernels/" .. jupyter.kernelspec.name
  attempt(core.make_dirs, directory)
  local spec = {
    argv = {server.executable(), "kernel", "-f", "{connection_file}"},
    display_name = jupyter.kernelspec.display_name,
    language = jupyter.kernelspec.language,
    interrupt_mode = "signal",
    metadata = {debugger = false},
  }
  local lua_directory = os.getenv("GRAFT_LUA_DIR")
  if lua_directory and lua_directory ~= "" then spec.env = {GRAFT_LUA_DIR = lua_directory} end
  local logos = directory_of_this_file() .. "/kernelspec"
  for _, logo in ipairs{"logo-32x32.png", "logo-64x64.png"} do
    attempt(core.write_file, directory .. "/" .. logo, read_file(logos .. "/" .. logo))
  end
  json.write(directory .. "/kernel.json", spec, {indent = true})
  return directory
end

local function install_command(args)
  local data_directory = "/usr/local/share/jupyter"
  local place -- the flag that chose it: --user and --prefix exclude each other
  local i = 1
  while i <= #args do
    local a = args[i]
    if (a == "--user" or a == "--prefix") and place then
      return fail(a .. " and " .. place .. " cannot be given together\n" .. usage, 2)
    end
    if a == "--user" then
      data_directory, place = user_data_directory(), a
    elseif a == "--prefix" then
      if not args[i + 1] then return fail("--prefix needs a directory\n" .. usage, 2) end
      data_directory, place = args[i + 1] .. "/share/jupyter", a
      i = i + 1
    elseif a == "-h" or a == "--help" then
      print(usage)
      return 0
    else
      return fail("unexpected argument '" .. a .. "' to install"
        .. options.did_you_mean(a, {"--user", "--prefix", "--help"}) .. "\n" .. usage, 2)
    end
    i = i + 1
  end
  local ok, result = pcall(install, data_directory)
  if not ok then return fail("install: " .. tostring(result)) end
  print("graft kernel: installed the kernelspec " .. jupyter.kernelspec.name .. " in " .. result)
  return 0
end

return function(args)
  if #args == 0 then
    io.stderr:write(usage, "\n")
    return 2
  end
  if args[1] == "-h" or args[1] == "--help" then
    print(usage)
    return 0
  end
  if not server_loaded then
    return fail("this graft was built without the Jupyter kernel (it needs the Debian "
                .. "packages libzmq3-dev, libssl-dev and libjansson-dev at build time)")
  end
  if args[1] == "install" then return install_command(table.move(args, 2, #args, 1, {})) end
  local connection_file
  if (args[1] == "-f" or args[1] == "--connection-file") and #args == 2 then
    connection_file = args[2]
  else
    connection_file = #args == 1 and args[1]:match("^%-%-?f=(.+)$") or
                      #args == 1 and args[1]:match("^%-%-connection%-file=(.+)$")
  end
  if not connection_file then return fail("unexpected arguments\n" .. usage, 2) end
  -- the notebooks read GRAFT_QUICK, as with `graft notebook --quick`
  if os.getenv("GRAFT_QUICK") == "1" then GRAFT_QUICK = true end
  local served, err = pcall(server.serve, connection_file)
  if not served then return fail((tostring(err):gsub("^graft kernel: ", ""))) end
  return 0
end
