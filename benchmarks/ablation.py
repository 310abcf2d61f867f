"""Ablation of PConv's pattern-conv optimizations, network by network (1 thread).

    .venv/bin/python -m benchmarks.ablation                      # resnet18, vgg16 (conv body)
    .venv/bin/python -m benchmarks.ablation --networks resnet18 --budget 3
    .venv/bin/python -m benchmarks.ablation --networks resnet50,mobilenet_v2 --name ablation-rn50-mnv2

Each row adds one optimization to the previous row, on the same pruned network
(K=8 patterns of 4 taps, connectivity 1/3.6, random weights: this is a speed
study), compiled for this machine and checked against PyTorch:

 1. scalar loops: the reference lowering (pattern-specialized straight-line taps,
    kernels grouped by pattern in a CSR schedule, pruned kernels skipped);
 2. + vectorization: AVX-512 vectors along the output width, a 1 x 1 vector tile,
    no cache blocking, unaligned tap loads;
 3. + register blocking / load-redundancy elimination: R x V tiles from the model;
 4. + work-balanced filter groups (the model's full tile);
 5. + filter kernel reorder (pconv-reorder-filters);
 6. + aligned loads: tap vectors that straddle two aligned vectors are lane
    shifts of both instead of cache-line-split loads (mixed_shifts=False);
 7. + half the shifts as unaligned loads (mixed_shifts, stride-1 tiles of at
    most 4 vectors): the default pipeline;
 8. + auto-tuning (pconv.tuning: measured tiles per layer);
 9. the default with 16-channel cache blocks, which is not the default because
    this row measured slower than row 7.

Row 1 is already "grouped": PConv has no ungrouped code path (a per-kernel branch
on the pattern id), so the paper's separate "+ grouping" step is folded into it.
VGG-16 is measured on its convolutional body (``features``: all 13 3x3 convs and
the pools); its 3 linear layers are not pattern-pruned and would only add the same
constant to every row (and 4 minutes of compile time per row).

Timing: all variants of a network are compiled first, then run round-robin (one
run of each per round, within a time budget per variant) so that they share the
machine's load; CPU time of the process (``time.process_time``), best and median.
On this shared 2-core machine wall time mostly measures the neighbours. Writes
results/<name>.{json,md} (``--name``, default ``ablation``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import pconv  # noqa: E402
from benchmarks.networks import build, prune_network  # noqa: E402

STEPS = [
    ("scalar loops (pattern-specialized, grouped)", dict(vector_width=0, reorder_filters=False)),
    ("+ vectorization (1 x 1 vector tile)", dict(reorder_filters=False, aligned_loads=False, tiles=(1, 1, 0, 1))),
    ("+ register blocking / LRE (R x V tile)", dict(reorder_filters=False, aligned_loads=False, tiles=(0, 0, 0, 1))),
    ("+ work-balanced filter groups", dict(reorder_filters=False, aligned_loads=False)),
    ("+ filter kernel reorder", dict(aligned_loads=False)),
    ("+ aligned loads, lane shifts", dict(mixed_shifts=False)),
    ("+ half the shifts as unaligned loads (= default pipeline)", dict()),
    ("+ auto-tuning", dict(tune=True)),
    ("default + 16-channel cache blocks (not default)", dict(tiles=(0, 0, 16, 0))),
]


def _network(name: str) -> tuple[torch.nn.Module, torch.Tensor, str]:
    model, x = build(name)
    prune_network(model)
    if name == "vgg16":
        return model.features.eval(), x, "VGG-16 conv body (features)"
    return model, x, name


def _time_interleaved(fns: list, x: np.ndarray, budget: float) -> list[list[float]]:
    """Round-robin runs of every variant (one run each per round) until the
    budget per variant is spent: all variants see the same machine load."""
    for fn in fns:
        fn(x)
    times: list[list[float]] = [[] for _ in fns]
    start = time.perf_counter()
    while len(times[0]) < 5 or time.perf_counter() - start < budget * len(fns):
        for fn, t in zip(fns, times):
            t0 = time.process_time()
            fn(x)
            t.append(time.process_time() - t0)
    return times


def run(networks: list[str], budget: float, out: Path, name: str = "ablation") -> list[dict]:
    rows = []
    for network in networks:
        model, x, label = _network(network)
        with torch.no_grad():
            ref = model(x).numpy()
        convs = None
        fns, compiled = [], []
        for step, (title, options) in enumerate(STEPS, 1):
            options = dict(options)
            if "tiles" in options:
                options["tiles"] = {i: options["tiles"] for i in range(convs)}
            t0 = time.perf_counter()
            art = pconv.compile(model, (x,), **options)
            compile_s = time.perf_counter() - t0
            if convs is None:
                convs = art.stats["pconv_convs"] + art.stats["dense_pconv_convs"]
            fn = art.load()
            y = fn(x.numpy())
            err = float(np.abs(y - ref).max() / max(np.abs(ref).max(), 1e-30))
            fns.append(fn)
            compiled.append((step, title, compile_s, err))
        times = _time_interleaved(fns, x.numpy(), budget)
        for (step, title, compile_s, err), t in zip(compiled, times):
            row = {"network": label, "step": step, "variant": title, "best_ms": min(t) * 1e3,
                   "median_ms": statistics.median(t) * 1e3, "runs": len(t), "compile_s": compile_s,
                   "max_rel_err": err, "ok": err <= 1e-3}
            rows.append(row)
            print(f"{label:30s} {step} {title:45s} best {row['best_ms']:9.2f} ms  median {row['median_ms']:9.2f} ms  "
                  f"err {err:.1e}  compile {compile_s:.0f} s", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(rows, indent=1))
    lines = ["# Ablation: PConv pattern-conv optimizations (1 thread, CPU time)", "",
             f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
             "`.venv/bin/python -m benchmarks.ablation`; see the module docstring for the steps.", "",
             "| network | step | variant | best ms | median ms | runs | speed-up vs step 1 | vs previous | output ok |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        first = next(q for q in rows if q["network"] == r["network"] and q["step"] == 1)
        prev = next((q for q in rows if q["network"] == r["network"] and q["step"] == r["step"] - 1), r)
        lines.append(f"| {r['network']} | {r['step']} | {r['variant']} | {r['best_ms']:.2f} | {r['median_ms']:.2f} | {r['runs']} "
                     f"| {first['median_ms'] / r['median_ms']:.2f}x | {prev['median_ms'] / r['median_ms']:.2f}x "
                     f"| {'yes' if r['ok'] else 'NO'} |")
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", default="resnet18,vgg16")
    parser.add_argument("--budget", type=float, default=4.0, help="seconds of timed runs per row")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--name", default="ablation", help="results/<name>.{json,md}")
    args = parser.parse_args()
    if not args.name or "/" in args.name:
        parser.error(f"--name must be a plain file name, got {args.name!r}")
    run([n for n in args.networks.split(",") if n], args.budget, args.out, args.name)


if __name__ == "__main__":
    main()
