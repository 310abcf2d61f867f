"""Load-scheme micro-benchmark (AVX-512, 1 thread): what one FMA's input vector costs.

    .venv/bin/python -m benchmarks.loads            # 5 modes x 5 interleaved rounds, best of each

Compiles ``benchmarks/micro/loads.c`` with the system C compiler and runs its modes
round-robin (see that file): no loads, aligned loads, cache-line-split loads, half
split, and aligned loads plus ``valignd`` lane shifts. This is the measurement behind
``aligned-loads`` in ``pconv-lower-to-vectors`` (docs/rationale.md). Prints GFLOP/s;
it needs an AVX-512 CPU.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MODES = ["fma", "aligned", "split", "half", "shift"]
SOURCE = Path(__file__).parent / "micro" / "loads.c"


def compile_native(source: Path, output: Path, *flags: str) -> Path:
    """``source`` compiled with ``-O3 -march=native`` (plus ``flags``) to ``output``."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        raise RuntimeError("no C compiler (cc, gcc or clang) on PATH")
    subprocess.run([cc, "-O3", "-march=native", *flags, str(source), "-o", str(output)], check=True,
                   capture_output=True, text=True)
    return output


def build(out_dir: Path) -> Path:
    return compile_native(SOURCE, out_dir / "loads")


def run(rounds: int = 5, iterations: int = 10_000_000) -> dict[str, float]:
    """Best GFLOP/s of each mode over ``rounds`` interleaved rounds."""
    if "avx512f" not in Path("/proc/cpuinfo").read_text():
        raise RuntimeError("this CPU has no AVX-512")
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(Path(tmp))
        for _ in range(rounds):
            for mode in MODES:
                out = subprocess.run([str(exe), mode, str(iterations)], check=True, capture_output=True,
                                     text=True).stdout
                gflops = float(re.search(r"([0-9.]+) GFLOP/s", out).group(1))
                best[mode] = max(best.get(mode, 0.0), gflops)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=10_000_000)
    a = ap.parse_args()
    try:
        best = run(a.rounds, a.iterations)
    except (RuntimeError, subprocess.CalledProcessError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for mode in MODES:
        print(f"{mode:8s} {best[mode]:7.1f} GFLOP/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
