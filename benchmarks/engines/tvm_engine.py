"""Apache TVM (Relax): ONNX frontend -> tvm.compile for the host CPU -> Relax VM.

``untuned``: the default Relax pipeline (no schedule search).  ``metaschedule``: the
``static_shape_tuning`` pipeline with a fixed MetaSchedule trial budget
(``PCONV_BENCH_TVM_TRIALS``, default 64 in total), stated in the row's notes.
TVM silently drops ``-mcpu=native``, so the target names the triple and the CPU
(LLVM's host CPU name).  Threads: ``TVM_NUM_THREADS`` (set before the runtime starts).
"""

from __future__ import annotations

import os
import time

import numpy as np

from benchmarks.common import Cached, dir_bytes
from benchmarks.engines import Built


def target_dict() -> dict:
    import tvm.target.codegen as cg

    cpu = cg.llvm_get_system_cpu()
    return {"kind": "llvm", "mtriple": "x86_64-linux-gnu", "mcpu": cpu, "num-cores": 2}


def compile_case(case, tuned: bool) -> tuple[str, dict]:
    import onnx
    import tvm
    from tvm import relax
    from tvm.relax.frontend.onnx import from_onnx

    key = "tvm-ms" if tuned else "tvm"
    scratch = case.scratch(key)
    lib = scratch / "model.so"
    cache = Cached(scratch)
    info = cache.get()
    trials = int(os.environ.get("PCONV_BENCH_TVM_TRIALS", "64"))
    if info is None or not lib.exists() or (tuned and info.get("trials") != trials):
        t0 = time.perf_counter()
        mod = from_onnx(onnx.load(str(case.onnx)), keep_params_in_input=False)
        target = tvm.target.Target(target_dict())
        info = {"target": str(target)}
        if tuned:
            with target:
                mod = relax.get_pipeline("static_shape_tuning", target=target, total_trials=trials,
                                         work_dir=str(scratch / "tuning_logs"))(mod)
            info["trials"] = trials
            ex = tvm.compile(mod, target=target)
        else:
            ex = tvm.compile(mod, target=target)
        ex.export_library(str(lib))
        info["compile_s"] = time.perf_counter() - t0
        cache.put(info)
    return str(lib), info


def build(case, threads: int, variant: str | None) -> Built:
    import tvm
    from tvm import relax

    tuned = variant == "metaschedule"
    lib, info = compile_case(case, tuned)
    dev = tvm.cpu()
    vm = relax.VirtualMachine(tvm.runtime.load_module(lib), dev)
    main = vm["main"]

    def run(x: np.ndarray) -> np.ndarray:
        y = main(tvm.runtime.tensor(x, dev))
        if isinstance(y, (list, tuple)) or type(y).__name__ == "Array":
            y = y[0]
        return y.numpy()

    notes = f"target '{info['target']}'"
    notes += f", MetaSchedule {info['trials']} trials in total" if tuned else ", untuned (default Relax pipeline)"
    return Built(run, {"version": tvm.__version__, "precision": "fp32", "compile_s": info["compile_s"],
                       "artifact_bytes": dir_bytes(lib), "notes": notes,
                       "tuning_trials": info.get("trials")})
