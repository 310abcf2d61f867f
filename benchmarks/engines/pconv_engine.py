"""PConv: the pattern path (pconv.conv2d) or the dense path (import_pattern_convs=False).

The artifact is compiled once (threads=0: OMP_NUM_THREADS decides at run time) and
reused by the other thread counts' processes; its compile time is remembered.
"""

from __future__ import annotations

import json
import shutil
import time

import numpy as np

from benchmarks.common import Cached, dir_bytes
from benchmarks.engines import Built


def toolchain_id() -> str:
    """Identifies the compiler build: a rebuilt pconv-opt/pconv-translate invalidates cached artifacts."""
    import hashlib
    from pathlib import Path

    import pconv
    from pconv.toolchain import tool

    h = hashlib.sha256(pconv.__version__.encode())
    for name in ("pconv-opt", "pconv-translate"):
        try:
            st = Path(tool(name)).resolve().stat()
            h.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
        except Exception:
            h.update(name.encode())
    for f in sorted(Path(pconv.__file__).parent.glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def build(case, threads: int, variant: str | None) -> Built:
    import pconv

    pattern = variant != "dense"
    # "static": the pattern path without task stealing (steal_tasks=False).
    steal = variant != "static"
    scratch = case.scratch({"dense": "pconv-dense", "static": "pconv-static"}.get(variant or "", "pconv"))
    art_dir = scratch / "artifact"
    cache = Cached(scratch)
    info = cache.get()
    tid = toolchain_id()
    if info is None or info.get("toolchain") != tid or not (art_dir / "meta.json").exists():
        import torch

        model = torch.load(case.torch_model, weights_only=False).eval()
        x = torch.from_numpy(case.input())
        t0 = time.perf_counter()
        art = pconv.compile(model, (x,), target="host", threads=0, import_pattern_convs=pattern,
                            steal_tasks=steal)
        compile_s = time.perf_counter() - t0
        if art_dir.exists():
            shutil.rmtree(art_dir)
        art.save(art_dir)
        shutil.rmtree(art.directory, ignore_errors=True)
        info = {"compile_s": compile_s, "stats": art.stats, "toolchain": tid}
        cache.put(info)
    fn = pconv.load(art_dir)

    def run(x: np.ndarray) -> np.ndarray:
        return fn(x)

    meta = json.loads((art_dir / "meta.json").read_text())
    return Built(run, {"version": pconv.__version__, "precision": "fp32", "compile_s": info["compile_s"],
                       "artifact_bytes": dir_bytes(art_dir / "model.so"), "pconv_stats": meta.get("stats"),
                       "toolchain_id": tid,
                       "notes": ("pattern path" if pattern else "dense path (import_pattern_convs=False)")
                       + ("" if steal else ", static OpenMP schedule (steal_tasks=False)")
                       + "; OMP_NUM_THREADS decides threads"})
