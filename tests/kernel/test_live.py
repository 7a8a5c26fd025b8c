"""graft.train{..., live = true} in the Jupyter kernel: one picture of the training
curves, shown once (display_data with a display_id) and then replaced in place
(update_display_data with the same id) as training goes on; no other picture.

    test_live.py GRAFT_EXECUTABLE
"""
import base64
import os
import subprocess
import sys
import tempfile

from jupyter_client.manager import KernelManager

graft = sys.argv[1]
work = tempfile.mkdtemp(prefix="graft-live-test-")
prefix = os.path.join(work, "prefix")
subprocess.run([graft, "kernel", "install", "--prefix", prefix], check=True, capture_output=True)
os.environ["JUPYTER_PATH"] = os.path.join(prefix, "share", "jupyter")

km = KernelManager(kernel_name="graft")
km.start_kernel(stderr=open(os.path.join(work, "kernel.stderr"), "w"))
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=60)

messages = []
code = """
data = graft.data.fashion_mnist{subset = 400, test_subset = 100}
net = graft.nn.build({graft.nn.conv2d{out = 4, kernel = 3}, graft.nn.relu{}, graft.nn.global_avgpool{},
                      graft.nn.linear{out = 10}}, {in_channels = 1, size = 28})
h = graft.train{net = net, data = data, epochs = 3, batch = 50, live = true, live_every = 4}
return #h
"""
reply = kc.execute_interactive(code, timeout=300, output_hook=lambda m: messages.append(m))
failures = 0


def check(condition, what, detail=""):
    global failures
    print(("ok - " if condition else "FAIL - ") + what + ("" if condition else "\n    " + repr(detail)[:2000]))
    failures += 0 if condition else 1


shown = [(m["msg_type"], m["content"]) for m in messages
         if m["msg_type"] in ("display_data", "update_display_data")]
kinds = [kind for kind, _ in shown]
ids = {content.get("transient", {}).get("display_id") for _, content in shown}
check(reply["content"]["status"] == "ok", "the cell ran", reply["content"])
# 8 batches an epoch, a picture every 4 batches and after every epoch: 2 + 1 per epoch
check(kinds == ["display_data"] + ["update_display_data"] * 8, "one display, then updates in place", kinds)
check(len(ids) == 1 and None not in ids, "all under one display_id", ids)
for kind, content in shown:
    png = base64.b64decode(content["data"].get("image/png", ""))
    if not (png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000):
        check(False, "every picture is a PNG", content["data"].get("text/plain"))
        break
    if "/tmp" in content["data"]["text/plain"]:
        check(False, "text/plain names no temporary file", content["data"]["text/plain"])
        break
else:
    check(True, "every picture is a PNG whose text/plain names no temporary file")
results = [m["content"]["data"]["text/plain"] for m in messages if m["msg_type"] == "execute_result"]
check(results == ["3"], "the history is returned", results)

kc.stop_channels()
km.shutdown_kernel(now=False)
print("%d failure(s)" % failures)
sys.exit(1 if failures else 0)
