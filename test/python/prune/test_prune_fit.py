"""The ready ``fit`` loop: determinism, checkpoint each epoch, bit-identical resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn as nn

from pconv.prune import (
    ADMMPruner,
    CheckpointError,
    FitConfig,
    MagnitudePruner,
    PruneConfig,
    RhoSchedule,
    fit,
    recalibrate_batchnorm,
)
from pconv.prune.training import CHECKPOINT_NAME

from _prune_testlib import make_dataset, make_net

CONFIG = FitConfig(admm_epochs=3, retrain_epochs=2, batch_size=16, seed=3, progress=False, weight_decay=1e-4)
PRUNE = PruneConfig(num_patterns=6, rho=RhoSchedule(1e-3, 10.0, 1, 3))
LOSS = nn.functional.cross_entropy


class InterruptedRunError(Exception):
    pass


def _run(ckpt: Path | None, interrupt_after: int | None = None, config: FitConfig = CONFIG) -> tuple[ADMMPruner, list]:
    pruner = ADMMPruner(make_net(), config=PRUNE)
    seen: list[dict] = []

    def on_epoch_end(epoch: int, record: dict) -> None:
        seen.append({"epoch": epoch, "u": {k: u.clone() for k, u in pruner.u.items()}})
        if epoch == interrupt_after:
            raise InterruptedRunError

    fit(pruner, make_dataset(), LOSS, config, checkpoint_dir=ckpt, on_epoch_end=on_epoch_end)
    return pruner, seen


def _assert_same(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_fit_is_deterministic_and_pattern_sparse(tmp_path: Path) -> None:
    a, _ = _run(None)
    b, _ = _run(None)
    _assert_same(a.model, b.model)
    assert a.phase == "pruned"
    exported = a.export((1, 8, 8))  # raises unless exactly pattern-sparse
    assert set(exported.tables) == {"conv1", "conv2", "dw"}


@pytest.mark.parametrize("interrupt_after", [1, 2, 3])  # mid-ADMM, last ADMM epoch, mid-retraining
def test_resume_after_interruption_is_bit_identical(tmp_path: Path, interrupt_after: int) -> None:
    reference, _ = _run(tmp_path / "ref")
    with pytest.raises(InterruptedRunError):
        _run(tmp_path / "run", interrupt_after=interrupt_after)
    saved = torch.load(tmp_path / "run" / CHECKPOINT_NAME, weights_only=True)
    assert saved["epoch"] == interrupt_after

    resumed = ADMMPruner(make_net(), config=PRUNE)  # a fresh process: dense weights again
    result = fit(resumed, make_dataset(), LOSS, CONFIG, checkpoint_dir=tmp_path / "run")
    assert result.resumed_from == interrupt_after + 1
    _assert_same(reference.model, resumed.model)
    for name, mask in reference.masks.items():
        assert torch.equal(mask, resumed.masks[name])
    ref_history = torch.load(tmp_path / "ref" / CHECKPOINT_NAME, weights_only=True)["history"]
    assert result.history == ref_history


def test_admm_state_persists_across_epochs_and_checkpoints(tmp_path: Path) -> None:
    with pytest.raises(InterruptedRunError):
        _run(tmp_path, interrupt_after=1)
    saved = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["pruner"]
    assert saved["updates"] == 2 and saved["phase"] == "admm"
    assert all(u.abs().sum() > 0 for u in saved["u"].values())

    pruner = ADMMPruner(make_net(), config=PRUNE)
    recorded: list[dict] = []

    def check(epoch: int, record: dict) -> None:
        recorded.append({k: u.clone() for k, u in pruner.u.items()})
        raise InterruptedRunError

    with pytest.raises(InterruptedRunError):
        fit(pruner, make_dataset(), LOSS, CONFIG, checkpoint_dir=tmp_path, on_epoch_end=check)
    # Epoch 2 ran on the loaded duals: U2 = rescaled(U1 + W2 - Z2) differs from a fresh start and
    # from U1; and the uninterrupted run records the same U after epoch 2.
    _, ref_seen = _run(None)
    for name, u in recorded[0].items():
        assert torch.equal(u, ref_seen[2]["u"][name]), name
        assert not torch.equal(u, saved["u"][name])


def test_one_shot_and_magnitude_baselines_run_through_fit() -> None:
    config = FitConfig(admm_epochs=0, retrain_epochs=2, batch_size=16, progress=False)
    one_shot = ADMMPruner(make_net())
    fit(one_shot, make_dataset(), LOSS, config)
    assert one_shot.phase == "pruned"
    magnitude = MagnitudePruner.matching(make_net(), one_shot.masks)
    result = fit(magnitude, make_dataset(), LOSS, config)
    assert result.masks.kept() == one_shot.masks.kept()
    weight = magnitude.model.conv2.weight
    assert int((weight != 0).sum()) == one_shot.masks.kept()["conv2"]


def test_a_checkpoint_from_another_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InterruptedRunError):
        _run(tmp_path, interrupt_after=0)
    other = FitConfig(admm_epochs=4, retrain_epochs=2, batch_size=16, seed=3, progress=False, weight_decay=1e-4)
    with pytest.raises(CheckpointError, match="admm_epochs"):
        fit(ADMMPruner(make_net(), config=PRUNE), make_dataset(), LOSS, other, checkpoint_dir=tmp_path)


def test_evaluate_metrics_and_progress_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x, y = make_dataset(32, seed=9).tensors

    def evaluate(model: nn.Module) -> dict[str, float]:
        return {"acc": float((model(x).argmax(1) == y).float().mean())}

    config = FitConfig(admm_epochs=1, retrain_epochs=1, batch_size=16, progress=True)
    result = fit(ADMMPruner(make_net()), make_dataset(), LOSS, config, evaluate=evaluate)
    assert [r["stage"] for r in result.history] == ["admm", "retrain"]
    assert all(0.0 <= r["acc"] <= 1.0 for r in result.history)
    assert {"loss", "penalty", "lr", "rho", "pattern_residual"} <= set(result.history[0])
    assert "2/2" in capsys.readouterr().err


class _BatchNormNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.bn(self.conv2(torch.relu(self.conv1(x))))).mean(dim=(2, 3)))


def test_fit_recalibrates_batchnorm_right_after_hard_pruning() -> None:
    torch.manual_seed(0)
    data = make_dataset(48)
    x = data.tensors[0]
    pruner = ADMMPruner(_BatchNormNet(), config=PruneConfig(num_patterns=4, connectivity_keep=0.5))
    bn = pruner.model.bn
    bn.running_mean.fill_(5.0)  # statistics of "the unpruned weights"
    fit(pruner, data, LOSS, FitConfig(admm_epochs=0, retrain_epochs=0, batch_size=16, progress=False))
    with torch.no_grad():
        batches = [pruner.model.conv2(torch.relu(pruner.model.conv1(x[i : i + 16]))) for i in range(0, 48, 16)]
    mean = torch.stack([b.mean(dim=(0, 2, 3)) for b in batches]).mean(0)
    var = torch.stack([b.var(dim=(0, 2, 3), unbiased=True) for b in batches]).mean(0)
    torch.testing.assert_close(bn.running_mean, mean)
    torch.testing.assert_close(bn.running_var, var)
    assert bn.momentum == 0.1 and int(bn.num_batches_tracked) == 3

    pruner = ADMMPruner(_BatchNormNet(), config=PruneConfig(num_patterns=4, connectivity_keep=0.5))
    pruner.model.bn.running_mean.fill_(5.0)
    off = FitConfig(admm_epochs=0, retrain_epochs=0, batch_size=16, progress=False, recalibrate_bn=False)
    fit(pruner, data, LOSS, off)
    assert torch.all(pruner.model.bn.running_mean == 5.0)


def test_recalibrate_batchnorm_keeps_weights_mode_and_momentum() -> None:
    torch.manual_seed(0)
    net = _BatchNormNet().eval()
    before = {k: v.clone() for k, v in net.state_dict().items() if "running" not in k and "tracked" not in k}
    assert recalibrate_batchnorm(net, make_dataset(20), batch_size=8) == 1
    assert not net.training and net.bn.momentum == 0.1 and int(net.bn.num_batches_tracked) == 3
    for key, value in before.items():
        assert torch.equal(net.state_dict()[key], value), key
    assert recalibrate_batchnorm(make_net(), make_dataset(20)) == 0  # no batch norm: nothing to do


def test_admm_updates_per_epoch_adds_evenly_spaced_updates(tmp_path: Path) -> None:
    """admm_updates_per_epoch = n: n - 1 extra Z/Y/U/V updates inside every ADMM epoch
    (after every len(loader) // n minibatches), rho still steps once per epoch."""
    config = FitConfig(**{**CONFIG.__dict__, "admm_updates_per_epoch": 3})
    pruner = ADMMPruner(make_net(), config=PRUNE)
    calls: list[int] = []
    update = pruner.update

    def counting_update() -> None:
        calls.append(pruner.updates)  # the epoch's update count: no epoch_end in between
        update()

    pruner.update = counting_update  # type: ignore[method-assign]
    history = fit(pruner, make_dataset(), LOSS, config, checkpoint_dir=tmp_path).history
    assert calls == [0, 0, 1, 1, 2, 2]  # 64 samples / 16 = 4 batches: after batches 1 and 2
    plain = fit(ADMMPruner(make_net(), config=PRUNE), make_dataset(), LOSS, CONFIG).history
    assert [r.get("rho") for r in history] == [r.get("rho") for r in plain]
    assert history[0]["pattern_residual"] != plain[0]["pattern_residual"]
    assert torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["run"]["admm_updates_per_epoch"] == 3
    with pytest.raises(ValueError, match="admm_updates_per_epoch must be >= 1"):
        FitConfig(admm_updates_per_epoch=0)
    pruner.hard_prune()
    with pytest.raises(ValueError, match="already hard-pruned"):
        pruner.update()
