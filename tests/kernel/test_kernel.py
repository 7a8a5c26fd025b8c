"""graft kernel driven by a real Jupyter client (jupyter_client's KernelManager
with the kernelspec that `graft kernel install --prefix` writes): every message
type the kernel answers, output streamed while a cell runs, a picture as PNG, an
error, completion, an interrupt that keeps the state, the heartbeat during a long
cell, a message with a wrong signature, restart and shutdown (exit status 0, so
no leak under the sanitizers).

    test_kernel.py GRAFT_EXECUTABLE
"""
import base64
import json
import os
import struct
import subprocess
import sys
import tempfile

import zmq
from jupyter_client.manager import KernelManager
from jupyter_client.session import Session

graft = sys.argv[1]
work = tempfile.mkdtemp(prefix="graft-kernel-test-")
failures = 0


def check(condition, what, detail=""):
    global failures
    if condition:
        print("ok -", what)
    else:
        failures += 1
        print("FAIL -", what, detail if detail == "" else "\n    " + repr(detail))


# ---- the kernelspec
prefix = os.path.join(work, "prefix")
installed = subprocess.run([graft, "kernel", "install", "--prefix", prefix],
                           capture_output=True, text=True)
spec_dir = os.path.join(prefix, "share", "jupyter", "kernels", "graft")
check(installed.returncode == 0, "kernel install --prefix exits 0", installed.stderr)
with open(os.path.join(spec_dir, "kernel.json")) as f:
    spec = json.load(f)
check(spec["display_name"] == "Lua (graft)" and spec["language"] == "lua"
      and spec["interrupt_mode"] == "signal", "kernel.json names Lua (graft), signal interrupts", spec)
check(os.path.samefile(spec["argv"][0], graft) and spec["argv"][1:] == ["kernel", "-f", "{connection_file}"],
      "kernel.json runs this graft", spec["argv"])
for size in (32, 64):
    with open(os.path.join(spec_dir, "logo-%dx%d.png" % (size, size)), "rb") as f:
        head = f.read(24)
    check(head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) == (size, size),
          "logo-%dx%d.png is a %d x %d PNG" % (size, size, size, size))
user_data = os.path.join(work, "user-data")
installed = subprocess.run([graft, "kernel", "install", "--user"], capture_output=True, text=True,
                           env=dict(os.environ, JUPYTER_DATA_DIR=user_data))
with open(os.path.join(user_data, "kernels", "graft", "kernel.json")) as f:
    check(installed.returncode == 0 and json.load(f) == spec, "kernel install --user writes into JUPYTER_DATA_DIR",
          installed.stderr)
blocker = os.path.join(work, "a-file")
open(blocker, "w").close()
refused = subprocess.run([graft, "kernel", "install", "--prefix", blocker], capture_output=True, text=True)
check(refused.returncode == 1 and blocker in refused.stderr and "kernel.lua" not in refused.stderr,
      "install under a file: status 1 naming the folder", refused.stderr)
os.environ["JUPYTER_PATH"] = os.path.join(prefix, "share", "jupyter")

stderr_path = os.path.join(work, "kernel.stderr")
stderr_file = open(stderr_path, "w")
km = KernelManager(kernel_name="graft")
km.start_kernel(stderr=stderr_file)
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=60)


def run(code, timeout=60):
    """Executes code; returns the reply content and the IOPub messages (type, content)."""
    messages = []
    reply = kc.execute_interactive(
        code, timeout=timeout,
        output_hook=lambda m: messages.append((m["msg_type"], m["content"])))
    return reply["content"], messages


def of_type(messages, kind):
    return [content for t, content in messages if t == kind]


def wait_idle(msg_id, timeout=60):
    """Reads IOPub until the kernel is idle after the request msg_id (a front end
    sends its next cell then; before it, the kernel may still abort what is queued)."""
    while True:
        message = kc.get_iopub_msg(timeout=timeout)
        if (message["msg_type"] == "status" and message["content"]["execution_state"] == "idle"
                and message["parent_header"].get("msg_id") == msg_id):
            return


def shell_reply(send, timeout=30):
    msg_id = send()
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


# ---- kernel_info
info = shell_reply(kc.kernel_info)
check(info["msg_type"] == "kernel_info_reply" and info["content"]["protocol_version"] == "5.3"
      and info["content"]["language_info"]["name"] == "lua"
      and info["content"]["implementation"] == "graft", "kernel_info_reply", info["content"])
check(info["header"]["version"] == "5.3", "replies carry protocol version 5.3", info["header"])

# ---- execute: streams, the value of the last expression as the prompt shows it
reply, messages = run('print("one", 2)\nio.write("no newline")\nio.stderr:write("to stderr\\n")\n'
                      'value = {1, "two", nested = {x = 1}}\nvalue')
