"""A ready training loop for pruning: ADMM epochs, hard pruning, masked retraining.

:func:`fit` is deterministic and resumable: every epoch draws its data order and its
random numbers from ``(seed, epoch)`` alone, and the checkpoint written after every
epoch holds the model, the optimizer and scheduler, the pruner (``Z, Y, U, V``, rho,
masks) and the history.  A run interrupted after epoch ``e`` and resumed from its
checkpoint therefore produces bit-identical weights to an uninterrupted run (same
thread count and world size).  Under ``torchrun`` it wraps the model in
``DistributedDataParallel`` and shards the data with a ``DistributedSampler``; rank 0
writes the checkpoint (the directory must be shared to resume on other nodes).
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, RandomSampler
from tqdm.auto import tqdm

from . import distributed
from .config import unwrap_model
from .distill import Distillation, module_fingerprint
from .errors import CheckpointError, PruneError
from .masks import MaskSet, OptimizerMaskHandle

__all__ = [
    "FitConfig",
    "FitResult",
    "Pruner",
    "default_optimizer",
    "epoch_seed",
    "fit",
    "recalibrate_batchnorm",
    "seed_everything",
    "train_one_epoch",
]

CHECKPOINT_NAME = "last.pt"
_CHECKPOINT_FORMAT = "pconv.prune.fit/1"
# FitConfig fields that change the trajectory: a checkpoint only resumes the same run.
_RUN_FIELDS = (
    "admm_epochs",
    "retrain_epochs",
    "batch_size",
    "seed",
    "optimizer",
    "lr",
    "retrain_lr",
    "momentum",
    "weight_decay",
    "admm_lr_schedule",
    "retrain_lr_schedule",
    "drop_last",
    "recalibrate_bn",
)


class Pruner(Protocol):
    """What :func:`fit` needs from a pruner (:class:`ADMMPruner`, :class:`MagnitudePruner`)."""

    phase: str

    @property
    def model(self) -> nn.Module: ...

    def penalty(self) -> torch.Tensor: ...

    def epoch_end(self) -> dict[str, float]: ...

    def hard_prune(self) -> MaskSet: ...

    def attach(self, optimizer: torch.optim.Optimizer) -> OptimizerMaskHandle: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class FitConfig:
    """Settings of :func:`fit`.

    Attributes:
        admm_epochs: epochs with the ADMM penalty (0: one-shot hard pruning first).
        retrain_epochs: epochs of masked retraining after hard pruning.
        batch_size: minibatch size per process.
        seed: seed of the data order, initialization-free randomness (dropout, ...).
        optimizer: ``"adam"`` or ``"sgd"`` (ignored when ``fit`` gets ``make_optimizer``).
        lr: learning rate of the ADMM phase.
        retrain_lr: learning rate of the retraining phase (default: ``lr``).
        momentum: SGD momentum.
        weight_decay: weight decay of both phases.
        admm_lr_schedule: ``"constant"`` (default) or ``"cosine"`` (decay over the phase).
            Constant is the right default: the W-step has to keep tracking ``Z - U``
            and ``Y - V`` as they move every epoch, which a decayed learning rate cannot.
        retrain_lr_schedule: ``"cosine"`` (default) or ``"constant"``.
        drop_last: drop the last incomplete minibatch of each epoch.
        distill_weight: weight ``a`` of knowledge distillation from ``fit``'s ``teacher`` in
            the retraining stage: the loss becomes ``(1 - a) * loss_fn + a * T^2 *
            KL(softmax(teacher / T) || softmax(student / T))`` (:mod:`pconv.prune.distill`).
            0 (default): off, and ``fit`` behaves exactly as without the option.  The ADMM
            stage is not distilled unless ``distill_admm`` is set, so every method that
            retrains (ADMM, one-shot, the baselines) gets the same retraining objective.
        distill_temperature: the temperature ``T`` of distillation.
        distill_admm: also distill in the ADMM stage: the W-step minimizes the distilled
            loss plus the ADMM penalty, so every epoch of the run (not only retraining)
            uses the same objective as the baselines' fine-tuning.  Needs
            ``distill_weight > 0``.  Default ``False`` (the ADMM stage uses ``loss_fn``).
        admm_updates_per_epoch: Z/Y/U/V updates per ADMM epoch: ``n - 1`` evenly spaced
            inside the epoch (:meth:`~pconv.prune.ADMMPruner.update`, every
            ``batches // n`` minibatches) plus the one of ``epoch_end``; ``rho`` still steps
            once per epoch.  1 (default): once per epoch, as in the paper.
        recalibrate_bn: right after hard pruning, re-estimate the batch-norm running
            statistics on ``train_set`` (:func:`recalibrate_batchnorm`).  Hard pruning
            changes every conv output, so the statistics gathered on the unpruned weights
            no longer match; without this the model is mis-normalized in eval mode until
            retraining has replaced them.  Training itself is unaffected (train mode uses
            batch statistics).
        progress: show a tqdm progress bar (rank 0 only).
    """

    admm_epochs: int = 20
    retrain_epochs: int = 10
    batch_size: int = 64
    seed: int = 0
    optimizer: str = "adam"
    lr: float = 1e-3
    retrain_lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 0.0
    admm_lr_schedule: str = "constant"
    retrain_lr_schedule: str = "cosine"
    drop_last: bool = False
    distill_weight: float = 0.0
    distill_temperature: float = 4.0
    distill_admm: bool = False
    admm_updates_per_epoch: int = 1
    recalibrate_bn: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        if self.admm_epochs < 0 or self.retrain_epochs < 0:
            raise PruneError(f"epoch counts must be >= 0, got {self.admm_epochs} and {self.retrain_epochs}")
        if self.batch_size < 1:
            raise PruneError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.optimizer not in ("adam", "sgd"):
            raise PruneError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        for name in ("admm_lr_schedule", "retrain_lr_schedule"):
            if getattr(self, name) not in ("cosine", "constant"):
                raise PruneError(f"{name} must be 'cosine' or 'constant', got {getattr(self, name)!r}")
        if not 0.0 <= self.distill_weight <= 1.0:
            raise PruneError(
                f"distill_weight must be in [0, 1] (0: no distillation), got {self.distill_weight}"
            )
        if not self.distill_temperature > 0.0:
            raise PruneError(f"distill_temperature must be > 0, got {self.distill_temperature}")
        if self.admm_updates_per_epoch < 1:
            raise PruneError(f"admm_updates_per_epoch must be >= 1, got {self.admm_updates_per_epoch}")
        if self.distill_admm and self.distill_weight == 0.0:
            raise PruneError("distill_admm=True needs distill_weight > 0 (the distillation it extends)")


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        history: one record per epoch (stage, lr, loss, penalty, rho, residuals, metrics).
        resumed_from: the epoch the run resumed at, or ``None`` for a fresh run.
        masks: the final masks.
    """

    history: list[dict[str, Any]] = field(default_factory=list)
    resumed_from: int | None = None
    masks: MaskSet | None = None


def epoch_seed(seed: int, epoch: int) -> int:
    """A well-mixed 63-bit seed derived from ``(seed, epoch)`` only."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(epoch)]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 ^ int(state[1])


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators."""
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    torch.manual_seed(seed)


def default_optimizer(params: Iterable[nn.Parameter], config: FitConfig, stage: str) -> torch.optim.Optimizer:
    """The optimizer ``config`` describes for ``stage`` (``"admm"`` or ``"retrain"``)."""
    lr = config.lr if stage == "admm" or config.retrain_lr is None else config.retrain_lr
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=config.weight_decay)


