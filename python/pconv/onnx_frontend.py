"""ONNX -> linalg-on-tensors text + weights file, through torch-mlir's ONNX importer.

The model is imported to the torch dialect (``torch.operator "onnx.*"`` ops),
converted to torch ops (``torch-onnx-to-torch-backend-pipeline``) and lowered to
linalg with the same backend pipeline as the PyTorch path, so both paths meet at
the same linalg-on-tensors module and share the rest of the compiler.

Weights take the same route as in :mod:`pconv.frontend`: every float32
initializer of more than :data:`INLINE_LIMIT` elements becomes a
``dense_resource<pconv_wN>`` literal whose data goes to the .pcw file (the ONNX
conversion would otherwise turn it into an inline hex constant). Smaller
constants (biases of tiny layers, shape and scale operands, which some ONNX
conversions need to read) stay inline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .artifact import Artifact
from .compiler import CompileOptions, compile_linalg, resolve_options
from .frontend import ImportedModule, UnsupportedModelError, _explain_import_failure, finish_import, weight_resource

__all__ = ["compile_onnx", "import_onnx", "load_onnx"]

# float32 initializers up to this many elements stay inline constants.
INLINE_LIMIT = 16
FUNC_NAME = "forward"


def load_onnx(model: Any) -> Any:
    """An ``onnx.ModelProto`` from a path or a ModelProto (a copy: the caller's is not changed)."""
    try:
        import onnx
    except ImportError:
        raise UnsupportedModelError("ONNX input needs the 'onnx' package (pinned in requirements/base.txt)") from None
    if isinstance(model, onnx.ModelProto):
        copy = onnx.ModelProto()
        copy.CopyFrom(model)
        return copy
    path = Path(model)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such ONNX file")
    try:
        return onnx.load(str(path))
    except Exception as e:  # protobuf DecodeError and friends
        raise UnsupportedModelError(f"{path}: not a readable ONNX model ({type(e).__name__}: {e})") from None


def _fix_input_shapes(model: Any, input_shapes: Sequence[Sequence[int]] | None) -> None:
    """Set the graph inputs' dimensions (given, or checked to be static)."""
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if input_shapes is not None and len(input_shapes) != len(inputs):
        raise ValueError(f"the ONNX model has {len(inputs)} input(s) ({', '.join(i.name for i in inputs)}), "
                         f"got {len(input_shapes)} input shape(s)")
    for n, inp in enumerate(inputs):
        dims = inp.type.tensor_type.shape.dim
        if input_shapes is not None:
            shape = [int(d) for d in input_shapes[n]]
            if len(shape) != len(dims):
                raise ValueError(f"ONNX input '{inp.name}' has rank {len(dims)}, got shape {tuple(shape)}")
            for d, size in zip(dims, shape):
                if d.HasField("dim_value") and d.dim_value not in (0, size):
                    raise ValueError(f"ONNX input '{inp.name}' has static shape "
                                     f"{[x.dim_value for x in dims]}, got {tuple(shape)}")
                d.ClearField("dim_param")
                d.dim_value = size
        elif any(not d.HasField("dim_value") or d.dim_value <= 0 for d in dims):
            shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims]
            raise UnsupportedModelError(f"ONNX input '{inp.name}' has dynamic shape {shape}; "
                                        "give the input shapes (input_shapes=... / --input-shape)")


def _weights_cache(context: Any, weights: dict[str, np.ndarray]) -> Any:
    """A ContextCache that turns large float32 initializers into pconv_wN resources."""
    from onnx import TensorProto, numpy_helper
    from torch_mlir.extras import onnx_importer

    class WeightsCache(onnx_importer.ContextCache):
        __slots__ = ()

        def tensor_proto_to_attr(self, tp: Any) -> Any:
            size = int(np.prod(tp.dims)) if len(tp.dims) else 1
            if tp.data_type != TensorProto.FLOAT or size <= INLINE_LIMIT:
                return super().tensor_proto_to_attr(tp)
            array = np.ascontiguousarray(numpy_helper.to_array(tp), dtype=np.float32)
            return weight_resource(weights, array)[1]

    return WeightsCache(context)


