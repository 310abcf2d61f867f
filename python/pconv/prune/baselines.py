"""Baseline pruners with the same interface as :class:`~pconv.prune.ADMMPruner`.

* One-shot pattern pruning needs no class: an :class:`ADMMPruner` whose
  :meth:`~pconv.prune.ADMMPruner.hard_prune` is called right away (``fit`` with
  ``admm_epochs=0``) projects the dense weights once and fine-tunes with fixed masks.
* :class:`MagnitudePruner` is irregular (unstructured) magnitude pruning: per layer,
  keep the given number of largest-magnitude weights anywhere in the weight tensor.
  :meth:`MagnitudePruner.matching` keeps exactly as many weights per layer as another
  pruner's masks, which is how the evaluation compares methods at equal sparsity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn as nn

from . import distributed
from .config import conv_layers, unwrap_model
from .errors import CheckpointError, NoPrunableLayerError, PruneError, UnknownLayerError
from .masks import MaskSet, OptimizerMaskHandle

__all__ = ["MagnitudePruner"]


class MagnitudePruner:
    """Irregular magnitude pruning to a fixed number of kept weights per layer.

    Args:
        model: the network (a DDP wrapper is looked through).
        kept: ``{conv name: number of weights to keep}``.

    The pruner has no training-time regularizer: :meth:`penalty` is zero and
    :meth:`epoch_end` does nothing, so in :func:`~pconv.prune.fit` it trains densely for
    ``admm_epochs`` (usually 0), prunes, then fine-tunes with the masks fixed.
    """

    def __init__(self, model: nn.Module, kept: Mapping[str, int]) -> None:
        self._model = unwrap_model(model)
        convs = dict(conv_layers(self._model))
        if not kept:
            raise NoPrunableLayerError("MagnitudePruner needs at least one layer to prune")
        self.kept: dict[str, int] = {}
        for name, count in kept.items():
            if name not in convs:
                raise UnknownLayerError(f"{name!r} is not a Conv2d of the model; known: {sorted(convs)}")
            total = convs[name].weight.numel()
            if not 1 <= int(count) <= total:
                raise PruneError(f"kept weights for {name!r} must be in [1, {total}], got {count}")
            self.kept[name] = int(count)
        self._weights = {name: convs[name].weight for name in self.kept}
        self.phase = "dense"
        self.masks: MaskSet | None = None

    @classmethod
    def matching(cls, model: nn.Module, masks: MaskSet) -> MagnitudePruner:
        """A magnitude pruner keeping, per layer, as many weights as ``masks`` do."""
        return cls(model, masks.kept())

    @property
    def model(self) -> nn.Module:
        """The pruned module (without DDP wrapper)."""
        return self._model

    def penalty(self) -> torch.Tensor:
        """Zero: magnitude pruning has no training-time regularizer."""
        return next(iter(self._weights.values())).new_zeros(())

    def epoch_end(self) -> dict[str, float]:
        """No-op (kept for interface parity with :class:`~pconv.prune.ADMMPruner`)."""
        return {}

    @torch.no_grad()
    def hard_prune(self) -> MaskSet:
        """Keep the ``kept[name]`` largest-magnitude weights of every layer, zero the rest."""
        masks: dict[str, torch.Tensor] = {}
        for name, count in self.kept.items():
            weight = self._weights[name]
            flat = weight.detach().abs().reshape(-1)
            order = torch.sort(flat, descending=True, stable=True).indices
            mask = torch.zeros_like(flat, dtype=torch.bool)
            mask[order[:count]] = True
            mask = mask.reshape(weight.shape)
            distributed.broadcast_([mask])
            weight.masked_fill_(~mask, 0.0)
            masks[name] = mask
        self.masks = MaskSet(self._model, masks)
        self.phase = "pruned"
        return self.masks

    def attach(self, optimizer: torch.optim.Optimizer) -> OptimizerMaskHandle:
        """Keep the pruned weights exactly zero through every step of ``optimizer``."""
        if self.masks is None:
            raise PruneError("the pruner has no masks yet: call hard_prune() first")
        return self.masks.attach(optimizer)

    def apply_masks(self) -> None:
        """Zero the pruned weights now."""
        if self.masks is None:
            raise PruneError("the pruner has no masks yet: call hard_prune() first")
        self.masks.apply()

    def state_dict(self) -> dict[str, Any]:
        """Phase, per-layer counts and masks."""
        return {
            "phase": self.phase,
            "kept": dict(self.kept),
            "masks": self.masks.state_dict() if self.masks is not None else {},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` of a pruner with the same per-layer counts."""
        if state.get("kept") != self.kept:
            raise CheckpointError(f"state keeps {state.get('kept')}, this pruner keeps {self.kept}")
        self.phase = state["phase"]
        self.masks = MaskSet(self._model, state["masks"]) if self.phase == "pruned" else None
