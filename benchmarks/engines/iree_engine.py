"""IREE: iree-import-onnx -> iree-compile (llvm-cpu, host CPU) -> the local-task runtime.

Threads: ``--task_topology_max_group_count`` (the task executor's worker count),
parsed before the device is created.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import Cached, dir_bytes
from benchmarks.engines import Built

FLAGS = ["--iree-hal-target-device=local", "--iree-hal-local-target-device-backends=llvm-cpu",
         "--iree-llvmcpu-target-cpu=host"]


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def compile_case(case) -> tuple[Path, dict]:
    scratch = case.scratch("iree")
    vmfb = scratch / "model.vmfb"
    cache = Cached(scratch)
    info = cache.get()
    if info is None or not vmfb.exists():
        mlir = scratch / "model.mlir"
        t0 = time.perf_counter()
        for argv in ([_bin("iree-import-onnx"), str(case.onnx), "--no-externalize-params", "-o", str(mlir)],
                     [_bin("iree-compile"), *FLAGS, str(mlir), "-o", str(vmfb)]):
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
            if proc.returncode != 0:
                raise RuntimeError(f"{Path(argv[0]).name} failed: " + (proc.stderr or proc.stdout)[-800:])
        mlir.unlink(missing_ok=True)
        info = {"compile_s": time.perf_counter() - t0}
        cache.put(info)
    return vmfb, info


def build(case, threads: int, variant: str | None) -> Built:
    import iree.runtime as rt

    vmfb, info = compile_case(case)
    rt.flags.parse_flags(f"--task_topology_max_group_count={threads}")
    config = rt.Config("local-task")
    ctx = rt.SystemContext(config=config)
    vm_module = rt.VmModule.mmap(config.vm_instance, str(vmfb))
    ctx.add_vm_module(vm_module)
    names = [n for n in vm_module.function_names if not n.startswith("__")]
    fname = "main_graph" if "main_graph" in names else names[0]
    fn = ctx.modules[vm_module.name][fname]

    def run(x: np.ndarray) -> np.ndarray:
        y = fn(x)
        return np.asarray(y.to_host() if hasattr(y, "to_host") else y)

    try:
        import iree.compiler as ic

        version = getattr(ic, "__version__", None) or "3.13.0"
    except Exception:
        version = "3.13.0"
    return Built(run, {"version": version, "precision": "fp32", "compile_s": info["compile_s"],
                       "artifact_bytes": dir_bytes(vmfb),
                       "notes": "llvm-cpu, --iree-llvmcpu-target-cpu=host, local-task"})
