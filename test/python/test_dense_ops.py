"""Differential tests for the dense-path ops that pconv-vectorize-dense lowers:
depthwise convs, pooling (with padding, odd widths), global average pooling,
linear heads at batch 1 and 2, plain matrix products, elementwise chains."""

import numpy as np
import pytest
import torch
from torch import nn

import pconv

RTOL, ATOL = 1e-4, 1e-4


def _check(model, x, **options):
    model = model.eval()
    art = pconv.compile(model, (x,), **options)
    with torch.no_grad():
        ref = model(x).numpy()
    np.testing.assert_allclose(art.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)
    return art


class InvertedResidual(nn.Module):
    """MobileNet-V2's block: 1x1 expand, depthwise 3x3, 1x1 project, residual."""

    def __init__(self, channels, expand, stride, dilation=1):
        super().__init__()
        hidden = channels * expand
        self.expand = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=False),
                                    nn.BatchNorm2d(hidden), nn.ReLU6())
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=dilation, dilation=dilation,
                      groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6())
        self.project = nn.Sequential(nn.Conv2d(hidden, channels, 1, bias=False), nn.BatchNorm2d(channels))
        self.residual = stride == 1

    def forward(self, x):
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


def _randomize_bn(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    return model


@pytest.mark.parametrize("stride,dilation,width", [(1, 1, 37), (2, 1, 23), (1, 2, 19)])
def test_depthwise_block(stride, dilation, width):
    torch.manual_seed(stride * 10 + width)
    model = _randomize_bn(nn.Sequential(InvertedResidual(5, 3, stride, dilation), nn.ReLU()))
    _check(model, torch.randn(1, 5, 9, width))


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_maxpool_with_padding_odd_width(ceil_mode):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(),
                          nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=ceil_mode))
    _check(model, torch.randn(1, 3, 21, 37))


@pytest.mark.parametrize("vector_width", [16, 4])
def test_maxpool_after_conv_negative_halo(vector_width):
    """The conv writes straight into the pool's padded buffer
    (pconv-fold-pad-copies): with no ReLU between, many border windows hold
    only negative values, so the buffer's halo must hold -inf, not zero."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.MaxPool2d(3, stride=2, padding=1))
    x = torch.randn(1, 3, 13, 37)
    with torch.no_grad():
        ref = model.eval()(x).numpy()
    assert (ref < 0).any()
    _check(model, x, vector_width=vector_width)


@pytest.mark.parametrize("width,vector_width", [(64, 16), (65, 16), (97, 16), (130, 16), (23, 4), (30, 4)])
def test_maxpool_3x3_stride2_separable(width, vector_width):
    """The 3-wide, stride-2 max window (ResNet's pool after the stem) is taken
    separably (rows' max, then even / odd / next-even lanes): output rows that
    are whole vectors, a vector and a few lanes, and AArch64's 4-lane width."""
    torch.manual_seed(width)
    model = nn.Sequential(nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1))
    _check(model, torch.randn(1, 3, 11, width), vector_width=vector_width)


def test_maxpool_propagates_nan():
    """A NaN anywhere in a window makes that output NaN, as in PyTorch."""
    x = torch.randn(1, 2, 9, 70)
    x[0, 0, 4, 33] = float("nan")
    x[0, 1, 0, 0] = float("nan")
    x[0, 1, 8, 69] = float("nan")
    model = nn.MaxPool2d(3, stride=2, padding=1).eval()
    got = pconv.compile(model, (x,)).load()(x.numpy())
    ref = model(x).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    assert np.isnan(ref).sum() == 2 + 1 + 1  # (4, 33) lies in two windows (columns 31-33, 33-35)
    np.testing.assert_allclose(got[~np.isnan(ref)], ref[~np.isnan(ref)])


def test_avgpool_variants():
    torch.manual_seed(2)

    class Net(nn.Module):
        def forward(self, x):
            a = nn.functional.avg_pool2d(x, 3, stride=1, padding=1)  # count_include_pad
            b = nn.functional.avg_pool2d(x, 2)
            c = nn.functional.adaptive_avg_pool2d(x, (2, 3))  # divides 12x18 evenly
            return a.sum() + b.mean(dim=(2, 3)).sum() + c.flatten(1).sum(1)

    _check(Net(), torch.randn(2, 4, 12, 18))


@pytest.mark.parametrize("batch", [1, 2])
def test_global_pool_linear_head(batch):
    torch.manual_seed(batch)
    model = nn.Sequential(nn.Conv2d(3, 37, 3, stride=2), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(37, 130), nn.ReLU(), nn.Linear(130, 10))
    _check(model, torch.randn(batch, 3, 17, 15))


def test_plain_matmul_and_broadcast_bias():
    torch.manual_seed(3)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(45, 70))
            self.b = nn.Parameter(torch.randn(70))

        def forward(self, x):
            return torch.relu(torch.mm(x, self.w) + self.b) * 0.5

    _check(Net(), torch.randn(3, 45))


@pytest.mark.parametrize("act", [nn.GELU(approximate="tanh"), nn.SiLU(), nn.Hardswish(), nn.LeakyReLU(0.1)])
def test_elementwise_activations(act):
    # tanh-GELU's x**3 is a math.fpowi, which stays scalar; the others vectorize.
    torch.manual_seed(5)
    _check(nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), act), torch.randn(1, 3, 9, 21))


def test_matches_without_dense_vectorization():
    # vector_width=0 keeps every dense op on the upstream loops: same answer.
    torch.manual_seed(4)
    model = _randomize_bn(nn.Sequential(InvertedResidual(4, 2, 1), nn.AdaptiveAvgPool2d(1),
                                        nn.Flatten(), nn.Linear(4, 3)))
    x = torch.randn(1, 4, 10, 18)
    _check(model, x, vector_width=0)
    _check(model, x, vector_width=8)


@pytest.mark.parametrize("vector_width", [0, 16])
def test_adaptive_pool_with_uneven_windows(vector_width):
    # Regression: (3, 5) bins over 13 x 19 need masks (i1 buffers) that
    # memref-to-llvm could not store on the reference path (an assertion in
    # pconv-opt); elementwise fusion now removes them on every path.
    _check(nn.AdaptiveAvgPool2d((3, 5)), torch.randn(1, 2, 13, 19), vector_width=vector_width)
