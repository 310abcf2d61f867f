"""ONNX Runtime, CPU execution provider (MLAS), all graph optimizations."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from benchmarks.common import dir_bytes
from benchmarks.engines import Built


def build(case, threads: int, variant: str | None) -> Built:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(case.onnx), so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def run(x: np.ndarray) -> np.ndarray:
        return sess.run(None, {name: x})[0]

    return Built(run, {"version": ort.__version__, "precision": "fp32", "artifact_bytes": dir_bytes(case.onnx),
                       "notes": "CPUExecutionProvider, ORT_ENABLE_ALL, sequential"})
