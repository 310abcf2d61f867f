"""Benchmark networks in plain torch.nn (torchvision does not import with the pinned torch).

VGG-16, ResNet-18, ResNet-50 and MobileNet-V2 follow the torchvision definitions
(224x224, batch 1, fp32), with random weights from a fixed seed; batch norms are
folded into the preceding convolution before pruning, so the pruned weights are the
weights every engine sees.  ``tiny`` is a small CNN for the smoke test.

Pruning uses ``pconv.prune`` (DESIGN.md section 1): one pattern library of K=8
4-tap patterns extracted from the network's 3x3 kernels, every 3x3 kernel projected
onto its best library pattern, and connectivity projection keeping 1/3.6 of the 3x3
kernels of every 3x3 convolution except the first one and the depthwise ones.
The weights are random, so only the sparsity structure matters here, not accuracy.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn

__all__ = ["NETWORKS", "build", "fold_batchnorm", "prune_network", "conv3x3_layers", "input_shape",
           "kept_weight_bytes"]


def _cbr(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: str | None = "relu") -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                               nn.BatchNorm2d(cout)]
    if act == "relu":
        layers.append(nn.ReLU(inplace=False))
    elif act == "relu6":
        layers.append(nn.ReLU6(inplace=False))
    return layers


# --------------------------------------------------------------------------- VGG-16
class VGG16(nn.Module):
    CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for v in self.CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=False)]
                cin = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=False),
            nn.Linear(4096, 4096), nn.ReLU(inplace=False),
            nn.Linear(4096, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


# --------------------------------------------------------------------------- ResNets
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=False)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        idt = x if self.downsample is None else self.downsample(x)
        return self.relu(out + idt)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=False)
        self.downsample = None
        if stride != 1 or cin != out:
            self.downsample = nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        idt = x if self.downsample is None else self.downsample(x)
        return self.relu(y + idt)


class ResNet(nn.Module):
    def __init__(self, block: type, layers: list[int], num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=False)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        stages = []
        for i, (planes, n) in enumerate(zip([64, 128, 256, 512], layers)):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(block(cin, planes, stride))
                cin = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --------------------------------------------------------------------------- MobileNet-V2
class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers += _cbr(cin, hidden, 1, act="relu6")
        layers += _cbr(hidden, hidden, 3, stride, groups=hidden, act="relu6")
        layers += _cbr(hidden, cout, 1, act=None)
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Sequential(*_cbr(3, 32, 3, 2, act="relu6"))]
        cin = 32
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(nn.Sequential(*_cbr(cin, 1280, 1, act="relu6")))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(1280, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.classifier(torch.flatten(x, 1))


# --------------------------------------------------------------------------- tiny (smoke test)
class Tiny(nn.Module):
    """Two 3x3 convs (the second pattern + connectivity pruned), a depthwise, a 1x1, pooling, FC."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.pw = nn.Conv2d(16, 16, 1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        x = torch.relu(self.pw(torch.relu(self.dw(x)))) + x
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


NETWORKS: dict[str, tuple[Callable[[], nn.Module], tuple[int, int, int, int]]] = {
    "vgg16": (VGG16, (1, 3, 224, 224)),
    "resnet18": (lambda: ResNet(BasicBlock, [2, 2, 2, 2]), (1, 3, 224, 224)),
    "resnet50": (lambda: ResNet(Bottleneck, [3, 4, 6, 3]), (1, 3, 224, 224)),
    "mobilenet_v2": (MobileNetV2, (1, 3, 224, 224)),
    "tiny": (Tiny, (1, 3, 16, 16)),
}


def input_shape(name: str) -> tuple[int, int, int, int]:
    return NETWORKS[name][1]


