"""Pattern library extraction from trained weights.

For every ``k x k`` kernel take the centre plus its ``taps - 1`` largest-magnitude
neighbours (or the ``taps`` largest positions when the centre is not forced), count
how often each resulting mask occurs over the whole model and keep the
``num_patterns`` most frequent.  Ties (in magnitude, in frequency) are broken
deterministically: lower position first, then lexicographically smaller pattern
first, so the same weights always give the same library.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import torch
import torch.nn as nn

from pconv.patterns import PatternLibrary

from .config import PruneConfig, conv_layers, plan_layers
from .errors import PruneError

__all__ = ["as_library", "count_kernel_masks", "extract_library", "kernel_top_masks"]


def _centre(kernel: tuple[int, int]) -> int:
    kh, kw = kernel
    if kh % 2 == 0 or kw % 2 == 0:
        raise PruneError(f"a {kh}x{kw} kernel has no centre; use force_centre=False")
    return (kh // 2) * kw + kw // 2


@torch.no_grad()
def kernel_top_masks(weight: torch.Tensor, taps: int, force_centre: bool = True) -> torch.Tensor:
    """Per-kernel top-magnitude masks as bit codes: int64 ``[N]`` for ``N`` non-zero kernels.

    Bit ``t`` of a code is set when position ``t`` (row-major) is kept.  All-zero kernels
    (already pruned, dead) carry no information and are skipped.
    """
    if weight.dim() != 4:
        raise PruneError(f"expected a conv weight [F, C, kh, kw], got shape {tuple(weight.shape)}")
    kernel = (int(weight.shape[2]), int(weight.shape[3]))
    area = kernel[0] * kernel[1]
    if not 1 <= taps <= area:
        raise PruneError(f"taps must be in [1, {area}], got {taps}")
    scores = weight.detach().reshape(-1, area).abs().to(torch.float64)
    scores = scores[scores.sum(dim=1) > 0]
    if force_centre:
        scores[:, _centre(kernel)] = float("inf")
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :taps]
    return (torch.ones_like(order) << order).sum(dim=1)


def _code_to_pattern(code: int, area: int) -> tuple[int, ...]:
    return tuple(t for t in range(area) if code >> t & 1)


def count_kernel_masks(
    weights: Iterable[torch.Tensor], taps: int, force_centre: bool = True
) -> Counter[tuple[int, ...]]:
    """How many kernels of ``weights`` have each top-magnitude mask (as a pattern tuple)."""
    counts: Counter[tuple[int, ...]] = Counter()
    for weight in weights:
        area = int(weight.shape[2] * weight.shape[3])
        codes, freq = torch.unique(kernel_top_masks(weight, taps, force_centre), return_counts=True)
        for code, n in zip(codes.tolist(), freq.tolist(), strict=True):
            counts[_code_to_pattern(int(code), area)] += int(n)
    return counts


def extract_library(
    model: nn.Module,
    *,
    num_patterns: int = 8,
    taps: int = 4,
    kernel: Sequence[int] = (3, 3),
    force_centre: bool = True,
    layers: Sequence[str] | None = None,
) -> PatternLibrary:
    """Extract a pattern library from a trained model.

    Args:
        model: the trained (dense) network.
        num_patterns: library size ``K``.
        taps: kept positions per pattern ``n``.
        kernel: kernel size; only convolutions with this kernel are read.
        force_centre: always keep the centre (``taps - 1`` neighbours are chosen).
        layers: names of the convolutions to read; ``None`` reads every ``k x k`` one.

    Returns:
        The ``num_patterns`` most frequent masks, most frequent first (pattern id 0 is
        the most common).  If fewer distinct masks occur, the library is completed with
        unseen candidates in lexicographic order so it always has ``num_patterns``
        patterns.

    Raises:
        NoPrunableLayerError: the model has no ``k x k`` convolution.
        PruneError: ``num_patterns`` exceeds the number of possible patterns.
    """
    kernel_t = (int(kernel[0]), int(kernel[1]))
    config = PruneConfig(
        kernel=kernel_t,
        taps=taps,
        num_patterns=num_patterns,
        force_centre=force_centre,
        connectivity_keep=None,
        pattern_layers=layers,
    )
    plans = plan_layers(model, config)
    convs = dict(conv_layers(model))
    counts = count_kernel_masks((convs[n].weight for n, p in plans.items() if p.pattern), taps, force_centre)

    area = kernel_t[0] * kernel_t[1]
    if force_centre:
        centre = _centre(kernel_t)
        others = [t for t in range(area) if t != centre]
        candidates = [tuple(sorted((centre, *c))) for c in itertools.combinations(others, taps - 1)]
    else:
        candidates = [tuple(c) for c in itertools.combinations(range(area), taps)]
    if num_patterns > len(candidates):
        raise PruneError(
            f"num_patterns={num_patterns} but only {len(candidates)} patterns of {taps} taps exist"
            f" for a {kernel_t[0]}x{kernel_t[1]} kernel{' with the centre kept' if force_centre else ''}"
        )
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    chosen = [pattern for pattern, _ in ranked[:num_patterns]]
    seen = set(chosen)
    for pattern in sorted(candidates):
        if len(chosen) == num_patterns:
            break
        if pattern not in seen:
            chosen.append(pattern)
    return PatternLibrary(chosen, kernel=kernel_t, taps=taps)


def as_library(obj: object, kernel: Sequence[int] = (3, 3)) -> PatternLibrary:
    """Coerce ``obj`` to a :class:`PatternLibrary`.

    Accepts a library, a boolean/0-1 array ``[K, kh, kw]`` (or a list of ``[kh, kw]``
    masks), or a sequence of position lists.  Masks with different tap counts raise
    :class:`pconv.patterns.PatternLibraryError` (a ``ValueError``).
    """
    if isinstance(obj, PatternLibrary):
        return obj
    if isinstance(obj, dict):
        return PatternLibrary.from_dict(obj)
    if isinstance(obj, np.ndarray) or (isinstance(obj, (list, tuple)) and obj and _is_mask_like(obj[0])):
        arr = np.asarray(obj)
        if arr.ndim != 3:
            raise PruneError(f"pattern masks must have shape [K, kh, kw], got {arr.shape}")
        positions = [np.flatnonzero(m.reshape(-1)).tolist() for m in arr.astype(bool)]
        return PatternLibrary(positions, kernel=arr.shape[1:])
    if isinstance(obj, (list, tuple)):
        return PatternLibrary(obj, kernel=kernel)  # type: ignore[arg-type]
    raise PruneError(f"cannot make a pattern library from {type(obj).__name__}")


def _is_mask_like(item: object) -> bool:
    arr = np.asarray(item)
    return arr.ndim == 2
