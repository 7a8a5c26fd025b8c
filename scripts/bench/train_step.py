#!/usr/bin/python3
"""PyTorch's side of scripts/bench/train_step: the same work as bench_train_step.c
(forward, cross-entropy, backward, plain SGD step on a fixed random batch, warm-up
then timed steps) with torch.set_num_threads(2), printed as one key=value line.

    /usr/bin/python3 scripts/bench/train_step.py resnet20|mobilenetv2 [batch] [warmup] [steps]
"""
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "parity"))
from make_fixture import MobileNetV2Cifar, ResNetCifar  # noqa: E402


def main():
    name = sys.argv[1]
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    steps = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    threads = 2
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = ResNetCifar(20) if name == "resnet20" else MobileNetV2Cifar()
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    inputs = torch.randn(batch, 3, 32, 32)
    labels = torch.randint(0, 10, (batch,))

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        loss = step()
    seconds = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("model=%s batch=%d steps=%d threads=%d images_per_s=%.1f step_ms=%.1f max_rss_mb=%.1f "
          "loss=%.4f" % (name, batch, steps, threads, batch * steps / seconds,
                         1e3 * seconds / steps, rss_mb, loss))


if __name__ == "__main__":
    main()
