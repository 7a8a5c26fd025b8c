"""`jupyter nbconvert --execute --to notebook` through graft's kernelspec, installed
under a temporary prefix and found through JUPYTER_PATH.

    test_nbconvert.py GRAFT_EXECUTABLE            a notebook made here: text, a value,
                                                  a picture, then a failing notebook; and
                                                  GRAFT_NOTEBOOKS (the names the tests
                                                  run) are GRAFT_NOTEBOOKS_DIR's notebooks
    test_nbconvert.py GRAFT_EXECUTABLE NB.ipynb   runs NB with GRAFT_QUICK=1: every
                                                  cell ran, no error, a PNG
"""
import os
import subprocess
import sys
import tempfile

import nbformat

graft = sys.argv[1]
work = tempfile.mkdtemp(prefix="graft-nbconvert-test-")
prefix = os.path.join(work, "prefix")
subprocess.run([graft, "kernel", "install", "--prefix", prefix], check=True, stdout=subprocess.DEVNULL)
env = dict(os.environ, JUPYTER_PATH=os.path.join(prefix, "share", "jupyter"), GRAFT_QUICK="1")
failures = 0


def check(condition, what, detail=""):
    global failures
    print(("ok - " if condition else "FAIL - ") + what + ("" if condition else "\n    " + repr(detail)))
    failures += 0 if condition else 1


def execute(notebook_path):
    """nbconvert --execute into work/; returns the process and the executed notebook (or None)."""
    out = os.path.join(work, "executed-" + os.path.basename(notebook_path))
    process = subprocess.run(["/usr/bin/jupyter-nbconvert", "--execute", "--to", "notebook",
                              "--ExecutePreprocessor.timeout=600", "--output", out, notebook_path],
                             env=env, capture_output=True, text=True, timeout=900)
    return process, nbformat.read(out, 4) if os.path.exists(out) else None


def outputs(nb):
    return [cell.outputs for cell in nb.cells if cell.cell_type == "code"]


if len(sys.argv) > 2:
    process, nb = execute(sys.argv[2])
    check(process.returncode == 0, "nbconvert --execute %s succeeds" % sys.argv[2], process.stderr[-2000:])
    if nb is not None:
        nbformat.validate(nb)
        cells = [c for c in nb.cells if c.cell_type == "code"]
        check(all(c.execution_count == i + 1 for i, c in enumerate(cells)), "every code cell ran in order")
        check(not any(o.output_type == "error" for c in cells for o in c.outputs), "no cell failed")
        check(any("image/png" in o.get("data", {}) for c in cells for o in c.outputs), "a PNG picture")
        check(nb.metadata.kernelspec.name == "graft", "the notebook names the graft kernel")
else:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "graft", "display_name": "Lua (graft)",
                                                           "language": "lua"}})
    nb.cells = [nbformat.v4.new_markdown_cell("# a test"),
                nbformat.v4.new_code_cell('print("hello from graft")\nanswer = 6 * 7\nanswer'),
                nbformat.v4.new_code_cell("graft.plot.histogram{values = {1, 2, 2, 3, 3, 3}, bins = 3}"),
                nbformat.v4.new_code_cell("quick = GRAFT_QUICK\nquick")]
    path = os.path.join(work, "made.ipynb")
    nbformat.write(nb, path)
    process, executed = execute(path)
    check(process.returncode == 0, "nbconvert --execute succeeds", process.stderr[-2000:])
    if executed is not None:
        nbformat.validate(executed)
        first, picture, quick = outputs(executed)
        check([(o.output_type, o.get("text") or o.get("data", {}).get("text/plain")) for o in first] ==
              [("stream", "hello from graft\n"), ("execute_result", "42")], "text and the value", first)
        check(len(picture) == 1 and picture[0].output_type == "display_data" and "image/png" in picture[0].data,
              "the picture is embedded as PNG", picture)
        check(quick and quick[0].data["text/plain"] == "true", "GRAFT_QUICK=1 reaches the cells", quick)
    nb.cells.insert(2, nbformat.v4.new_code_cell('error("this cell fails")'))
    nbformat.write(nb, path)
    process, executed = execute(path)
    check(process.returncode != 0 and "this cell fails" in process.stderr,
          "a failing cell fails nbconvert with its message", process.stderr[-2000:])
    if "GRAFT_NOTEBOOKS_DIR" in os.environ:
        present = sorted(name[:-len(".ipynb")] for name in os.listdir(os.environ["GRAFT_NOTEBOOKS_DIR"])
                         if name.endswith(".ipynb"))
        check(present == sorted(os.environ["GRAFT_NOTEBOOKS"].split()),
              "every notebook of notebooks/ is executed by the tests (tests/meson.build)", present)

print("%d failed" % failures)
sys.exit(1 if failures else 0)
