"""ONNX input: a pattern-pruned CNN exported with torch.onnx compiles through
torch-mlir's ONNX importer to the same result as the PyTorch path."""

import warnings

import numpy as np
import pytest
import torch

import pconv
from pconv.testing import random_cnn

onnx = pytest.importorskip("onnx")


def export_onnx(model, x, path, **kwargs):
    # The TorchScript exporter needs no onnxscript; it folds BatchNorm into the convs.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), dynamo=False, **kwargs)
    return path


@pytest.fixture(scope="module")
def pruned_cnn():
    net, shape = random_cnn(3)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    return net, x


def test_onnx_matches_eager_and_the_torch_path(pruned_cnn, tmp_path):
    net, x = pruned_cnn
    path = export_onnx(net, x, tmp_path / "net.onnx")
    art = pconv.compile_onnx(path)
    y = art.load()(x.numpy())
    with torch.no_grad():
        ref = net(x).numpy()
    np.testing.assert_allclose(y, ref, atol=1e-4, rtol=1e-4)
    # The same convolutions take the pattern path as through PyTorch.
    torch_art = pconv.compile(net, (x,))
    assert art.stats == torch_art.stats and art.stats["pconv_convs"] == 4
    np.testing.assert_allclose(y, torch_art.load()(x.numpy()), atol=1e-5, rtol=1e-5)
    # Weights travel in the .pcw file, never as inline hex in the IR text.
    assert "dense_resource<pconv_w" in art.stages["linalg"]
    assert 'dense<"0x' not in art.stages["linalg"]


def test_model_proto_with_dynamic_batch_needs_shapes(pruned_cnn, tmp_path):
    net, x = pruned_cnn
    path = export_onnx(net, x, tmp_path / "dyn.onnx", input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    proto = onnx.load(str(path))
    with pytest.raises(pconv.UnsupportedModelError, match=r"input 'x' has dynamic shape \['batch'"):
        pconv.compile_onnx(proto)
    with pytest.raises(ValueError, match="has 1 input"):
        pconv.compile_onnx(proto, input_shapes=[x.shape, x.shape])
    x2 = torch.cat([x, -x])
    art = pconv.compile_onnx(proto, input_shapes=[tuple(x2.shape)])
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"  # caller's proto untouched
    with torch.no_grad():
        np.testing.assert_allclose(art.load()(x2.numpy()), net(x2).numpy(), atol=1e-4, rtol=1e-4)


def test_bad_onnx_inputs(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not a protobuf\xff" * 8)
    with pytest.raises(pconv.UnsupportedModelError, match="not a readable ONNX model"):
        pconv.compile_onnx(junk)
    with pytest.raises(FileNotFoundError, match="no such ONNX file"):
        pconv.compile_onnx(tmp_path / "missing.onnx")

    h = onnx.helper
    graph = h.make_graph(
        [h.make_node("Frobnicate", ["x"], ["y"], domain="pconv.test")], "g",
        [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])],
        [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])])
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17), h.make_opsetid("pconv.test", 1)])
    with pytest.raises(pconv.UnsupportedModelError, match="Frobnicate"):
        pconv.compile_onnx(model)