check(reply["status"] == "ok" and reply["execution_count"] == 1, "execute_reply ok, count 1", reply)
streams = of_type(messages, "stream")
check([(s["name"], s["text"]) for s in streams] ==
      [("stdout", "one\t2\n"), ("stdout", "no newline"), ("stderr", "to stderr\n")],
      "print, io.write and io.stderr arrive as streams in order", streams)
results = of_type(messages, "execute_result")
check(len(results) == 1 and results[0]["data"]["text/plain"] == '{1, "two", nested = {x = 1}}'
      and results[0]["execution_count"] == 1,
      "the last expression's value formatted as the prompt does", results)
check(of_type(messages, "execute_input") == [{"code": messages and of_type(messages, "execute_input")[0]["code"],
                                              "execution_count": 1}], "execute_input published")
states = [c["execution_state"] for c in of_type(messages, "status")]
check(states == ["busy", "idle"], "status busy then idle", states)

reply, messages = run("x = 2\nx * 3")
check([r["data"]["text/plain"] for r in of_type(messages, "execute_result")] == ["6"],
      "a cell of statements shows its last expression", messages)
reply, messages = run("v = 10\n-1")
check(of_type(messages, "execute_result") == [], "a line that continues the statement before is not split off")
reply, messages = run("v")
check(of_type(messages, "execute_result")[0]["data"]["text/plain"] == "9", "... and v = 10 - 1 ran", messages)
reply, messages = run("?graft.zeros")
check(any("graft.zeros" in s["text"] for s in of_type(messages, "stream")), "?name prints the help")
reply, messages = run("for i = 1, 2 do local y = i end")
check(reply["status"] == "ok" and of_type(messages, "execute_result") == [], "a statement shows no value")
reply, messages = run("'quoted'")
check(of_type(messages, "execute_result")[0]["data"]["text/plain"] == '"quoted"',
      "a string value is quoted as at the prompt")
silent_id = kc.execute("print('silent') silent_ran = true", silent=True)
silent_reply = kc.get_shell_msg(timeout=30)
check(silent_reply["content"]["status"] == "ok" and "execution_count" in silent_reply["content"],
      "a silent execute replies", silent_reply["content"])
reply, messages = run("silent_ran")
check(of_type(messages, "execute_result")[0]["data"]["text/plain"] == "true"
      and reply["execution_count"] == 8, "the silent cell ran without counting", reply)

# ---- output arrives while the cell runs: the cell prints a line, then waits (up to
# 60 s) for the file this client writes when that line has arrived
arrived = os.path.join(work, "first-line-arrived")
streamed = []


def answer_first_line(message):
    if message["msg_type"] == "stream":
        streamed.append(message["content"]["text"])
        if message["content"]["text"] == "first\n":
            open(arrived, "w").close()


reply = kc.execute_interactive(
    'print("first")\nlocal t = os.time()\n'
    'while not io.open(%s) and os.time() - t < 60 do end\n'
    'print(io.open(%s) and "answered" or "not answered")' % (json.dumps(arrived), json.dumps(arrived)),
    timeout=90, output_hook=answer_first_line)
check(reply["content"]["status"] == "ok" and streamed == ["first\n", "answered\n"],
      "the first line arrives while the cell still runs", streamed)

# ---- pictures
reply, messages = run("graft.plot.lines{series = {{y = {1, 3, 2}, title = 'y'}}, title = 'three points'}")
pictures = of_type(messages, "display_data")
png = base64.b64decode(pictures[0]["data"]["image/png"]) if pictures and "image/png" in pictures[0]["data"] else b""
check(len(pictures) == 1 and png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (800, 500),
      "graft.plot sends an 800 x 500 PNG as display_data", [list(p["data"]) for p in pictures])
check(pictures and "/tmp" not in pictures[0]["data"].get("text/plain", ""),
      "the picture's text/plain names no scratch file", pictures and pictures[0]["data"].get("text/plain"))
svg = os.path.join(work, "picture.svg")
reply, messages = run("graft.plot.lines{series = {{y = {1, 2}}}, out = %s}" % json.dumps(svg))
pictures = of_type(messages, "display_data")
check(len(pictures) == 1 and "<svg" in pictures[0]["data"].get("image/svg+xml", ""),
      "an SVG picture arrives as image/svg+xml", pictures)

# ---- a program's own outputs, updated in place (graft.jupyter.display / update_display)
reply, messages = run('jupyter = require "graft.jupyter"\n'
                      'jupyter.display({["text/plain"] = "epoch 1"}, {display_id = "curves"})\n'
                      'jupyter.update_display("curves", {["text/plain"] = "epoch 2"})\n'
                      'jupyter.active()')
shown = [(t, c["data"]["text/plain"], c["transient"]) for t, c in messages
         if t in ("display_data", "update_display_data")]
