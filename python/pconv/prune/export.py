"""Export of a pruned model for the compiler: pattern-id tables and a per-layer report.

The compiler (``pconv-opt``'s import pass) needs, per pruned convolution, an integer
table ``[F, C / groups]`` giving each kernel's pattern id in the library (``-1`` for a
kernel whose weights are all zero), plus the library itself (``library.to_mlir()``).
Tables are *inferred from the weights* and checked: a kernel whose non-zeros do not
fit inside a library pattern raises :class:`NotPatternSparseError`, so whatever is
exported is exactly pattern-sparse.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn as nn

from pconv.patterns import PatternLibrary

from .config import conv_layers, unwrap_model
from .errors import NoPrunableLayerError, NotPatternSparseError, PruneError, UnknownLayerError

__all__ = [
    "LayerReport",
    "PatternTables",
    "PruneReport",
    "PrunedModel",
    "check_pattern_sparse",
    "export_pruned",
    "infer_library",
    "pattern_tables",
    "prune_report",
]


class PatternTables(NamedTuple):
    """``{layer name: int32 pattern-id table [F, C / groups] (-1 = pruned)}`` and the library."""

    tables: dict[str, np.ndarray]
    library: PatternLibrary


def _pattern_layer_names(model: nn.Module, kernel: tuple[int, int], layers: Sequence[str] | None) -> list[str]:
    convs = dict(conv_layers(model))
    if layers is None:
        names = [n for n, m in convs.items() if tuple(m.kernel_size) == kernel]
        if not names:
            raise NoPrunableLayerError(f"the model has no {kernel[0]}x{kernel[1]} Conv2d layer")
        return names
    for name in layers:
        if name not in convs:
            raise UnknownLayerError(f"{name!r} is not a Conv2d of the model; known: {sorted(convs)}")
        if tuple(convs[name].kernel_size) != kernel:
            raise PruneError(f"layer {name!r} has kernel {tuple(convs[name].kernel_size)}, the library {kernel}")
    return list(layers)


@torch.no_grad()
def infer_library(
    model: nn.Module, layers: Sequence[str] | None = None, kernel: tuple[int, int] = (3, 3)
) -> PatternLibrary:
    """The library a pruned model uses: the distinct non-zero masks of its kernels.

    Patterns are ordered by frequency (most used first), ties lexicographically.  Only
    meaningful for a model whose every non-empty kernel keeps the same number of taps
    (a model pruned with a library and no kept weight that happens to be exactly zero).

    Raises:
        NotPatternSparseError: kernels keep different numbers of taps, no kernel is
            non-zero, or more than 127 distinct masks occur.
    """
    model = unwrap_model(model)
    convs = dict(conv_layers(model))
    counts: dict[tuple[int, ...], int] = {}
    for name in _pattern_layer_names(model, kernel, layers):
        weight = convs[name].weight
        nonzero = (weight.reshape(-1, kernel[0] * kernel[1]) != 0).cpu()
        codes, freq = torch.unique(nonzero[nonzero.any(dim=1)], dim=0, return_counts=True)
        for code, n in zip(codes.tolist(), freq.tolist(), strict=True):
            key = tuple(t for t, kept in enumerate(code) if kept)
            counts[key] = counts.get(key, 0) + int(n)
    sizes = sorted({len(p) for p in counts})
    if not counts:
        raise NotPatternSparseError("cannot infer a pattern library: every kernel is zero")
    if len(sizes) != 1:
        raise NotPatternSparseError(f"cannot infer a pattern library: kernels keep different tap counts {sizes}")
    if len(counts) > 127:
        raise NotPatternSparseError(f"cannot infer a pattern library: {len(counts)} distinct masks (at most 127)")
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return PatternLibrary([p for p, _ in ranked], kernel=kernel)


@torch.no_grad()
def _layer_table(name: str, weight: torch.Tensor, library: PatternLibrary, hint: torch.Tensor | None) -> np.ndarray:
    f, c = weight.shape[:2]
    nonzero = (weight.detach().reshape(f * c, -1) != 0).cpu()
    masks = torch.from_numpy(library.masks().reshape(len(library), -1))
    fits = ~(nonzero[:, None, :] & ~masks[None, :, :]).any(dim=2)  # [F*C, K]: non-zeros inside pattern
    empty = ~nonzero.any(dim=1)
    bad = ~empty & ~fits.any(dim=1)
    if bool(bad.any()):
        first = int(bad.nonzero()[0])
        taps = nonzero[first].nonzero().flatten().tolist()
        raise NotPatternSparseError(
            f"layer {name!r}: {int(bad.sum())} kernel(s) are not pattern-sparse; first is kernel"
            f" (filter {first // c}, channel {first % c}) with non-zeros at positions {taps},"
            f" inside no pattern of {library.to_mlir()}"
        )
    ids = fits.to(torch.int32).argmax(dim=1).to(torch.int32)  # lowest fitting id
    if hint is not None:
        # Prefer the pruner's own assignment where it is one of the fitting patterns.
        hint = hint.detach().reshape(-1).cpu().to(torch.int64)
        valid = hint >= 0
        ok = torch.zeros_like(valid)
        ok[valid] = fits[valid.nonzero().flatten(), hint[valid]]
        ids = torch.where(ok, hint.to(torch.int32), ids)
    ids[empty] = -1
    return ids.reshape(f, c).numpy()


def pattern_tables(
    model: nn.Module,
    library: PatternLibrary | None = None,
    layers: Sequence[str] | None = None,
    assignments: Mapping[str, torch.Tensor] | None = None,
) -> PatternTables:
    """Pattern-id tables of a pruned model.

    Args:
        model: the pruned network.
        library: its pattern library; ``None`` infers it from the weights
            (:func:`infer_library`, 3x3 kernels).
        layers: the pattern-pruned convolutions; ``None`` means every convolution with
            the library's kernel size (all must then be pattern-sparse).
        assignments: optional pattern ids from the pruner, used to choose among several
            patterns that fit a kernel (possible when a kept weight is exactly zero).

    Returns:
        ``PatternTables(tables, library)``; ``tables[name][f, c]`` is the pattern id of
        kernel ``(f, c)`` or ``-1`` when the kernel is all zero.

    Raises:
        NotPatternSparseError: a kernel's non-zeros fit in no pattern of the library.
    """
    model = unwrap_model(model)
    if library is None:
        library = infer_library(model, layers)
    convs = dict(conv_layers(model))
    tables = {}
    for name in _pattern_layer_names(model, library.kernel, layers):
        hint = assignments.get(name) if assignments is not None else None
        tables[name] = _layer_table(name, convs[name].weight, library, hint)
    return PatternTables(tables, library)


def check_pattern_sparse(model: nn.Module, library: PatternLibrary, layers: Sequence[str] | None = None) -> None:
    """Raise :class:`NotPatternSparseError` unless every kernel of ``layers`` fits a library pattern."""
    pattern_tables(model, library, layers)


@dataclass(frozen=True)
class LayerReport:
    """Sparsity and cost of one convolution (MACs per input image).

    ``pattern_histogram[i]`` counts the kernels using pattern ``i``; it is empty for a
    convolution without pattern pruning.
    """

    name: str
    weight_shape: tuple[int, ...]
    groups: int
    pattern_pruned: bool
    kernels: int
    kept_kernels: int
    pattern_histogram: tuple[int, ...]
    weights: int
    kept_weights: int
    output_hw: tuple[int, int]
    dense_macs: int
    kept_macs: int

    @property
    def mac_reduction(self) -> float:
        """``dense_macs / kept_macs`` (``inf`` when everything is pruned)."""
        return self.dense_macs / self.kept_macs if self.kept_macs else float("inf")


@dataclass(frozen=True)
class PruneReport:
    """Per-layer report over every convolution of a pruned model."""

    library: PatternLibrary
    input_shape: tuple[int, ...]
    layers: tuple[LayerReport, ...]

    @property
    def dense_macs(self) -> int:
        """Convolution MACs of the dense model, per image."""
        return sum(layer.dense_macs for layer in self.layers)

    @property
    def kept_macs(self) -> int:
        """Convolution MACs left after pruning (non-zero weights only), per image."""
        return sum(layer.kept_macs for layer in self.layers)

    @property
    def weight_compression(self) -> float:
        """Convolution weights of the dense model over the kept ones."""
        kept = sum(layer.kept_weights for layer in self.layers)
        return sum(layer.weights for layer in self.layers) / kept if kept else float("inf")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (library as ``PatternLibrary.to_dict()``)."""
        return {
            "library": self.library.to_dict(),
            "input_shape": list(self.input_shape),
            "dense_macs": self.dense_macs,
            "kept_macs": self.kept_macs,
            "weight_compression": self.weight_compression,
            "layers": [{**asdict(layer), "mac_reduction": layer.mac_reduction} for layer in self.layers],
        }

    def to_markdown(self) -> str:
        """A Markdown table, one row per convolution plus a total row."""
        lines = [
            "| layer | weight | kept kernels | pattern histogram | kept weights"
            " | dense MACs | kept MACs | MAC reduction |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in self.layers:
            hist = " ".join(str(h) for h in r.pattern_histogram) if r.pattern_pruned else "(dense)"
            lines.append(
                f"| {r.name} | {'x'.join(map(str, r.weight_shape))} | {r.kept_kernels}/{r.kernels} | {hist} |"
                f" {r.kept_weights}/{r.weights} | {r.dense_macs:,} | {r.kept_macs:,} | {r.mac_reduction:.2f}x |"
            )
        total = self.dense_macs / self.kept_macs if self.kept_macs else float("inf")
        lines.append(f"| **total** | | | | | {self.dense_macs:,} | {self.kept_macs:,} | {total:.2f}x |")
        return "\n".join(lines)


@torch.no_grad()
def _output_sizes(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, tuple[int, int]]:
    sizes: dict[str, tuple[int, int]] = {}
    handles = []
    for name, conv in conv_layers(model):

        def hook(module: nn.Module, args: Any, output: torch.Tensor, name: str = name) -> None:
            sizes[name] = (int(output.shape[-2]), int(output.shape[-1]))

        handles.append(conv.register_forward_hook(hook))
    param = next(model.parameters())
    was_training = model.training
    try:
        model.eval()
        model(torch.zeros(input_shape, dtype=param.dtype, device=param.device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return sizes


def prune_report(
    model: nn.Module,
    library: PatternLibrary,
    input_shape: Sequence[int],
    layers: Sequence[str] | None = None,
    tables: Mapping[str, np.ndarray] | None = None,
) -> PruneReport:
    """Per-layer report: kept kernels, pattern histogram, kept vs dense MACs for ``input_shape``.

    Args:
        model: the pruned network.
        library: its pattern library.
        input_shape: ``(N, C, H, W)`` or ``(C, H, W)``; MACs are per image.
        layers: the pattern-pruned convolutions (as for :func:`pattern_tables`).
        tables: precomputed pattern tables (computed when ``None``).
    """
    model = unwrap_model(model)
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 3:
        shape = (1, *shape)
    if len(shape) != 4:
        raise PruneError(f"input_shape must be (N, C, H, W) or (C, H, W), got {tuple(input_shape)}")
    if tables is None:
        tables = pattern_tables(model, library, layers).tables
    sizes = _output_sizes(model, (1, *shape[1:]))
    reports = []
    for name, conv in conv_layers(model):
        weight = conv.weight.detach()
        f, c = weight.shape[:2]
        kernel_nonzero = (weight.reshape(f, c, -1) != 0).any(dim=2)
        table = tables.get(name)
        hist: tuple[int, ...] = ()
        if table is not None:
            hist = tuple(int(n) for n in np.bincount(table[table >= 0].ravel(), minlength=len(library)))
        oh, ow = sizes.get(name, (0, 0))
        kept_weights = int((weight != 0).sum())
        reports.append(
            LayerReport(
                name=name,
                weight_shape=tuple(weight.shape),
                groups=conv.groups,
                pattern_pruned=table is not None,
                kernels=f * c,
                kept_kernels=int(kernel_nonzero.sum()),
                pattern_histogram=hist,
                weights=weight.numel(),
                kept_weights=kept_weights,
                output_hw=(oh, ow),
                dense_macs=oh * ow * weight.numel(),
                kept_macs=oh * ow * kept_weights,
            )
        )
    return PruneReport(library=library, input_shape=shape, layers=tuple(reports))


@dataclass(frozen=True)
class PrunedModel:
    """A pruned model ready for the compiler.

    Attributes:
        model: a standalone copy of the pruned module (eval mode, no hooks, zeros baked in).
        library: the pattern library.
        tables: ``{layer name: pattern-id table [F, C / groups]}`` (``-1`` = pruned kernel).
        report: the per-layer :class:`PruneReport`.
    """

    model: nn.Module
    library: PatternLibrary
    tables: dict[str, np.ndarray]
    report: PruneReport

    def save(self, directory: str | Path) -> Path:
        """Write ``model.pt`` (state dict), ``patterns.json``, ``tables.npz`` and ``report.{json,md}``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        torch.save(self.model.state_dict(), out / "model.pt")
        (out / "patterns.json").write_text(self.library.to_json() + "\n")
        np.savez(out / "tables.npz", **self.tables)  # type: ignore[arg-type]  # numpy stubs: **kwargs
        (out / "report.json").write_text(json.dumps(self.report.to_dict(), indent=2) + "\n")
        (out / "report.md").write_text(self.report.to_markdown() + "\n")
        return out


def export_pruned(
    model: nn.Module,
    library: PatternLibrary,
    input_shape: Sequence[int],
    layers: Sequence[str] | None = None,
    assignments: Mapping[str, torch.Tensor] | None = None,
) -> PrunedModel:
    """Check that ``model`` is pattern-sparse and package it with its tables and report.

    Raises:
        NotPatternSparseError: a kernel of a pattern layer fits no library pattern.
    """
    model = unwrap_model(model)
    tables = pattern_tables(model, library, layers, assignments).tables
    report = prune_report(model, library, input_shape, layers, tables)
    standalone = copy.deepcopy(model).eval()
    return PrunedModel(model=standalone, library=library, tables=tables, report=report)
