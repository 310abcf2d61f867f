"""ADMM pattern + connectivity pruning.

The problem ``min loss(W)  s.t.  W in S_pattern, W in S_connectivity`` is split with
auxiliary copies ``Z`` (pattern) and ``Y`` (connectivity) and scaled duals ``U``, ``V``:

* W-step (every minibatch, the user's optimizer):
  ``loss(W) + rho/2 ||W - Z + U||^2 + rho/2 ||W - Y + V||^2``  (:meth:`ADMMPruner.penalty`);
* Z/Y/U/V-step (every epoch, :meth:`ADMMPruner.epoch_end`):
  ``Z = proj_pattern(W + U)``, ``Y = proj_conn(W + V)``, ``U += W - Z``, ``V += W - Y``,
  then ``rho`` follows its staged schedule.

``Z, Y, U, V`` live in the pruner for the whole ADMM phase and in its
:meth:`~ADMMPruner.state_dict`, so they survive epochs and checkpoint/resume (a
reimplementation that rebuilds them from ``W`` each epoch silently becomes plain
projected training).  :meth:`ADMMPruner.hard_prune` then fixes the masks, and
:meth:`ADMMPruner.attach` keeps the pruned weights exactly zero during retraining.

Use it in your own loop::

    pruner = ADMMPruner(model, config=PruneConfig(num_patterns=8, connectivity_keep=1 / 3.6))
    for epoch in range(admm_epochs):
        for x, y in loader:
            loss = criterion(model(x), y) + pruner.penalty()
            opt.zero_grad(); loss.backward(); opt.step()
        pruner.epoch_end()
    pruner.hard_prune()
    pruner.attach(opt)          # masked retraining from here on
    ...
    exported = pruner.export(input_shape=(1, 3, 32, 32))
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from pconv.patterns import PatternLibrary

from . import distributed
from .config import LayerPlan, PruneConfig, conv_layers, plan_layers, unwrap_model
from .errors import CheckpointError, PruneError
from .export import PrunedModel, export_pruned
from .library import as_library, extract_library
from .masks import MaskSet, OptimizerMaskHandle
from .projection import (
    pattern_ids,
    pattern_weight_mask,
    project_connectivity,
    project_pattern,
)

__all__ = ["ADMMPruner"]

_STATE_VERSION = 1


class ADMMPruner:
    """Pattern + connectivity pruning trained with ADMM.

    Args:
        model: the trained dense network (a DDP wrapper is looked through; the pruner
            works on the wrapped module's parameters in place).
        library: the pattern library, or anything :func:`~pconv.prune.as_library`
            accepts; ``None`` extracts one from the model's current weights with the
            configuration's ``num_patterns``, ``taps`` and ``force_centre``.
        config: what to prune (:class:`~pconv.prune.PruneConfig`; defaults: 3x3, 4 taps,
            8 patterns, connectivity keeping 1/3.6 of the kernels).

    Attributes:
        library: the pattern library (``pconv.patterns.PatternLibrary``).
        plan: ``{layer name: LayerPlan}`` for every pruned convolution.
        phase: ``"admm"`` until :meth:`hard_prune`, then ``"pruned"``.
        rho: the penalty weight in force.
        updates: number of ADMM updates (:meth:`epoch_end` calls) done.
        masks: the fixed masks after :meth:`hard_prune` (``None`` before).
        assignments: ``{pattern layer: pattern ids [F, C], -1 = pruned}`` after :meth:`hard_prune`.
    """

    def __init__(
        self,
        model: nn.Module,
        library: object | None = None,
        config: PruneConfig | None = None,
    ) -> None:
        self.config = config if config is not None else PruneConfig()
        self._model = unwrap_model(model)
        self._library_given = library is not None
        if library is None:
            pattern_names = [n for n, p in plan_layers(self._model, self.config).items() if p.pattern]
            library = extract_library(
                self._model,
                num_patterns=self.config.num_patterns,
                taps=self.config.taps,
                kernel=self.config.kernel,
                force_centre=self.config.force_centre,
                layers=pattern_names or None,
            )
        self.library: PatternLibrary = as_library(library, self.config.kernel)
        self.plan: dict[str, LayerPlan] = {}
        self._weights: dict[str, torch.Tensor] = {}
        self._set_library(self.library)
        self.z: dict[str, torch.Tensor] = {}
        self.u: dict[str, torch.Tensor] = {}
        self.y: dict[str, torch.Tensor] = {}
        self.v: dict[str, torch.Tensor] = {}
        self.masks: MaskSet | None = None
        self.assignments: dict[str, torch.Tensor] | None = None
        self.phase = "admm"
        self.updates = 0
        self.rho = self.config.rho.at(0)
        self.initialize()

    def _set_library(self, library: PatternLibrary) -> None:
        self.library = library
        self.plan = plan_layers(self._model, self.config, kernel=library.kernel)
        convs = dict(conv_layers(self._model))
        self._weights = {name: convs[name].weight for name in self.plan}

    # -- properties --------------------------------------------------------
    @property
    def model(self) -> nn.Module:
        """The pruned module (without DDP wrapper)."""
        return self._model

    @property
    def pattern_layers(self) -> list[str]:
        """Names of the layers with pattern pruning."""
        return [name for name, plan in self.plan.items() if plan.pattern]

    @property
    def connectivity_layers(self) -> list[str]:
        """Names of the layers with connectivity pruning."""
        return [name for name, plan in self.plan.items() if plan.keep is not None]

    # -- ADMM --------------------------------------------------------------
    @torch.no_grad()
    def initialize(self) -> None:
        """(Re)start ADMM from the current weights: ``Z = proj(W)``, ``Y = proj(W)``, ``U = V = 0``.

        Called once by the constructor; calling it again discards the ADMM state.
        """
        self.phase = "admm"
        self.updates = 0
        self.rho = self.config.rho.at(0)
        self.masks = None
        self.assignments = None
        self.z, self.u, self.y, self.v = {}, {}, {}, {}
        for name, plan in self.plan.items():
            weight = self._weights[name].detach()
            if plan.pattern:
                self.z[name] = project_pattern(weight, self.library, plan.filter_block)[0]
                self.u[name] = torch.zeros_like(weight)
            if plan.keep is not None:
                self.y[name] = self._project_connectivity(name, weight)
                self.v[name] = torch.zeros_like(weight)
        self._broadcast_state()

    def _project_connectivity(self, name: str, weight: torch.Tensor) -> torch.Tensor:
        """``Y``'s projection: whole kernels, chosen by full norm or (``joint_connectivity``)
        by the norm kept after pattern projection, as :meth:`hard_prune` chooses."""
        plan = self.plan[name]
        assert plan.keep is not None
        if not (self.config.joint_connectivity and plan.pattern):
            return project_connectivity(weight, plan.keep, plan.filter_block)[0]
        patterned = project_pattern(weight, self.library, plan.filter_block)[0]
        kept = project_connectivity(patterned, plan.keep, plan.filter_block)[1]
        return weight.detach() * kept[:, :, None, None].to(weight.dtype)

    def penalty(self) -> torch.Tensor:
        """``sum over layers of rho/2 ||W - Z + U||^2 + rho/2 ||W - Y + V||^2`` (0 after hard pruning).

        Add it to the loss of every minibatch of the ADMM phase.
        """
        weights = list(self._weights.values())
        total = weights[0].new_zeros(())
        if self.phase != "admm":
            return total
        scale = self.config.rho_scale
        for name, z in self.z.items():
            term = (self._weights[name] - z + self.u[name]).square().sum()
            total = total + (term * scale[name] if name in scale else term)
        for name, y in self.y.items():
            term = (self._weights[name] - y + self.v[name]).square().sum()
            total = total + (term * scale[name] if name in scale else term)
        return total * (self.rho / 2)

    @torch.no_grad()
    def epoch_end(self) -> dict[str, float]:
        """The Z/Y/U/V update and the rho schedule step; call once after every ADMM epoch.

        Returns:
            ``{"rho": ..., "pattern_residual": ..., "connectivity_residual": ...}``: the
            new ``rho`` and the largest relative primal residual ``||W - Z|| / ||W||``
            (resp. ``Y``) over the layers.
        """
        if self.phase != "admm":
            raise PruneError("epoch_end() is the ADMM update; the pruner is already hard-pruned")
        self._update()
        self.updates += 1
        new_rho = self.config.rho.at(self.updates)
        if new_rho != self.rho and self.config.rescale_duals:
            scale = self.rho / new_rho
            for dual in (*self.u.values(), *self.v.values()):
                dual.mul_(scale)
        self.rho = new_rho
        self._broadcast_state()
        return {"rho": self.rho, **self.residuals()}

    @torch.no_grad()
    def update(self) -> None:
        """The Z/Y/U/V update alone: no rho schedule step, no update count.

        ``Z = proj_pattern(W + U)``, ``U += W - Z``, ``Y = proj_conn(W + V)``, ``V += W - Y``.
        :meth:`epoch_end` calls it once per epoch; ``fit`` with
        ``FitConfig(admm_updates_per_epoch=n)`` also calls it ``n - 1`` times inside every
        ADMM epoch, so ``Z`` and ``Y`` follow the weights more closely while ``rho`` still
        changes per epoch.
        """
        if self.phase != "admm":
            raise PruneError("update() is the ADMM update; the pruner is already hard-pruned")
        self._update()
        self._broadcast_state()

    def _update(self) -> None:
        for name in self.z:
            weight = self._weights[name].detach()
            self.z[name] = project_pattern(weight + self.u[name], self.library,
                                           self.plan[name].filter_block)[0]
            self.u[name].add_(weight - self.z[name])
        for name in self.y:
            weight = self._weights[name].detach()
            self.y[name] = self._project_connectivity(name, weight + self.v[name])
            self.v[name].add_(weight - self.y[name])

    @torch.no_grad()
    def residuals(self) -> dict[str, float]:
        """Largest relative distance of the weights to ``Z`` and to ``Y`` over the layers."""
        out = {"pattern_residual": 0.0, "connectivity_residual": 0.0}
        for key, aux in (("pattern_residual", self.z), ("connectivity_residual", self.y)):
            for name, target in aux.items():
                weight = self._weights[name].detach()
                rel = float((weight - target).norm() / weight.norm().clamp_min(1e-12))
                out[key] = max(out[key], rel)
        return out

    # -- hard pruning and masked retraining --------------------------------
    @torch.no_grad()
    def hard_prune(self) -> MaskSet:
        """Project the weights onto both constraint sets for good and fix the masks.

        Every pattern layer's kernels get their best library pattern; connectivity then
        keeps the kernels with the largest norms *after* pattern projection.  The pruned
        weights are set to zero, the ADMM state is dropped, and the masks are returned
        (also kept as :attr:`masks`).  Rank 0's masks are broadcast under DDP.
        """
        masks: dict[str, torch.Tensor] = {}
        assignments: dict[str, torch.Tensor] = {}
        for name, plan in self.plan.items():
            weight = self._weights[name]
            mask = torch.ones_like(weight, dtype=torch.bool)
            ids: torch.Tensor | None = None
            if plan.pattern:
                ids = pattern_ids(weight, self.library, plan.filter_block)
                mask = pattern_weight_mask(ids, self.library)
            if plan.keep is not None:
                kept = project_connectivity(weight * mask, plan.keep, plan.filter_block)[1]
                mask &= kept[:, :, None, None]
                if ids is not None:
                    ids[~kept] = -1
            distributed.broadcast_([mask] + ([ids] if ids is not None else []))
            weight.masked_fill_(~mask, 0.0)
            masks[name] = mask
            if ids is not None:
                assignments[name] = ids
        self.masks = MaskSet(self._model, masks)
        self.assignments = assignments
        self.phase = "pruned"
        self.z, self.u, self.y, self.v = {}, {}, {}, {}
        return self.masks

    def _require_masks(self) -> MaskSet:
        if self.masks is None:
            raise PruneError("the pruner has no masks yet: call hard_prune() first")
        return self.masks

    def attach(self, optimizer: torch.optim.Optimizer) -> OptimizerMaskHandle:
        """Keep the pruned weights exactly zero through every step of ``optimizer``."""
        return self._require_masks().attach(optimizer)

    def apply_masks(self) -> None:
        """Zero the pruned weights now (e.g. after loading weights from elsewhere)."""
        self._require_masks().apply()

    # -- export --------------------------------------------------------------
    def export(self, input_shape: tuple[int, ...]) -> PrunedModel:
        """The pruned model, pattern-id tables and per-layer report (:class:`~pconv.prune.PrunedModel`).

        Args:
            input_shape: ``(N, C, H, W)`` or ``(C, H, W)`` of one input, for the MAC counts.
        """
        if self.phase != "pruned":
            raise PruneError("export() needs a hard-pruned model: call hard_prune() first")
        return export_pruned(
            self._model, self.library, input_shape, layers=self.pattern_layers, assignments=self.assignments
        )

    # -- state ---------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: phase, rho, update count, Z/Y/U/V or masks, library, plan."""

        def cpu(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return {name: t.detach().cpu().clone() for name, t in tensors.items()}

        return {
            "version": _STATE_VERSION,
            "phase": self.phase,
            "rho": self.rho,
            "updates": self.updates,
            "library": self.library.to_dict(),
            "plan": {name: {"pattern": p.pattern, "keep": p.keep} for name, p in self.plan.items()},
            "z": cpu(self.z),
            "u": cpu(self.u),
            "y": cpu(self.y),
            "v": cpu(self.v),
            "masks": self.masks.state_dict() if self.masks is not None else {},
            "assignments": cpu(self.assignments) if self.assignments is not None else {},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` taken from a pruner with the same library and plan.

        Raises:
            CheckpointError: the state belongs to another library, layer plan or model.
        """
        if state.get("version") != _STATE_VERSION:
            raise CheckpointError(f"unsupported pruner state version {state.get('version')!r}")
        if state["library"] != self.library.to_dict() and not self._library_given:
            # The library was extracted from whatever weights this pruner was built on
            # (e.g. a partly trained model when resuming): the saved one is authoritative.
            self._set_library(PatternLibrary.from_dict(state["library"]))
        if state["library"] != self.library.to_dict():
            raise CheckpointError(
                f"pruner state was saved with library {state['library']}, this pruner has {self.library.to_dict()}"
            )
        plan = {name: {"pattern": p.pattern, "keep": p.keep} for name, p in self.plan.items()}
        if state["plan"] != plan:
            raise CheckpointError(f"pruner state was saved with layer plan {state['plan']}, this pruner has {plan}")
        if state["phase"] not in ("admm", "pruned"):
            raise CheckpointError(f"unknown pruner phase {state['phase']!r}")

        def restore(saved: dict[str, torch.Tensor], dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
            out = {}
            for name, tensor in saved.items():
                if name not in self._weights:
                    raise CheckpointError(f"pruner state has layer {name!r}, which this pruner does not prune")
                weight = self._weights[name]
                out[name] = tensor.to(device=weight.device, dtype=dtype or weight.dtype).clone()
            return out

        if state["phase"] == "admm":
            expected = {"z": self.pattern_layers, "u": self.pattern_layers}
            expected.update({"y": self.connectivity_layers, "v": self.connectivity_layers})
            for key, names in expected.items():
                if sorted(state[key]) != sorted(names):
                    raise CheckpointError(
                        f"pruner state {key.upper()} covers {sorted(state[key])}, expected {sorted(names)}"
                    )
        self.phase = state["phase"]
        self.rho = float(state["rho"])
        self.updates = int(state["updates"])
        self.z, self.u = restore(state["z"]), restore(state["u"])
        self.y, self.v = restore(state["y"]), restore(state["v"])
        if self.phase == "pruned":
            self.masks = MaskSet(self._model, restore(state["masks"], torch.bool))
            self.assignments = restore(state["assignments"], torch.int64)
        else:
            self.masks, self.assignments = None, None

    def _broadcast_state(self) -> None:
        distributed.broadcast_([*self.z.values(), *self.u.values(), *self.y.values(), *self.v.values()])
