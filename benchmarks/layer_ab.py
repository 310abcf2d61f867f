"""Calibrated A/B of single pattern-pruned conv layers compiled by PConv (1 thread).

    .venv/bin/python -m benchmarks.layer_ab "64,64,56,1" "64,64,56,1|k=1" \\
        "64,64,56,1|tile=(1,4,0,0)" "64,64,56,1|aligned_loads=False"

Each variant is ``C,F,HW,STRIDE`` (a 3x3 conv, padding 1, + ReLU, random weights)
followed by ``|key=value`` fields: ``k`` (library patterns, default 8), ``keep``
(connectivity: kept fraction of kernels, default 1/3.6; 1 = pattern only), ``tile``
(``pconv.tile`` fields ``(rows, vectors, channel_block, filter_groups)``, 0 = model) and
any :class:`pconv.CompileOptions` field (``aligned_loads=False``, ``threads=2``, ...).
Every variant is checked against PyTorch, then all are timed round-robin in this one
process. This shared host's own FMA throughput changes from second to second, so each
timed run is preceded by a 0.3 ms FMA probe (``benchmarks/micro/fma_probe.c``: 16
independent AVX-512 FMA chains), and the report gives, beside the best time, the median
over rounds of (layer GFLOP/s) / (probe GFLOP/s of the same moment): the layer's share
of what the core delivered then. GFLOP/s count kept MACs (4 taps per kept kernel).
``--no-probe`` times without it. Runs are timed in process CPU time with
``OMP_NUM_THREADS=1`` (the default here); for ``threads=2`` variants set
``OMP_NUM_THREADS=2`` and pass ``--wall``.
"""

from __future__ import annotations

import argparse
import ast
import ctypes
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from benchmarks.loads import compile_native

# One OpenMP thread unless asked otherwise: with more, the idle workers spin on the
# other core and their CPU time would count in process_time.
os.environ.setdefault("OMP_NUM_THREADS", "1")

PROBE_SOURCE = Path(__file__).parent / "micro" / "fma_probe.c"
PROBE_ITERATIONS = 50_000  # 800k FMAs: about 0.3 ms at 2 FMAs / cycle


def parse_variant(text: str) -> dict[str, Any]:
    """``"C,F,HW,S|k=8|keep=0.25|tile=(1,4,0,0)|aligned_loads=False"`` -> fields."""
    head, *fields = text.split("|")
    try:
        c, f, hw, s = (int(v) for v in head.split(","))
    except ValueError:
        raise ValueError(f"variant {text!r}: expected 'C,F,HW,STRIDE' first, got {head!r}") from None
    if min(c, f, hw, s) < 1:
        raise ValueError(f"variant {text!r}: C, F, HW and STRIDE must be positive")
    out: dict[str, Any] = {"shape": (c, f, hw, s), "k": 8, "keep": 1 / 3.6, "tile": None, "options": {}}
    for field in fields:
        key, sep, value = field.partition("=")
        if not sep:
            raise ValueError(f"variant {text!r}: field {field!r} is not key=value")
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise ValueError(f"variant {text!r}: value of {key!r} is not a Python literal: {value!r}") from None
        if key in ("k", "keep", "tile"):
            out[key] = parsed
        else:
            out["options"][key] = parsed
    if not (0 < float(out["keep"]) <= 1):
        raise ValueError(f"variant {text!r}: keep must be in (0, 1]")
    return out


def build_layer(variant: dict[str, Any]) -> tuple[Any, Any, int]:
    """The pruned conv + ReLU, an input, and its kept MACs."""
    import torch

    from pconv.prune import project_connectivity, project_pattern
    from pconv.testing import random_library

    c, f, hw, s = variant["shape"]
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(c, f, 3, stride=s, padding=1)
    with torch.no_grad():
        w = conv.weight.detach()
        if float(variant["keep"]) < 1:
            w, _ = project_connectivity(w, float(variant["keep"]))
        w, _ = project_pattern(w, random_library(random.Random(0), k=int(variant["k"])))
        conv.weight.copy_(w)
    model = torch.nn.Sequential(conv, torch.nn.ReLU()).eval()
    x = torch.randn(1, c, hw, hw)
    kept = int((conv.weight.abs().sum((2, 3)) > 0).sum())
    out_hw = (hw - 1) // s + 1
    return model, x, kept * 4 * out_hw * out_hw


