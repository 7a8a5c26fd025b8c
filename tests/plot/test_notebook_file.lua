-- Executes one notebook of notebooks/ on reduced settings (--quick) into a scratch
-- copy and checks the result: nbformat accepts it, no cell failed, every code cell
-- ran, and it holds at least one picture. arg[1]: the notebook.
local h = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "helpers.lua")
local json = require "graft.json"
local graft_exe = assert(os.getenv("GRAFT_EXE"), "GRAFT_EXE must name the graft executable")
local input = assert(arg[1], "usage: test_notebook_file.lua NOTEBOOK")
local dir = h.folder()
local output = dir .. "/" .. input:match("([^/]*)$")
local q = h.shell_quote

local status, messages = h.run(q(graft_exe) .. " notebook --quick " .. q(input) .. " -o " .. q(output))
h.check(status == 0, "graft notebook %s: status %s\n%s", input, tostring(status), messages)
status, messages = h.run("/usr/bin/python3 -c 'import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], 4))' "
                         .. q(output))
h.check(status == 0, "nbformat rejects %s:\n%s", output, messages)

local nb = json.read(output)
local pictures, count = 0, 0
for _, cell in ipairs(nb.cells) do
  if cell.cell_type == "code" then
    count = count + 1
    h.check(cell.execution_count == count, "cell %d has execution_count %s", count, tostring(cell.execution_count))
    for _, o in ipairs(cell.outputs) do
      h.check(o.output_type ~= "error", "cell %d failed: %s", count, tostring(o.evalue))
      if o.output_type == "display_data" and o.data["image/png"] then
        pictures = pictures + 1
        h.check(h.base64_decode(o.data["image/png"]):sub(1, 8) == "\137PNG\r\n\26\n", "cell %d: not a PNG", count)
      end
    end
  end
end
h.check(count > 0 and pictures > 0, "%s: %d code cells, %d pictures", input, count, pictures)
h.cleanup()
print(string.format("%s: %d cells, %d pictures", input, count, pictures))