def _constants_to_literals(func_op: Any, weights: dict[str, np.ndarray]) -> None:
    """Replace each ``onnx.Constant`` that holds a pconv_wN resource by a
    ``torch.vtensor.literal`` of it, which the lowering keeps a resource."""
    from torch_mlir.ir import InsertionPoint, Operation

    keys = {f"dense_resource<{name}>" for name in weights}
    for op in list(func_op.regions[0].blocks[0].operations):
        if op.operation.name != "torch.operator" or "torch.onnx.value" not in op.attributes:
            continue
        value = op.attributes["torch.onnx.value"]
        if str(value).split(" :")[0] not in keys:
            continue
        with InsertionPoint(op), op.location:
            literal = Operation.create("torch.vtensor.literal", results=[op.results[0].type],
                                       attributes={"value": value})
        op.results[0].replace_all_uses_with(literal.results[0])
        op.operation.erase()


def _check_converted(func_op: Any) -> None:
    """Name the ONNX operators torch-mlir left unconverted (it only says "failed to legalize")."""
    left = sorted({str(op.attributes["name"]).strip('"') for op in func_op.regions[0].blocks[0].operations
                   if op.operation.name == "torch.operator" and "name" in op.attributes})
    if left:
        raise UnsupportedModelError("the ONNX model uses operator(s) torch-mlir cannot convert: " + ", ".join(left))


def import_onnx(model: Any, input_shapes: Sequence[Sequence[int]] | None = None) -> ImportedModule:
    """Import an ONNX model (path or ModelProto) and lower it to linalg-on-tensors.

    ``input_shapes`` fixes the inputs' shapes (needed when the model has dynamic
    dimensions). Raises :class:`UnsupportedModelError` for an unreadable model
    or one with ops torch-mlir cannot lower.
    """
    import onnx
    from torch_mlir.compiler_utils import run_pipeline_with_repro_report
    from torch_mlir.dialects import torch as torch_d
    from torch_mlir.extras import onnx_importer
    from torch_mlir.ir import Context

    proto = load_onnx(model)
    _fix_input_shapes(proto, input_shapes)
    proto.graph.name = FUNC_NAME  # the entry point's name (ONNX graph names need not be identifiers)
    try:
        proto = onnx.shape_inference.infer_shapes(proto, data_prop=True)
    except Exception as e:
        raise UnsupportedModelError(f"ONNX shape inference failed: {e}") from None
    context = Context()
    torch_d.register_dialect(context)
    weights: dict[str, np.ndarray] = {}
    try:
        info = onnx_importer.ModelInfo(proto)
        module = info.create_module(context=context)
        with context:
            importer = onnx_importer.NodeImporter.define_function(
                info.main_graph, module.operation, context_cache=_weights_cache(context, weights))
            importer.import_all()
            func_op = next(op for op in module.body.operations if op.operation.name == "func.func")
            _constants_to_literals(func_op, weights)
        run_pipeline_with_repro_report(module, "builtin.module(torch-onnx-to-torch-backend-pipeline)",
                                       "ONNX -> torch backend IR")
        _check_converted(func_op)
        run_pipeline_with_repro_report(
            module, "builtin.module(torch-backend-to-linalg-on-tensors-backend-pipeline)",
            "torch backend IR -> linalg-on-tensors")
    except UnsupportedModelError:
        raise
    except Exception as e:  # OnnxImportError, TorchMlirCompilerError (an op torch-mlir cannot lower)
        raise UnsupportedModelError(_explain_import_failure(e).replace("PyTorch", "ONNX", 1)) from e
    return finish_import(module, weights, FUNC_NAME)


def compile_onnx(model: Any, target: str | None = None, options: CompileOptions | None = None,
                 input_shapes: Sequence[Sequence[int]] | None = None, **kwargs: Any) -> Artifact:
    """Compile an ONNX model (path or ``onnx.ModelProto``) for ``target``.

    Same options and result as :func:`pconv.compile`; the inputs' shapes come
    from the model unless ``input_shapes`` is given. ``fold_batchnorm`` does not
    apply (exporters fold BatchNorm into the convolutions themselves).
    """
    opts = resolve_options(target, options, kwargs)
    return compile_linalg(import_onnx(model, input_shapes), opts)
