"""PConv demo: compile a small pattern-pruned CNN for the host and for AArch64,
run both, check them against PyTorch, and print a short report.

    make demo                      # or: .venv/bin/python examples/demo.py --help

The CNN has random weights (fine for correctness and speed, never for accuracy)
with real pattern + connectivity masks: every 3x3 conv but the first keeps one
of K=8 library patterns of 4 taps per kernel and about 1/3.6 of its kernels.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import time

import numpy as np
import torch
from torch import nn

import pconv
from pconv.testing import apply_random_patterns, count_macs, random_library


def small_cnn(seed: int = 0) -> nn.Module:
    """A VGG-style CNN for 3x32x32 inputs, pattern-pruned."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    layers: list[nn.Module] = []
    cin = 3
    for i, cout in enumerate([16, 32, 32, 64, 64]):
        layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]
        if i in (1, 3):
            layers.append(nn.MaxPool2d(2))
        cin = cout
    model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10)).eval()
    library = random_library(rng, k=8)
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    for j, conv in enumerate(convs):
        # First conv: patterns only (as the paper does); the rest also connectivity.
        apply_random_patterns(conv, library, rng, keep=1.0 if j == 0 else 1 / 3.6)
    return model


def median_ms(fn, x, budget_s: float = 1.0) -> float:
    fn(x)
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < budget_s or len(times) < 5:
        t = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="OpenMP and PyTorch threads (default 1)")
    ap.add_argument("--no-aarch64", action="store_true", help="skip the AArch64 build and qemu run")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model = small_cnn()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = model(x).numpy()
    dense, kept = count_macs(model, x)

    t0 = time.perf_counter()
    art = pconv.compile(model, (x,), target="host", threads=args.threads)
    compile_s = time.perf_counter() - t0
    host = art.load()
    y_host = host(x.numpy())
    host_err = float(np.abs(y_host - ref).max())

    rows = [("host", "x86_64", host_err, compile_s)]
    if not args.no_aarch64 and shutil.which("qemu-aarch64"):
        t0 = time.perf_counter()
        arm = pconv.compile(model, (x,), target="aarch64-linux-gnu", threads=args.threads)
        arm_s = time.perf_counter() - t0
        y_arm = arm.load()(x.numpy())
        rows.append(("aarch64-linux-gnu", "qemu-aarch64", float(np.abs(y_arm - ref).max()), arm_s))

    xn = x.numpy()
    with torch.no_grad():
        torch_ms = median_ms(lambda t: model(t), x)
    pconv_ms = median_ms(host, xn)

    n_convs = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    print("PConv demo: small pattern-pruned CNN (3x32x32, random weights, K=8 patterns x 4 taps)")
    print(f"  conv layers converted to pconv : {art.stats['pconv_convs']} of {n_convs}"
          f" (dense path: {art.stats['dense_convs']})")
    print(f"  conv MACs kept / dense         : {kept:,} / {dense:,} ({dense / max(kept, 1):.2f}x fewer)")
    for target, runs_on, err, secs in rows:
        status = "OK" if err < 1e-3 else "MISMATCH"
        print(f"  {target:<18} ran on {runs_on:<13} max |err| vs PyTorch = {err:.2e}  [{status}]"
              f"  (compile {secs:.1f} s)")
    print(f"  host latency, {args.threads} thread(s): PConv {pconv_ms:.3f} ms, PyTorch eager {torch_ms:.3f} ms"
          f" ({torch_ms / pconv_ms:.2f}x; speed claims come from benchmarks/, not this demo)")
    if any(err >= 1e-3 for _, _, err, _ in rows):
        raise SystemExit("demo: a compiled model does not match PyTorch")


if __name__ == "__main__":
    main()
