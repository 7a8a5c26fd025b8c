#!/usr/bin/python3
"""Writes the PyTorch parity fixtures that tests/net/test_parity.c compares graft with.

    /usr/bin/python3 tests/parity/make_fixture.py [output-dir]   (default tests/fixtures)

Needs Debian's python3-torch. The models follow ../shared/reference-notes.md (the
reference's CIFAR ResNet with option-A shortcuts and its CIFAR MobileNetV2). Each
fixture holds one training step in PyTorch: the weights and BatchNorm state before
the step, an input batch and labels, the logits and cross-entropy loss, the gradient
of every parameter ("grad.<name>"), the BatchNorm state after the step
("after.<name>") and the evaluation-mode logits after the step ("eval_logits").
The metadata lists the state_dict keys with shapes in PyTorch's order.

init_std.safetensors holds, for the reference's MobileNetV2 and VGG16 (PyTorch's
default initialisation), ResNet-20 (Kaiming normal) and WRN-16-2 (its wrn.py's rule),
the standard deviation of every conv and linear weight and bias and of every WRN
BatchNorm weight at initialisation, pooled over 16 seeds ("<model>.<key>"), for
tests/net/test_init.c. wrn28_10_keys.txt lists the reference WRN-28-10's state_dict
keys and shapes, one "key shape" line each, for tests/train/models_spec.lua.

The files are written by a small safetensors writer of our own (Debian 12 has no
python3-safetensors), byte-compatible with graft's: compact JSON header, 8-byte
types first, header padded with spaces to a multiple of 8.
"""
import copy
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


# Called with every ReLU's input in the fixtures' models, when set (place_kinks and
# relu_inputs below): watch(x, bn) returns x, or x shifted by a new bias of bn.
RELU_WATCH = None


def relu_after(x, bn):
    """F.relu(x) where x is BatchNorm bn's output, or it plus values that do not depend
    on bn's bias."""
    if RELU_WATCH is not None:
        x = RELU_WATCH(x, bn)
    return F.relu(x)


class OptionAShortcut(nn.Module):
    """x[:, :, ::2, ::2] with planes // 4 zero channels on each side; no parameters."""

    def __init__(self, planes):
        super().__init__()
        self.pad = planes // 4

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Identity()
        if stride != 1 or in_planes != planes:
            self.shortcut = OptionAShortcut(planes)

    def forward(self, x):
        out = relu_after(self.bn1(self.conv1(x)), self.bn1)
        out = self.bn2(self.conv2(out))
        return relu_after(out + self.shortcut(x), self.bn2)


class ResNetCifar(nn.Module):
    def __init__(self, depth, classes=10, in_channels=3):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        in_planes = 16
        for index, planes in enumerate((16, 32, 64)):
            blocks = []
            for b in range(n):
                stride = 2 if index > 0 and b == 0 else 1
                blocks.append(BasicBlock(in_planes, planes, stride))
                in_planes = planes
            setattr(self, "layer%d" % (index + 1), nn.Sequential(*blocks))
        self.linear = nn.Linear(64, classes)
        for m in self.modules():  # the reference's weights_init
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x):
        out = relu_after(self.bn1(self.conv1(x)), self.bn1)
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.avg_pool2d(out, out.size()[3]).flatten(1)
        return self.linear(out)


class InvertedResidual(nn.Module):
    def __init__(self, in_planes, out_planes, expansion, stride):
        super().__init__()
        self.stride = stride
        planes = expansion * in_planes
        self.conv1 = nn.Conv2d(in_planes, planes, 1, 1, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, groups=planes, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_planes, 1, 1, 0, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)
        self.shortcut = nn.Sequential()
        if stride == 1 and in_planes != out_planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, out_planes, 1, 1, 0, bias=False),
                                          nn.BatchNorm2d(out_planes))

    def forward(self, x):
        out = relu_after(self.bn1(self.conv1(x)), self.bn1)
        out = relu_after(self.bn2(self.conv2(out)), self.bn2)
        out = self.bn3(self.conv3(out))
        return out + self.shortcut(x) if self.stride == 1 else out


