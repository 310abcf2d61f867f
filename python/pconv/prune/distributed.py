"""Small helpers to run the pruner under ``torch.distributed`` (``torchrun`` + DDP).

The pruner keeps every rank consistent by computing its projections (``Z``, ``Y``,
masks, pattern ids) on each rank and then broadcasting rank 0's results: ranks on
different hardware may round norms differently and break a near-tie the other way,
so "deterministic from synchronized weights" is not enough across machines.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import torch
import torch.distributed as dist

__all__ = ["barrier", "broadcast_", "init_from_env", "is_distributed", "rank", "world_size"]


def is_distributed() -> bool:
    """True inside an initialized process group with more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank (0 when not distributed)."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """Number of processes (1 when not distributed)."""
    return dist.get_world_size() if is_distributed() else 1


def barrier() -> None:
    """Wait for every rank (no-op when not distributed)."""
    if is_distributed():
        dist.barrier()


@torch.no_grad()
def broadcast_(tensors: Iterable[torch.Tensor], src: int = 0) -> None:
    """Overwrite ``tensors`` in place with rank ``src``'s values (no-op when not distributed).

    Boolean tensors travel as ``uint8`` (not every backend broadcasts ``bool``).
    """
    if not is_distributed():
        return
    for tensor in tensors:
        if tensor.dtype == torch.bool:
            buf = tensor.to(torch.uint8)
            dist.broadcast(buf, src)
            tensor.copy_(buf.bool())
        elif tensor.is_contiguous():
            dist.broadcast(tensor, src)
        else:
            buf = tensor.contiguous()
            dist.broadcast(buf, src)
            tensor.copy_(buf)


def init_from_env(backend: str | None = None) -> bool:
    """Initialize the default process group from ``torchrun``'s environment variables.

    Returns True when a multi-process group is (now) initialized; does nothing and returns
    False outside ``torchrun`` (``WORLD_SIZE`` unset or 1).  The backend defaults to
    ``nccl`` when CUDA is available, else ``gloo``.
    """
    if dist.is_initialized():
        return dist.get_world_size() > 1
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    dist.init_process_group(backend or ("nccl" if torch.cuda.is_available() else "gloo"))
    return True
