"""Random pattern-sparse CNNs for differential testing and the demo.

Weights are random (fine for correctness and speed, never for accuracy); the
masks are real pattern + connectivity masks over a random library.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from .patterns import PatternLibrary

__all__ = ["random_library", "apply_random_patterns", "random_cnn", "digits_cnn", "count_macs"]


def random_library(rng: random.Random, k: int = 8, taps: int = 4, kernel: int = 3) -> PatternLibrary:
    """``k`` distinct patterns of ``taps`` positions that all keep the centre."""
    area, centre = kernel * kernel, (kernel * kernel) // 2
    others = [p for p in range(area) if p != centre]
    pats: set[tuple[int, ...]] = set()
    while len(pats) < k:
        pats.add(tuple(sorted([centre, *rng.sample(others, taps - 1)])))
    return PatternLibrary(sorted(pats), kernel=(kernel, kernel))


def apply_random_patterns(conv: Any, library: PatternLibrary, rng: random.Random,
                          keep: float = 0.5, prune_filters: int = 0) -> None:
    """Mask a Conv2d in place: each kernel keeps a random library pattern with
    probability ``keep`` (else it is pruned); ``prune_filters`` whole filters go."""
    import torch

    w = conv.weight.data
    f, c = w.shape[:2]
    masks = torch.from_numpy(library.masks().astype(np.float32))
    mask = torch.zeros_like(w)
    dead = set(rng.sample(range(f), min(prune_filters, f)))
    for i in range(f):
        for j in range(c):
            if i not in dead and rng.random() < keep:
                mask[i, j] = masks[rng.randrange(len(library))]
    w.mul_(mask)


def random_cnn(seed: int, in_channels: int = 3) -> tuple[Any, tuple[int, ...]]:
    """A random small CNN with pattern-sparse 3x3 convs and its input shape.

    Covers: stride 1 and 2, padding 0 and 1, channel counts that are not
    multiples of 8, pruned kernels and whole filters, one layer with every
    kernel pruned (some seeds), batch-norm, ReLU, max/avg pooling, a residual
    add and a linear head.
    """
    import torch
    from torch import nn

    rng = random.Random(seed)
    torch.manual_seed(seed)
    library = random_library(rng, k=rng.choice([4, 6, 8]))
    widths = [rng.choice([5, 7, 11, 13, 16]) for _ in range(3)]
    size = rng.choice([12, 15, 16, 20])

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(in_channels, widths[0], 3, stride=rng.choice([1, 2]),
                                   padding=rng.choice([0, 1]), bias=rng.random() < 0.5)
            self.bn1 = nn.BatchNorm2d(widths[0])
            self.conv2 = nn.Conv2d(widths[0], widths[1], 3, padding=1)
            self.conv3 = nn.Conv2d(widths[1], widths[1], 3, padding=1, bias=False)  # residual branch
            self.conv4 = nn.Conv2d(widths[1], widths[2], 3, stride=2, padding=rng.choice([0, 1]))
            self.pool_max = rng.random() < 0.5
            self.head = nn.Linear(widths[2], 10)

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            y = torch.relu(self.conv2(y))
            y = torch.relu(y + self.conv3(y))
            y = nn.functional.max_pool2d(y, 2, ceil_mode=False) if self.pool_max else nn.functional.avg_pool2d(y, 2)
            y = torch.relu(self.conv4(y))
            y = nn.functional.adaptive_avg_pool2d(y, 1).flatten(1)
            return self.head(y)

    net = Net().eval()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):  # non-trivial running statistics
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    convs = [net.conv1, net.conv2, net.conv3, net.conv4]
    all_pruned = rng.choice([None, 2, 3])  # index of a layer with every kernel pruned
    for i, conv in enumerate(convs):
        keep = 0.0 if i == all_pruned else rng.choice([0.3, 0.6, 1.0])
        apply_random_patterns(conv, library, rng, keep=keep, prune_filters=rng.choice([0, 1, 2]))
    return net, (1, in_channels, size, size)


def digits_cnn(width: int = 16, classes: int = 10) -> Any:
    """A small dense CNN for 1x8x8 inputs (scikit-learn's digits): three 3x3 convs
    with batch norm, a max-pool, global average pooling and a linear head. A
    picklable ``nn.Sequential``; the factory of the CLI examples
    (``pconv prune pconv.testing:digits_cnn ...``)."""
    from torch import nn

    def block(cin: int, cout: int) -> list:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(*block(1, width), *block(width, width), nn.MaxPool2d(2), *block(width, 2 * width),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, classes))


def count_macs(model: Any, example: Any) -> tuple[int, int]:
    """(dense MACs, kept MACs) of the model's Conv2d layers on ``example``."""
    import torch
    from torch import nn

    totals = [0, 0]

    def hook(module, inputs, output):
        out_pixels = output.shape[0] * output.shape[2] * output.shape[3]
        w = module.weight
        totals[0] += out_pixels * w.numel()
        totals[1] += out_pixels * int((w != 0).sum())

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(example)
    for h in handles:
        h.remove()
    return totals[0], totals[1]
