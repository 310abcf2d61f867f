"""LiteRT (ai-edge-litert) or the older tflite-runtime: the TFLite interpreter with XNNPACK.

The .tflite file is written by benchmarks/tflite_convert.py from the same ONNX model
when the case is prepared (no TensorFlow needed).  XNNPACK is the default delegate of
both interpreters on x86; ``num_threads`` sets its thread pool.
"""

from __future__ import annotations

import numpy as np

from benchmarks.common import dir_bytes
from benchmarks.engines import Built


def build(case, threads: int, variant: str | None) -> Built:
    if not case.tflite.exists():
        raise RuntimeError(case.meta.get("tflite_error", "no model.tflite was prepared for this case"))
    if variant == "tflite_runtime":
        import tflite_runtime
        from tflite_runtime.interpreter import Interpreter

        version = tflite_runtime.__version__
    else:
        import ai_edge_litert
        from ai_edge_litert.interpreter import Interpreter

        version = getattr(ai_edge_litert, "__version__", "2.3.0")
    interp = Interpreter(model_path=str(case.tflite), num_threads=threads)
    interp.allocate_tensors()
    i = interp.get_input_details()[0]["index"]
    o = interp.get_output_details()[0]["index"]

    def run(x: np.ndarray) -> np.ndarray:
        interp.set_tensor(i, x)
        interp.invoke()
        return interp.get_tensor(o).copy()

    return Built(run, {"version": version, "precision": "fp32", "artifact_bytes": dir_bytes(case.tflite),
                       "compile_s": case.meta.get("tflite_convert_s", 0.0),
                       "notes": "XNNPACK delegate (default), NCHW<->NHWC transposes inside the model"})
