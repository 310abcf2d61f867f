"""Shared fixtures of the pruning tests: tiny CNNs and datasets (single thread, seconds)."""

from __future__ import annotations

import pytest
import torch

from _prune_testlib import TinyNet, make_dataset, make_net

torch.set_num_threads(1)


@pytest.fixture
def net() -> TinyNet:
    return make_net()


@pytest.fixture
def dataset() -> torch.utils.data.TensorDataset:
    return make_dataset()
