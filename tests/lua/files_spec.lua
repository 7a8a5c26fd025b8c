-- graft.core's files and folders without a shell: is_file, make_dirs, write_file,
-- remove_tree.
local core = require("graft").core

describe("is_file", function()
  it("is true for a regular file or a link to one, false for anything else", function()
    local dir = expect.tmpname("-files")
    core.make_dirs(dir .. "/inner")
    core.write_file(dir .. "/plain", "text")
    expect.eq(core.is_file(dir .. "/plain"), true, "a regular file")
    expect.eq(core.is_file(dir .. "/inner"), false, "a folder, which io.open would open")
    expect.eq(core.is_file(dir .. "/missing"), false, "a missing file")
    expect.eq(core.is_file(dir .. "/plain/below"), false, "a path through a file")
    expect.eq(core.is_file(""), false, "the empty path")
    if os.execute("ln -s plain " .. dir .. "/link && ln -s missing " .. dir .. "/dangling") then
      expect.eq(core.is_file(dir .. "/link"), true, "a link to a regular file")
      expect.eq(core.is_file(dir .. "/dangling"), false, "a dangling link")
    end
    core.remove_tree(dir)
    expect.eq(core.is_file(dir .. "/plain"), false, "after remove_tree")
  end)

  it("is true for a file without read permission (io.open fails on it for other users than root)", function()
    local path = expect.tmpname("-unreadable")
    core.write_file(path, "secret")
    os.execute("chmod 000 " .. path)
    expect.eq(core.is_file(path), true)
    os.remove(path)
  end)

  it("refuses a path that is not a string", function()
    expect.error(function() core.is_file({}) end, "is_file")
  end)
end)
