"""Wall time of each OpenMP parallel region of a saved artifact, per thread count.

    .venv/bin/python -m benchmarks.regions ARTIFACT --threads 1,2 --runs 300

A compiled model forks one OpenMP parallel region per parallel loop nest (a conv's
tasks, a copy, a pooling); ``perf`` gives their CPU samples, but not the wall time a
region takes with several threads, and so not where a second thread is lost (a
region that scales badly, time spent between regions). This tool runs the artifact
(host target) in one child process per thread count with
``benchmarks/micro/region_timer.c`` preloaded: it interposes libomp's
``__kmpc_fork_call`` and times each call. Per region (named from the artifact's
symbol table, ``forward..omp_par.N``, in the order the model runs them) it prints
the op it was lowered from (recorded at compile time in ``meta.json``'s ``regions``
by ``pconv-report-regions``: the source line's op and shapes, marked "no FMA" where
the region's code holds no vector FMA: a padded copy, a fill, a pool), the calls per
run, microseconds per run at each thread count, the speed-up from the
first thread count to each other one, and the region's share of the run; then the
regions' sum and the mean run, whose difference is the time outside regions
(allocation, the runtime's call overhead, sequential loops). Threads are bound as
in the harness (``OMP_PROC_BIND=spread``, ``OMP_PLACES=cores``) unless set. The
input is random (from a fixed seed): timing only. ``--json`` writes the table.

Around every run with more than one thread it measures the core-to-core round
trip (``benchmarks.peak.core_round_trip_ns``) and prints it with the totals: on
the shared host of sessions 21-27 the two vCPUs move between a placement with a
~70 ns round trip and one with ~350 ns, where whatever one core reads of the
other's writes is slow and a 2-thread run goes at about 1-thread speed
(docs/rationale.md, "Session 27"); a table from the slow placement says so, and
2-thread figures from the two placements do not compare.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCE = Path(__file__).parent / "micro" / "region_timer.c"


def build_timer(out_dir: Path) -> Path:
    """The preload library, compiled with the system C compiler."""
    from benchmarks.loads import compile_native

    return compile_native(SOURCE, out_dir / "region_timer.so", "-shared", "-fPIC", "-ldl")


def symbol_table(library: Path) -> dict[int, str]:
    """Function symbols of ``library`` by address (``nm``; local ones included)."""
    out = subprocess.run(["nm", "--defined-only", str(library)], check=True, capture_output=True, text=True).stdout
    table = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tT":
            table[int(parts[0], 16)] = parts[2]
    return table


def _child(artifact: str, runs: int, out: str) -> None:
    """Runs in the preloaded process: warm up, time ``runs`` calls, dump."""
    import numpy as np

    import pconv

    model = pconv.load(artifact)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(s.shape).astype(s.dtype) for s in model.inputs]
    timer = ctypes.CDLL(None)
    if not hasattr(timer, "pconv_region_timer_reset"):
        raise SystemExit("region_timer.so is not preloaded")
    for _ in range(max(5, runs // 10)):
        model(*inputs)
    timer.pconv_region_timer_reset()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        model(*inputs)
        times.append(time.perf_counter() - start)
    if timer.pconv_region_timer_dump(f"{out}.regions".encode()) != 0:
        raise SystemExit(f"cannot write {out}.regions")
    Path(out).write_text(json.dumps({"median_us": statistics.median(times) * 1e6,
                                     "mean_us": statistics.fmean(times) * 1e6, "runs": runs}))


def measure(artifact: Path, threads: int, runs: int, timer: Path, work: Path) -> dict:
    """One child process at ``threads`` threads: per-region totals and the median run."""
    out = work / f"t{threads}.json"
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), LD_PRELOAD=str(timer))
    env.setdefault("OMP_PROC_BIND", "spread")
    env.setdefault("OMP_PLACES", "cores")
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.regions", "--child", str(artifact), str(runs), str(out)],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"run at {threads} thread(s) failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    summary = json.loads(out.read_text())
    regions = []
    for line in Path(f"{out}.regions").read_text().splitlines():
        offset, obj, calls, total_us, _argc = line.split()
        regions.append({"offset": int(offset, 16), "object": obj, "calls": int(calls), "total_us": float(total_us)})
    return {"median_us": summary["median_us"], "mean_us": summary["mean_us"], "runs": summary["runs"],
            "regions": regions}


def profile(artifact: Path, threads: list[int], runs: int) -> dict:
    """Per-region microseconds per run (mean) at each thread count, regions in first-run order."""
    meta = json.loads((artifact / "meta.json").read_text())
    if meta.get("target") != "host":
        raise ValueError(f"{artifact}: a host artifact is needed, this one is for {meta.get('target')!r}")
    library = artifact / meta.get("library", "model.so")
    names = symbol_table(library)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        timer = build_timer(work)
        results, round_trips = {}, {}
        for t in threads:
            before = _round_trip_ns() if t > 1 else None
            results[t] = measure(artifact, t, runs, timer, work)
            if t > 1:
                round_trips[t] = [before, _round_trip_ns()]
    order: list[int] = []
    for t in threads:
        order += [r["offset"] for r in results[t]["regions"] if r["offset"] not in order]
    # Labels from the compiler, in fork order: valid when every region ran
    # (once each, in program order) and the counts agree.
    recorded = meta.get("regions") or []
    labels = recorded if len(recorded) == len(order) else []
    rows = []
    for i, offset in enumerate(order):
        row = {"region": names.get(offset, hex(offset)), "calls_per_run": None, "us_per_run": {}}
        if labels:
            row["source"] = labels[i].get("source")
            row["op"] = _op_cell(labels[i])
        for t in threads:
            hit = next((r for r in results[t]["regions"] if r["offset"] == offset), None)
            if hit:
                row["calls_per_run"] = hit["calls"] / results[t]["runs"]
                row["us_per_run"][t] = hit["total_us"] / results[t]["runs"]
        rows.append(row)
    totals = {t: {"regions_us": sum(r["us_per_run"].get(t, 0.0) for r in rows),
                  "median_run_us": results[t]["median_us"], "mean_run_us": results[t]["mean_us"]} for t in threads}
    for t, trips in round_trips.items():
        totals[t]["round_trip_ns"] = trips
    result = {"artifact": str(artifact), "threads": threads, "runs": runs, "rows": rows, "totals": totals}
    if not labels:
        result["labels"] = (f"none: the artifact records {len(recorded)} regions, {len(order)} ran"
                            if recorded else "none: the artifact records no regions (compiled before they were)")
    return result


#: A core-to-core round trip above this marks the host's slow two-core placement.
SLOW_ROUND_TRIP_NS = 200.0


def _round_trip_ns() -> float | None:
    """The core-to-core round trip now (None where it cannot be measured: one
    CPU, no C compiler)."""
    from benchmarks.peak import core_round_trip_ns

    try:
        return core_round_trip_ns(rounds=20_000)
    except (RuntimeError, OSError, subprocess.CalledProcessError):
        return None


def _op_cell(record: dict) -> str:
    """A region's source op for the table: its label, "(no FMA)" when its
    code holds no vector FMA (a copy, a fill, a pool), and its source line."""
    cell = record.get("label") or "?"
    if not record.get("vector_fmas"):
        cell += " (no FMA)"
    if record.get("source"):
        cell += f" [{record['source']}]"
    return cell


def format_table(result: dict) -> str:
    threads = result["threads"]
    base = threads[0]
    labelled = any("op" in row for row in result["rows"])
    head = ["region"] + (["source op"] if labelled else []) + ["calls/run"] + [f"us at {t}t" for t in threads]
    head += [f"{base}t/{t}t" for t in threads[1:]] + [f"share at {base}t"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    total_base = result["totals"][base]["mean_run_us"]
    for row in result["rows"]:
        us = row["us_per_run"]
        cells = [row["region"]] + ([row.get("op", "?")] if labelled else []) + [f"{row['calls_per_run']:.2f}"]
        cells += [f"{us[t]:.1f}" if t in us else "-" for t in threads]
        cells += [f"{us[base] / us[t]:.2f}x" if base in us and t in us and us[t] > 0 else "-" for t in threads[1:]]
        cells.append(f"{100 * us.get(base, 0.0) / total_base:.1f}%")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if "labels" in result:
        lines.append(f"Source ops: {result['labels']}.")
    for t in threads:
        tot = result["totals"][t]
        line = (f"{t} thread(s): regions {tot['regions_us']:.1f} us, mean run {tot['mean_run_us']:.1f} us "
                f"(median {tot['median_run_us']:.1f}), outside regions {tot['mean_run_us'] - tot['regions_us']:.1f} us")
        trips = [x for x in tot.get("round_trip_ns") or [] if x is not None]
        if trips:
            line += "; core-to-core round trip " + " / ".join(f"{x:.0f}" for x in trips) + " ns (before / after)"
            if max(trips) > SLOW_ROUND_TRIP_NS:
                line += (" -- the slow two-core placement for at least part of the run: its "
                         f"{t}-thread times do not compare with a run in the fast one")
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child(argv[1], int(argv[2]), argv[3])
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("artifact", type=Path, help="a saved artifact folder (host target)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--runs", type=int, default=200, help="timed runs per thread count (default 200)")
    ap.add_argument("--json", type=Path, help="also write the table as JSON here")
    a = ap.parse_args(argv)
    try:
        threads = [int(t) for t in a.threads.split(",") if t]
    except ValueError:
        ap.error(f"--threads must be comma-separated integers, got {a.threads!r}")
    if not threads or min(threads) < 1:
        ap.error("--threads needs at least one count, each at least 1")
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    if not (a.artifact / "meta.json").is_file():
        ap.error(f"{a.artifact} is not a saved artifact (no meta.json)")
    try:
        result = profile(a.artifact, threads, a.runs)
    except (RuntimeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(format_table(result))
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
