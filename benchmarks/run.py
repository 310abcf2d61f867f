"""PConv benchmark orchestrator: every engine side by side, in one run, on this machine.

    .venv/bin/python -m benchmarks.run --quick        # about two minutes (make bench-quick)
    .venv/bin/python -m benchmarks.run                # full (make bench), capped per engine
    .venv/bin/python -m benchmarks.run --networks tiny --engines pytorch,pconv --no-layers --no-mca

Steps (strictly one heavy thing at a time: the machine has two cores):
 1. measure the single-core peak (a 2048^3 sgemm and an FMA register loop, one thread);
 2. per network: build, prune (pconv.prune), export once (torch pickle, ONNX, TFLite);
    then per engine and thread count one worker process (benchmarks/worker.py): compile,
    check the output against PyTorch, warm up, time N runs (N by time budget);
 3. per 3x3 conv layer of VGG-16 and ResNet-18: PConv's effective GFLOP/s against the
    best dense engine on that layer, as a fraction of the measured peak;
 4. the AArch64 inner loop of one VGG-16 pattern conv, costed with llvm-mca (cortex-a76);
 5. write results/<mode>.json, results/<mode>.md, PNG plots and results/SUMMARY-<mode>.md.

Every engine that is missing, fails to compile, gives a wrong answer or runs past its
time cap is a row with the reason; nothing silently disappears.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS, ROOT, WORK, merge_rounds, thread_env, write_json
from benchmarks.engines import ENGINES

FULL_NETWORKS = ["resnet18", "vgg16", "resnet50", "mobilenet_v2"]
DEFAULT_ENGINES = ["pytorch", "pytorch-cl", "torch-compile", "onnxruntime", "openvino", "openvino-bf16", "mnn",
                   "litert", "tflite-runtime", "tvm", "tvm-ms", "iree", "pconv-dense", "pconv"]
LAYER_ENGINES = ["pconv", "pytorch", "onnxruntime", "openvino", "litert", "mnn"]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {"hostname": platform.node(), "kernel": platform.release(), "python": platform.python_version(),
                            "cores": os.cpu_count()}
    try:
        cpu = Path("/proc/cpuinfo").read_text()
        for line in cpu.splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        flags = next((ln for ln in cpu.splitlines() if ln.startswith("flags")), "")
        info["avx512f"] = " avx512f " in flags + " "
        info["amx"] = " amx_tile " in flags + " "
    except OSError:
        pass
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()
        info["mem_gib"] = round(int(mem[1]) / 2**20, 1)
    except (OSError, IndexError, ValueError):
        pass
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True)
        info["git"] = head.stdout.strip() + ("+uncommitted changes" if dirty.stdout.strip() else "")
    except OSError:
        pass
    try:
        info["loadavg_start"] = os.getloadavg()
    except OSError:
        pass
    return info


def venv_python(spec) -> Path:
    return ROOT / spec.venv / "bin" / "python"


def engine_available(spec) -> tuple[bool, str]:
    py = venv_python(spec)
    if not py.exists():
        return False, f"not installed: {spec.venv} does not exist (run `{spec.install}`)"
    code = ("import importlib.util, sys\n"
            f"missing = [m for m in {list(spec.needs)!r} if importlib.util.find_spec(m) is None]\n"
            "print(','.join(missing)); sys.exit(1 if missing else 0)")
    try:
        proc = subprocess.run([str(py), "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return False, "install check timed out"
    if proc.returncode != 0:
        missing = proc.stdout.strip() or proc.stderr.strip()[-200:]
        return False, f"not installed: missing {missing} in {spec.venv} (run `{spec.install}`)"
    return True, ""


def run_worker(spec, cases: list[Path], threads: int, budget: float, warmup: float, timeout: float,
               out: Path, max_runs: int = 200) -> tuple[list[dict], str | None, float]:
    """One worker process; returns (rows it finished, timeout/crash reason or None, wall seconds)."""
    env = dict(os.environ)
    env.update(thread_env(threads))
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    argv = [str(venv_python(spec)), "-m", "benchmarks.worker", "--engine", spec.key, "--threads", str(threads),
            "--budget", f"{budget:.3f}", "--warmup", f"{warmup:.3f}", "--max-runs", str(max_runs),
            "--out", str(out), *map(str, cases)]
    t0 = time.perf_counter()
    reason = None
    logf = out.with_suffix(".log")
    with open(logf, "w") as lf:
        try:
            proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=lf, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                rc = proc.wait(timeout=max(timeout, 1.0))
                if rc != 0:
                    reason = f"worker exited with code {rc}" + (" (killed by a signal: crash?)" if rc < 0 else "")
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
                reason = f"exceeded the time cap of {timeout:.0f} s (compile + check + timing)"
        except OSError as e:
            reason = f"could not start the worker: {e}"
    wall = time.perf_counter() - t0
    rows: list[dict] = []
    if out.exists():
        try:
            rows = json.loads(out.read_text())
        except ValueError:
            rows = []
    if reason and not rows:
        tail = logf.read_text()[-600:] if logf.exists() else ""
        if "exited" in reason and tail:
            reason += ": " + " | ".join(tail.strip().splitlines()[-3:])
    for line in (logf.read_text().splitlines() if logf.exists() else []):
        if line.startswith("[worker]"):
            print("   " + line, flush=True)
    return rows, reason, wall


def measure_peak(budget: float) -> dict:
    env = dict(os.environ)
    env.update(thread_env(1))
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-m", "benchmarks.peak", "2048", str(budget)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"peak_gflops": None, "error": proc.stderr[-500:]}


def pconv_build() -> dict[str, Any]:
    """Which PConv compiler build this run measures (the pconv rows carry the same id)."""
    try:
        from benchmarks.engines.pconv_engine import toolchain_id
        from pconv.toolchain import tool

        st = Path(tool("pconv-opt")).resolve().stat()
        return {"toolchain_id": toolchain_id(),
                "pconv_opt_built": _dt.datetime.fromtimestamp(st.st_mtime, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    except Exception as e:
        return {"error": str(e)[:200]}


def take_peak(result: dict, when: str, budget: float) -> None:
    """Measure the single-core peak again; the reference peak is the best of the run's measurements.

    On a shared machine one measurement can land on a busy core; measuring at the start,
    before the per-layer study and at the end keeps the reference honest (never below
    what a dense library reaches in the same run, unless the machine was busy throughout).
    """
    log(f"measuring the single-core peak (sgemm 2048^3 and FMA loop, one thread; {when})")
    m = measure_peak(budget)
    m["when"] = when
    peak = result.setdefault("peak", {})
    peak.setdefault("measurements", []).append(m)
    best = max((x for x in peak["measurements"] if x.get("peak_gflops")), key=lambda x: x["peak_gflops"], default=None)
    if best:
        for k in ("n", "numpy_gflops", "torch_gflops", "fma_probe_gflops", "numpy_blas", "peak_gflops", "peak_source"):
            peak[k] = best.get(k)
        peak["peak_when"] = best["when"]
    log(f"peak now {m.get('peak_gflops')} GFLOP/s; reference (best of the run) {peak.get('peak_gflops')}; "
        f"memory read {m.get('dram_read_gbs', float('nan')):.1f} GB/s on one core; "
        f"core-to-core round trip {m.get('round_trip_ns') or float('nan'):.0f} ns")


@contextlib.contextmanager
def busy_neighbour(on: bool):
    """With ``on``: a CPU-bound process at normal priority on the last CPU this
    process may use, for the duration of the block (``--contention``: a core
    shared with another program, as on a busy machine)."""
    if not on:
        yield
        return
    cpu = max(os.sched_getaffinity(0))
    code = f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True:\n    pass\n"
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


def pooled_row(final: dict, done: dict, key: tuple) -> dict | None:
    """A row's result after the rounds: its failure if a round failed (or it
    was not run), else its rounds pooled (merge_rounds), else None."""
    if key in final:
        return final[key]
    return merge_rounds(done[key]) if done.get(key) else None


def bench_networks(args, networks: list[str], engines: list[str], threads: list[int], result: dict) -> dict[str, Any]:
    from benchmarks import prepare

    models = {}
    avail_cache: dict[str, tuple[bool, str]] = {}
    for net in networks:
        log(f"preparing {net} (build, prune, export)")
        t0 = time.perf_counter()
        case_dir, model = prepare.prepare_network(net, Path(args.work), filter_block=args.filter_block,
                                                 keep_1x1=args.keep_1x1)
        models[net] = model
        meta = json.loads((case_dir / "case.json").read_text())
        meta["prepare_s"] = time.perf_counter() - t0
        result["networks"][net] = meta
        # Rounds: every (engine, thread count) runs once per round with a
        # share of the budget, engines interleaved, so a slow spell of this
        # shared machine lands on several engines instead of one engine's
        # whole window; each row pools the samples of its rounds.
        avail: dict[str, tuple[bool, str]] = {}
        for key in engines:
            spec = ENGINES[key]
            if key not in avail_cache:
                avail_cache[key] = engine_available(spec)
            ok, why = avail_cache[key]
            if ok and key in ("onnxruntime", "openvino", "openvino-bf16", "mnn", "iree", "tvm", "tvm-ms") \
                    and meta.get("onnx_error"):
                ok, why = False, "ONNX export failed: " + meta["onnx_error"]
            if ok and key == "tvm-ms" and args.tvm_trials <= 0:
                ok, why = False, ("skipped: MetaSchedule tuning is not affordable on this shared 2-core machine "
                                  "(16 trials for the tiny test net did not finish in 6 min); "
                                  "enable with --tvm-trials N (N trials in total, stated in the row)")
            if ok and key in ("litert", "tflite-runtime") and meta.get("tflite_error"):
                ok, why = False, meta["tflite_error"]
            avail[key] = (ok, why)
        cap_left = {key: args.cap for key in engines}
        skip_reason: dict[str, str | None] = {key: None for key in engines}
        done: dict[tuple[str, int], list[dict]] = {}  # finished rounds' rows
        final: dict[tuple[str, int], dict] = {}  # rows that failed or were not run
        for rnd in range(args.rounds):
            for key in engines:
                spec = ENGINES[key]
                ok, why = avail[key]
                for t in threads:
                    base = {"engine": key, "label": spec.label, "fp32": spec.fp32, "case": net, "network": net,
                            "threads": t}
                    if (key, t) in final:
                        continue
                    if not ok:
                        final[(key, t)] = {**base, "status": "not-run", "reason": why}
                        continue
                    if skip_reason[key]:
                        final[(key, t)] = {**base, "status": "skipped", "reason": skip_reason[key]}
                        continue
                    if cap_left[key] < 5:
                        if not done.get((key, t)):
                            final[(key, t)] = {**base, "status": "skipped",
                                               "reason": f"per-engine cap of {args.cap:.0f} s for {net} used up"}
                        continue
                    round_note = f", round {rnd + 1}/{args.rounds}" if args.rounds > 1 else ""
                    log(f"{net}: {key} with {t} thread(s){round_note} (cap left {cap_left[key]:.0f} s)")
                    out = Path(args.work) / "runs" / f"{net}.{key}.t{t}.json"
                    budget = min(args.budget / args.rounds, max(cap_left[key] / 4, 0.05))
                    with busy_neighbour(args.contention and t > 1):
                        rows, reason, wall = run_worker(spec, [case_dir], t, budget, args.warmup, cap_left[key], out)
                    cap_left[key] -= wall
                    if rows and rows[0].get("status") == "ok":
                        row = rows[0]
                        row.pop("traceback", None)
                        done.setdefault((key, t), []).append({**base, **row, "wall_s": wall})
                    elif rows:  # wrong output or a failed run: the row says so, no more rounds
                        row = rows[0]
                        row.pop("traceback", None)
                        final[(key, t)] = {**base, **row, "wall_s": wall}
                    else:
                        final[(key, t)] = {**base, "status": "timeout" if reason and "cap" in reason else "error",
                                           "reason": reason or "worker wrote no result", "wall_s": wall}
                        skip_reason[key] = f"not run: the {t}-thread run of this engine failed ({reason})"
                    write_json(Path(args.work) / "partial.json", result)
        for key in engines:
            for t in threads:
                if (row := pooled_row(final, done, (key, t))) is not None:
                    result["rows"].append(row)
        write_json(Path(args.work) / "partial.json", result)
    return models


def bench_layers(args, layer_nets: list[str], models: dict, engines: list[str], result: dict) -> None:
    from benchmarks import networks as N
    from benchmarks import prepare

    for net in layer_nets:
        model = models.get(net) if args.layer_keep is None else None
        if model is None:
            model, _ = N.build(net)
            N.prune_network(model, filter_block=args.filter_block, keep_1x1=args.keep_1x1,
                            **({} if args.layer_keep is None else {"keep": args.layer_keep}))
        names = [l["name"] for l in N.conv3x3_layers(model, N.build(net)[1])]
        if args.layer_limit:
            step = max(1, len(names) // args.layer_limit)
            names = names[::step][: args.layer_limit]
        log(f"preparing {len(names)} 3x3 layers of {net}")
        dirs = prepare.prepare_layers(net, model, Path(args.work), only=names)
        for d in dirs:
            result["layer_cases"][d.name] = json.loads((d / "case.json").read_text())
        # Rounds as in bench_networks: each engine's worker once per round,
        # engines in turn, samples pooled per layer.
        avail = {key: engine_available(ENGINES[key]) for key in engines}
        cap_left = {key: args.layer_cap for key in engines}
        done: dict[tuple[str, str], list[dict]] = {}
        final: dict[tuple[str, str], dict] = {}
        reasons: dict[str, str | None] = {}
        for rnd in range(args.rounds):
            for key in engines:
                spec = ENGINES[key]
                if not avail[key][0] or cap_left[key] < 5:
                    continue
                todo = [d for d in dirs if (key, d.name) not in final]
                if not todo:
                    continue
                round_note = f", round {rnd + 1}/{args.rounds}" if args.rounds > 1 else ""
                log(f"{net} layers: {key} ({len(todo)} layers, 1 thread{round_note})")
                out = Path(args.work) / "runs" / f"layers.{net}.{key}.json"
                rows, reason, wall = run_worker(spec, todo, 1, args.layer_budget / args.rounds, args.warmup / 2,
                                                cap_left[key], out)
                cap_left[key] -= wall
                reasons[key] = reason
                for r in rows:
                    r.pop("traceback", None)
                    row = {**r, "network": net, "label": spec.label}
                    if r.get("status") == "ok":
                        done.setdefault((key, r["case"]), []).append(row)
                    else:
                        final[(key, r["case"])] = row
            write_json(Path(args.work) / "partial.json", result)
        for key in engines:
            ok, why = avail[key]
            if not ok:
                result["layer_rows"].append({"engine": key, "network": net, "status": "not-run", "reason": why})
                continue
            for d in dirs:
                row = pooled_row(final, done, (key, d.name))
                result["layer_rows"].append(row if row is not None else {
                    "engine": key, "case": d.name, "network": net, "threads": 1, "status": "skipped",
                    "reason": reasons.get(key) or "not reached"})
        write_json(Path(args.work) / "partial.json", result)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="about two minutes: ResNet-18, fewer layers, short budgets")
    ap.add_argument("--networks", help="comma list (default: all four, or resnet18 with --quick)")
    ap.add_argument("--engines", help="comma list of engine keys (default: all)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--budget", type=float, help="seconds of timed runs per (engine, network, threads)")
    ap.add_argument("--rounds", type=int,
                    help="split each budget over this many rounds of all engines, interleaved, and pool "
                         "the samples (default 3, 1 with --quick): a slow spell of the machine then "
                         "hits every engine instead of one")
    ap.add_argument("--warmup", type=float, help="seconds of warm-up (at least one run)")
    ap.add_argument("--cap", type=float, help="time cap per engine and network, all thread counts together (s)")
    ap.add_argument("--layers", help="networks whose 3x3 layers are measured one by one (default vgg16,resnet18)")
    ap.add_argument("--layer-engines", help="engines for the per-layer study")
    ap.add_argument("--layer-limit", type=int, help="at most this many layers per network (evenly spaced)")
    ap.add_argument("--layer-budget", type=float)
    ap.add_argument("--layer-cap", type=float, help="time cap per engine for all layers of one network (s)")
    ap.add_argument("--no-layers", action="store_true")
    ap.add_argument("--no-networks", action="store_true", help="only the per-layer study (and mca, peak)")
    ap.add_argument("--layer-keep", type=float,
                    help="connectivity keep rate of the per-layer study (default: the networks' 1/3.6; "
                         "1 = pattern pruning only, 2.25x fewer MACs); use its own --work folder")
    ap.add_argument("--filter-block", type=int, default=1,
                    help="group-shared pattern pruning: blocks of this many consecutive filters keep the "
                         "same kernels and patterns (default 1: per kernel, as in the paper); "
                         "use its own --work folder")
    ap.add_argument("--keep-1x1", type=float,
                    help="also connectivity-prune every 1x1 conv (not depthwise) to this keep rate "
                         "(default: 1x1 convs stay dense, as in the paper's benchmark); "
                         "use its own --work folder")
    ap.add_argument("--contention", action="store_true",
                    help="run the multi-thread rows with a CPU-bound process on the last CPU "
                         "(a shared core; compare pconv with pconv-static)")
    ap.add_argument("--no-mca", action="store_true")
    ap.add_argument("--no-peak", action="store_true", help="skip the peak measurement (smoke test)")
    ap.add_argument("--tvm-trials", type=int, default=0,
                    help="MetaSchedule trials in total for the tvm-ms row (0: the row says skipped)")
    ap.add_argument("--work", default=str(WORK))
    ap.add_argument("--out", default=str(RESULTS), help="results folder")
    ap.add_argument("--name", help="results file stem (default: quick or full)")
    a = ap.parse_args(argv)

    quick = a.quick
    a.budget = a.budget if a.budget is not None else (0.5 if quick else 2.0)
    a.warmup = a.warmup if a.warmup is not None else (0.2 if quick else 0.5)
    a.rounds = a.rounds if a.rounds is not None else (1 if quick else 3)
    if a.rounds < 1:
        ap.error(f"--rounds must be a positive integer, got {a.rounds}")
    a.cap = a.cap if a.cap is not None else (60.0 if quick else 300.0)
    a.layer_budget = a.layer_budget if a.layer_budget is not None else (0.3 if quick else 1.0)
    a.layer_cap = a.layer_cap if a.layer_cap is not None else (90.0 if quick else 900.0)
    if a.layer_limit is None and quick:
        a.layer_limit = 2
    networks = [] if a.no_networks else (
        a.networks.split(",") if a.networks else (["resnet18"] if quick else FULL_NETWORKS))
    if a.filter_block < 1:
        ap.error(f"--filter-block must be a positive integer, got {a.filter_block}")
    if a.keep_1x1 is not None and not 0 < a.keep_1x1 <= 1:
        ap.error(f"--keep-1x1 must be in (0, 1], got {a.keep_1x1}")
    if a.layer_keep is not None and not 0 < a.layer_keep <= 1:
        ap.error(f"--layer-keep must be in (0, 1], got {a.layer_keep}")
    engines = a.engines.split(",") if a.engines else list(DEFAULT_ENGINES)
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        ap.error(f"unknown engines {unknown}; known: {sorted(ENGINES)}")
    threads = [int(t) for t in a.threads.split(",")]
    layer_nets = [] if a.no_layers else (a.layers.split(",") if a.layers else ["vgg16", "resnet18"])
    layer_engines = a.layer_engines.split(",") if a.layer_engines else (
        ["pconv", "pytorch", "onnxruntime"] if quick else LAYER_ENGINES)
    layer_engines = [e for e in layer_engines if e in ENGINES]
    os.environ["PCONV_BENCH_TVM_TRIALS"] = str(a.tvm_trials)
    name = a.name or ("quick" if quick else "full")
    Path(a.work).mkdir(parents=True, exist_ok=True)

    t_start = time.perf_counter()
    started = _dt.datetime.now(_dt.timezone.utc)
    result: dict[str, Any] = {
        "meta": {"mode": name, "date_utc": started.strftime("%Y-%m-%d %H:%M UTC"), "machine": machine_info(),
                 "args": {k: v for k, v in vars(a).items()}, "networks": networks, "engines": engines,
                 "threads": threads, "layer_networks": layer_nets, "layer_engines": layer_engines,
                 "thread_env": thread_env(1) | {"OMP_NUM_THREADS": "<threads>"},
                 "engine_labels": {k: ENGINES[k].label for k in ENGINES}},
        "peak": {}, "networks": {}, "rows": [], "layer_cases": {}, "layer_rows": [], "mca": None,
    }
    result["meta"]["pconv_build_start"] = pconv_build()
    log(f"mode {name}: networks {networks}, engines {engines}, threads {threads}")
    if a.no_peak:
        result["peak"] = {"peak_gflops": None, "note": "not measured (--no-peak)"}
    else:
        take_peak(result, "start", 1.0 if quick else 3.0)

    models = bench_networks(a, networks, engines, threads, result)
    if layer_nets:
        if not a.no_peak:
            take_peak(result, "before the per-layer study", 1.0 if quick else 3.0)
        bench_layers(a, layer_nets, models, layer_engines, result)
    if not a.no_mca:
        log("AArch64: llvm-mca of the pattern conv inner loop (one VGG-16 layer)")
        try:
            from benchmarks import mca

            result["mca"] = mca.analyse(Path(a.work) / "mca", quick=quick)
        except Exception as e:
            result["mca"] = {"error": f"{type(e).__name__}: {e}"[:800]}
    if not a.no_peak:
        take_peak(result, "end", 1.0 if quick else 3.0)
    result["meta"]["pconv_build_end"] = pconv_build()
    result["meta"]["elapsed_s"] = time.perf_counter() - t_start
    try:
        result["meta"]["machine"]["loadavg_end"] = os.getloadavg()
    except OSError:
        pass

    out_dir = Path(a.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{name}.json"
    write_json(json_path, result)
    from benchmarks import report

    report.write_all(result, out_dir, name)
    log(f"done in {result['meta']['elapsed_s']:.0f} s: {json_path}, {out_dir / (name + '.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
