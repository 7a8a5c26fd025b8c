-- The notebook round trip: `graft notebook` runs a notebook's Lua cells and
-- writes text, values, errors and pictures into it; the result validates with
-- nbformat (python3-nbformat) and holds its image.
local h = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "helpers.lua")
local json = require "graft.json"
local notebook = require "graft.notebook"
local graft_exe = assert(os.getenv("GRAFT_EXE"), "GRAFT_EXE must name the graft executable")
local dir = h.folder()
local q = h.shell_quote

local source = notebook.new{
  {markdown = "# A test notebook\nText cells are left alone."},
  "x = 41\nprint('x is', x)\nio.write('written ', 1, '\\n')\nio.stdout:write('through io.stdout\\n')",
  "x + 1",
  "local plot = require 'graft.plot'\nprint('before the picture')\n"
    .. "plot.lines{series = {{y = {1, 4, 9}, title = 'squares'}}, width = 400, height = 300}\n"
    .. "print('after the picture')",
  "io.stderr:write('a warning\\n')\nlocal function field(t) return t.field end\nlocal value = field(nil)",
  "print('after the error')",
}
local input = dir .. "/in.ipynb"
json.write(input, source, {indent = true})
local input_text = h.read(input)

-- Stops at the error: exit status 1, later cells not run.
local output = dir .. "/out.ipynb"
local status, messages = h.run(q(graft_exe) .. " notebook " .. q(input) .. " -o " .. q(output))
h.check(status == 1, "exit status %s after a failing cell:\n%s", tostring(status), messages)
h.contains(messages, "cell 4/5 failed", "progress")
h.check(h.read(input) == input_text, "the input notebook was changed")

-- nbformat accepts what was written.
local python = "/usr/bin/python3"
local check = python .. " -c 'import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], 4))' "
status, messages = h.run(check .. q(output))
h.check(status == 0, "nbformat rejects the notebook:\n%s", messages)

local nb = json.read(output)
h.check(nb.metadata.language_info.name == "lua" and nb.metadata.kernelspec.language == "lua",
        "metadata says Lua")
local cells = nb.cells
h.check(cells[1].cell_type == "markdown" and cells[1].outputs == nil
        and table.concat(cells[1].source) == "# A test notebook\nText cells are left alone.", "markdown cell untouched")

-- Printed text as one stream output.
local first = cells[2].outputs
h.check(#first == 1 and first[1].output_type == "stream" and first[1].name == "stdout",
        "cell 1 outputs: %s", json.encode(first))
h.check(table.concat(first[1].text) == "x is\t41\nwritten 1\nthrough io.stdout\n",
        "cell 1 text: %q", table.concat(first[1].text))
h.check(cells[2].execution_count == 1, "execution count 1")

-- An expression shows its value.
local value = cells[3].outputs[1]
h.check(value.output_type == "execute_result" and table.concat(value.data["text/plain"]) == "42"
        and value.execution_count == 2, "cell 2: %s", json.encode(cells[3].outputs))