MOBILENETV2_STAGES = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2),
                      (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class MobileNetV2Cifar(nn.Module):
    def __init__(self, classes=10, in_channels=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 32, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        blocks, in_planes = [], 32
        for expansion, out_planes, count, stride in MOBILENETV2_STAGES:
            for b in range(count):
                blocks.append(InvertedResidual(in_planes, out_planes, expansion,
                                               stride if b == 0 else 1))
                in_planes = out_planes
        self.layers = nn.Sequential(*blocks)
        self.conv2 = nn.Conv2d(320, 1280, 1, 1, 0, bias=False)
        self.bn2 = nn.BatchNorm2d(1280)
        self.linear = nn.Linear(1280, classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layers(out)
        out = F.relu(self.bn2(self.conv2(out)))
        out = F.avg_pool2d(out, 4).flatten(1)
        return self.linear(out)


VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
             512, 512, 512, "M"]


class Vgg16Cifar(nn.Module):
    """models/vgg.py of the reference: features (conv with bias, BatchNorm, ReLU; max
    pooling), classifier 512 -> classes; no init code."""

    def __init__(self, classes=10):
        super().__init__()
        layers, channels = [], 3
        for v in VGG16_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU()]
                channels = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(512, classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class WideBlock(nn.Module):
    """Pre-activation block of the reference's models/wrn.py: bn1, relu, conv1 (stride),
    bn2, relu, conv2; where the width changes shortcut.conv (1x1, stride) of the
    activated input."""

    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.shortcut = None
        if in_planes != planes:
            self.shortcut = nn.Sequential()
            self.shortcut.add_module("conv", nn.Conv2d(in_planes, planes, 1, stride, 0, bias=False))

    def forward(self, x):
        activated = F.relu(self.bn1(x))
        out = self.conv2(F.relu(self.bn2(self.conv1(activated))))
        return out + (self.shortcut(activated) if self.shortcut is not None else x)


class WideResNet(nn.Module):
    """The reference's models/wrn.py (depth 28, widen 10 there): conv, stage1..3 of
    blocks block1..n, bn, fc; conv weights kaiming_normal_ (fan_in), BatchNorm weights
    U(0, 1) and biases 0, the linear bias 0."""

    def __init__(self, depth=28, widen=10, classes=10):
        super().__init__()
        n = (depth - 4) // 6
        self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        in_planes = 16
        for s, planes in enumerate((16 * widen, 32 * widen, 64 * widen)):
            stage = nn.Sequential()
            for b in range(n):
                stage.add_module("block%d" % (b + 1),
                                 WideBlock(in_planes, planes, 2 if s > 0 and b == 0 else 1))
                in_planes = planes
            setattr(self, "stage%d" % (s + 1), stage)
        self.bn = nn.BatchNorm2d(in_planes)
        self.fc = nn.Linear(in_planes, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.uniform_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x):
        out = self.stage3(self.stage2(self.stage1(self.conv(x))))
        out = F.adaptive_avg_pool2d(F.relu(self.bn(out)), 1).flatten(1)
        return self.fc(out)


class BlockStack(nn.Module):
    """Three MobileNetV2 blocks (conv shortcut, identity shortcut, stride 2), global
    average pooling and a linear classifier: small enough for a committed fixture."""

    def __init__(self, in_planes=16, classes=10):
        super().__init__()
        self.layers = nn.Sequential(InvertedResidual(in_planes, 24, 6, 1),
                                    InvertedResidual(24, 24, 6, 1),
                                    InvertedResidual(24, 32, 6, 2))
        self.linear = nn.Linear(32, classes)

    def forward(self, x):
        out = self.layers(x)
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, torch tensor) in order; F32 and I64 only."""
    dtype_names = {torch.float32: "F32", torch.int64: "I64"}
    ordered = [t for t in tensors if t[1].dtype == torch.int64] + \
              [t for t in tensors if t[1].dtype != torch.int64]
    parts = ['"__metadata__":{%s}' % ",".join(
        "%s:%s" % (json.dumps(k, ensure_ascii=False), json.dumps(v, ensure_ascii=False))
        for k, v in metadata.items())] if metadata else []
    blobs, offset = [], 0
    for name, tensor in ordered:
        blob = tensor.detach().contiguous().cpu().numpy().tobytes()
        parts.append('%s:{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}' % (
            json.dumps(name, ensure_ascii=False), dtype_names[tensor.dtype],
            ",".join(str(d) for d in tensor.shape), offset, offset + len(blob)))
        blobs.append(blob)
        offset += len(blob)
    header = ("{" + ",".join(parts) + "}").encode("utf-8")
    header += b" " * ((8 - len(header) % 8) % 8)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        for blob in blobs:
            f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_safetensors(path):
    """The raw format read back by hand, to check the writer."""
    with open(path, "rb") as f:
        data = f.read()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    body = data[8 + size:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = {"F32": torch.float32, "I64": torch.int64}[info["dtype"]]
        out[name] = torch.frombuffer(bytearray(body[begin:end]), dtype=dtype).reshape(info["shape"])
    return out, header.get("__metadata__", {})


def key_list(model):
    return ";".join("%s:%s" % (k, ",".join(str(d) for d in v.shape))
                    for k, v in model.state_dict().items())


def randomise_batchnorm(model, generator):
    """Non-trivial BatchNorm state, so that affine parameters, running statistics and the
    counter are all exercised."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=generator) + 0.5)
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=generator))
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=generator))
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=generator) + 0.5)
                m.num_batches_tracked.fill_(3)


