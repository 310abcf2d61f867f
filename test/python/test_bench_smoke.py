"""Smoke test of the benchmark harness (benchmarks/): tiny network, always-present engines.

Checks that the harness runs end to end and records correct-output flags; it asserts
nothing about timing (benchmarks are not tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_smoke(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--networks", "tiny", "--engines", "pytorch,pconv",
         "--threads", "1", "--budget", "0.05", "--warmup", "0.01", "--cap", "50", "--rounds", "2",
         "--no-layers", "--no-mca",
         "--no-peak", "--work", str(tmp_path / "work"), "--out", str(out), "--name", "smoke"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=55)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads((out / "smoke.json").read_text())
    rows = {r["engine"]: r for r in result["rows"]}
    assert set(rows) == {"pytorch", "pconv"}
    for engine, row in rows.items():
        assert row["status"] == "ok", (engine, row.get("reason"))
        assert row["check"]["pass"] is True
        assert row["check"]["max_abs_err"] is not None and row["check"]["max_rel_err"] is not None
        # Two rounds, interleaved, their samples pooled.
        assert row["timing"]["rounds"] == 2 and len(row["timing"]["round_medians_ms"]) == 2
        assert row["timing"]["runs"] == len(row["timing"]["samples_ms"]) >= 2
    assert rows["pconv"]["pconv_stats"]["pconv_convs"] >= 1  # the pattern path was taken
    assert (out / "smoke.md").exists() and (out / "SUMMARY-smoke.md").exists()
    assert (out / "smoke-latency-tiny.png").exists()


def test_merge_rounds_pools_samples_and_keeps_the_worst_memory() -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks.common import merge_rounds, timing_summary

    first = {"status": "ok", "compile_s": 2.0, "peak_rss_run_kib": 100, "wall_s": 1.0,
             "timing": {**timing_summary([5.0, 1.0, 3.0]), "warmup_runs": 1}}
    second = {"status": "ok", "compile_s": 0.1, "peak_rss_run_kib": 120, "wall_s": 2.0,
              "timing": {**timing_summary([2.0, 4.0]), "warmup_runs": 2}}
    row = merge_rounds([first, second])
    t = row["timing"]
    assert t["runs"] == 5 and t["median_ms"] == 3.0 and t["min_ms"] == 1.0 and t["max_ms"] == 5.0
    assert t["samples_ms"] == [5.0, 1.0, 3.0, 2.0, 4.0] and t["round_medians_ms"] == [3.0, 3.0]
    assert t["rounds"] == 2 and t["warmup_runs"] == 3
    assert row["compile_s"] == 2.0 and row["peak_rss_run_kib"] == 120 and row["wall_s"] == 3.0
    assert merge_rounds([first]) == first


def test_rounds_must_be_positive(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--rounds", "0", "--no-peak", "--no-layers", "--no-mca",
         "--networks", "tiny", "--engines", "pytorch", "--work", str(tmp_path / "work"),
         "--out", str(tmp_path / "out")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=55)
    assert proc.returncode == 2 and "--rounds must be a positive integer" in proc.stderr, proc.stderr[-2000:]


def test_layer_keep_out_of_range_is_rejected(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--no-networks", "--layer-keep", "1.5", "--no-peak",
         "--work", str(tmp_path / "work"), "--out", str(tmp_path / "out")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=55)
    assert proc.returncode == 2 and "--layer-keep must be in (0, 1]" in proc.stderr, proc.stderr[-2000:]


def test_missing_engine_is_a_row_with_a_reason() -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks.engines import EngineSpec
    from benchmarks.run import engine_available

    ok, why = engine_available(EngineSpec("ghost", "ghost", "Ghost", needs=("no_such_engine_module_xyz",)))
    assert not ok and "no_such_engine_module_xyz" in why


def test_layer_report_counts_near_miss_rows_separately() -> None:
    """A dense row that missed the output check narrowly (Winograd rounding) is never the
    best dense engine in the table, but the summary gives the ratios with it too; a row
    far off the tolerance is left out of both."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.report import layer_summary, near_miss_line

    def row(engine, ms, status="ok", err=1e-7):
        return {"engine": engine, "case": "c", "status": status, "timing": {"median_ms": ms},
                "check": {"max_rel_err": err, "tolerance_rel": 1e-3}}

    meta = {"network": "net", "layer": "conv", "cin": 8, "cout": 8, "hw_in": [8, 8], "stride": 1,
            "kernels_kept": 16, "kernels_total": 64, "kept_macs": 1e6, "dense_macs": 4e6}
    result = {"peak": {"peak_gflops": 100.0}, "layer_cases": {"c": meta},
              "layer_rows": [row("pconv", 1.0), row("onnxruntime", 4.0),
                             row("mnn", 2.0, "wrong-output", 1.2e-3), row("tvm", 0.5, "wrong-output", 0.5)]}
    (e,) = layer_summary(result)
    assert e["speedup_vs_best_dense"] == 4.0
    assert e["near_speedup"] == 2.0 and e["near_engine"] == "mnn"
    line = near_miss_line([e])
    assert "mnn on 1 layer(s)" in line and "median 2.00x" in line
    result["layer_rows"] = result["layer_rows"][:2]
    assert near_miss_line(layer_summary(result)) == ""


