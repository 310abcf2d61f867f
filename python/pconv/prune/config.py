"""Pruning configuration and the per-layer plan derived from it.

:class:`PruneConfig` says *what* to prune (pattern size, library size, connectivity
rates, which layers); :func:`plan_layers` resolves it against a model into one
:class:`LayerPlan` per convolution the pruner acts on.  Defaults follow the method
(DESIGN.md section 1): every ``k x k`` convolution gets pattern pruning; connectivity
pruning applies to the ``k x k`` convolutions except the first convolution of the
model (few input channels: removing whole kernels there costs accuracy and saves
little) and depthwise convolutions (one kernel per channel: removing one removes
the channel).  Every default can be overridden.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch.nn as nn

from .errors import InvalidRateError, NoPrunableLayerError, PruneError, UnknownLayerError

__all__ = [
    "LayerPlan",
    "PruneConfig",
    "RhoSchedule",
    "conv_layers",
    "is_depthwise",
    "plan_layers",
    "unwrap_model",
    "validate_rate",
]


@dataclass(frozen=True)
class RhoSchedule:
    """Staged growth of the ADMM penalty weight ``rho``.

    ``rho`` after ``e`` ADMM updates is
    ``initial * growth ** min(e // epochs_per_stage, stages - 1)``: it starts small so
    the weights first move freely towards the constraint sets, then tightens.  The
    default goes 1e-4, 1e-3, ..., 1 (three epochs per stage) and then stays at 1: with
    a mean cross-entropy loss and the penalty summed over the weights, ``rho`` must
    reach about 1 before the weights actually converge onto the constraint sets.

    Attributes:
        initial: ``rho`` of the first stage.
        growth: factor between consecutive stages (``>= 1``).
        epochs_per_stage: ADMM updates (epochs) per stage.
        stages: number of stages; ``rho`` stays at the last stage's value afterwards.
    """

    initial: float = 1e-4
    growth: float = 10.0
    epochs_per_stage: int = 3
    stages: int = 5

    def __post_init__(self) -> None:
        if not (math.isfinite(self.initial) and self.initial > 0):
            raise PruneError(f"rho initial must be a positive finite number, got {self.initial!r}")
        if not (math.isfinite(self.growth) and self.growth >= 1):
            raise PruneError(f"rho growth must be a finite number >= 1, got {self.growth!r}")
        if self.epochs_per_stage < 1:
            raise PruneError(f"rho epochs_per_stage must be >= 1, got {self.epochs_per_stage!r}")
        if self.stages < 1:
            raise PruneError(f"rho stages must be >= 1, got {self.stages!r}")

    def at(self, updates: int) -> float:
        """``rho`` in force after ``updates`` ADMM updates."""
        stage = min(max(updates, 0) // self.epochs_per_stage, self.stages - 1)
        return float(self.initial * self.growth**stage)


@dataclass(frozen=True)
class PruneConfig:
    """What the pruner does.

    Attributes:
        kernel: kernel size the patterns apply to; convolutions of another size get no
            pattern pruning.
        taps: kept positions per pattern (``n``), used when the library is extracted.
        num_patterns: library size (``K``), used when the library is extracted.
        force_centre: extraction always keeps the kernel centre and adds the
            ``taps - 1`` largest neighbours; ``False`` takes the ``taps`` largest.
        connectivity_keep: fraction of kernels kept by connectivity pruning.  A float
            applies to the default set (``k x k`` convolutions, minus the first and the
            depthwise ones unless the two flags below say otherwise); a mapping
            ``{layer name: rate}`` names exactly the layers and their rates (any
            ``Conv2d``, including 1x1, first or depthwise ones); ``None`` (or ``1.0``)
            disables it.
        pointwise_keep: connectivity keep rate of the 1x1 convolutions (not depthwise,
            not the first convolution unless ``connectivity_first_conv``, minus
            ``exclude`` and the layers a ``connectivity_keep`` mapping names): a kernel
            is one weight, so this is magnitude pruning of single weights (per block of
            ``filter_block`` filters when it is set). ``None`` (default) leaves 1x1
            convolutions dense.
        pattern_layers: names of the convolutions that get pattern pruning; ``None``
            means every ``k x k`` convolution (minus ``exclude``).
        exclude: layer names left dense (neither pattern nor default connectivity).
        connectivity_first_conv: include the model's first convolution in the default
            connectivity set.
        connectivity_depthwise: include depthwise convolutions in the default
            connectivity set.
        rho: the ADMM penalty schedule.
        rho_scale: per-layer multipliers of ``rho`` (``{layer name: factor}``, default 1).
            A layer whose loss gradient is large compared to its weights (typically the
            first convolution) needs a larger ``rho`` to converge onto its constraint set.
        rescale_duals: when ``rho`` changes, rescale the scaled duals ``U``, ``V`` by
            ``rho_old / rho_new`` so the unscaled multipliers are preserved (the
            textbook rule for scaled-form ADMM with varying ``rho``).
        joint_connectivity: the ADMM connectivity step ``Y = proj_conn(W + V)`` chooses the
            kernels to keep by the norm they keep *after* pattern projection (the rule
            :meth:`~pconv.prune.ADMMPruner.hard_prune` uses), not by their full norm; the
            kept kernels stay whole in ``Y``.  Layers without pattern pruning are
            unaffected.  ``False`` (default): the plain connectivity projection.
        filter_block: group-shared pattern pruning: blocks of this many consecutive
            filters keep the same kernels with the same patterns (the pattern and
            connectivity projections choose per block, on the block's summed squared
            norms), which the compiler lowers with each input vector feeding the whole
            block. 1 (default) is the per-kernel pruning of the paper. Layers whose
            filter count it does not divide, and depthwise ones, stay per kernel.
    """

    kernel: tuple[int, int] = (3, 3)
    taps: int = 4
    num_patterns: int = 8
    force_centre: bool = True
    connectivity_keep: float | Mapping[str, float] | None = 1 / 3.6
    pointwise_keep: float | None = None
    pattern_layers: Sequence[str] | None = None
    exclude: Sequence[str] = ()
    connectivity_first_conv: bool = False
    connectivity_depthwise: bool = False
    rho: RhoSchedule = field(default_factory=RhoSchedule)
    rho_scale: Mapping[str, float] = field(default_factory=dict)
    rescale_duals: bool = True
    joint_connectivity: bool = False
    filter_block: int = 1

    def __post_init__(self) -> None:
        validate_filter_block(self.filter_block)
        kernel = tuple(int(k) for k in self.kernel)
        if len(kernel) != 2 or min(kernel) < 1:
            raise PruneError(f"kernel must be (kh, kw) with kh, kw >= 1, got {self.kernel!r}")
        object.__setattr__(self, "kernel", kernel)
        area = kernel[0] * kernel[1]
        if not 1 <= self.taps <= area:
            raise PruneError(f"taps must be in [1, {area}] for a {kernel[0]}x{kernel[1]} kernel, got {self.taps}")
        if not 1 <= self.num_patterns <= 127:
            raise PruneError(f"num_patterns must be in [1, 127], got {self.num_patterns}")
        for name, factor in self.rho_scale.items():
            if not (isinstance(factor, (int, float)) and math.isfinite(factor) and factor > 0):
                raise PruneError(f"rho_scale for layer {name!r} must be a positive finite number, got {factor!r}")
        if isinstance(self.connectivity_keep, Mapping):
            for name, rate in self.connectivity_keep.items():
                validate_rate(rate, layer=name)
        elif self.connectivity_keep is not None:
            validate_rate(self.connectivity_keep)
        if self.pointwise_keep is not None:
            validate_rate(self.pointwise_keep, what="pointwise_keep (keep rate of the 1x1 convolutions)")


@dataclass(frozen=True)
class LayerPlan:
    """How one convolution is pruned.

    Attributes:
        name: qualified module name (as in ``model.named_modules()``).
        pattern: the layer gets pattern pruning.
        keep: connectivity keep rate, or ``None`` when the layer keeps all its kernels.
        depthwise: the layer is a depthwise convolution.
        weight_shape: shape of the layer's weight ``[F, C / groups, kh, kw]``.
        filter_block: consecutive filters that share kernels and patterns (1: none).
    """

    name: str
    pattern: bool
    keep: float | None
    depthwise: bool
    weight_shape: tuple[int, ...]
    filter_block: int = 1


def validate_filter_block(filter_block: object) -> int:
    """Return ``filter_block`` if it is a positive integer (a group-shared block size), else raise."""
    if isinstance(filter_block, bool) or not isinstance(filter_block, int) or filter_block < 1:
        raise PruneError(f"filter_block must be a positive integer, got {filter_block!r}")
    return filter_block


def validate_rate(rate: object, layer: str | None = None, what: str = "connectivity keep rate") -> float:
    """Return ``rate`` as a float if it is a keep rate in ``(0, 1]``, else raise InvalidRateError."""
    where = f" for layer {layer!r}" if layer is not None else ""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)):
        raise InvalidRateError(f"{what}{where} must be a number in (0, 1], got {rate!r}")
    value = float(rate)
    if not (math.isfinite(value) and 0.0 < value <= 1.0):
        raise InvalidRateError(
            f"{what}{where} must be in (0, 1] (the fraction of kernels kept), got {rate!r}"
        )
    return value


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside a ``DistributedDataParallel`` / ``DataParallel`` wrapper, else ``model``."""
    while isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
        model = model.module
    return model


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """Every ``nn.Conv2d`` of ``model`` (wrappers removed), in registration order."""
    return [(name, m) for name, m in unwrap_model(model).named_modules() if isinstance(m, nn.Conv2d)]


def is_depthwise(conv: nn.Conv2d) -> bool:
    """True when every input channel has its own group (``groups == in_channels > 1``)."""
    return conv.groups > 1 and conv.groups == conv.in_channels


def _check_names(names: Sequence[str], convs: Mapping[str, nn.Conv2d], what: str) -> None:
    unknown = [n for n in names if n not in convs]
    if unknown:
        raise UnknownLayerError(
            f"{what} names {unknown} that are not Conv2d layers of the model; known: {sorted(convs)}"
        )


def plan_layers(model: nn.Module, config: PruneConfig, kernel: tuple[int, int] | None = None) -> dict[str, LayerPlan]:
    """Resolve ``config`` against ``model``: one plan per convolution the pruner acts on.

    Args:
        model: the network (a DDP wrapper is looked through).
        config: the pruning configuration.
        kernel: kernel size of the pattern library (defaults to ``config.kernel``).

    Raises:
        NoPrunableLayerError: the model has no ``k x k`` convolution, or nothing is left
            to prune after the configuration's exclusions.
        UnknownLayerError: a configured layer name is not a ``Conv2d`` of the model.
        PruneError: a layer listed for pattern pruning does not have a ``k x k`` kernel.
    """
    kh, kw = kernel if kernel is not None else config.kernel
    listed = conv_layers(model)
    convs = dict(listed)
    square = [name for name, m in listed if tuple(m.kernel_size) == (kh, kw)]
    if not square:
        found = [f"{n}: {m.kernel_size[0]}x{m.kernel_size[1]}" for n, m in listed]
        raise NoPrunableLayerError(
            f"the model has no {kh}x{kw} Conv2d layer to prune (convolutions found: {found or 'none'})"
        )
    _check_names(list(config.exclude), convs, "exclude")
    _check_names(list(config.rho_scale), convs, "rho_scale")
    excluded = set(config.exclude)

    if config.pattern_layers is None:
        pattern = [n for n in square if n not in excluded]
    else:
        _check_names(list(config.pattern_layers), convs, "pattern_layers")
        wrong = [n for n in config.pattern_layers if n not in square]
        if wrong:
            raise PruneError(f"pattern_layers {wrong} do not have a {kh}x{kw} kernel")
        pattern = [n for n in config.pattern_layers if n not in excluded]

    first = listed[0][0]

    def in_default_set(name: str) -> bool:
        """Not excluded, and not the first conv unless the config includes it."""
        return name not in excluded and (name != first or config.connectivity_first_conv)

    keep: dict[str, float] = {}
    if isinstance(config.connectivity_keep, Mapping):
        _check_names(list(config.connectivity_keep), convs, "connectivity_keep")
        keep = {n: validate_rate(r, layer=n) for n, r in config.connectivity_keep.items()}
    elif config.connectivity_keep is not None:
        rate = validate_rate(config.connectivity_keep)
        for name in square:
            if in_default_set(name) and (config.connectivity_depthwise or not is_depthwise(convs[name])):
                keep[name] = rate
    if config.pointwise_keep is not None:
        for name, conv in listed:
            if (tuple(conv.kernel_size) == (1, 1) and not is_depthwise(conv) and name not in keep
                    and in_default_set(name)):
                keep[name] = config.pointwise_keep

    plans: dict[str, LayerPlan] = {}
    for name, conv in listed:
        layer_keep = keep.get(name)
        if layer_keep is not None and layer_keep >= 1.0:
            layer_keep = None  # keeping every kernel is no connectivity pruning
        if name in pattern or layer_keep is not None:
            depthwise = is_depthwise(conv)
            block = config.filter_block
            plans[name] = LayerPlan(
                name=name,
                pattern=name in pattern,
                keep=layer_keep,
                depthwise=depthwise,
                weight_shape=tuple(conv.weight.shape),
                filter_block=block if not depthwise and conv.weight.shape[0] % block == 0 else 1,
            )
    if not plans:
        raise NoPrunableLayerError("the configuration leaves no convolution to prune (all excluded)")
    return plans
