"""Fixed weight masks for masked retraining.

After hard pruning, the pruned weights must stay *exactly* zero whatever the optimizer
does.  Zeroing gradients is not enough: SGD momentum buffers and Adam moments filled
before pruning keep moving a weight whose gradient is zero.  :meth:`MaskSet.attach`
therefore hooks the optimizer twice: before each step the masked gradients are zeroed
(so weight decay and fresh moments see nothing), after each step the masked weights
are written back to zero (so stale optimizer state cannot move them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import torch
import torch.nn as nn
from torch.utils.hooks import RemovableHandle

from .config import conv_layers
from .errors import CheckpointError, UnknownLayerError

__all__ = ["MaskSet", "OptimizerMaskHandle"]


class OptimizerMaskHandle:
    """Detaches a :class:`MaskSet` from an optimizer (see :meth:`MaskSet.attach`)."""

    def __init__(self, handles: list[RemovableHandle]) -> None:
        self._handles = handles

    def remove(self) -> None:
        """Remove both optimizer hooks."""
        for handle in self._handles:
            handle.remove()
        self._handles = []


class MaskSet:
    """Boolean masks over the weights of named convolutions (``True`` = kept).

    Args:
        model: the network (a DDP wrapper is looked through).
        masks: ``{conv name: bool tensor shaped like its weight}``.
    """

    def __init__(self, model: nn.Module, masks: Mapping[str, torch.Tensor]) -> None:
        convs = dict(conv_layers(model))
        self._params: dict[str, torch.Tensor] = {}
        self._masks: dict[str, torch.Tensor] = {}
        for name, mask in masks.items():
            if name not in convs:
                raise UnknownLayerError(f"mask for {name!r}, which is not a Conv2d of the model")
            weight = convs[name].weight
            if tuple(mask.shape) != tuple(weight.shape):
                raise CheckpointError(
                    f"mask for {name!r} has shape {tuple(mask.shape)}, the weight has {tuple(weight.shape)}"
                )
            self._params[name] = weight
            self._masks[name] = mask.to(device=weight.device, dtype=torch.bool).clone()

    def __len__(self) -> int:
        return len(self._masks)

    def __iter__(self) -> Iterator[str]:
        return iter(self._masks)

    def __getitem__(self, name: str) -> torch.Tensor:
        return self._masks[name]

    def items(self) -> Iterator[tuple[str, torch.Tensor]]:
        """``(layer name, mask)`` pairs."""
        return iter(self._masks.items())

    @torch.no_grad()
    def apply(self) -> None:
        """Set every masked weight to exactly zero (``masked_fill``: also clears NaN/inf)."""
        for name, mask in self._masks.items():
            self._params[name].masked_fill_(~mask, 0.0)

    @torch.no_grad()
    def mask_gradients(self) -> None:
        """Zero the gradients of the masked weights (no-op for weights without a gradient)."""
        for name, mask in self._masks.items():
            grad = self._params[name].grad
            if grad is not None:
                grad.masked_fill_(~mask, 0.0)

    def attach(self, optimizer: torch.optim.Optimizer) -> OptimizerMaskHandle:
        """Keep the masked weights at zero through every ``optimizer.step()``.

        Returns a handle whose ``remove()`` detaches the hooks.
        """

        def before(opt: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
            self.mask_gradients()

        def after(opt: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
            self.apply()

        return OptimizerMaskHandle([optimizer.register_step_pre_hook(before), optimizer.register_step_post_hook(after)])

    def kept(self) -> dict[str, int]:
        """Number of kept weights per layer."""
        return {name: int(mask.sum()) for name, mask in self._masks.items()}

    def density(self) -> float:
        """Fraction of kept weights over all masked layers."""
        total = sum(mask.numel() for mask in self._masks.values())
        return sum(self.kept().values()) / max(total, 1)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The masks, by layer name (CPU tensors)."""
        return {name: mask.cpu().clone() for name, mask in self._masks.items()}