check(shown == [("display_data", "epoch 1", {"display_id": "curves"}),
                ("update_display_data", "epoch 2", {"display_id": "curves"})]
      and of_type(messages, "execute_result")[0]["data"]["text/plain"] == "true",
      "display with a display_id, then update_display replaces it", shown)
reply, messages = run('jupyter.publish("stream", {name = "stdout", text = "\\xff"})')
check(reply["status"] == "error" and "UTF-8" in reply["evalue"] and "text" in reply["evalue"],
      "publish refuses text that is not UTF-8, naming the field", reply)

# ---- errors
reply, messages = run('local function inner() error("boom") end\ninner()\nprint("not reached")')
errors = of_type(messages, "error")
check(reply["status"] == "error" and reply["ename"] == "LuaError" and "boom" in reply["evalue"],
      "an error replies status error with ename and evalue", reply)
check(len(errors) == 1 and errors[0]["traceback"][0].endswith("boom")
      and any("inner" in line for line in errors[0]["traceback"])
      and not any("graft/" in line for line in errors[0]["traceback"]),
      "the error's traceback is the cell's frames only", errors)
reply, messages = run("x = = 1")
check(reply["status"] == "error" and "unexpected symbol" in reply["evalue"], "a syntax error", reply)

# ---- after a failed cell, the executions queued behind it are aborted (stop_on_error)
def two_cells(stop_on_error):
    first = kc.execute('local t = os.clock() while os.clock() - t < 0.5 do end error("first fails")',
                       stop_on_error=stop_on_error)
    second = kc.execute("queued_ran = (queued_ran or 0) + 1", stop_on_error=stop_on_error)
    replies = {}
    while len(replies) < 2:
        message = kc.get_shell_msg(timeout=60)
        replies[message["parent_header"].get("msg_id")] = message["content"]
    wait_idle(first)
    return replies[first]["status"], replies[second]["status"]
statuses = two_cells(True)
reply, messages = run("queued_ran")
check(statuses == ("error", "aborted") and of_type(messages, "execute_result")[0]["data"]["text/plain"] == "nil",
      "a cell queued behind a failed one is aborted, not run", statuses)
statuses = two_cells(False)
reply, messages = run("queued_ran")
check(statuses == ("error", "ok") and of_type(messages, "execute_result")[0]["data"]["text/plain"] == "1",
      "... unless stop_on_error is false", statuses)

# ---- completion, inspection, is_complete, history
run("things = {{alpha = 1, also = 2, beta = 3}}")
complete = shell_reply(lambda: kc.complete("things[1].al", 12))["content"]
check(complete["matches"] == ["things[1].alpha", "things[1].also"] and complete["cursor_start"] == 0
      and complete["cursor_end"] == 12, "completion after things[1].", complete)
code = 's = "été" ; graft.ze'
complete = shell_reply(lambda: kc.complete(code, len(code)))["content"]
check(complete["matches"] == ["graft.zeros"] and complete["cursor_start"] == len(code) - len("graft.ze"),
      "completion counts code points", complete)
complete = shell_reply(lambda: kc.complete("nothing_here.x", 14))["content"]
check(complete["status"] == "ok" and complete["matches"] == [], "no completion is an empty list", complete)
inspect = shell_reply(lambda: kc.inspect("graft.zeros{2}", 8))["content"]
check(inspect["found"] and inspect["data"]["text/plain"].startswith("graft.zeros"),
      "inspect shows the help text", inspect)
inspect = shell_reply(lambda: kc.inspect("nothing_here", 4))["content"]
check(inspect["status"] == "ok" and not inspect["found"], "inspect of an unknown name", inspect)
for code, verdict in [("for i = 1, 3 do", "incomplete"), ("x = 1", "complete"), ("x = = 1", "invalid"),
                      ("?graft", "complete")]:
    answer = shell_reply(lambda: kc.is_complete(code))["content"]
    check(answer["status"] == verdict, "is_complete %r is %s" % (code, verdict), answer)
history = shell_reply(lambda: kc.history(hist_access_type="tail", n=2))["content"]
check([h[2] for h in history["history"]] == ['queued_ran', 'things = {{alpha = 1, also = 2, beta = 3}}'],
      "history tail", history)
history = shell_reply(lambda: kc.history(hist_access_type="search", pattern="x = *", n=5))["content"]
check([h[2] for h in history["history"]] == ["x = 2\nx * 3", "x = = 1"], "history search", history)
comm = shell_reply(lambda: kc.comm_info())["content"]
check(comm == {"status": "ok", "comms": {}}, "comm_info", comm)