# A ReLU's gradient jumps at its kink: an input within rounding of zero may fall on
# either side in two correct float32 implementations, and the gradients then differ by
# that position's whole share, whatever the tolerance. So that the comparison tests
# the formulas rather than luck, every BatchNorm before a ReLU gets the bias that puts
# the kink, channel by channel, in the middle of the widest gap between the ReLU's
# inputs (in float64) among those between the KINK_QUANTILES of the channel (so that a
# tenth to nine tenths of it passes, as with a random bias), in forward order since
# each bias changes what follows. The smallest distance of an input from the kink is
# then recorded against the error of a float32 forward with Winograd's F(4x4, 3x3),
# the coarsest rounding graft's training forward has, channel by channel;
# tests/net/test_parity.c requires KINK_MARGIN times the error.
KINK_QUANTILES = (0.1, 0.9)
KINK_MARGIN = 100.0


def bias_free(x, bn):
    return x - bn.bias.view(1, -1, 1, 1)


def place_kinks(model, inputs):
    """Sets the bias of every BatchNorm before a ReLU (see above); model is float32 and
    left in training mode with its running statistics as they were."""
    global RELU_WATCH
    exact = copy.deepcopy(model).double().train()
    names = {module: name for name, module in exact.named_modules()}

    def place(x, bn):
        rest = bias_free(x, bn)
        kinks = -rest.transpose(0, 1).flatten(1)  # per channel: the biases at which a value is 0
        ordered, _ = kinks.sort(dim=1)
        low, high = (int(q * (ordered.shape[1] - 1)) for q in KINK_QUANTILES)
        window = ordered[:, low:high + 1]
        widest = (window[:, 1:] - window[:, :-1]).argmax(dim=1, keepdim=True)
        middle = (window.gather(1, widest) + window.gather(1, widest + 1)).squeeze(1) / 2
        bias = middle.float()
        model.get_submodule(names[bn]).bias.data.copy_(bias)
        bn.bias.data.copy_(bias.double())
        return rest + bn.bias.view(1, -1, 1, 1)

    RELU_WATCH = place
    with torch.no_grad():
        exact(inputs.double())
    RELU_WATCH = None


# F(4x4, 3x3) (Lavin and Gray; graft's nn/conv2d_winograd.c): Y = A^T [U (.) V] A,
# U = G g G^T (in double, then rounded), V = B^T d B over 6x6 tiles overlapping by 2.
WINOGRAD_BT = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
               [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
WINOGRAD_G = [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]
WINOGRAD_AT = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
               [0, 1, -1, 8, -8, 1]]