-- The picture, between the texts printed before and after it.
local picture_cell = cells[4].outputs
h.check(#picture_cell == 3, "cell 3 has %d outputs: %s", #picture_cell, json.encode(picture_cell))
h.check(table.concat(picture_cell[1].text) == "before the picture\n", "text before the picture")
h.check(picture_cell[2].output_type == "display_data", "display_data")
local png = h.base64_decode(picture_cell[2].data["image/png"])
local png_path = dir .. "/embedded.png"
local f = assert(io.open(png_path, "wb"))
f:write(png)
f:close()
local width, height = h.png_size(png_path)
h.check(width == 400 and height == 300, "embedded PNG is %dx%d", width, height)
-- the picture was drawn to a scratch file, gone after the cell: its text names none
local plain = table.concat(picture_cell[2].data["text/plain"])
h.check(not plain:find("/", 1, true), "the picture's text/plain names a file: %s", plain)
h.check(table.concat(picture_cell[3].text) == "after the picture\n", "text after the picture")

-- The error: stderr text first, then ename/evalue/traceback naming the cell.
local failing = cells[5].outputs
h.check(failing[1].output_type == "stream" and failing[1].name == "stderr"
        and table.concat(failing[1].text) == "a warning\n", "stderr stream: %s", json.encode(failing))
local err = failing[2]
h.check(err.output_type == "error" and err.ename == "LuaError", "error output: %s", json.encode(err))
h.contains(err.evalue, "cell 4:2: attempt to index a nil value", "evalue")
-- the cell's frames only: not the runner's, graft's or C's
h.check(table.concat(err.traceback, "\n"):find("\n\tcell 4:2: in local 'field'\n\tcell 4:3: in main chunk$"),
        "traceback: %s", table.concat(err.traceback, "\n"))

-- The cell after the error did not run.
h.check(#cells[6].outputs == 0 and cells[6].execution_count == json.null, "cell after the error ran")

-- --continue runs it; without -o the notebook goes beside the input, which stays as
-- it was; --inplace rewrites the input.
status = h.run(q(graft_exe) .. " notebook --continue " .. q(input))
h.check(status == 1, "--continue still reports the failure (status %s)", tostring(status))
h.check(h.read(input) == input_text, "without -o or --inplace the input notebook was changed")
local beside = input:gsub("%.ipynb$", ".executed.ipynb")
nb = json.read(beside)
h.check(table.concat(nb.cells[6].outputs[1].text) == "after the error\n", "written beside the input")
status, messages = h.run(q(graft_exe) .. " notebook --inplace -o " .. q(beside) .. " " .. q(input))
h.check(status == 2 and messages:find("-o and --inplace", 1, true), "-o with --inplace: %s", messages)
status = h.run(q(graft_exe) .. " notebook --continue --inplace " .. q(input))
h.check(status == 1, "--inplace --continue reports the failure (status %s)", tostring(status))
nb = json.read(input)
h.check(table.concat(nb.cells[6].outputs[1].text) == "after the error\n" and nb.cells[6].execution_count == 5,
        "--continue: %s", json.encode(nb.cells[6]))
status, messages = h.run(check .. q(input))
h.check(status == 0, "nbformat rejects the notebook run in place:\n%s", messages)

-- Bytes that are not UTF-8 in a markdown cell, a code cell's source and its output
-- are written as U+FFFD: Jupyter's reader accepts the notebook.
local latin1 = dir .. "/latin1.ipynb"
f = assert(io.open(latin1, "wb"))
f:write('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [\n'
  .. '{"cell_type": "markdown", "id": "m", "metadata": {}, "source": ["caf\xe9 cr\xe8me"]},\n'
  .. '{"cell_type": "code", "id": "c", "metadata": {}, "execution_count": null, "outputs": [],\n'
  .. ' "source": ["-- caf\xe9\\n", "print(\\"bad \\\\255 byte\\")"]}]}\n')
f:close()
local latin1_out = dir .. "/latin1-out.ipynb"
status, messages = h.run(q(graft_exe) .. " notebook " .. q(latin1) .. " -o " .. q(latin1_out))
h.check(status == 0, "notebook with Latin-1 bytes: status %s\n%s", tostring(status), messages)
local written = h.read(latin1_out)
h.check(utf8.len(written) ~= nil, "the notebook written is not UTF-8")
h.contains(written, "caf\u{FFFD} cr\u{FFFD}me", "markdown cell")
h.contains(written, "-- caf\u{FFFD}", "code cell source")
h.contains(written, "bad \u{FFFD} byte", "output")
status, messages = h.run(check .. q(latin1_out))
h.check(status == 0, "nbformat rejects the notebook with Latin-1 bytes:\n%s", messages)

-- Bad input: a clear message, status 1, nothing written.
status, messages = h.run(q(graft_exe) .. " notebook " .. q(dir .. "/missing.ipynb") .. " -o " .. q(dir .. "/x.ipynb"))
h.check(status == 1, "missing input: status %s", tostring(status))
h.contains(messages, "missing.ipynb: No such file or directory", "missing input")
status, messages = h.run(q(graft_exe) .. " notebook " .. q(dir) .. " -o " .. q(dir .. "/x.ipynb"))
h.check(status == 1, "a folder as input: status %s", tostring(status))
h.contains(messages, "graft notebook: json.read: " .. dir .. ": Is a directory", "a folder as input")
local broken = dir .. "/broken.ipynb"
f = assert(io.open(broken, "wb"))
f:write('{"nbformat": 4, "cells": [}')
f:close()
status, messages = h.run(q(graft_exe) .. " notebook " .. q(broken) .. " -o " .. q(dir .. "/x.ipynb"))
h.check(status == 1, "broken input: status %s", tostring(status))
h.contains(messages, "broken.ipynb: json.decode: no valid JSON value at line 1, column 27", "broken input")
h.check(not h.exists(dir .. "/x.ipynb"), "an output was written for bad input")
status, messages = h.run(q(graft_exe) .. " notebook")
h.check(status == 2 and messages:find("usage:"), "no arguments: status %s", tostring(status))
status, messages = h.run(q(graft_exe) .. " notebook " .. q(input) .. " --inplac")
h.check(status == 2 and messages:find("unexpected argument '--inplac'\nDid you mean '--inplace'?\nusage:", 1, true),
        "a misspelt flag: status %s\n%s", tostring(status), messages)

h.cleanup()
print("notebook: ok")
