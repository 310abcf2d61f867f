"""Shared helpers of the benchmark harness: thread settings, timing, output checks, memory.

This module imports neither torch nor any engine, so the worker also runs in an
engine's own virtual environment (e.g. ``.venv-tflite``, numpy<2, no torch).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
WORK = Path(os.environ.get("PCONV_BENCH_WORK", RESULTS / "tmp"))

# fp32 tolerance on the output of a whole network, relative to max |reference|.
# Engines reorder sums (Winograd, blocked GEMMs, FMA contraction): deep networks with
# random weights accumulate ~1e-6..1e-4 of relative error.  bf16 rows use their own.
RTOL_FP32 = 1e-3
RTOL_BF16 = 5e-2


def thread_env(threads: int) -> dict[str, str]:
    """Environment every engine's process gets for ``threads`` threads (pinned, one per core)."""
    n = str(threads)
    return {
        "OMP_NUM_THREADS": n, "OMP_PROC_BIND": "spread", "OMP_PLACES": "cores",
        "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "TVM_NUM_THREADS": n,
        "TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": "1",
    }


def check_output(y: np.ndarray, ref: np.ndarray, rtol: float = RTOL_FP32) -> dict[str, Any]:
    """Max abs / rel error of ``y`` against the PyTorch reference and a pass flag.

    rel = max|y - ref| / max|ref| (the scale of the output: element-wise relative errors
    blow up on entries near zero).
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    ref = np.asarray(ref, dtype=np.float64).reshape(-1)
    if y.size != ref.size:
        return {"max_abs_err": None, "max_rel_err": None, "pass": False,
                "check_note": f"output has {y.size} elements, the reference {ref.size}"}
    if not np.all(np.isfinite(y)):
        return {"max_abs_err": None, "max_rel_err": None, "pass": False, "check_note": "non-finite output"}
    abs_err = float(np.max(np.abs(y - ref))) if y.size else 0.0
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    rel = abs_err / scale if scale > 0 else abs_err
    return {"max_abs_err": abs_err, "max_rel_err": rel, "tolerance_rel": rtol, "pass": bool(rel <= rtol)}


def time_runs(fn: Callable[[], Any], budget_s: float, warmup_s: float, min_runs: int = 1,
              max_runs: int = 200) -> dict[str, Any]:
    """Warm up for ``warmup_s`` (at least one run), then run N times, N chosen by ``budget_s``.

    N = clamp(budget / (one warm run), min_runs, max_runs), at least 1: a model slower
    than the budget still gets its one honest run.
    """
    t_start = time.perf_counter()
    warm = 0
    while True:
        t0 = time.perf_counter()
        fn()
        one = time.perf_counter() - t0
        warm += 1
        if time.perf_counter() - t_start >= warmup_s:
            break
    n = int(max(min_runs, min(max_runs, budget_s / max(one, 1e-9))))
    n = max(1, n)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {**timing_summary([t * 1e3 for t in times]), "warmup_runs": warm}


def timing_summary(samples_ms: list[float]) -> dict[str, Any]:
    """Median, spread and the samples themselves (in run order) of timed runs."""
    ms = sorted(samples_ms)
    q = lambda p: ms[min(len(ms) - 1, int(round(p * (len(ms) - 1))))]  # noqa: E731
    return {
        "runs": len(ms),
        "median_ms": statistics.median(ms), "min_ms": ms[0], "max_ms": ms[-1],
        "p10_ms": q(0.10), "p90_ms": q(0.90),
        "stdev_ms": statistics.stdev(ms) if len(ms) > 1 else 0.0,
        "samples_ms": [round(t, 4) for t in samples_ms],
    }


def merge_rounds(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from the rows of the same (engine, network, threads) measured in
    several rounds: the first round's row (compile time, first run, check),
    timing over the samples of every round pooled, peak memory the largest
    of any round. Rows without samples (older workers) keep the first's timing."""
    merged = dict(rows[0])
    if len(rows) == 1:
        return merged
    samples = [t for r in rows for t in r.get("timing", {}).get("samples_ms", [])]
    if samples:
        merged["timing"] = {**timing_summary(samples),
                            "warmup_runs": sum(r["timing"].get("warmup_runs", 0) for r in rows),
                            "rounds": len(rows),
                            "round_medians_ms": [r["timing"]["median_ms"] for r in rows]}
    for key in ("peak_rss_run_kib", "peak_rss_incl_build_kib"):
        values = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
        if values:
            merged[key] = max(values)
    merged["wall_s"] = sum(r.get("wall_s", 0.0) for r in rows)
    return merged


def rss_kib() -> int:
    """Current resident set size of this process (KiB)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_kib() -> int:
    """Peak RSS since the last :func:`reset_peak_rss` (VmHWM), else since start (KiB)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux ``clear_refs`` 5); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=_json_default))
    tmp.replace(path)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def dir_bytes(path: Path) -> int:
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Case:
    """A prepared benchmark case on disk: model.onnx, model.pt, input.npy, ref.npy, case.json."""

    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.meta: dict[str, Any] = json.loads((self.dir / "case.json").read_text())
        self.name: str = self.meta["name"]

    @property
    def onnx(self) -> Path:
        return self.dir / "model.onnx"

    @property
    def torch_model(self) -> Path:
        return self.dir / "model.pt"

    @property
    def tflite(self) -> Path:
        return self.dir / "model.tflite"

    def input(self) -> np.ndarray:
        return np.load(self.dir / "input.npy")

    def reference(self) -> np.ndarray:
        return np.load(self.dir / "ref.npy")

    def scratch(self, engine: str) -> Path:
        d = self.dir / "engines" / engine
        d.mkdir(parents=True, exist_ok=True)
        return d


class Cached:
    """Remembers an engine's one-time compile (time, artifact) across its thread-count runs."""

    def __init__(self, scratch: Path, key: str = "compile"):
        self.path = Path(scratch) / f"{key}.json"

    def get(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None

    def put(self, info: dict[str, Any]) -> None:
        write_json(self.path, info)