# ---- the heartbeat answers while a cell computes; an interrupt stops the cell and keeps the state
hb = zmq.Context.instance().socket(zmq.REQ)
hb.setsockopt(zmq.LINGER, 0)
hb.connect("%s://%s:%d" % (km.transport, km.ip, km.hb_port))
run("kept = 'before'")
msg_id = kc.execute("count = 0 while true do count = count + 1 if count == 1000 then print('looping') end end")
# an interrupt is for the running cell: one sent before the kernel starts the cell
# finds nothing to stop (as in other kernels), so wait until the loop runs
while True:
    message = kc.get_iopub_msg(timeout=60)
    if (message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "stream"
            and message["content"]["text"] == "looping\n"):
        break
hb.send(b"ping")
check(hb.poll(3000) and hb.recv() == b"ping", "the heartbeat answers during a long cell")
km.interrupt_kernel()
reply = kc.get_shell_msg(timeout=30)
check(reply["parent_header"]["msg_id"] == msg_id and reply["content"]["status"] == "error"
      and "interrupted" in reply["content"]["evalue"], "an interrupt stops the cell", reply["content"])
wait_idle(msg_id)
reply, messages = run("kept .. ' ' .. tostring(count > 0)")
check(of_type(messages, "execute_result")[0]["data"]["text/plain"] == '"before true"',
      "the state is kept after an interrupt", messages)
reply, messages = run("graft.plot.lines{series = {{y = {1, 2}}}}")
check(len(of_type(messages, "display_data")) == 1, "pictures still work after an interrupt", reply)

# ---- a message signed with another key is ignored
intruder = zmq.Context.instance().socket(zmq.DEALER)
intruder.setsockopt(zmq.LINGER, 0)
intruder.connect("%s://%s:%d" % (km.transport, km.ip, km.shell_port))
Session(key=b"not the key").send(intruder, "execute_request", {"code": "hacked = true", "silent": False})
check(intruder.poll(1500) == 0, "no reply to a message with a wrong signature")
reply, messages = run("hacked")
check(of_type(messages, "execute_result")[0]["data"]["text/plain"] == "nil", "its code did not run")

# ---- restart: a new Lua state
old_pid = km.provisioner.process.pid
run("survivor = 1")
km.restart_kernel(now=False)
kc.wait_for_ready(timeout=60)
reply, messages = run("survivor")
check(km.provisioner.process.pid != old_pid and of_type(messages, "execute_result")[0]["data"]["text/plain"] == "nil"
      and reply["execution_count"] == 1, "restart gives a new kernel with a fresh state", reply)

# ---- shutdown: the kernel leaves by itself, with status 0
process = km.provisioner.process
kc.stop_channels()
km.shutdown_kernel(now=False)
code = process.wait(timeout=30)
stderr_file.close()
with open(stderr_path) as f:
    stderr = f.read()
check(code == 0, "the kernel exits with status 0 after shutdown_request", code)
check("Sanitizer" not in stderr and "runtime error" not in stderr, "no sanitizer report", stderr)
check("wrong signature" in stderr, "the wrong signature was reported on stderr", stderr)

# ---- a broken connection file: a clear error, no traceback
broken = os.path.join(work, "broken.json")
with open(broken, "w") as f:
    f.write('{"transport": "tcp", "ip": "127.0.0.1", "key": "k", "signature_scheme": "hmac-sha256"}')
result = subprocess.run([graft, "kernel", "-f", broken], capture_output=True, text=True, timeout=30)
check(result.returncode == 1 and broken in result.stderr and "shell_port" in result.stderr
      and "traceback" not in result.stderr, "a connection file without ports", result.stderr)

missing = os.path.join(work, "no-such-file.json")
result = subprocess.run([graft, "kernel", "-f", missing], capture_output=True, text=True, timeout=30)
check(result.returncode == 1 and result.stderr == "graft kernel: cannot read the connection file: unable to "
      "open %s: No such file or directory\n" % missing, "a missing connection file", result.stderr)

result = subprocess.run([graft, "kernel", "install", "--bogus"], capture_output=True, text=True, timeout=30)
check(result.returncode == 2 and "--bogus" in result.stderr and "usage" in result.stderr,
      "a wrong argument to install: status 2 and the usage", result)
result = subprocess.run([graft, "kernel", "install", "--usr"], capture_output=True, text=True, timeout=30)
check(result.returncode == 2 and "unexpected argument '--usr' to install\nDid you mean '--user'?" in result.stderr,
      "a misspelt flag of install: did you mean", result.stderr)
both = os.path.join(work, "both")
result = subprocess.run([graft, "kernel", "install", "--user", "--prefix", both], capture_output=True, text=True,
                        timeout=30)
check(result.returncode == 2 and "--prefix and --user cannot be given together" in result.stderr
      and not os.path.exists(both), "--user with --prefix: status 2, nothing installed", result)

print("%d failed" % failures)
sys.stdout.flush()
os._exit(1 if failures else 0)  # without the client's noisy destructors
