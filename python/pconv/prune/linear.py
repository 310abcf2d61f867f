"""Block pruning of large linear layers (optional; the compiler's ``sparse_linear``).

At batch 1 a linear layer is a matrix-vector product that streams its weight matrix
from memory once per inference (VGG-16's first classifier layer: 411 MB). Pruning whole
blocks of ``block`` consecutive inputs of one output (the compiler's vector width) lets
``pconv.compile(..., sparse_linear=True)`` store and read only the kept blocks. This is
a separate accuracy trade-off from pattern pruning, so nothing applies it by default;
retrain with the returned masks kept (``weight.mul_(mask)`` after each optimizer step)
as for any magnitude pruning.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .errors import NoPrunableLayerError, UnknownLayerError
from .projection import connectivity_mask


@dataclass(frozen=True)
class LinearPruneResult:
    """One pruned layer: its boolean weight mask and block counts."""

    mask: torch.Tensor  # [out_features, in_features], True = kept
    kept_blocks: int
    total_blocks: int


@torch.no_grad()
def block_norms(weight: torch.Tensor, block: int) -> torch.Tensor:
    """L2 norm of each block of ``block`` consecutive inputs of each output row:
    ``[out_features, ceil(in_features / block)]`` (the last block may be shorter)."""
    if weight.dim() != 2:
        raise ValueError(f"expected a 2-D linear weight, got shape {tuple(weight.shape)}")
    if block < 1:
        raise ValueError(f"block must be a positive number of weights, got {block}")
    out_features, in_features = weight.shape
    blocks = -(-in_features // block)
    padded = torch.zeros(out_features, blocks * block, dtype=weight.dtype, device=weight.device)
    padded[:, :in_features] = weight.detach()
    return padded.reshape(out_features, blocks, block).norm(dim=2)


@torch.no_grad()
def project_blocks(weight: torch.Tensor, keep: float, block: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero every block outside the ``keep`` fraction with the largest L2 norms.

    Returns ``(projected weight, boolean weight mask)``.
    """
    kept = connectivity_mask(block_norms(weight, block), keep)  # validates keep
    mask = kept.repeat_interleave(block, dim=1)[:, : weight.shape[1]]
    return weight.detach() * mask.to(weight.dtype), mask


@torch.no_grad()
def prune_linear(model: nn.Module, keep: float = 1 / 8, block: int = 16, min_weights: int = 1 << 20,
                 layers: list[str] | None = None) -> dict[str, LinearPruneResult]:
    """Block-prune the large ``nn.Linear`` layers of ``model`` in place.

    Args:
        keep: fraction of each layer's blocks kept (by L2 norm), in ``(0, 1]``.
        block: consecutive inputs per block (16: the AVX-512 vector width the
            compiler's block-sparse lowering uses).
        min_weights: layers with fewer weights are left dense (small layers are
            not memory-bound) unless named in ``layers``.
        layers: names of the layers to prune (default: every Linear with at least
            ``min_weights`` weights).

    Returns:
        ``{layer name: LinearPruneResult}``.
    """
    linears = {name: m for name, m in model.named_modules() if isinstance(m, nn.Linear)}
    if layers is not None:
        unknown = [n for n in layers if n not in linears]
        if unknown:
            raise UnknownLayerError(f"not nn.Linear layers of the model: {', '.join(unknown)}")
        chosen = list(layers)
    else:
        chosen = [n for n, m in linears.items() if m.weight.numel() >= min_weights]
    if not chosen:
        raise NoPrunableLayerError(f"no nn.Linear layer with at least {min_weights} weights to prune "
                                   f"(linear layers: {', '.join(linears) or 'none'})")
    results = {}
    for name in chosen:
        weight = linears[name].weight
        projected, mask = project_blocks(weight, keep, block)
        weight.copy_(projected)
        total = block_norms(weight, block).numel()
        kept = int(mask[:, ::block].sum())
        results[name] = LinearPruneResult(mask=mask, kept_blocks=kept, total_blocks=total)
    return results
