"""torch.compile with the inductor backend (freezing on: weights are constants, as for the other engines)."""

from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks.engines import Built
from benchmarks.engines.torch_eager import load_model


def build(case, threads: int, variant: str | None) -> Built:
    torch.set_num_threads(threads)
    import torch._inductor.config as cfg

    cfg.freezing = True
    model = load_model(case)
    compiled = torch.compile(model, backend="inductor")
    x = torch.from_numpy(case.input())
    t0 = time.perf_counter()
    with torch.inference_mode():
        compiled(x)  # compiles
    compile_s = time.perf_counter() - t0

    def run(xn: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return compiled(torch.from_numpy(xn)).contiguous().numpy()

    return Built(run, {"version": torch.__version__, "precision": "fp32", "compile_s_first_call": compile_s,
                       "notes": "inductor, freezing=True, default mode (no max-autotune)"})