def test_scaling_bundle_round_trip(tmp_path: Path) -> None:
    """benchmarks/scaling.py: prepare a bundle (the tiny network), time it in fresh
    processes at 1 and 2 threads (beside ONNX Runtime where installed), twice, render the report."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TMPDIR=str(tmp_path))
    bundle, out = tmp_path / "bundle", tmp_path / "scaling.json"

    def scaling(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.scaling", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        return proc.stdout

    scaling("prepare", "--out", str(bundle), "--networks", "tiny")
    assert (bundle / "tiny" / "artifact" / "model.so").exists() and (bundle / "lib").is_dir()
    # Peers only where installed: CI's environment has neither ONNX Runtime
    # (the bench installs it) nor time for one torch import per process.
    import importlib.util

    engines = ["pconv"] + (["onnxruntime"] if importlib.util.find_spec("onnxruntime") else [])
    scaling("run", "--bundle", str(bundle), "--threads", "1,2", "--engines", ",".join(engines),
            "--budget", "0.05", "--repeat", "2", "--out", str(out))
    rows = json.loads(out.read_text())["rows"]
    assert {(r["engine"], r["threads"]) for r in rows} == {(e, t) for e in engines for t in (1, 2)}
    assert len(rows) == 4 * len(engines) and all("median_ms" in r for r in rows), rows
    assert all(r["pass"] for r in rows if r["engine"] == "pconv")
    report = scaling("report", str(out))
    assert "**tiny**" in report and "| 2 |" in report


def test_load_scheme_micro_benchmark_runs() -> None:
    """benchmarks.loads builds and runs every mode (numbers are not checked)."""
    import pytest

    sys.path.insert(0, str(ROOT))
    from benchmarks import loads

    try:
        best = loads.run(rounds=1, iterations=1000)
    except RuntimeError as e:  # no C compiler or no AVX-512 here
        pytest.skip(str(e))
    assert set(best) == set(loads.MODES) and all(v > 0 for v in best.values())


def test_layer_ab_checks_and_times_variants() -> None:
    """benchmarks.layer_ab compiles each variant, checks it against PyTorch and
    times it next to the FMA probe (numbers are not checked); bad variants are
    rejected with the reason."""
    import pytest

    sys.path.insert(0, str(ROOT))
    from benchmarks import layer_ab

    with pytest.raises(ValueError, match="C,F,HW,STRIDE"):
        layer_ab.parse_variant("8,8,x")
    with pytest.raises(ValueError, match="keep must be in"):
        layer_ab.parse_variant("8,8,8,1|keep=0")
    with pytest.raises(ValueError, match="not key=value"):
        layer_ab.parse_variant("8,8,8,1|k")
    v = layer_ab.parse_variant("8,16,10,2|k=4|keep=0.5|tile=(2,1,0,0)|aligned_loads=False")
    assert v["shape"] == (8, 16, 10, 2) and v["k"] == 4 and v["tile"] == (2, 1, 0, 0)
    assert v["options"] == {"aligned_loads": False}
    try:
        rows = layer_ab.measure(["8,16,10,1", "8,16,10,2|k=4|keep=0.5"], rounds=2)
    except RuntimeError as e:  # no C compiler or no AVX-512 for the probe
        pytest.skip(str(e))
    assert [r["variant"] for r in rows] == ["8,16,10,1", "8,16,10,2|k=4|keep=0.5"]
    assert all(r["best_ms"] > 0 and r["share_of_probe"] > 0 for r in rows)


def test_prune_network_keep_1x1_group_shared() -> None:
    """`--keep-1x1` with `--filter-block`: the 1x1 conv keeps a quarter of its
    weights, the same input channels in each block of 8 filters, and the
    network still compiles to the same output."""
    import numpy as np
    import pconv
    import torch

    sys.path.insert(0, str(ROOT))
    from benchmarks import networks

    model, x = networks.build("tiny")
    summary = networks.prune_network(model, filter_block=8, keep_1x1=0.25)
    pw = model.pw.weight.detach()[:, :, 0, 0]
    assert int((pw != 0).sum()) == 16 * 16 // 4
    for block in pw.reshape(2, 8, 16):
        kept = block != 0
        assert bool((kept == kept[0]).all())  # one channel set per block of 8 filters
    assert summary["layers"]["pw"]["keep"] == 0.25 and summary["layers"]["pw"]["filter_block"] == 8
    assert not summary["layers"]["pw"]["pattern"]
    assert summary["layers"]["dw"]["keep"] is None and summary["layers"]["conv2"]["keep"] == 1 / 3.6
    with torch.no_grad():
        ref = model(x).numpy()
    art = pconv.compile(model, (x,))
    np.testing.assert_allclose(art.load()(x.numpy()), ref, rtol=1e-4, atol=1e-4)


def test_busy_neighbour_runs_only_inside_its_block() -> None:
    """--contention's CPU hog starts on the last allowed CPU and is gone after the block."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.run import busy_neighbour

    with busy_neighbour(False):
        pass
    before = set(os.listdir("/proc"))
    with busy_neighbour(True):
        started = [p for p in set(os.listdir("/proc")) - before if p.isdigit()]
        cpus = set()
        for pid in started:
            try:
                cpus |= os.sched_getaffinity(int(pid))
            except OSError:
                pass
        assert max(os.sched_getaffinity(0)) in cpus
    for pid in started:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        except OSError:
            continue  # gone
        assert state == "Z", f"hog {pid} still running"


def test_memory_bandwidth_probe_reports_a_rate() -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks.peak import dram_read_gbs

    assert dram_read_gbs(mib=16) > 0


def test_core_round_trip_probe() -> None:
    """Two pinned threads pass a cache line: a positive time, or None on one CPU."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.peak import core_round_trip_ns
    from benchmarks.report import round_trip_line

    ns = core_round_trip_ns(rounds=2000, tries=1)
    if (os.cpu_count() or 1) < 2:
        assert ns is None
        return
    assert ns is not None and 0 < ns < 1e6
    line = round_trip_line({"measurements": [{"when": "start", "round_trip_ns": ns}, {"when": "end"}]})
    assert line is not None and f"{ns:.0f} ns (start)" in line and "(end)" not in line
    assert round_trip_line({"measurements": [{"when": "start"}]}) is None
