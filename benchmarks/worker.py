"""One engine, one thread count, one or more cases: build, check against PyTorch, time.

Run by the orchestrator in a fresh process per (engine, thread count) with the thread
environment already set (see ``common.thread_env``):

    python -m benchmarks.worker --engine onnxruntime --threads 1 --budget 3 \
        --warmup 1 --out result.json CASE_DIR [CASE_DIR ...]

Results are written after every case, so a worker killed by the orchestrator's time
cap still leaves the cases it finished.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks.common import RTOL_BF16, RTOL_FP32, Case, check_output, peak_rss_kib, reset_peak_rss, rss_kib, time_runs, write_json
from benchmarks.engines import ENGINES


def _short(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}".strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    text = " | ".join(lines[:4])
    return text[:600]


def run_case(spec, case: Case, threads: int, budget: float, warmup: float, max_runs: int) -> dict[str, Any]:
    row: dict[str, Any] = {"engine": spec.key, "case": case.name, "threads": threads, "status": "error"}
    mod = importlib.import_module(f"benchmarks.engines.{spec.module}")
    x = case.input()
    ref = case.reference()
    rss0 = rss_kib()
    t0 = time.perf_counter()
    try:
        built = mod.build(case, threads, spec.variant)
    except Exception as e:  # an engine that cannot compile this model is a row with the reason
        row["reason"] = "compile/load failed: " + _short(e)
        row["traceback"] = traceback.format_exc()[-3000:]
        return row
    build_s = time.perf_counter() - t0
    row.update(built.info)
    row.setdefault("compile_s", build_s)
    row["build_s_this_process"] = build_s
    try:
        t1 = time.perf_counter()
        y = built.run(x)
        row["first_run_ms"] = (time.perf_counter() - t1) * 1e3
    except Exception as e:
        row["reason"] = "run failed: " + _short(e)
        row["traceback"] = traceback.format_exc()[-3000:]
        return row
    row["check"] = check_output(y, ref, RTOL_FP32 if spec.fp32 else RTOL_BF16)
    row["rss_after_build_kib"] = rss_kib()
    row["rss_before_build_kib"] = rss0
    row["peak_rss_incl_build_kib"] = peak_rss_kib()
    row["peak_rss_reset"] = reset_peak_rss()
    try:
        row["timing"] = time_runs(lambda: built.run(x), budget, warmup, max_runs=max_runs)
    except Exception as e:
        row["reason"] = "timed run failed: " + _short(e)
        return row
    row["peak_rss_run_kib"] = peak_rss_kib()
    row["status"] = "ok" if row["check"]["pass"] else "wrong-output"
    if not row["check"]["pass"]:
        row["reason"] = (f"output differs from PyTorch: max rel err {row['check'].get('max_rel_err')}"
                         f" > {row['check'].get('tolerance_rel')}")
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--budget", type=float, default=3.0, help="seconds of timed runs per case")
    ap.add_argument("--warmup", type=float, default=0.5, help="seconds of warm-up per case (at least one run)")
    ap.add_argument("--max-runs", type=int, default=200)
    ap.add_argument("--out", required=True)
    ap.add_argument("cases", nargs="+")
    a = ap.parse_args(argv)
    spec = ENGINES[a.engine]
    out = Path(a.out)
    rows: list[dict[str, Any]] = []
    for d in a.cases:
        case = Case(Path(d))
        try:
            row = run_case(spec, case, a.threads, a.budget, a.warmup, a.max_runs)
        except Exception as e:  # import errors and the like
            row = {"engine": spec.key, "case": case.name, "threads": a.threads, "status": "error",
                   "reason": _short(e), "traceback": traceback.format_exc()[-3000:]}
        rows.append(row)
        write_json(out, rows)
        t = row.get("timing", {}).get("median_ms")
        print(f"[worker] {spec.key:14s} {case.name:28s} t={a.threads} {row['status']:12s} "
              f"{'' if t is None else f'{t:.2f} ms'} {row.get('reason', '')[:200]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