def _to(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to(b, device) for b in batch)
    return batch


def train_one_epoch(
    model: nn.Module,
    loader: Iterable[Any],
    loss_fn: Callable[[Any, Any], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    penalty: Callable[[], torch.Tensor] | None = None,
    device: torch.device | None = None,
    distillation: Distillation | None = None,
    on_batch_end: Callable[[int], None] | None = None,
) -> dict[str, float]:
    """One pass over ``loader`` of ``(inputs, targets)`` batches.

    Returns the mean ``loss`` (``loss_fn``) and ``penalty``, and with ``distillation``
    the mean soft term ``distill`` (the step minimizes ``distillation.loss``).
    ``on_batch_end(batches_done)`` runs after every optimizer step.
    """
    model.train()
    loss_sum, penalty_sum, distill_sum, batches = 0.0, 0.0, 0.0, 0
    for inputs, targets in loader:
        if device is not None:
            inputs, targets = _to(inputs, device), _to(targets, device)
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        total = loss
        if distillation is not None:
            total, soft = distillation.loss(outputs, inputs, loss)
            distill_sum += float(soft.detach())
        if penalty is not None:
            term = penalty()
            total = total + term
            penalty_sum += float(term.detach())
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        loss_sum += float(loss.detach())
        batches += 1
        if on_batch_end is not None:
            on_batch_end(batches)
    stats = {"loss": loss_sum / max(batches, 1), "penalty": penalty_sum / max(batches, 1)}
    if distillation is not None:
        stats["distill"] = distill_sum / max(batches, 1)
    return stats


@torch.no_grad()
def recalibrate_batchnorm(
    model: nn.Module, dataset: Dataset, batch_size: int = 64, device: torch.device | None = None
) -> int:
    """Re-estimate the running statistics of every batch-norm layer of ``model`` on ``dataset``.

    The statistics are reset and recomputed as the plain average over one in-order pass
    (``momentum=None``) with the current weights; no parameter changes.  Call it after
    anything that changes the weights at once (hard pruning) and before evaluating in
    eval mode.  Returns the number of batch-norm layers (0: nothing to do).
    """
    norms = [m for m in unwrap_model(model).modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return 0
    momenta = [m.momentum for m in norms]
    was_training = model.training
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    model.train()
    try:
        for inputs, _ in DataLoader(dataset, batch_size=batch_size, shuffle=False):
            model(_to(inputs, device) if device is not None else inputs)
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
        model.train(was_training)
    return len(norms)


def _lr_factor(schedule: str, length: int) -> Callable[[int], float]:
    if schedule == "constant" or length <= 0:
        return lambda epoch: 1.0
    return lambda epoch: 0.5 * (1.0 + math.cos(math.pi * min(epoch, length) / length))


def _save_atomic(state: Mapping[str, Any], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(dict(state), tmp)
    os.replace(tmp, path)  # a crash mid-write never leaves a truncated checkpoint


def fit(
    pruner: Pruner,
    train_set: Dataset,
    loss_fn: Callable[[Any, Any], torch.Tensor],
    config: FitConfig | None = None,
    *,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    resume: bool = True,
    evaluate: Callable[[nn.Module], Mapping[str, float]] | None = None,
    on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None,
    make_optimizer: Callable[[list[nn.Parameter], str], torch.optim.Optimizer] | None = None,
    teacher: nn.Module | None = None,
) -> FitResult:
    """Prune ``pruner.model`` on ``train_set``: ADMM epochs, hard pruning, masked retraining.

    Args:
        pruner: an :class:`ADMMPruner` (or any :class:`Pruner`), built on the trained model.
        train_set: a map-style dataset of ``(inputs, targets)``.
        loss_fn: ``loss_fn(model(inputs), targets)`` -> scalar loss.
        config: epochs, batch size, seed, optimizer (:class:`FitConfig`).
        checkpoint_dir: where ``last.pt`` is written after every epoch; ``None``: no checkpoints.
        resume: continue from ``checkpoint_dir/last.pt`` when it exists.
        evaluate: ``evaluate(model) -> {metric: value}`` after every epoch (in eval mode).
        on_epoch_end: ``on_epoch_end(epoch, record)`` after the checkpoint is written.
        make_optimizer: ``make_optimizer(params, stage)`` with stage ``"admm"``/``"retrain"``,
            replacing the optimizer ``config`` describes.
        teacher: the frozen dense network to distill from during retraining (required
            when ``config.distill_weight > 0``, refused otherwise); typically
            ``copy.deepcopy(model)`` taken before pruning, on the model's device.  ``fit``
            puts it in eval mode; it is never updated and is not saved in the checkpoint,
            only its fingerprint: resume with the same teacher.

    Raises:
        CheckpointError: the checkpoint belongs to a different run (other FitConfig,
            teacher, library, layer plan or model).
        PruneError: ``teacher`` and ``config.distill_weight`` disagree, or the teacher
            shares parameters or is on another device than the model.
    """
    config = config if config is not None else FitConfig()
    model = pruner.model
    device = next(model.parameters()).device
    total = config.admm_epochs + config.retrain_epochs
    ckpt = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    handle: OptimizerMaskHandle | None = None

    def build(stage: str) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
        nonlocal handle
        if handle is not None:
            handle.remove()
        params = [p for p in model.parameters() if p.requires_grad]
        opt = make_optimizer(params, stage) if make_optimizer else default_optimizer(params, config, stage)
        if stage == "admm":
            factor = _lr_factor(config.admm_lr_schedule, config.admm_epochs)
        else:
            factor = _lr_factor(config.retrain_lr_schedule, config.retrain_epochs)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        handle = pruner.attach(opt) if stage == "retrain" else None
        return opt, sched

    distillation: Distillation | None = None
    if config.distill_weight > 0:
        if teacher is None:
            raise PruneError(
                f"distill_weight={config.distill_weight} needs a teacher: fit(..., teacher=dense_copy)"
            )
        distillation = Distillation(unwrap_model(teacher), config.distill_weight, config.distill_temperature)
        distillation.check_student(model)
    elif teacher is not None:
        raise PruneError("a teacher was given but config.distill_weight is 0: set it in (0, 1] to distill")

    run = {key: asdict(config)[key] for key in _RUN_FIELDS}
    if distillation is not None:
        # Only when on: checkpoints of runs without distillation keep their old, resumable form.
        run.update(
            distill_weight=config.distill_weight,
            distill_temperature=config.distill_temperature,
            teacher=module_fingerprint(distillation.teacher),
        )
        if config.distill_admm:
            run["distill_admm"] = True
    if config.admm_updates_per_epoch != 1:
        # Only when set: checkpoints of runs with one update per epoch keep their old form.
        run["admm_updates_per_epoch"] = config.admm_updates_per_epoch
    result = FitResult()
    start = 0
    if ckpt is not None and resume and ckpt.exists():
        state = torch.load(ckpt, map_location=device, weights_only=True)
        if state.get("format") != _CHECKPOINT_FORMAT:
            raise CheckpointError(f"{ckpt} is not a pconv.prune.fit checkpoint")
        if state["run"] != run:
            keys = list(run) + [k for k in state["run"] if k not in run]
            diff = {k: (state["run"].get(k), run.get(k)) for k in keys if state["run"].get(k) != run.get(k)}
            raise CheckpointError(
                f"{ckpt} was written by a different run (saved vs now: {diff});"
                " use another checkpoint_dir or resume=False"
            )
        model.load_state_dict(state["model"])
        pruner.load_state_dict(state["pruner"])
        stage = state["stage"]
        opt, sched = build(stage)
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        result.history = list(state["history"])
        start = int(state["epoch"]) + 1
        result.resumed_from = start
    else:
        if config.admm_epochs > 0 and pruner.phase == "pruned":
            raise PruneError("the pruner is already hard-pruned: use admm_epochs=0 to only retrain it")
        stage = "admm" if config.admm_epochs > 0 else "retrain"
        if stage == "retrain":
            if pruner.phase != "pruned":
                pruner.hard_prune()  # one-shot: project the trained weights once
            if config.recalibrate_bn:
                recalibrate_batchnorm(model, train_set, config.batch_size, device)
        opt, sched = build(stage)
    if ckpt is not None:
        ckpt.parent.mkdir(parents=True, exist_ok=True)

    net: nn.Module = model
    if distributed.is_distributed():
        ids = [device.index] if device.type == "cuda" else None
        net = nn.parallel.DistributedDataParallel(model, device_ids=ids)

    if distillation is not None:
        distillation.teacher.eval()  # frozen: running statistics, no dropout
    bar = tqdm(
        total=total,
        initial=start,
        desc="prune",
        unit="epoch",
        disable=not config.progress or distributed.rank() != 0,
    )
    for epoch in range(start, total):
        if stage == "admm" and epoch >= config.admm_epochs:
            pruner.hard_prune()
            if config.recalibrate_bn:
                recalibrate_batchnorm(model, train_set, config.batch_size, device)
            stage = "retrain"
            opt, sched = build(stage)
        seed_everything(epoch_seed(config.seed, epoch) & 0x7FFFFFFF)
        if distributed.is_distributed():
            sampler: Any = DistributedSampler(train_set, shuffle=True, seed=config.seed, drop_last=config.drop_last)
            sampler.set_epoch(epoch)
        else:
            generator = torch.Generator().manual_seed(epoch_seed(config.seed, epoch))
            sampler = RandomSampler(train_set, generator=generator)  # type: ignore[arg-type]
        loader = DataLoader(train_set, batch_size=config.batch_size, sampler=sampler, drop_last=config.drop_last)
        lr = opt.param_groups[0]["lr"]
        inner_update = None
        if stage == "admm" and config.admm_updates_per_epoch > 1:
            updates, every = config.admm_updates_per_epoch, max(1, len(loader) // config.admm_updates_per_epoch)

            def inner_update(done: int) -> None:
                if done % every == 0 and done // every < updates and done < len(loader):
                    pruner.update()  # type: ignore[attr-defined]

        stats = train_one_epoch(
            net,
            loader,
            loss_fn,
            opt,
            penalty=pruner.penalty if stage == "admm" else None,
            device=device,
            distillation=distillation if stage == "retrain" or config.distill_admm else None,
            on_batch_end=inner_update,
        )
        sched.step()
        record: dict[str, Any] = {"epoch": epoch, "stage": stage, "lr": lr, **stats}
        if stage == "admm":
            record.update(pruner.epoch_end())
        if evaluate is not None:
            model.eval()
            with torch.no_grad():
                record.update({k: float(v) for k, v in evaluate(model).items()})
        result.history.append(record)
        if ckpt is not None:
            if distributed.rank() == 0:
                _save_atomic(
                    {
                        "format": _CHECKPOINT_FORMAT,
                        "epoch": epoch,
                        "stage": stage,
                        "run": run,
                        "model": model.state_dict(),
                        "optimizer": opt.state_dict(),
                        "scheduler": sched.state_dict(),
                        "pruner": pruner.state_dict(),
                        "history": result.history,
                    },
                    ckpt,
                )
            distributed.barrier()
        bar.set_postfix(
            stage=stage, loss=f"{stats['loss']:.4f}", **({"rho": f"{record['rho']:.0e}"} if "rho" in record else {})
        )
        bar.update(1)
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
    bar.close()
    if handle is not None:
        handle.remove()
    if pruner.phase != "pruned":
        pruner.hard_prune()  # ADMM only (no retraining): finish with the hard projection
        if config.recalibrate_bn:
            recalibrate_batchnorm(model, train_set, config.batch_size, device)
    result.masks = pruner.masks  # type: ignore[attr-defined]
    return result
