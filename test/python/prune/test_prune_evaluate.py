"""benchmarks/pruning/evaluate.py end to end on a narrow CNN (``--quick --main-only --channels``, seconds)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from collections.abc import Iterator
from types import ModuleType

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

EVALUATE = Path(__file__).resolve().parents[3] / "benchmarks" / "pruning" / "evaluate.py"


@pytest.fixture(scope="module")
def evaluate() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("pruning_evaluate", EVALUATE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    path = list(sys.path)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)  # puts benchmarks/pruning (digits, plot) on sys.path
        yield module
    finally:
        sys.path[:] = path
        for name in (spec.name, "digits", "plot"):
            sys.modules.pop(name, None)


def test_channels_reach_the_model_results_and_header(evaluate: ModuleType, tmp_path: Path) -> None:
    code = evaluate.main(["--quick", "--main-only", "--channels", "4", "4", "8", "8", "--out", str(tmp_path)])
    assert code == 0
    payload = json.loads((tmp_path / "results.json").read_text())
    assert payload["settings"]["channels"] == [4, 4, 8, 8]
    assert {r["method"] for r in payload["runs"]} == {"admm", "one-shot", "irregular"}
    layers = {r["name"]: r for r in next(r for r in payload["runs"] if r["method"] == "admm")["report"]["layers"]}
    assert [layers[f"conv{i}"]["weights"] for i in range(1, 5)] == [1 * 4 * 9, 4 * 4 * 9, 4 * 8 * 9, 8 * 8 * 9]
    settings = payload["settings"]
    assert (settings["distill_admm"], settings["joint_connectivity"], settings["admm_updates_per_epoch"]) == (
        True, True, 4)
    header = (tmp_path / "results.md").read_text()
    assert "`--model cnn --channels 4 4 8 8`" in header and "(4-4-8-8 channels, batch norm)" in header
    assert "Z/Y/U/V updated 4x per epoch" in header and "ADMM phase distilled too" in header
    assert (tmp_path / "accuracy_vs_compression.png").exists()


def test_default_channels_are_unchanged(evaluate: ModuleType) -> None:
    digits = evaluate.digits
    assert evaluate.Settings().channels is None
    assert digits.describe("cnn") == "four 3x3 convolutions (32-32-64-64 channels, batch norm)"
    assert digits.build("cnn").conv4.out_channels == 64
    assert digits.build("cnn", (4, 4, 8, 8)).conv4.out_channels == 8
    with pytest.raises(ValueError, match="only apply to the cnn"):
        digits.build("bottleneck", (4, 4, 8, 8))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "bottleneck", "--channels", "4", "4", "8", "8"], "--channels only applies to --model cnn"),
        (["--channels", "4", "0", "8", "8"], "--channels must be positive integers"),
        (["--channels", "4", "4", "8"], "expected 4 arguments"),
        (["--admm-updates", "0"], "--admm-updates must be a positive integer"),
    ],
)
def test_bad_channels_are_refused(
    evaluate: ModuleType, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main(["--quick", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_admm_tuning_flags_restore_the_old_admm(evaluate: ModuleType, tmp_path: Path) -> None:
    """--no-distill-admm --no-joint-connectivity --admm-updates 1: the ADMM of the runs before
    the tuning (the library defaults)."""
    code = evaluate.main(["--quick", "--main-only", "--channels", "4", "4", "8", "8", "--out", str(tmp_path),
                          "--no-distill-admm", "--no-joint-connectivity", "--admm-updates", "1"])
    assert code == 0
    settings = json.loads((tmp_path / "results.json").read_text())["settings"]
    assert (settings["distill_admm"], settings["joint_connectivity"], settings["admm_updates_per_epoch"]) == (
        False, False, 1)
    header = (tmp_path / "results.md").read_text()
    assert "updated" not in header and "ADMM phase distilled" not in header