def winograd_f4(x, weight):
    """A 3x3 convolution, stride 1, padding 1, in float32 through F(4x4, 3x3)."""
    n, _, h, w = x.shape
    th, tw = -(-h // 4), -(-w // 4)
    bt, at = torch.tensor(WINOGRAD_BT, dtype=x.dtype), torch.tensor(WINOGRAD_AT, dtype=x.dtype)
    g = torch.tensor(WINOGRAD_G, dtype=torch.float64)
    u = (g @ weight.detach().double() @ g.T).to(x.dtype)
    tiles = F.pad(x, (1, 4 * tw + 1 - w, 1, 4 * th + 1 - h)).unfold(2, 6, 4).unfold(3, 6, 4)
    v = bt @ tiles @ bt.T
    m = torch.einsum("ocij,ncyxij->noyxij", u, v)
    y = at @ m @ at.T
    return y.permute(0, 1, 2, 4, 3, 5).reshape(n, -1, 4 * th, 4 * tw)[:, :, :h, :w]


def relu_inputs(model, inputs, winograd):
    """Every ReLU's input of a training-mode forward of a copy of model, in order, with
    its BatchNorm's name: in float64, or in float32 with the 3x3 stride-1 convolutions of
    at least 8 channels each way on F(4x4, 3x3) (`winograd`), as graft's."""
    global RELU_WATCH
    twin = copy.deepcopy(model).train()
    twin = twin.float() if winograd else twin.double()
    names = {module: name for name, module in twin.named_modules()}
    for module in twin.modules():
        if (winograd and isinstance(module, nn.Conv2d) and module.kernel_size == (3, 3)
                and module.stride == (1, 1) and module.padding == (1, 1) and module.groups == 1
                and module.in_channels >= 8 and module.out_channels >= 8):
            module.forward = lambda x, conv=module: winograd_f4(x, conv.weight)
    seen = []

    def record(x, bn):
        seen.append((names[bn], x.detach().double()))
        return x

    RELU_WATCH = record
    with torch.no_grad():
        twin(inputs.float() if winograd else inputs.double())
    RELU_WATCH = None
    return seen


def kink_margins(model, inputs):
    """"name:margin:error:ratio;..." per ReLU in order: the smallest |input| in float64,
    the largest difference of the float32 F(4x4, 3x3) forward's input from it, and the
    smallest ratio of the two within a channel (whose BatchNorm scales both alike);
    asserts that no ratio is below KINK_MARGIN."""
    exact, rounded = relu_inputs(model, inputs, False), relu_inputs(model, inputs, True)
    entries = []
    for (name, x), (_, y) in zip(exact, rounded):
        per_channel = x.transpose(0, 1).flatten(1), y.transpose(0, 1).flatten(1)
        margins = per_channel[0].abs().min(dim=1).values
        errors = (per_channel[0] - per_channel[1]).abs().max(dim=1).values
        ratio = (margins / errors).min().item()
        assert ratio >= KINK_MARGIN, (name, ratio)
        entries.append("%s:%.3e:%.3e:%.0f" % (name, margins.min().item(), errors.max().item(),
                                              ratio))
    return ";".join(entries)


def training_step(model, inputs, labels, extra_metadata):
    place_kinks(model, inputs)
    extra_metadata = dict(extra_metadata, relu_kinks=kink_margins(model, inputs))
    before = [(k, v.clone()) for k, v in model.state_dict().items()]
    model.train()
    model.zero_grad()
    logits = model(inputs)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    tensors = list(before)
    tensors += [("input", inputs), ("labels", labels), ("logits", logits), ("loss", loss)]
    tensors += [("grad." + k, p.grad) for k, p in model.named_parameters()]
    tensors += [("after." + k, v.clone()) for k, v in model.state_dict().items()
                if k.split(".")[-1] in ("running_mean", "running_var", "num_batches_tracked")]
    model.eval()
    with torch.no_grad():
        tensors.append(("eval_logits", model(inputs)))
    metadata = {"generator": "tests/parity/make_fixture.py", "torch": torch.__version__,
                "state_dict": key_list(model),
                "parameters": str(sum(p.numel() for p in model.parameters()))}
    metadata.update(extra_metadata)
    return tensors, metadata


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(2)

    torch.manual_seed(20)
    generator = torch.Generator().manual_seed(1)
    resnet = ResNetCifar(20)
    randomise_batchnorm(resnet, generator)
    inputs = torch.randn(4, 3, 32, 32, generator=generator)
    labels = torch.tensor([3, 0, 9, 3])
    tensors, metadata = training_step(resnet, inputs, labels, {})
    path = os.path.join(out_dir, "resnet20_step.safetensors")
    write_safetensors(path, tensors, metadata)
    check(path, tensors)
    print("%s: ResNet-20, %s parameters, loss %.6f" % (path, metadata["parameters"],
                                                       dict(tensors)["loss"].item()))

    torch.manual_seed(2)
    blocks = BlockStack()
    randomise_batchnorm(blocks, generator)
    inputs = torch.randn(4, 16, 8, 8, generator=generator)
    labels = torch.tensor([1, 7, 7, 4])
    mobilenet = MobileNetV2Cifar()
    tensors, metadata = training_step(blocks, inputs, labels, {
        "mobilenetv2_state_dict": key_list(mobilenet),
        "mobilenetv2_parameters": str(sum(p.numel() for p in mobilenet.parameters())),
        "resnet_parameters": ",".join(
            "%d:%d" % (d, sum(p.numel() for p in ResNetCifar(d).parameters()))
            for d in (20, 32, 44, 56, 110))})
    path = os.path.join(out_dir, "mobilenetv2_block.safetensors")
    write_safetensors(path, tensors, metadata)
    check(path, tensors)
    print("%s: three MobileNetV2 blocks, MobileNetV2 has %s parameters" % (
        path, metadata["mobilenetv2_parameters"]))

    tensors = (init_std(MobileNetV2Cifar, "mobilenetv2") + init_std(lambda: ResNetCifar(20), "resnet20")
               + init_std(Vgg16Cifar, "vgg16") + init_std(lambda: WideResNet(16, 2), "wrn16_2", batchnorm=True))
    path = os.path.join(out_dir, "init_std.safetensors")
    write_safetensors(path, tensors, {"generator": "tests/parity/make_fixture.py",
                                      "torch": torch.__version__, "seeds": "16",
                                      "mobilenetv2": "PyTorch default initialisation",
                                      "resnet20": "kaiming_normal_ on conv and linear weights",
                                      "vgg16": "PyTorch default initialisation",
                                      "wrn16_2": "kaiming_normal_ convs, BatchNorm weights U(0, 1), "
                                                 "biases 0, linear weight PyTorch default"})
    check(path, tensors)
    print("%s: initial standard deviation of %d tensors" % (path, len(tensors)))

    path = os.path.join(out_dir, "wrn28_10_keys.txt")
    with open(path + ".tmp", "w") as f:
        for key, value in WideResNet(28, 10).state_dict().items():
            f.write("%s %s\n" % (key, ",".join(str(d) for d in value.shape)))
    os.replace(path + ".tmp", path)
    print("%s: the reference WRN-28-10's state_dict keys" % path)


def init_std(make, prefix, seeds=16, batchnorm=False):
    """Per weight and bias: the standard deviation of its values over `seeds` fresh
    models (pooled, so that small layers are measured as precisely as large ones)."""
    values = {}
    for seed in range(seeds):
        torch.manual_seed(1000 + seed)
        for name, module in make().named_modules():
            if not isinstance(module, (nn.Conv2d, nn.Linear, nn.BatchNorm2d)):
                continue
            if isinstance(module, nn.BatchNorm2d) and not batchnorm:
                continue
            pairs = (("weight", module.weight),) if isinstance(module, nn.BatchNorm2d) else \
                (("weight", module.weight), ("bias", module.bias))
            for kind, tensor in pairs:
                if tensor is not None:
                    values.setdefault("%s.%s" % (name, kind), []).append(tensor.detach().flatten())
    return [("%s.%s" % (prefix, key), torch.cat(v).std().reshape(1)) for key, v in values.items()]


def check(path, tensors):
    back, _ = read_safetensors(path)
    for name, tensor in tensors:
        assert torch.equal(back[name], tensor.detach()), name


if __name__ == "__main__":
    main()
