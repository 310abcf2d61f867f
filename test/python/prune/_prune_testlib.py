"""Helpers shared by the pruning tests (and their spawned DDP workers): tiny CNNs and data."""

from __future__ import annotations

import torch
import torch.nn as nn


class TinyNet(nn.Module):
    """conv1 (first, 3x3) -> conv2 (3x3) -> dw (depthwise 3x3) -> pw (1x1) -> head."""

    def __init__(self, classes: int = 4) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.pw = nn.Conv2d(16, 8, 1)
        self.head = nn.Linear(8, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        x = torch.relu(self.dw(x))
        x = torch.relu(self.pw(x))
        return self.head(x.mean(dim=(2, 3)))


def make_net(seed: int = 0) -> TinyNet:
    torch.manual_seed(seed)
    return TinyNet()


def make_dataset(n: int = 64, seed: int = 1) -> torch.utils.data.TensorDataset:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 8, 8, generator=gen)
    y = (x[:, 0, :4].sum(dim=(1, 2)) > 0).long() + 2 * (x[:, 0, :, :4].sum(dim=(1, 2)) > 0).long()
    return torch.utils.data.TensorDataset(x, y)
