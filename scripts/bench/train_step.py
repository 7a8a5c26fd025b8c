#!/usr/bin/python3
"""PyTorch's side of scripts/bench/train_step: the same work as bench_train_step.c
(a training step: forward, cross-entropy, backward, plain SGD step; or an evaluation
forward under torch.no_grad(); on a fixed random batch, warm-up then timed steps)
with torch.set_num_threads(2), printed as one key=value line: images/s over all
timed steps (mean) and of the median step.

    /usr/bin/python3 scripts/bench/train_step.py resnet20|resnet56|mobilenetv2 \
        [batch] [warmup] [steps] [train|eval] [CxHxW]   (images' shape, default 3x32x32)
"""
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "parity"))
from make_fixture import MobileNetV2Cifar, ResNetCifar  # noqa: E402

MODELS = {"resnet20": lambda c: ResNetCifar(20, in_channels=c),
          "resnet56": lambda c: ResNetCifar(56, in_channels=c),
          "mobilenetv2": lambda c: MobileNetV2Cifar(in_channels=c)}


def main():
    name = sys.argv[1]
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    steps = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    mode = sys.argv[5] if len(sys.argv) > 5 else "train"
    shape = sys.argv[6] if len(sys.argv) > 6 else "3x32x32"
    if name not in MODELS or mode not in ("train", "eval"):
        sys.exit("usage: train_step.py resnet20|resnet56|mobilenetv2 [batch] [warmup] [steps] "
                 "[train|eval] [CxHxW]")
    sizes = shape.split("x")
    if len(sizes) != 3 or not all(v.isdigit() and int(v) > 0 for v in sizes) or sizes[1] != sizes[2]:
        sys.exit("train_step.py: image shape '%s' must be CxHxW with H = W, e.g. 1x28x28" % shape)
    channels, size = int(sizes[0]), int(sizes[1])
    threads = 2
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = MODELS[name](channels)
    model.train(mode == "train")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    inputs = torch.randn(batch, channels, size, size)
    labels = torch.randint(0, 10, (batch,))

    def train_step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    def eval_step():
        with torch.no_grad():
            return float(model(inputs)[0, 0])

    step = train_step if mode == "train" else eval_step
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - start)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("model=%s mode=%s shape=%s batch=%d steps=%d threads=%d images_per_s=%.1f "
          "median_images_per_s=%.1f step_ms=%.1f max_rss_mb=%.1f loss=%.4f"
          % (name, mode, shape, batch, steps, threads, batch * steps / sum(times),
             batch / statistics.median(times), 1e3 * sum(times) / steps, rss_mb, loss))


if __name__ == "__main__":
    main()
