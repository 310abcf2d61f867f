"""Knowledge distillation from the dense model during retraining (``FitConfig.distill_weight``)."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from pconv.prune import (
    ADMMPruner,
    CheckpointError,
    Distillation,
    FitConfig,
    MagnitudePruner,
    PruneConfig,
    PruneError,
    RhoSchedule,
    distillation_loss,
    fit,
)
from pconv.prune.training import _RUN_FIELDS, CHECKPOINT_NAME

from _prune_testlib import make_dataset, make_net

PRUNE = PruneConfig(num_patterns=6, rho=RhoSchedule(1e-3, 10.0, 1, 3))
BASE = FitConfig(admm_epochs=2, retrain_epochs=2, batch_size=16, seed=3, progress=False)
DISTILL = FitConfig(**{**BASE.__dict__, "distill_weight": 0.7, "distill_temperature": 3.0})
LOSS = nn.functional.cross_entropy


class InterruptedRunError(Exception):
    pass


def _teacher() -> nn.Module:
    teacher = make_net(seed=5)
    with torch.no_grad():
        teacher.head.weight.mul_(4.0)  # confident soft targets, unlike the student's
    return teacher


def _assert_same(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_distillation_loss_on_a_hand_checked_case() -> None:
    # Teacher softmax(ln 3, 0) = (3/4, 1/4), student softmax(0, 0) = (1/2, 1/2):
    # KL = 3/4 ln(3/2) + 1/4 ln(1/2).  At T = 2 the teacher logits are doubled (same
    # softened distribution) and the term is scaled by T^2 = 4.
    kl = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    student = torch.zeros(1, 2)
    assert distillation_loss(student, torch.tensor([[math.log(3.0), 0.0]]), 1.0).item() == pytest.approx(kl)
    doubled = torch.tensor([[2 * math.log(3.0), 0.0]])
    assert distillation_loss(student, doubled, 2.0).item() == pytest.approx(4 * kl)
    # Batch mean, against PyTorch's own KL divergence.
    gen = torch.Generator().manual_seed(0)
    s, t = torch.randn(5, 7, generator=gen), torch.randn(5, 7, generator=gen)
    expected = 9.0 * nn.functional.kl_div(
        torch.log_softmax(s / 3, 1), torch.log_softmax(t / 3, 1), reduction="batchmean", log_target=True
    )
    torch.testing.assert_close(distillation_loss(s, t, 3.0), expected)
    assert distillation_loss(t, t, 3.0).item() == pytest.approx(0.0, abs=1e-6)


def test_distillation_combines_the_task_loss_and_the_soft_term() -> None:
    teacher = _teacher().eval()
    x, y = make_dataset(8).tensors
    student = make_net()
    logits = student(x)
    total, soft = Distillation(teacher, 0.7, 3.0).loss(logits, x, LOSS(logits, y))
    with torch.no_grad():
        expected_soft = distillation_loss(logits, teacher(x), 3.0)
    torch.testing.assert_close(soft, expected_soft)
    torch.testing.assert_close(total, 0.3 * LOSS(logits, y) + 0.7 * expected_soft)
    total.backward()
    assert all(p.grad is None for p in teacher.parameters())  # the teacher is frozen
    assert student.conv1.weight.grad is not None


def test_distillation_off_is_the_plain_run(tmp_path: Path) -> None:
    runs = []
    for i, config in enumerate([BASE, FitConfig(**{**BASE.__dict__, "distill_temperature": 9.0})]):
        pruner = ADMMPruner(make_net(), config=PRUNE)
        runs.append((pruner, fit(pruner, make_dataset(), LOSS, config, checkpoint_dir=tmp_path / str(i))))
    _assert_same(runs[0][0].model, runs[1][0].model)
    assert runs[0][1].history == runs[1][1].history
    assert all("distill" not in record for record in runs[0][1].history)
    # The checkpoint describes the run with the same fields as before the option existed,
    # so checkpoints written then still resume.
    saved = torch.load(tmp_path / "0" / CHECKPOINT_NAME, weights_only=True)
    assert tuple(saved["run"]) == _RUN_FIELDS


def test_distillation_acts_on_retraining_only_and_leaves_the_teacher_alone() -> None:
    teacher = _teacher().train()
    before = copy.deepcopy(teacher.state_dict())
    plain = ADMMPruner(make_net(), config=PRUNE)
    fit(plain, make_dataset(), LOSS, BASE)
    pruner = ADMMPruner(make_net(), config=PRUNE)
    history = fit(pruner, make_dataset(), LOSS, DISTILL, teacher=teacher).history
    assert ["distill" in r for r in history] == [False, False, True, True]
    assert [r["stage"] for r in history] == ["admm", "admm", "retrain", "retrain"]
    _assert_same(teacher, _teacher())
    assert all(torch.equal(v, before[k]) for k, v in teacher.state_dict().items())
    assert not teacher.training
    # The student moved towards the teacher.
    x = make_dataset(64, seed=9).tensors[0]
    with torch.no_grad():
        target = teacher(x)
        gap_plain = distillation_loss(plain.model.eval()(x), target, 3.0)
        gap_distilled = distillation_loss(pruner.model.eval()(x), target, 3.0)
    assert gap_distilled < gap_plain


@pytest.mark.parametrize("interrupt_after", [1, 2])  # last ADMM epoch, mid-retraining
def test_resume_with_distillation_is_bit_identical(tmp_path: Path, interrupt_after: int) -> None:
    reference = ADMMPruner(make_net(), config=PRUNE)
    fit(reference, make_dataset(), LOSS, DISTILL, checkpoint_dir=tmp_path / "ref", teacher=_teacher())

    def interrupt(epoch: int, record: dict) -> None:
        if epoch == interrupt_after:
            raise InterruptedRunError

    with pytest.raises(InterruptedRunError):
        fit(
            ADMMPruner(make_net(), config=PRUNE),
            make_dataset(),
            LOSS,
            DISTILL,
            checkpoint_dir=tmp_path / "run",
            teacher=_teacher(),
            on_epoch_end=interrupt,
        )
    saved = torch.load(tmp_path / "run" / CHECKPOINT_NAME, weights_only=True)
    assert not any(key.startswith("teacher") for key in saved["model"])  # the teacher is not saved
    resumed = ADMMPruner(make_net(), config=PRUNE)  # a fresh process: fresh teacher copy too
    result = fit(resumed, make_dataset(), LOSS, DISTILL, checkpoint_dir=tmp_path / "run", teacher=_teacher())
    assert result.resumed_from == interrupt_after + 1
    _assert_same(reference.model, resumed.model)
    ref_history = torch.load(tmp_path / "ref" / CHECKPOINT_NAME, weights_only=True)["history"]
    assert result.history == ref_history


def test_resume_with_another_teacher_or_weight_is_refused(tmp_path: Path) -> None:
    def run(config: FitConfig, teacher: nn.Module | None) -> None:
        pruner = ADMMPruner(make_net(), config=PRUNE)
        fit(pruner, make_dataset(), LOSS, config, checkpoint_dir=tmp_path, teacher=teacher)

    run(DISTILL, _teacher())
    with pytest.raises(CheckpointError, match="teacher"):
        run(DISTILL, make_net())
    with pytest.raises(CheckpointError, match="distill_weight"):
        run(BASE, None)


def test_baselines_distill_too() -> None:
    config = FitConfig(admm_epochs=0, retrain_epochs=1, batch_size=16, progress=False, distill_weight=0.5)
    one_shot = ADMMPruner(make_net())
    assert "distill" in fit(one_shot, make_dataset(), LOSS, config, teacher=_teacher()).history[0]
    magnitude = MagnitudePruner.matching(make_net(), one_shot.masks)
    assert "distill" in fit(magnitude, make_dataset(), LOSS, config, teacher=_teacher()).history[0]


def test_bad_distillation_settings() -> None:
    with pytest.raises(PruneError, match=r"distill_weight must be in \[0, 1\] \(0: no distillation\), got 1.5"):
        FitConfig(distill_weight=1.5)
    with pytest.raises(PruneError, match="distill_temperature must be > 0, got 0"):
        FitConfig(distill_temperature=0)
    config = FitConfig(admm_epochs=0, retrain_epochs=1, progress=False, distill_weight=0.5)
    with pytest.raises(PruneError, match=r"needs a teacher: fit\(..., teacher=dense_copy\)"):
        fit(ADMMPruner(make_net()), make_dataset(), LOSS, config)
    with pytest.raises(PruneError, match="a teacher was given but config.distill_weight is 0"):
        fit(ADMMPruner(make_net()), make_dataset(), LOSS, FitConfig(progress=False), teacher=_teacher())
    pruner = ADMMPruner(make_net())
    with pytest.raises(PruneError, match="the teacher shares parameters with the model being pruned"):
        fit(pruner, make_dataset(), LOSS, config, teacher=pruner.model)
    with pytest.raises(PruneError, match=r"the teacher is on \['meta'\] but the model is on cpu"):
        fit(ADMMPruner(make_net()), make_dataset(), LOSS, config, teacher=_teacher().to("meta"))
    with pytest.raises(PruneError, match="same shape"):
        distillation_loss(torch.zeros(2, 3), torch.zeros(2, 4), 1.0)


def test_distill_admm_distills_the_admm_stage_too(tmp_path: Path) -> None:
    config = FitConfig(**{**DISTILL.__dict__, "distill_admm": True})
    pruner = ADMMPruner(make_net(), config=PRUNE)
    history = fit(pruner, make_dataset(), LOSS, config, teacher=_teacher(), checkpoint_dir=tmp_path).history
    assert ["distill" in r for r in history] == [True, True, True, True]
    assert all(r["penalty"] > 0 for r in history[:2])  # still the ADMM W-step
    retrain_only = ADMMPruner(make_net(), config=PRUNE)
    fit(retrain_only, make_dataset(), LOSS, DISTILL, teacher=_teacher())
    assert not torch.equal(pruner.model.conv2.weight, retrain_only.model.conv2.weight)
    # It is part of the run's identity: a checkpoint of one does not resume the other.
    assert torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["run"]["distill_admm"] is True
    with pytest.raises(CheckpointError, match="distill_admm"):
        fit(ADMMPruner(make_net(), config=PRUNE), make_dataset(), LOSS, DISTILL, teacher=_teacher(),
            checkpoint_dir=tmp_path)
    with pytest.raises(PruneError, match="distill_admm=True needs distill_weight > 0"):
        FitConfig(distill_admm=True)
