"""Knowledge distillation from the dense network during masked retraining.

The dense (unpruned) network is the teacher, the pruned one the student (Hinton et al.,
"Distilling the Knowledge in a Neural Network", 2015)::

    loss = (1 - a) * task_loss + a * T^2 * KL(softmax(teacher / T) || softmax(student / T))

``T^2`` keeps the gradient of the soft term on the scale of the task loss's as ``T``
changes.  :func:`fit` applies it in the retraining stage (``FitConfig.distill_weight``,
``FitConfig.distill_temperature``, ``fit(..., teacher=...)``); the teacher is frozen: it
runs in eval mode under ``torch.no_grad()``, is never stepped and never checkpointed.
Under DDP every rank runs its own teacher forward on its own shard, so nothing extra is
synchronized.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from .errors import PruneError

__all__ = ["Distillation", "distillation_loss", "module_fingerprint"]


def distillation_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float
) -> torch.Tensor:
    """``T^2 * KL(softmax(teacher / T) || softmax(student / T))``, averaged over the batch.

    Logits are ``[N, classes]`` (or ``[N, classes, ...]``: the class dimension is 1 and
    the KL is summed over it, averaged over everything else, like ``cross_entropy``).
    """
    if student_logits.shape != teacher_logits.shape:
        raise PruneError(
            f"student and teacher outputs must have the same shape, got {tuple(student_logits.shape)}"
            f" and {tuple(teacher_logits.shape)}"
        )
    if student_logits.dim() < 2:
        shape = tuple(student_logits.shape)
        raise PruneError(f"distillation needs logits [N, classes, ...], got shape {shape}")
    log_student = torch.log_softmax(student_logits / temperature, dim=1)
    log_teacher = torch.log_softmax(teacher_logits / temperature, dim=1)
    kl = (log_teacher.exp() * (log_teacher - log_student)).sum(dim=1)
    return temperature**2 * kl.mean()


def module_fingerprint(module: nn.Module) -> str:
    """SHA-256 of a module's state dict (names, dtypes, shapes, values).

    A checkpoint records the teacher's fingerprint, so resuming with another teacher is
    refused instead of silently continuing a different run.
    """
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{value.dtype}:{tuple(value.shape)};".encode())
        digest.update(np.ascontiguousarray(value.reshape(-1).view(torch.uint8).numpy()).tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Distillation:
    """The distillation term of one run: a frozen ``teacher``, weight ``a``, temperature ``T``."""

    teacher: nn.Module
    weight: float
    temperature: float

    def __post_init__(self) -> None:
        if not 0.0 < self.weight <= 1.0:
            raise PruneError(f"distillation weight must be in (0, 1], got {self.weight}")
        if not self.temperature > 0.0:
            raise PruneError(f"distillation temperature must be > 0, got {self.temperature}")

    def check_student(self, student: nn.Module) -> None:
        """Refuse a teacher that is (or shares parameters with) the model being pruned."""
        shared = {id(p) for p in student.parameters()} & {id(p) for p in self.teacher.parameters()}
        if self.teacher is student or shared:
            raise PruneError(
                "the teacher shares parameters with the model being pruned: pass a frozen copy of the"
                " dense model (copy.deepcopy(model) before pruning)"
            )
        devices = {p.device for p in self.teacher.parameters()} | {b.device for b in self.teacher.buffers()}
        student_device = next(student.parameters()).device
        if devices - {student_device}:
            raise PruneError(
                f"the teacher is on {sorted(map(str, devices))} but the model is on {student_device}:"
                " move it to the same device"
            )

    def loss(
        self, student_logits: torch.Tensor, inputs: torch.Tensor, task_loss: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The total ``(1 - a) * task_loss + a * soft`` and the soft term.

        ``soft = distillation_loss(student_logits, teacher(inputs), T)``; the teacher runs
        under ``torch.no_grad()``.
        """
        with torch.no_grad():
            teacher_logits = self.teacher(inputs)
        soft = distillation_loss(student_logits, teacher_logits, self.temperature)
        return (1.0 - self.weight) * task_loss + self.weight * soft, soft
