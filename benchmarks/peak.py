"""This machine's measured single-core fp32 peak: a large sgemm (2048^3), one thread.

Run in its own process with the one-thread environment; prints JSON.  numpy's BLAS,
torch.mm and an AVX-512 FMA register loop (no loads; the core's FMA ceiling) are
measured and the best is the reference "peak". Beside it, the memory read bandwidth
one core gets right now (``dram_read_gbs``): memory-bound layers (VGG-16's classifier
streams about 500 MB of weights per image) move with it, and other tenants of this
shared machine take a varying share of it; and the core-to-core round trip
(``round_trip_ns``), which tells whether 2-thread rows ran with both cores at hand.
"""

from __future__ import annotations

import functools
import json
import sys
import time

import numpy as np


def _best(fn, budget: float) -> float:
    fn()
    best = float("inf")
    t_end = time.perf_counter() + budget
    n = 0
    while n < 3 or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        n += 1
        if n >= 50:
            break
    return best


def fma_probe_gflops(budget: float) -> float:
    """Best GFLOP/s of the AVX-512 FMA register loop (``micro/fma_probe.c``): the
    core's FMA ceiling. Kept beside the sgemm because a BLAS may not use the
    widest vectors (numpy's OpenBLAS runs its AVX2 'Haswell' kernel on AMD
    Zen 5: 121 GFLOP/s there against 256 for the probe), and a peak that low
    would overstate every code's share of it."""
    import tempfile
    from pathlib import Path

    from benchmarks.layer_ab import load_probe

    with tempfile.TemporaryDirectory() as tmp:
        probe = load_probe(Path(tmp))
        best, t_end = 0.0, time.perf_counter() + min(budget, 1.0)
        while time.perf_counter() < t_end:
            best = max(best, probe())
        return best


def dram_read_gbs(mib: int = 400, budget: float = 0.0) -> float:
    """Best GB/s of one core reading ``mib`` MiB once (numpy's vectorized max over
    float32, as fast as a plain AVX-512 read loop here within about 5%); the
    first read faults the pages in, then at least three are timed."""
    a = np.ones(mib * (1 << 20) // 4, np.float32)
    return a.nbytes / _best(a.max, budget) / 1e9


@functools.lru_cache(maxsize=None)
def _pingpong_lib():
    """``micro/pingpong.c`` compiled and loaded once per process (the library stays
    mapped after its temporary folder is gone)."""
    import ctypes
    import tempfile
    from pathlib import Path

    from benchmarks.loads import compile_native

    with tempfile.TemporaryDirectory() as tmp:
        lib = ctypes.CDLL(str(compile_native(Path(__file__).parent / "micro" / "pingpong.c",
                                             Path(tmp) / "pingpong.so", "-shared", "-fPIC", "-lpthread")))
    lib.pconv_pingpong_ns.restype = ctypes.c_double
    lib.pconv_pingpong_ns.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long]
    return lib


def core_round_trip_ns(rounds: int = 100_000, tries: int = 3) -> float | None:
    """Best mean nanoseconds of a core-to-core round trip (``micro/pingpong.c``: two
    threads pinned to the first two CPUs hand one cache line back and forth); None
    on a one-CPU machine. On this shared host it was 61-77 ns in some minutes and
    328-333 ns in others, and 2-thread runs in the second state ran at about
    1-thread speed (docs/rationale.md, session 22)."""
    import os

    # A process that loaded GNU libgomp with OMP_PROC_BIND set (torch does) is
    # bound to one CPU: then take the machine's first two.
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        cpus = list(range(os.cpu_count() or 1))
    if len(cpus) < 2:
        return None
    lib = _pingpong_lib()
    times = [lib.pconv_pingpong_ns(cpus[0], cpus[1], rounds) for _ in range(tries)]
    good = [t for t in times if t > 0]
    if not good:
        raise RuntimeError("could not pin the two ping-pong threads")
    return min(good)


def measure(n: int = 2048, budget: float = 2.0) -> dict:
    flops = 2.0 * n ** 3
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out: dict = {"n": n}
    try:
        from threadpoolctl import threadpool_info, threadpool_limits

        with threadpool_limits(1):
            out["numpy_gflops"] = flops / _best(lambda: a @ b, budget) / 1e9
        out["numpy_blas"] = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}" for i in threadpool_info()]
    except Exception as e:
        out["numpy_error"] = str(e)
    try:
        import torch

        torch.set_num_threads(1)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        out["torch_gflops"] = flops / _best(lambda: torch.mm(ta, tb), budget) / 1e9
    except Exception as e:
        out["torch_error"] = str(e)
    try:
        out["fma_probe_gflops"] = fma_probe_gflops(budget)
    except Exception as e:  # no AVX-512, no C compiler
        out["fma_probe_error"] = str(e)
    try:
        out["dram_read_gbs"] = dram_read_gbs()
    except Exception as e:  # out of memory
        out["dram_error"] = str(e)
    try:
        out["round_trip_ns"] = core_round_trip_ns()
    except Exception as e:  # no C compiler, pinning refused
        out["round_trip_error"] = str(e)
    vals = [v for k, v in out.items() if k.endswith("_gflops")]
    out["peak_gflops"] = max(vals) if vals else None
    out["peak_source"] = max((k for k in out if k.endswith("_gflops")), key=lambda k: out[k], default=None)
    return out


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2048
    budget = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    print(json.dumps(measure(n, budget)))