def load_probe(directory: Path) -> Callable[[], float]:
    """The FMA probe as a function returning GFLOP/s (this thread's CPU time)."""
    if "avx512f" not in Path("/proc/cpuinfo").read_text():
        raise RuntimeError("the FMA probe needs AVX-512 (use --no-probe)")
    lib = compile_native(PROBE_SOURCE, directory / "fma_probe.so", "-shared", "-fPIC")
    probe = ctypes.CDLL(str(lib))
    out = (ctypes.c_float * 16)()

    def run() -> float:
        t0 = time.thread_time()
        probe.pconv_fma_probe(ctypes.c_long(PROBE_ITERATIONS), out)
        return PROBE_ITERATIONS * 16 * 32 / max(time.thread_time() - t0, 1e-9) / 1e9

    return run


def measure(variants: list[str], rounds: int = 30, probe: bool = True, wall: bool = False) -> list[dict[str, Any]]:
    """Compile, check and time every variant round-robin; one result row each."""
    import numpy as np
    import torch

    import pconv

    torch.set_num_threads(1)
    layers = []
    for text in variants:
        v = parse_variant(text)
        model, x, macs = build_layer(v)
        tiles = {0: tuple(v["tile"])} if v["tile"] else None
        fn = pconv.compile(model, (x,), tiles=tiles, **v["options"]).load()
        with torch.no_grad():
            np.testing.assert_allclose(fn(x.numpy()), model(x).numpy(), rtol=1e-3, atol=1e-3)
        layers.append((text, fn, x.numpy(), macs))
    clock = time.perf_counter if wall else time.process_time
    samples: list[list[tuple[float, float]]] = [[] for _ in layers]
    with tempfile.TemporaryDirectory() as tmp:
        peak = load_probe(Path(tmp)) if probe else None
        for _ in range(rounds):
            for i, (_, fn, x, _) in enumerate(layers):
                p = peak() if peak else float("nan")
                t0 = clock()
                fn(x)
                samples[i].append((clock() - t0, p))
    rows = []
    for (text, _, _, macs), runs in zip(layers, samples):
        best = min(t for t, _ in runs)
        row = {"variant": text, "best_ms": best * 1e3, "gflops": 2 * macs / best / 1e9}
        if probe:
            row["share_of_probe"] = statistics.median(2 * macs / t / 1e9 / p for t, p in runs)
            row["probe_median_gflops"] = statistics.median(p for _, p in runs)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("variants", nargs="+", help="C,F,HW,STRIDE[|key=value...]")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--no-probe", action="store_true", help="time without the FMA probe")
    ap.add_argument("--wall", action="store_true", help="wall-clock time (for threads > 1)")
    a = ap.parse_args(argv)
    if a.rounds < 1:
        ap.error("--rounds must be positive")
    try:
        rows = measure(a.variants, a.rounds, probe=not a.no_probe, wall=a.wall)
    except (ValueError, RuntimeError, subprocess.CalledProcessError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for r in rows:
        share = f"  share of probe (median) {r['share_of_probe']:.3f}" if "share_of_probe" in r else ""
        print(f"{r['variant']:48s} best {r['best_ms']:8.3f} ms {r['gflops']:6.1f} GFLOP/s{share}")
    if rows and "probe_median_gflops" in rows[0]:
        print(f"probe: median {statistics.median(r['probe_median_gflops'] for r in rows):.0f} GFLOP/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
