#!/usr/bin/python3
"""PyTorch's side of scripts/bench/epoch: one epoch of ResNet-20 (the definition of
tests/parity/make_fixture.py, 1x28x28 input) on all of Fashion-MNIST with graft's
protocol: the gzip IDX files of /usr/share/datasets/fashion-mnist read and normalised
(mean 0.2860, std 0.3530), batch 128 reshuffled, random crops with 2 pixels of zero
padding and horizontal flips, SGD with lr 0.1 cosine-annealed per iteration, momentum
0.9, weight decay 5e-4, then the test pass (batch 500) in evaluation mode.
torch.set_num_threads(2). Prints one key=value line; the caller times the process.

    /usr/bin/python3 scripts/bench/epoch.py [subset [data-dir]]   (subset: that many
    training images, for a quick check of the script; the benchmark uses all)
"""
import gzip
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "parity"))
from make_fixture import ResNetCifar  # noqa: E402

MEAN, STD, PAD, BATCH, TEST_BATCH = 0.2860, 0.3530, 2, 128, 500


def read_idx(path, header):
    with gzip.open(path, "rb") as f:
        return torch.frombuffer(bytearray(f.read()[header:]), dtype=torch.uint8)


def load(directory, prefix):
    images = read_idx(os.path.join(directory, prefix + "-images-idx3-ubyte.gz"), 16)
    labels = read_idx(os.path.join(directory, prefix + "-labels-idx1-ubyte.gz"), 8)
    return images.view(-1, 1, 28, 28), labels.long()


def augment(raw, generator):
    """Random 28x28 crops of the zero-padded images and random horizontal flips."""
    n = raw.shape[0]
    padded = F.pad(raw, (PAD, PAD, PAD, PAD))
    dy = torch.randint(0, 2 * PAD + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * PAD + 1, (n,), generator=generator)
    steps = torch.arange(28)
    rows = (dy[:, None] + steps)[:, :, None]
    cols = (dx[:, None] + steps)[:, None, :]
    crops = padded[torch.arange(n)[:, None, None], 0, rows, cols].unsqueeze(1)
    flip = torch.rand(n, generator=generator) < 0.5
    crops = torch.where(flip[:, None, None, None], crops.flip(-1), crops)
    return (crops.float() / 255.0 - MEAN) / STD


def main():
    subset = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    directory = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/datasets/fashion-mnist"
    torch.set_num_threads(2)
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    train_images, train_labels = load(directory, "train")
    test_images, test_labels = load(directory, "t10k")
    if subset > 0:
        train_images, train_labels = train_images[:subset], train_labels[:subset]
    model = ResNetCifar(20, in_channels=1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    batches = math.ceil(train_images.shape[0] / BATCH)
    epoch_start = time.perf_counter()
    model.train()
    order = torch.randperm(train_images.shape[0], generator=generator)
    total_loss = 0.0
    for b in range(batches):
        for group in optimizer.param_groups:
            group["lr"] = 0.05 * (1.0 + math.cos(math.pi * b / batches))
        index = order[b * BATCH:(b + 1) * BATCH]
        inputs = augment(train_images[index], generator)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), train_labels[index])
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * index.shape[0]
    train_end = time.perf_counter()
    model.eval()
    correct = 0
    with torch.no_grad():
        for b in range(0, test_images.shape[0], TEST_BATCH):
            inputs = (test_images[b:b + TEST_BATCH].float() / 255.0 - MEAN) / STD
            correct += (model(inputs).argmax(1) == test_labels[b:b + TEST_BATCH]).sum().item()
    end = time.perf_counter()
    print("train_s=%.2f test_s=%.2f test_top1=%.2f loss=%.4f load_s=%.2f"
          % (train_end - epoch_start, end - train_end, 100.0 * correct / test_images.shape[0],
             total_loss / train_images.shape[0], epoch_start - start))


if __name__ == "__main__":
    main()
