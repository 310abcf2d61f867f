"""benchmarks/regions.py: per-parallel-region wall time through a preloaded libomp shim.

Runs a small compiled model (two convs big enough to be parallel loops) at 1 and 2
threads in child processes and checks the accounting: every region is named from the
artifact's symbol table, called once per run, and the regions' time is a part of the
run. No timing thresholds (those are measurements, not results)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import pconv  # noqa: E402
from benchmarks import regions  # noqa: E402


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1)).eval()
    path = tmp_path_factory.mktemp("regions") / "model.pconv"
    pconv.compile(model, [torch.randn(1, 16, 32, 32)]).save(path)
    return path


def test_regions_are_named_and_timed(artifact: Path) -> None:
    result = regions.profile(artifact, [1, 2], runs=20)
    rows = result["rows"]
    assert rows, "no parallel region was timed"
    for row in rows:
        assert row["region"].startswith("forward..omp_par"), row
        assert row["calls_per_run"] == pytest.approx(1.0)
        assert set(row["us_per_run"]) == {1, 2} and min(row["us_per_run"].values()) > 0
    for t in (1, 2):
        total = result["totals"][t]
        # Regions run inside the timed calls: their mean sum is part of the mean call.
        assert 0 < total["regions_us"] <= total["mean_run_us"]
    # The 2-thread run is bracketed by core-to-core round trips (the host's
    # two-core placement), the 1-thread run is not.
    assert "round_trip_ns" not in result["totals"][1]
    trips = result["totals"][2]["round_trip_ns"]
    assert len(trips) == 2 and all(t is None or t > 0 for t in trips)
    table = regions.format_table(result)
    assert "| forward..omp_par" in table and "outside regions" in table
    if all(t is not None for t in trips):
        assert "core-to-core round trip" in table
    json.dumps(result)


def test_slow_placement_is_flagged() -> None:
    """A round trip above SLOW_ROUND_TRIP_NS marks the 2-thread totals as taken
    in the slow placement."""
    result = {"threads": [1, 2], "rows": [],
              "totals": {1: {"regions_us": 1.0, "mean_run_us": 2.0, "median_run_us": 2.0},
                         2: {"regions_us": 1.0, "mean_run_us": 2.0, "median_run_us": 2.0,
                             "round_trip_ns": [70.0, 350.0]}}}
    table = regions.format_table(result)
    assert "round trip 70 / 350 ns" in table and "slow two-core placement" in table
    result["totals"][2]["round_trip_ns"] = [70.0, 75.0]
    assert "slow two-core placement" not in regions.format_table(result)


def test_regions_carry_their_source_ops(artifact: Path) -> None:
    """The compiler records each region's source op (pconv-report-regions), in
    the order the model forks them; the table names regions by them: the two
    convs' kernels (vector FMAs) and their padded copies or halos (none)."""
    meta = json.loads((artifact / "meta.json").read_text())
    recorded = meta["regions"]
    assert [r["index"] for r in recorded] == list(range(len(recorded)))
    kernels = [r for r in recorded if r["vector_fmas"] > 0]
    assert len(kernels) == 2
    assert all(r["op"] == "linalg.conv_2d_nchw_fchw" and r["source"].startswith("linalg.mlir:") for r in kernels)
    assert kernels[0]["label"].startswith("linalg.conv_2d_nchw_fchw 1x16x34x34, 32x16x3x3 -> 1x32x32x32")
    result = regions.profile(artifact, [1], runs=5)
    assert [row["op"].split(" [")[0] for row in result["rows"]] == [
        r["label"] + ("" if r["vector_fmas"] else " (no FMA)") for r in recorded]
    assert "source op" in regions.format_table(result)
    # An artifact that records none (or a different count) is still profiled, unlabelled.
    (artifact / "meta.json").write_text(json.dumps(dict(meta, regions=recorded[:-1])))
    try:
        result = regions.profile(artifact, [1], runs=2)
    finally:
        (artifact / "meta.json").write_text(json.dumps(meta))
    assert "op" not in result["rows"][0] and "records" in result["labels"]
    assert "Source ops: none" in regions.format_table(result)


def test_cli_rejects_bad_input(artifact: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        regions.main([str(tmp_path)])
    assert e.value.code == 2 and "not a saved artifact" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        regions.main([str(artifact), "--threads", "1,x"])
    assert e.value.code == 2 and "comma-separated integers" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        regions.main([str(artifact), "--threads", "0"])
    assert e.value.code == 2
    meta = json.loads((artifact / "meta.json").read_text())
    other = tmp_path / "arm.pconv"
    other.mkdir()
    (other / "meta.json").write_text(json.dumps(dict(meta, target="aarch64-linux-gnu")))
    assert regions.main([str(other)]) == 1
    assert "a host artifact is needed" in capsys.readouterr().err
