"""Euclidean projections onto the pattern and connectivity constraint sets.

Both act on a convolution weight ``[F, C, kh, kw]`` (``C`` is ``in_channels / groups``,
so depthwise weights ``[C, 1, 3, 3]`` work unchanged) and are deterministic: ties are
broken towards the lower pattern id (pattern projection) and the lower flat kernel
index ``f * C + c`` (connectivity projection), so every process computes the same
result from the same weights.
"""

from __future__ import annotations

import torch

from pconv.patterns import PatternLibrary

from .config import validate_filter_block, validate_rate
from .errors import PruneError

__all__ = [
    "connectivity_mask",
    "kept_kernel_count",
    "kernel_norms",
    "library_masks",
    "pattern_ids",
    "pattern_weight_mask",
    "project_connectivity",
    "project_pattern",
]


def _check_weight(weight: torch.Tensor, kernel: tuple[int, int] | None = None) -> None:
    if weight.dim() != 4:
        raise PruneError(f"expected a conv weight [F, C, kh, kw], got shape {tuple(weight.shape)}")
    if kernel is not None and tuple(weight.shape[2:]) != tuple(kernel):
        raise PruneError(f"weight kernel {tuple(weight.shape[2:])} does not match the library kernel {tuple(kernel)}")


def library_masks(library: PatternLibrary, like: torch.Tensor | None = None) -> torch.Tensor:
    """The library as a ``[K, kh * kw]`` 0/1 tensor (dtype and device of ``like``)."""
    masks = torch.from_numpy(library.masks().reshape(len(library), -1))
    if like is not None:
        return masks.to(device=like.device, dtype=like.dtype)
    return masks.to(torch.float32)


def kernel_norms(weight: torch.Tensor) -> torch.Tensor:
    """L2 norm of every kernel: ``[F, C]`` for a weight ``[F, C, kh, kw]``."""
    _check_weight(weight)
    return weight.detach().flatten(2).norm(dim=2)


def _check_filter_block(weight: torch.Tensor, filter_block: int) -> None:
    validate_filter_block(filter_block)
    if weight.shape[0] % filter_block:
        raise PruneError(f"filter_block {filter_block} does not divide the {weight.shape[0]} filters")


@torch.no_grad()
def pattern_ids(weight: torch.Tensor, library: PatternLibrary, filter_block: int = 1) -> torch.Tensor:
    """For every kernel, the id of the pattern that keeps the largest L2 norm: ``[F, C]`` int64.

    The kept squared norm of pattern ``p`` is ``sum_{t in p} w_t^2``; ties go to the lower id.
    With ``filter_block = G > 1`` the filters ``[g G, (g + 1) G)`` share one pattern per input
    channel, the one keeping the largest squared norm summed over the block (group-shared
    patterns: the compiler then applies each input vector to G filters at once).
    """
    _check_weight(weight, library.kernel)
    _check_filter_block(weight, filter_block)
    f, c = weight.shape[:2]
    squares = weight.detach().reshape(f * c, -1).square()
    scores = squares @ library_masks(library, squares).T  # [F*C, K]
    if filter_block > 1:
        scores = scores.reshape(f // filter_block, filter_block, c, -1).sum(dim=1)
        ids = scores.argmax(dim=2)  # [F/G, C]
        return ids.repeat_interleave(filter_block, dim=0)
    return scores.argmax(dim=1).reshape(f, c)  # argmax returns the first maximum


def pattern_weight_mask(ids: torch.Tensor, library: PatternLibrary) -> torch.Tensor:
    """Boolean weight mask ``[F, C, kh, kw]`` for a pattern-id table (``-1`` = all zero)."""
    kh, kw = library.kernel
    masks = torch.from_numpy(library.masks()).to(ids.device)  # [K, kh, kw]
    out = masks[ids.clamp(min=0)]
    out[ids < 0] = False
    return out.reshape(*ids.shape, kh, kw)


@torch.no_grad()
def project_pattern(weight: torch.Tensor, library: PatternLibrary,
                    filter_block: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Project every kernel onto the library pattern that keeps the largest L2 norm.

    ``filter_block = G > 1``: one pattern per (block of G consecutive filters, input
    channel), see :func:`pattern_ids`.

    Returns:
        ``(projected weight, pattern ids [F, C])``; the projection zeroes the taps outside
        each kernel's pattern and keeps the others unchanged.
    """
    ids = pattern_ids(weight, library, filter_block)
    projected = weight.detach() * pattern_weight_mask(ids, library).to(weight.dtype)
    return projected, ids


def kept_kernel_count(total: int, keep: float) -> int:
    """Kernels kept out of ``total`` at keep rate ``keep``: ``round(keep * total)``, at least 1."""
    keep = validate_rate(keep)
    return max(1, min(total, int(keep * total + 0.5)))


@torch.no_grad()
def connectivity_mask(norms: torch.Tensor, keep: float) -> torch.Tensor:
    """Keep the ``round(keep * F * C)`` kernels with the largest norms: boolean ``[F, C]``."""
    flat = norms.detach().reshape(-1)
    count = kept_kernel_count(flat.numel(), keep)
    order = torch.sort(flat, descending=True, stable=True).indices
    mask = torch.zeros_like(flat, dtype=torch.bool)
    mask[order[:count]] = True
    return mask.reshape(norms.shape)


@torch.no_grad()
def project_connectivity(weight: torch.Tensor, keep: float,
                         filter_block: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero every kernel outside the ``keep`` fraction with the largest L2 norms.

    ``filter_block = G > 1``: the filters ``[g G, (g + 1) G)`` keep the same input channels,
    those whose kernels have the largest L2 norm over the block (``round(keep * F / G * C)``
    of the ``F / G * C`` block kernels).

    Returns:
        ``(projected weight, kept-kernel mask [F, C] bool)``.
    """
    norms = kernel_norms(weight)
    _check_filter_block(weight, filter_block)
    if filter_block > 1:
        f, c = norms.shape
        block = norms.square().reshape(f // filter_block, filter_block, c).sum(dim=1).sqrt()
        mask = connectivity_mask(block, keep).repeat_interleave(filter_block, dim=0)
    else:
        mask = connectivity_mask(norms, keep)
    projected = weight.detach() * mask[:, :, None, None].to(weight.dtype)
    return projected, mask
