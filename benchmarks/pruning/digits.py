"""The real-data workload of the pruning evaluation: scikit-learn's digits and a small CNN.

scikit-learn ships the 1,797 8x8 handwritten digits (UCI "optdigits" test set) inside the
package, so nothing is downloaded.  The held-out test split is fixed (stratified, 30 %,
``random_state=0``); ``split="val"`` instead carves a validation set out of the
training part, for choosing hyperparameters without looking at the test set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

from pconv.prune import epoch_seed, seed_everything, train_one_epoch

TEST_FRACTION = 0.3
SPLIT_SEED = 0


@dataclass(frozen=True)
class DigitsData:
    """Normalized tensors ``[N, 1, 8, 8]`` and labels of one train / evaluation split."""

    train: TensorDataset
    evaluation: TensorDataset
    split: str

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (1, 1, 8, 8)


def load(split: str = "test") -> DigitsData:
    """The digits, split into training and held-out ``split`` ("test" or "val") sets."""
    if split not in ("test", "val"):
        raise ValueError(f"split must be 'test' or 'val', got {split!r}")
    digits = load_digits()
    x = digits.images.astype(np.float32) / 16.0
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_FRACTION, stratify=y, random_state=SPLIT_SEED
    )
    if split == "val":
        x_train, x_test, y_train, y_test = train_test_split(
            x_train, y_train, test_size=0.25, stratify=y_train, random_state=SPLIT_SEED
        )
    mean, std = float(x_train.mean()), float(x_train.std())

    def tensors(xs: np.ndarray, ys: np.ndarray) -> TensorDataset:
        return TensorDataset(torch.from_numpy((xs - mean) / std)[:, None], torch.from_numpy(ys))

    return DigitsData(train=tensors(x_train, y_train), evaluation=tensors(x_test, y_test), split=split)


class DigitsCNN(nn.Module):
    """Four 3x3 convolutions (padding 1) with batch norm: 8x8 -> 8x8 -> pool -> 4x4 -> 4x4.

    ``conv1`` has one input channel, so connectivity pruning leaves it alone by default.
    """

    CHANNELS = (32, 32, 64, 64)

    def __init__(self, channels: tuple[int, int, int, int] = CHANNELS, classes: int = 10) -> None:
        super().__init__()
        c1, c2, c3, c4 = channels
        self.conv1, self.bn1 = nn.Conv2d(1, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1)
        self.conv2, self.bn2 = nn.Conv2d(c1, c2, 3, padding=1, bias=False), nn.BatchNorm2d(c2)
        self.conv3, self.bn3 = nn.Conv2d(c2, c3, 3, padding=1, bias=False), nn.BatchNorm2d(c3)
        self.conv4, self.bn4 = nn.Conv2d(c3, c4, 3, padding=1, bias=False), nn.BatchNorm2d(c4)
        self.head = nn.Linear(c4, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        x = nn.functional.max_pool2d(x, 2)
        x = torch.relu(self.bn3(self.conv3(x)))
        x = torch.relu(self.bn4(self.conv4(x)))
        return self.head(x.mean(dim=(2, 3)))


class DigitsBottleneckCNN(nn.Module):
    """3x3 and 1x1 convolutions alternating (ResNet-50's and MobileNet's pointwise
    layers), batch norm: 8x8 -> pool -> 4x4.  ``conv1`` is 3x3 with one input channel;
    ``conv2``, ``conv4``, ``conv6`` are 1x1 (the ones ``pointwise_keep`` prunes).
    """

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        shapes = [(1, 32, 3), (32, 64, 1), (64, 64, 3), (64, 32, 1), (32, 64, 3), (64, 128, 1)]
        for i, (c, f, k) in enumerate(shapes, start=1):
            setattr(self, f"conv{i}", nn.Conv2d(c, f, k, padding=k // 2, bias=False))
            setattr(self, f"bn{i}", nn.BatchNorm2d(f))
        self.depth = len(shapes)
        self.head = nn.Linear(128, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, self.depth + 1):
            x = torch.relu(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x)))
            if i == 3:
                x = nn.functional.max_pool2d(x, 2)
        return self.head(x.mean(dim=(2, 3)))


MODELS = {"cnn": DigitsCNN, "bottleneck": DigitsBottleneckCNN}
DESCRIPTIONS = {
    "cnn": "four 3x3 convolutions ({channels} channels, batch norm)",
    "bottleneck": "3x3 and 1x1 convolutions alternating (3x3 1->32, 1x1 32->64, 3x3 64->64, pool, "
                  "1x1 64->32, 3x3 32->64, 1x1 64->128; batch norm)",
}


def build(model: str = "cnn", channels: tuple[int, int, int, int] | None = None) -> nn.Module:
    """A fresh ``MODELS[model]``; ``channels`` sets ``DigitsCNN``'s widths (None: its default)."""
    if channels is None:
        return MODELS[model]()
    if model != "cnn":
        raise ValueError(f"channels only apply to the cnn model, not {model!r}")
    return DigitsCNN(channels=channels)


def describe(model: str = "cnn", channels: tuple[int, int, int, int] | None = None) -> str:
    """One line describing ``build(model, channels)``."""
    return DESCRIPTIONS[model].format(channels="-".join(map(str, channels or DigitsCNN.CHANNELS)))


@torch.no_grad()
def accuracy(model: nn.Module, data: TensorDataset) -> float:
    """Top-1 accuracy in percent."""
    was_training = model.training
    model.eval()
    x, y = data.tensors
    correct = (model(x).argmax(dim=1) == y).sum().item()
    model.train(was_training)
    return 100.0 * correct / len(y)


@torch.no_grad()
def cross_entropy(model: nn.Module, data: TensorDataset) -> float:
    """Mean cross-entropy (nats): separates models whose accuracies tie on a small set."""
    was_training = model.training
    model.eval()
    x, y = data.tensors
    loss = nn.functional.cross_entropy(model(x), y).item()
    model.train(was_training)
    return loss


def train_dense(data: DigitsData, seed: int, epochs: int, lr: float, batch_size: int,
                model: str = "cnn", channels: tuple[int, int, int, int] | None = None) -> nn.Module:
    """Train the dense CNN (``build(model, channels)``) with Adam and a cosine schedule; deterministic in ``seed``."""
    seed_everything(seed)
    model = build(model, channels)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5 * (1 + math.cos(math.pi * e / epochs)))
    for epoch in range(epochs):
        gen = torch.Generator().manual_seed(epoch_seed(seed, epoch))
        loader = DataLoader(data.train, batch_size=batch_size, shuffle=True, generator=gen)
        train_one_epoch(model, loader, nn.functional.cross_entropy, opt)
        sched.step()
    return model
