"""torch.compile(model, backend="pconv"): same results as eager, PConv code where
it can run, PyTorch where it cannot."""

import logging
import subprocess
import sys
import tomllib

import pytest
import torch

import pconv
from pconv.dynamo import pconv_backend
from pconv.testing import random_cnn
from pconv.toolchain import repo_root


@pytest.fixture(autouse=True)
def _fresh_dynamo(caplog):
    torch._dynamo.reset()
    caplog.set_level(logging.INFO, logger="pconv.dynamo")
    yield
    torch._dynamo.reset()


def compiled_messages(caplog):
    return [r.getMessage() for r in caplog.records if "compiled a graph" in r.getMessage()]


def test_pattern_cnn_matches_eager_and_recompiles_after_weight_update(caplog):
    net, shape = random_cnn(3)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    fast = torch.compile(net, backend="pconv")
    with torch.no_grad():
        torch.testing.assert_close(fast(x), net(x), atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(fast(2 * x), net(2 * x), atol=1e-4, rtol=1e-4)  # cached: same shape
        assert compiled_messages(caplog) == [f"pconv backend: compiled a graph for input shapes [{tuple(shape)}] "
                                             "(4 pattern convs)"]
        net.conv2.weight.mul_(-2.0)  # in place (keeps the patterns): the backend must notice
        torch.testing.assert_close(fast(x), net(x), atol=1e-4, rtol=1e-4)
    assert len(compiled_messages(caplog)) == 2


def test_unsupported_op_falls_back_to_eager(caplog):
    class Sorts(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)

        def forward(self, x):
            return torch.sort(torch.relu(self.conv(x)), dim=-1).values

    model = Sorts().eval()
    x = torch.randn(1, 3, 6, 6)
    fast = torch.compile(model, backend="pconv")
    with torch.no_grad():
        torch.testing.assert_close(fast(x), model(x))
        torch.testing.assert_close(fast(x + 1), model(x + 1))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "tm_tensor.sort" in warnings[0] and "running this graph in PyTorch" in warnings[0]
    assert not compiled_messages(caplog)


def test_gradients_run_eagerly(caplog):
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.ReLU())
    x = torch.randn(1, 2, 5, 5)
    y = torch.compile(model, backend="pconv")(x)
    torch.testing.assert_close(y, model(x))
    y.sum().backward()  # PyTorch ran it: autograd works
    assert model[0].weight.grad is not None
    assert any("needs gradients" in r.getMessage() for r in caplog.records)


def test_options_are_checked():
    gm = torch.fx.symbolic_trace(torch.nn.ReLU())
    with pytest.raises(ValueError, match=r"unknown pconv backend option\(s\) \['bogus'\]"):
        pconv_backend(gm, [torch.zeros(1)], options={"bogus": 1})
    with pytest.raises(ValueError, match="target must be 'host'"):
        pconv_backend(gm, [torch.zeros(1)], options={"target": "aarch64-linux-gnu"})


def test_entry_point_is_declared():
    project = tomllib.loads((repo_root() / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["torch_dynamo_backends"] == {"pconv": "pconv.dynamo:pconv_backend"}
    assert project["scripts"] == {"pconv": "pconv.cli:main"}
    assert "pconv" in torch._dynamo.list_backends(exclude_tags=())


def test_entry_point_loads_without_importing_pconv_first():
    # What torch does for an installed pconv: discover the entry point, load it on
    # lookup (which imports pconv, whose import-time registration must stand aside).
    code = (
        "import importlib.metadata, sys, torch\n"
        "from torch._dynamo.backends import registry\n"
        "registry._BACKENDS['pconv'] = importlib.metadata.EntryPoint(\n"
        "    name='pconv', value='pconv.dynamo:pconv_backend', group='torch_dynamo_backends')\n"
        "assert 'pconv' not in sys.modules\n"
        "backend = registry.lookup_backend('pconv')\n"
        "from pconv.dynamo import pconv_backend\n"
        "assert backend is pconv_backend\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
