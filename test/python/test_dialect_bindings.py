"""Python bindings of the pconv dialect (pconv.dialect, capi/): build pconv IR
with the upstream ``mlir`` Python API, walk it, read the pattern library,
run pconv passes and the pconv-to-llvm pipeline from Python, and JIT the
result against PyTorch."""

import ctypes
import os
import subprocess

import numpy as np
import pytest
import torch
from mlir import ir
from mlir.dialects import func
from mlir.execution_engine import ExecutionEngine
from mlir.passmanager import PassManager
from mlir.runtime import get_ranked_memref_descriptor

from pconv import dialect as pconv_d
from pconv.patterns import PatternLibrary
from pconv.toolchain import tool

LIB = PatternLibrary([(1, 3, 4, 5), (3, 4, 5, 7), (0, 1, 3, 4)])
HOST_OMP = "/usr/lib/llvm-14/lib/libomp.so.5"

TEXT = """
func.func @conv(%x: tensor<1x2x8x8xf32>, %w: tensor<12xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  %y = pconv.conv2d %x, %w bias(%b)
         library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
         kernels dense<[[0, 1], [1, -1]]> : tensor<2x2xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         : (tensor<1x2x8x8xf32>, tensor<12xf32>, tensor<2xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}
"""


def random_layer(seed, filters=4, channels=3, size=(7, 9)):
    """Kernel table, packed weights, dense PyTorch weights, input and bias."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(-1, len(LIB), size=(filters, channels)).astype(np.int8)
    packed = rng.standard_normal(int((ids >= 0).sum()) * LIB.taps).astype(np.float32)
    dense = np.zeros((filters, channels, 3, 3), np.float32)
    kept = 0
    for f, c in zip(*np.nonzero(ids >= 0)):  # row-major: the packing order
        for t, pos in enumerate(LIB.patterns[ids[f, c]]):
            dense[f, c, pos // 3, pos % 3] = packed[kept * LIB.taps + t]
        kept += 1
    x = rng.standard_normal((1, channels, *size)).astype(np.float32)
    bias = rng.standard_normal(filters).astype(np.float32)
    return ids, packed, dense, x, bias


def build_conv_module(ids, packed, x, bias, out_shape):
    """func @conv(x, w, b) { pconv.conv2d ... relu } built op by op from Python."""
    f32 = ir.F32Type.get()
    module = ir.Module.create()
    with ir.InsertionPoint(module.body):
        @func.FuncOp.from_py_func(ir.RankedTensorType.get(x.shape, f32),
                                  ir.RankedTensorType.get(packed.shape, f32),
                                  ir.RankedTensorType.get(bias.shape, f32))
        def conv(xv, wv, bv):
            return pconv_d.conv2d(ir.RankedTensorType.get(out_shape, f32), xv, wv, LIB,
                                  ir.DenseElementsAttr.get(ids), [1, 1], [1, 1, 1, 1], [1, 1],
                                  bias=bv, relu=True)
    return module


@pytest.fixture
def ctx():
    with ir.Context() as context, ir.Location.unknown():
        pconv_d.register_dialect(context)
        yield context


def test_parse_walk_and_read_the_pattern_library(ctx):
    module = ir.Module.parse(TEXT)
    convs = []

    def visit(op):
        if isinstance(op.opview, pconv_d.Conv2DOp):
            convs.append(op.opview)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    assert len(convs) == 1
    conv = convs[0]
    assert pconv_d.is_pattern_library(conv.library)
    assert pconv_d.pattern_library(conv.library) == PatternLibrary([(1, 3, 4, 5), (3, 4, 5, 7)])
    assert list(conv.strides) == [1, 1] and list(conv.padding) == [1, 1, 1, 1] and conv.relu
    assert np.array_equal(np.array(conv.kernel_patterns), [[0, 1], [1, -1]])
    assert conv.bias is not None and ir.RankedTensorType(conv.result.type).shape == [1, 2, 8, 8]
    # The same module through `from mlir.dialects import pconv`.
    from mlir.dialects import pconv as upstream_style
    assert upstream_style.Conv2DOp is pconv_d.Conv2DOp
    # Attributes are edited in place and print in the shared encoding.
    conv.library = pconv_d.library_attr(LIB)
    assert LIB.to_mlir() in str(module)
    with pytest.raises(TypeError, match="not a #pconv.patterns attribute"):
        pconv_d.pattern_library(conv.strides)


def test_built_op_round_trips_through_pconv_opt(ctx):
    ids, packed, _, x, bias = random_layer(1)
    module = build_conv_module(ids, packed, x, bias, (1, 4, 7, 9))
    assert module.operation.verify()
    text = str(module)
    assert "pconv.conv2d" in text and LIB.to_mlir() in text
    # The C++ tools read what Python built.
    proc = subprocess.run([tool("pconv-opt")], input=text, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert LIB.to_mlir() in proc.stdout


def test_the_dialect_verifier_runs_in_python(ctx):
    ids, packed, _, x, bias = random_layer(2)
    ids[0, 0] = 5  # outside the 3-pattern library
    module = build_conv_module(ids, packed, x, bias, (1, 4, 7, 9))
    with pytest.raises(ir.MLIRError, match=r"kernel \(0, 0\) has pattern id 5 outside \[-1, 3\)"):
        module.operation.verify()


def test_pass_pipeline_from_python(ctx):
    pconv_d.register_passes()
    module = ir.Module.parse(TEXT)
    PassManager.parse("builtin.module(func.func(pconv-lower-to-loops))").run(module.operation)
    text = str(module)
    assert "pconv.conv2d" not in text and "scf.parallel" in text
    with pytest.raises(ValueError, match="pconv-lower-to-nothing.* does not refer to a registered pass"):
        PassManager.parse("builtin.module(func.func(pconv-lower-to-nothing))")


@pytest.mark.skipif(not os.path.exists(HOST_OMP), reason="needs the host libomp")
@pytest.mark.parametrize("threads", [1, 2])
def test_built_conv_compiles_and_runs_like_pytorch(ctx, threads):
    # Build in Python -> pconv-to-llvm in Python -> JIT -> compare with PyTorch.
    pconv_d.register_passes()
    ids, packed, dense, x, bias = random_layer(3 + threads)
    expected = torch.relu(torch.nn.functional.conv2d(
        torch.from_numpy(x), torch.from_numpy(dense), torch.from_numpy(bias), padding=1)).numpy()
    module = build_conv_module(ids, packed, x, bias, expected.shape)
    PassManager.parse(f"builtin.module(pconv-to-llvm{{num-threads={threads} import=false "
                      f"import-dense=false}})").run(module.operation)
    engine = ExecutionEngine(module, opt_level=2, shared_libs=[HOST_OMP])
    out = np.zeros(expected.shape, np.float32)
    engine.invoke("conv", *[ctypes.pointer(ctypes.pointer(get_ranked_memref_descriptor(a)))
                            for a in (x, packed, bias, out)])
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
