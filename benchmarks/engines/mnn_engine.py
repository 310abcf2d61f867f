"""MNN (Alibaba): own ONNX -> .mnn converter, CPU backend, precision=high (fp32).

MNN's ``mnnconvert`` console script imports a telemetry logger that runs
``pip install aliyun-log-python-sdk`` and posts every conversion to a remote log
service.  The harness calls the converter's C entry point (``_tools.mnnconvert``)
directly instead, which converts the same way without either side effect.
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

from benchmarks.common import Cached, dir_bytes
from benchmarks.engines import Built

_CONVERT = "import sys, _tools; _tools.mnnconvert(['mnnconvert'] + sys.argv[1:])"


def convert(case) -> tuple[str, dict]:
    scratch = case.scratch("mnn")
    out = scratch / "model.mnn"
    cache = Cached(scratch)
    info = cache.get()
    if info is None or not out.exists():
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _CONVERT, "-f", "ONNX", "--modelFile", str(case.onnx),
                               "--MNNModel", str(out), "--bizCode", "pconv-bench"],
                              capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError("MNN converter failed: " + (proc.stderr or proc.stdout)[-800:])
        info = {"compile_s": time.perf_counter() - t0}
        cache.put(info)
    return str(out), info


def build(case, threads: int, variant: str | None) -> Built:
    import MNN

    path, info = convert(case)
    interp = MNN.Interpreter(path)
    session = interp.createSession({"backend": "CPU", "numThread": threads, "precision": "high"})
    inp = interp.getSessionInput(session)
    out = interp.getSessionOutput(session)
    shape = tuple(out.getShape())

    def run(x: np.ndarray) -> np.ndarray:
        tmp = MNN.Tensor(x.shape, MNN.Halide_Type_Float, x, MNN.Tensor_DimensionType_Caffe)
        inp.copyFrom(tmp)
        interp.runSession(session)
        host = MNN.Tensor(shape, MNN.Halide_Type_Float, np.zeros(shape, dtype=np.float32),
                          MNN.Tensor_DimensionType_Caffe)
        out.copyToHostTensor(host)
        return np.array(host.getNumpyData(), copy=True).reshape(shape)

    return Built(run, {"version": MNN.version(), "precision": "fp32", "compile_s": info["compile_s"],
                       "artifact_bytes": dir_bytes(path),
                       "notes": "session API, CPU, precision=high; converter may pick Winograd for 3x3"})
