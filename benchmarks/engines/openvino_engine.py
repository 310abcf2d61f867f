"""OpenVINO CPU plugin. It picks bf16 (AMX) by default on this CPU: fp32 rows force f32."""

from __future__ import annotations

import numpy as np
import openvino as ov

from benchmarks.common import dir_bytes
from benchmarks.engines import Built


def build(case, threads: int, variant: str | None) -> Built:
    precision = "bf16" if variant == "bf16" else "f32"
    core = ov.Core()
    model = core.read_model(str(case.onnx))
    compiled = core.compile_model(model, "CPU", {
        "INFERENCE_PRECISION_HINT": precision,
        "INFERENCE_NUM_THREADS": threads,
        "NUM_STREAMS": 1,
        "PERFORMANCE_HINT": "LATENCY",
        "ENABLE_CPU_PINNING": True,
    })
    req = compiled.create_infer_request()
    out = compiled.output(0)

    def run(x: np.ndarray) -> np.ndarray:
        return np.array(req.infer({0: x})[out], copy=True)

    got = compiled.get_property("INFERENCE_PRECISION_HINT")
    got = got.get_type_name() if hasattr(got, "get_type_name") else str(got)
    return Built(run, {"version": ov.__version__, "precision": "bf16" if precision == "bf16" else "fp32",
                       "artifact_bytes": dir_bytes(case.onnx),
                       "notes": f"INFERENCE_PRECISION_HINT={got}, LATENCY, 1 stream, pinned"})
