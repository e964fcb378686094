"""The model zoo of packages/sparsenet/src/zoo/ in PyTorch: the same modules, names and options, so that

    model = zoo.build("resnet", {}, num_classes=7)
    model.load_state_dict(safetensors_load("runs/x/final.safetensors"), strict=False)

loads a sparsenet checkpoint with no missing key (the *_mask buffers are the only extra keys; the weights are
already multiplied by them). LeNet takes 64x64 inputs; vgg and resnet any size (global average pooling).
Initialisation is PyTorch's default for every layer (as ours), not torchvision's."""
import torch
import torch.nn.functional as F
from torch import nn


class LeNet(nn.Module):
    """packages/sparsenet/src/model.ts: conv 5x5 + ReLU + max-pool 2, twice, then three linear layers."""

    def __init__(self, widths=None, num_classes=7):
        super().__init__()
        w = {"conv1": 6, "conv2": 16, "fc1": 120, "fc2": 84, **(widths or {})}
        self.conv1 = nn.Conv2d(3, w["conv1"], 5)
        self.conv2 = nn.Conv2d(w["conv1"], w["conv2"], 5)
        self.fc1 = nn.Linear(w["conv2"] * 13 * 13, w["fc1"])
        self.fc2 = nn.Linear(w["fc1"], w["fc2"])
        self.fc3 = nn.Linear(w["fc2"], num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class Vgg(nn.Module):
    """zoo/vgg.ts: features = [conv 3x3 (no bias), BatchNorm, ReLU]... with a max-pool closing each stage."""

    def __init__(self, stages=((16,), (32,), (64,), (96,)), num_classes=7):
        super().__init__()
        layers, channels = [], 3
        for stage in stages:
            for width in stage:
                layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
                channels = width
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class BasicBlock(nn.Module):
    """zoo/resnet.ts's BasicBlock, named as torchvision's: conv1, bn1, conv2, bn2, downsample (1x1 + BatchNorm)."""

    def __init__(self, in_channels, channels, stride, inner=None):
        super().__init__()
        inner = inner or channels
        self.conv1 = nn.Conv2d(in_channels, inner, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(inner)
        self.conv2 = nn.Conv2d(inner, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return F.relu(self.bn2(self.conv2(h)) + shortcut)


class ResNet(nn.Module):
    """zoo/resnet.ts: stem conv1/bn1, stages layer1.. of BasicBlocks, avgpool, fc. A stage's `blocks` entry is its
    block count, or each block's inner width (a compacted ResNet)."""

    def __init__(self, widths=(16, 32, 64), blocks=(1, 1, 1), stemStride=2, num_classes=7):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, stride=stemStride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        channels = widths[0]
        for s, (width, stage) in enumerate(zip(widths, blocks)):
            inner = [width] * stage if isinstance(stage, int) else stage
            layer = [BasicBlock(channels if b == 0 else width, width, 2 if b == 0 and s > 0 else 1, w) for b, w in enumerate(inner)]
            channels = width
            self.add_module(f"layer{s + 1}", nn.Sequential(*layer))
        self.stages = len(widths)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        for s in range(self.stages):
            h = getattr(self, f"layer{s + 1}")(h)
        return self.fc(torch.flatten(self.avgpool(h), 1))


# name -> (class, default options): the same names and defaults as zoo/index.ts.
ZOO = {
    "lenet": (LeNet, {"widths": {"conv1": 6, "conv2": 16, "fc1": 120, "fc2": 84}}),
    "vgg": (Vgg, {"stages": [[16], [32], [64], [96]]}),
    "resnet": (ResNet, {"widths": [16, 32, 64], "blocks": [1, 1, 1], "stemStride": 2}),
    "resnet20": (ResNet, {"widths": [16, 32, 64], "blocks": [3, 3, 3], "stemStride": 1}),
}


def build(name, options=None, num_classes=7):
    """The zoo model `name` with `options` over its defaults (a checkpoint's sparsenet.run architecture)."""
    if name not in ZOO:
        raise ValueError(f"zoo: no architecture '{name}' (choices: {', '.join(ZOO)})")
    cls, defaults = ZOO[name]
    unknown = set(options or {}) - set(defaults)
    if unknown:
        raise ValueError(f"zoo: {name} has no option {', '.join(sorted(unknown))} (options: {', '.join(defaults)})")
    return cls(**{**defaults, **(options or {})}, num_classes=num_classes)
