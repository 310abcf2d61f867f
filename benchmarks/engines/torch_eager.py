"""PyTorch eager (oneDNN / ATen CPU kernels), NCHW or channels-last."""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.engines import Built


def load_model(case) -> torch.nn.Module:
    return torch.load(case.torch_model, weights_only=False).eval()


def build(case, threads: int, variant: str | None) -> Built:
    torch.set_num_threads(threads)
    model = load_model(case)
    cl = variant == "channels_last"
    if cl:
        model = model.to(memory_format=torch.channels_last)

    def run(x: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(x)
        if cl and t.dim() == 4:
            t = t.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            y = model(t)
        return y.contiguous().numpy()

    return Built(run, {"version": torch.__version__, "precision": "fp32",
                       "notes": "channels-last weights and input" if cl else "NCHW"})