def _randomize(model: nn.Module, seed: int) -> None:
    """Kaiming-like random weights and non-trivial batch-norm statistics (fixed seed)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.01)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1.0 + 0.1 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(1.0 + 0.1 * torch.rand(m.running_var.shape, generator=g))


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm2d that directly follows a Conv2d (in registration order) into it."""
    prev: tuple[nn.Module, str, nn.Conv2d] | None = None
    pending: list[tuple[nn.Module, str, nn.Conv2d, nn.BatchNorm2d, str]] = []
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.Conv2d):
                prev = (parent, name, child)
            elif isinstance(child, nn.BatchNorm2d) and prev is not None and prev[2].out_channels == child.num_features:
                pending.append((*prev, child, name))
                prev = None
            elif not isinstance(child, (nn.Sequential,)) and len(list(child.children())) == 0:
                prev = None
    with torch.no_grad():
        for _, _, conv, bn, bn_name in pending:
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            conv.weight.mul_(scale[:, None, None, None])
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            new_bias = (bias - bn.running_mean) * scale + bn.bias
            conv.bias = nn.Parameter(new_bias)
    # Replace the folded batch norms by identities.
    folded = {id(bn) for *_, bn, _ in pending}
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if id(child) in folded:
                setattr(parent, name, nn.Identity())
    return model


def build(name: str, seed: int = 0) -> tuple[nn.Module, torch.Tensor]:
    """The network ``name`` with random weights (batch norms folded) and a random input."""
    if name not in NETWORKS:
        raise KeyError(f"unknown network {name!r}; known: {sorted(NETWORKS)}")
    factory, shape = NETWORKS[name]
    torch.manual_seed(seed)
    model = factory().eval()
    _randomize(model, seed)
    fold_batchnorm(model)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed + 1))
    return model.eval(), x


def prune_network(model: nn.Module, num_patterns: int = 8, taps: int = 4, keep: float = 1 / 3.6,
                  filter_block: int = 1, keep_1x1: float | None = None) -> dict:
    """Project ``model``'s weights in place (pattern + connectivity) with ``pconv.prune``.

    ``keep_1x1``: also connectivity-prune every non-depthwise 1x1 convolution, keeping this
    fraction of its kernels (single weights); ``None`` (default, the paper's benchmark
    setting) leaves them dense.

    ``filter_block = G > 1``: group-shared pattern pruning, the G consecutive filters of a
    block keep the same kernels with the same patterns (depthwise convs and convs whose
    filter count G does not divide stay per kernel).

    Returns a summary: the library (as a dict) and, per pruned layer, its plan and its
    kept weights.
    """
    from pconv.prune import PruneConfig, extract_library, plan_layers, project_connectivity, project_pattern

    config = PruneConfig(taps=taps, num_patterns=num_patterns, connectivity_keep=keep, pointwise_keep=keep_1x1,
                         filter_block=filter_block)
    plans = plan_layers(model, config)
    library = extract_library(model, num_patterns=num_patterns, taps=taps,
                              layers=[n for n, p in plans.items() if p.pattern])
    convs = dict(model.named_modules())
    layers = {}
    with torch.no_grad():
        for name, plan in plans.items():
            weight = convs[name].weight
            w = weight.detach()
            block = plan.filter_block
            if plan.keep is not None:
                w, _ = project_connectivity(w, plan.keep, filter_block=block)
            if plan.pattern:
                w, _ = project_pattern(w, library, filter_block=block)
            weight.copy_(w)
            layers[name] = {"pattern": plan.pattern, "keep": plan.keep, "depthwise": plan.depthwise,
                            "filter_block": block,
                            "shape": list(weight.shape), "nonzero": int((w != 0).sum()), "total": w.numel()}
    return {"library": library.to_dict(), "layers": layers}


def kept_weight_bytes(model: nn.Module) -> int:
    """Bytes of the non-zero parameters (fp32): what a sparse format must store at least."""
    return int(sum(int((p != 0).sum()) for p in model.parameters()) * 4)


def conv3x3_layers(model: nn.Module, x: torch.Tensor) -> list[dict]:
    """Every non-depthwise 3x3 Conv2d with its input shape (from one forward pass)."""
    found: list[dict] = []
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d) and tuple(m.kernel_size) == (3, 3) and m.groups == 1:
            def hook(mod, inp, out, name=name):
                found.append({"name": name, "module": mod, "in_shape": tuple(inp[0].shape),
                              "out_shape": tuple(out.shape)})
            hooks.append(m.register_forward_hook(hook))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return found
