"""Thread scaling on a machine without the PConv toolchain: ship compiled artifacts, time them there.

The shared 2-core development machine cannot show how PConv scales beyond 2 threads
(and its 2-thread numbers are noisy). This tool splits the measurement in two:

``prepare`` (here, with the toolchain) compiles each pruned network with ``threads=0``
(OMP_NUM_THREADS decides at run time) into a bundle folder: the artifact, the input,
PyTorch's reference output, and the OpenMP runtime the artifact links to (the other
machine may not have it). Weights stay inside the artifact, so the bundle is small.

``run`` (anywhere with numpy; torch and onnxruntime for the peers) times, for every
thread count, in a fresh process each (OpenMP reads its settings once per process):
the PConv artifact (output checked against the shipped reference), and the dense
peers on the same architecture: ONNX Runtime (the network exported to ONNX there) and
PyTorch eager. Dense engines do not skip zero weights, so the peers use the network
built there from the same definitions (``benchmarks/networks.py``) without pruning;
their speed does not depend on the weight values. ``report`` renders the JSON.

VGG-16 is its convolutional body (``features``): the classifier's 120 M weights would
not fit a bundle that has to travel; the convolutions are 99 % of its MACs.

    python -m benchmarks.scaling prepare --out bundle --networks resnet18,vgg16
    python -m benchmarks.scaling run --bundle bundle --threads 1,2,4,8,16 --out scaling.json
    python -m benchmarks.scaling report scaling.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("pconv", "onnxruntime", "pytorch")


def _model(name: str):
    from benchmarks import networks

    model, x = networks.build(name)
    if name == "vgg16":
        model = model.features
    return model.eval(), x


def prepare(out: Path, names: list[str]) -> None:
    import torch

    import pconv
    from benchmarks import networks

    out.mkdir(parents=True, exist_ok=True)
    omp = None
    for name in names:
        model, x = _model(name)
        networks.prune_network(model)
        with torch.no_grad():
            ref = model(x).numpy()
        t0 = time.perf_counter()
        art = pconv.compile(model, (x,), target="host", threads=0)
        folder = out / name
        if folder.exists():
            shutil.rmtree(folder)
        art.save(folder / "artifact")
        shutil.rmtree(art.directory, ignore_errors=True)
        np.save(folder / "input.npy", x.numpy())
        np.save(folder / "ref.npy", ref)
        (folder / "info.json").write_text(json.dumps({
            "network": name, "compile_s": time.perf_counter() - t0, "stats": art.stats,
            "kept_weight_bytes": networks.kept_weight_bytes(model)}, indent=1))
        omp = omp or _omp_library(folder / "artifact" / "model.so")
        print(f"{name}: {sum(f.stat().st_size for f in folder.rglob('*') if f.is_file()) / 2**20:.1f} MiB",
              flush=True)
    if omp:
        (out / "lib").mkdir(exist_ok=True)
        shutil.copy2(omp, out / "lib" / Path(omp).name)


def _omp_library(so: Path) -> str | None:
    for line in subprocess.run(["ldd", str(so)], capture_output=True, text=True).stdout.splitlines():
        if "libomp" in line and "=>" in line:
            return line.split("=>")[1].split("(")[0].strip()
    return None


def _child(engine: str, name: str, bundle: Path, threads: int, budget: float) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    from benchmarks.common import check_output, time_runs

    folder = bundle / name
    x = np.load(folder / "input.npy")
    result: dict[str, Any] = {"engine": engine, "network": name, "threads": threads}
    if engine == "pconv":
        from pconv.runtime import load

        fn = load(folder / "artifact")
        result.update(check_output(fn(x), np.load(folder / "ref.npy")))
        run = lambda: fn(x)  # noqa: E731
    elif engine == "onnxruntime":
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(str(_onnx_path(name)), so, providers=["CPUExecutionProvider"])
        result["version"] = ort.__version__
        run = lambda: sess.run(None, {"input": x})  # noqa: E731
    elif engine == "pytorch":
        import torch

        torch.set_num_threads(threads)
        model, _ = _model(name)
        xt = torch.from_numpy(x)
        result["version"] = torch.__version__

        def run():
            with torch.no_grad():
                return model(xt)
    else:
        raise ValueError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    result.update(time_runs(run, budget_s=budget, warmup_s=min(1.0, budget / 2), min_runs=3))
    return result


def _onnx_path(name: str) -> Path:
    return Path(os.environ.get("TMPDIR", "/tmp")) / f"pconv-scaling-{name}.onnx"


def _export_onnx(name: str) -> None:
    """The dense network as ONNX, exported here in the parent: an ONNX Runtime child
    must not import torch, whose OpenMP runtime would bind the process to one core
    under OMP_PROC_BIND and with it every ONNX Runtime thread."""
    import torch

    model, x = _model(name)
    torch.onnx.export(model, (x,), str(_onnx_path(name)), dynamo=False, opset_version=17,
                      input_names=["input"], output_names=["output"])


def run(bundle: Path, threads: list[int], engines: list[str], budget: float, out: Path,
        repeat: int = 1) -> None:
    names = sorted(p.name for p in bundle.iterdir() if (p / "info.json").exists())
    if not names:
        raise SystemExit(f"{bundle}: no prepared networks (run `prepare` first)")
    if "onnxruntime" in engines:
        for name in names:
            _export_onnx(name)
    env = dict(os.environ)
    if (bundle / "lib").exists():
        env["LD_LIBRARY_PATH"] = f"{bundle / 'lib'}:{env.get('LD_LIBRARY_PATH', '')}"
    env["PYTHONPATH"] = f"{ROOT}:{ROOT / 'python'}:{env.get('PYTHONPATH', '')}"
    rows = []
    sweeps = ((name, n, e) for name in names for _ in range(repeat) for n in threads for e in engines)
    for name, n, engine in sweeps:
        child_env = dict(env, OMP_NUM_THREADS=str(n), MKL_NUM_THREADS=str(n))
        if engine != "onnxruntime":  # ONNX Runtime has its own pool (and affinity)
            child_env.update(OMP_PROC_BIND="close", OMP_PLACES="cores")
        cmd = [sys.executable, "-m", "benchmarks.scaling", "_child", engine, name, str(bundle), str(n),
               str(budget)]
        p = subprocess.run(cmd, env=child_env, capture_output=True, text=True, cwd=ROOT)
        if p.returncode == 0:
            row = json.loads(p.stdout.strip().splitlines()[-1])
        else:
            row = {"engine": engine, "network": name, "threads": n,
                   "error": (p.stderr.strip().splitlines() or ["?"])[-1][:300]}
        rows.append(row)
        print(json.dumps({k: row.get(k) for k in ("network", "engine", "threads", "median_ms", "pass",
                                                   "error")}), flush=True)
    info = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "bundle": {n: json.loads((bundle / n / "info.json").read_text())
                                                           for n in names}}
    out.write_text(json.dumps({"info": info, "rows": rows}, indent=1))


def report(path: Path) -> str:
    data = json.loads(path.read_text())
    rows = [r for r in data["rows"] if "median_ms" in r]
    nets = sorted({r["network"] for r in rows})
    threads = sorted({r["threads"] for r in rows})
    def get(e: str, n: str, t: int) -> float | None:
        """Median over repeats of the per-process medians."""
        runs = [r["median_ms"] for r in rows if r["engine"] == e and r["network"] == n and r["threads"] == t]
        return statistics.median(runs) if runs else None

    repeats = max(sum(1 for r in rows if (r["engine"], r["network"], r["threads"]) == (e, n, t))
                  for e, n, t in {(r["engine"], r["network"], r["threads"]) for r in rows}) if rows else 0
    lines = [f"Machine: {data['info']['cpus']} CPUs ({data['info']['machine']}); median wall ms per run"
             + (f", median of {repeats} processes (interleaved sweeps)" if repeats > 1 else "") + ".", ""]
    for n in nets:
        lines += [f"**{n}** (pruned for PConv: K=8 patterns x 1/3.6 kernels; peers dense)", "",
                  "| threads | PConv ms | speed-up vs 1 thr | ONNX Runtime ms | PyTorch ms | PConv vs best peer |",
                  "|---|---|---|---|---|---|"]
        base = get("pconv", n, threads[0])
        for t in threads:
            p, o, y = get("pconv", n, t), get("onnxruntime", n, t), get("pytorch", n, t)
            peers = [v for v in (o, y) if v]
            f = lambda v: f"{v:.2f}" if v else "–"  # noqa: E731
            lines.append(f"| {t} | {f(p)} | {f(base / p) + 'x' if p and base else '–'} | {f(o)} | {f(y)} | "
                         f"{f(min(peers) / p) + 'x' if p and peers else '–'} |")
        lines.append("")
    bad = [r for r in data["rows"] if "error" in r or r.get("pass") is False]
    for r in bad:
        lines.append(f"- {r['network']} {r['engine']} {r['threads']} thr: {r.get('error') or 'output mismatch'}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_child":
        engine, name, bundle, threads, budget = argv[1:6]
        print(json.dumps(_child(engine, name, Path(bundle), int(threads), float(budget))))
        return 0
    ap = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--networks", default="resnet18,vgg16")
    r = sub.add_parser("run")
    r.add_argument("--bundle", type=Path, required=True)
    r.add_argument("--threads", default="1,2,4,8,16")
    r.add_argument("--engines", default=",".join(ENGINES))
    r.add_argument("--budget", type=float, default=2.0, help="seconds of timed runs per measurement")
    r.add_argument("--repeat", type=int, default=1, help="interleaved sweeps (the report takes medians)")
    r.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("report")
    s.add_argument("json", type=Path)
    a = ap.parse_args(argv)
    if a.cmd == "prepare":
        prepare(a.out, a.networks.split(","))
    elif a.cmd == "run":
        run(a.bundle, [int(t) for t in a.threads.split(",")], a.engines.split(","), a.budget, a.out, a.repeat)
    else:
        print(report(a.json), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
