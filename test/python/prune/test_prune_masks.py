"""Pruned weights stay exactly zero through optimizer steps (momentum, weight decay, Adam)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn as nn

from pconv.prune import ADMMPruner, MagnitudePruner, MaskSet

from _prune_testlib import make_dataset, make_net

OPTIMIZERS: dict[str, Callable[[list[nn.Parameter]], torch.optim.Optimizer]] = {
    "sgd-momentum-wd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-2),
    "sgd-nesterov": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=1e-3),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=1e-2),
}


def _steps(model: nn.Module, opt: torch.optim.Optimizer, n: int) -> None:
    x, y = make_dataset(32).tensors
    for _ in range(n):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()


def _pruned_values(masks: MaskSet, model: nn.Module) -> torch.Tensor:
    modules = dict(model.named_modules())
    return torch.cat([modules[name].weight.detach()[~mask] for name, mask in masks.items()])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_masked_weights_stay_exactly_zero(name: str) -> None:
    model = make_net()
    opt = OPTIMIZERS[name](list(model.parameters()))
    _steps(model, opt, 3)  # dense steps first: momentum buffers / Adam moments are non-zero
    pruner = ADMMPruner(model)
    masks = pruner.hard_prune()
    assert _pruned_values(masks, model).numel() > 0
    assert _pruned_values(masks, model).eq(0).all()
    pruner.attach(opt)
    _steps(model, opt, 5)
    assert _pruned_values(masks, model).eq(0).all()
    # Kept weights still train.
    kept = torch.cat([dict(model.named_modules())[n].weight.detach()[m] for n, m in masks.items()])
    assert kept.ne(0).all()


@pytest.mark.parametrize("name", ["sgd-momentum-wd", "adam"])
def test_zeroing_gradients_alone_is_not_enough(name: str) -> None:
    # Guards the test above: stale momentum / Adam moments move a weight whose gradient is zero.
    model = make_net()
    opt = OPTIMIZERS[name](list(model.parameters()))
    _steps(model, opt, 3)
    masks = ADMMPruner(model).hard_prune()
    x, y = make_dataset(32).tensors
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    masks.mask_gradients()
    opt.step()
    assert _pruned_values(masks, model).ne(0).any()


def test_detached_hooks_stop_masking() -> None:
    model = make_net()
    opt = OPTIMIZERS["sgd-momentum-wd"](list(model.parameters()))
    _steps(model, opt, 2)
    masks = ADMMPruner(model).hard_prune()
    handle = masks.attach(opt)
    _steps(model, opt, 1)
    assert _pruned_values(masks, model).eq(0).all()
    handle.remove()
    _steps(model, opt, 1)
    assert _pruned_values(masks, model).ne(0).any()


def test_magnitude_pruner_masks_stay_zero_and_match_counts() -> None:
    model = make_net()
    reference = ADMMPruner(make_net()).hard_prune()
    pruner = MagnitudePruner.matching(model, reference)
    masks = pruner.hard_prune()
    assert masks.kept() == reference.kept()
    opt = OPTIMIZERS["sgd-momentum-wd"](list(model.parameters()))
    pruner.attach(opt)
    _steps(model, opt, 3)
    assert _pruned_values(masks, model).eq(0).all()
