"""Non-float tensor constants (e.g. int64 indices) travel in the weights file too:
the linalg text is printed with resources elided, so a constant left to
torch-mlir's own resource lost its data ("resource does not exist")."""

import numpy as np
import torch

import pconv


class Permute(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.register_buffer("order", torch.tensor([2, 0, 3, 1]))

    def forward(self, x):
        return torch.index_select(self.conv(x), 1, self.order)


def test_int64_constant_is_kept():
    model = Permute().eval()
    x = torch.randn(1, 3, 6, 6)
    art = pconv.compile(model, (x,))
    with torch.no_grad():
        np.testing.assert_allclose(art.load()(x.numpy()), model(x).numpy(), atol=1e-5, rtol=1e-5)
    assert "dense_resource<pconv_w" in art.stages["linalg"] and "torch_tensor_" not in art.stages["linalg"]
