"""PyTorch -> linalg-on-tensors text + weights file, through torch-mlir's fx importer.

torch-mlir vendors its own, newer MLIR, whose bytecode the pinned MLIR 22 tools
cannot read, so the hand-off is text. Weights would dominate that text (a hex
dump of every parameter), so a literal hook gives every float tensor a unique
``dense_resource`` name, keeps its data aside, and the module is printed with
resources elided; the data goes to a .pcw file that ``pconv-attach-weights``
memory-maps.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

__all__ = ["ImportedModule", "UnsupportedModelError", "import_torch"]


class UnsupportedModelError(RuntimeError):
    """The model uses something the PyTorch -> linalg import cannot lower."""


@dataclass
class ImportedModule:
    """linalg-on-tensors text plus the weights its dense_resources name."""

    text: str
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    func_name: str = "forward"


def weight_resource(weights: dict[str, np.ndarray], array: np.ndarray, tensor_type: Any = None):
    """Keep ``array`` in ``weights`` as a new ``pconv_wN``; return the name and the
    ``dense_resource`` attribute naming it (needs an active torch-mlir context;
    ``tensor_type`` defaults to f32 of the shape). Call it once per tensor and
    reuse the attribute: a second attribute with the same name would get a
    renamed key."""
    from torch_mlir.ir import DenseResourceElementsAttr, RankedTensorType

    name = f"pconv_w{len(weights)}"
    weights[name] = array
    if tensor_type is None:
        tensor_type = RankedTensorType.parse(f"tensor<{'x'.join(str(d) for d in array.shape)}xf32>")
    return name, DenseResourceElementsAttr.get_from_buffer(array, name, tensor_type)


def _make_hooks():
    from torch_mlir.extras.fx_importer import FxImporterHooks, create_mlir_tensor_type
    from torch_mlir.ir import Operation
    import torch

    # Every literal tensor with data goes to the .pcw file: the module is printed
    # with its resources elided, so one left to torch-mlir (e.g. the int64 indices
    # of an index_select) would lose its data.
    dtypes = {torch.float32, torch.float64, torch.int64, torch.int32, torch.int8, torch.uint8, torch.bool}

    class WeightsHooks(FxImporterHooks):
        def __init__(self) -> None:
            self.weights: dict[str, np.ndarray] = {}
            self._attrs: dict[int, Any] = {}

        def resolve_literal(self, gni: Any, literal: Any, info: Any):
            if not isinstance(literal, torch.Tensor) or literal.dtype not in dtypes:
                return None
            if literal.numel() <= 1:
                return None  # splat constants stay inline (torch-mlir does the same)
            # A tensor used twice (a module called twice shares its weights)
            # keeps its one resource: creating the attribute again would put a
            # second blob under a renamed key ('pconv_w0_1') that the weights
            # file does not have.
            key = id(literal)
            attr = self._attrs.get(key)
            if attr is None:
                array = np.ascontiguousarray(literal.detach().cpu().numpy())
                _, attr = weight_resource(self.weights, array, create_mlir_tensor_type(literal))
                self._attrs[key] = attr
            vtensor_type = gni._cc.tensor_to_vtensor_type(literal)
            op = Operation.create(
                "torch.vtensor.literal", results=[vtensor_type], attributes={"value": attr}
            )
            return op.result

    return WeightsHooks()


def fold_batchnorm(model: Any) -> Any:
    """A copy of ``model`` with every eval-mode BatchNorm that follows a conv
    folded into the conv's weights and bias (per-filter scaling keeps pruned
    weights exactly zero). Models torch.fx cannot trace are returned as is."""
    import warnings

    import torch

    with warnings.catch_warnings():  # the module imports deprecated torch.jit pieces
        warnings.simplefilter("ignore", DeprecationWarning)
        from torch.fx.experimental.optimization import fuse

    if not isinstance(model, torch.nn.Module) or not any(
        isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()
    ):
        return model
    try:
        return fuse(model.eval(), inplace=False)
    except Exception:  # untraceable Python control flow: keep the BN ops
        return model


def import_torch(model: Any, example_inputs: Sequence[Any], func_name: str = "forward",
                 fold_bn: bool = True) -> ImportedModule:
    """Export ``model`` with torch.export and lower it to linalg-on-tensors."""
    import torch
    from torch_mlir import fx

    if isinstance(model, torch.nn.Module):
        model = model.eval()
        if fold_bn:
            model = fold_batchnorm(model)
    hooks = _make_hooks()
    try:
        with torch.no_grad():
            module = fx.export_and_import(
                model, *example_inputs, output_type="linalg-on-tensors",
                func_name=func_name, hooks=hooks,
            )
    except Exception as e:  # torch.export / torch-mlir report unsupported ops here
        raise UnsupportedModelError(_explain_import_failure(e)) from e
    return finish_import(module, hooks.weights, func_name)


def finish_import(module: Any, weights: dict[str, np.ndarray], func_name: str) -> ImportedModule:
    """Print a lowered torch-mlir module with its weight resources elided (they go
    to the .pcw file) and check that the pipeline supports every op in it."""
    buf = io.StringIO()
    module.operation.print(file=buf, large_resource_limit=1, assume_verified=True)
    text = buf.getvalue()
    check_supported_ops(text)
    return ImportedModule(text=text, weights=weights, func_name=func_name)


# Dialects the pconv-to-llvm pipeline lowers; torch-mlir may leave others
# (e.g. tm_tensor.sort, torch.* ops it could not lower) in its output.
SUPPORTED_DIALECTS = frozenset(
    {"arith", "builtin", "cf", "func", "linalg", "math", "scf", "tensor", "bufferization", "memref"}
)
_OP_RE = re.compile(r'^\s*(?:%[\w#:, %]+=\s*)?"?([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_.]*)', re.M)


def check_supported_ops(text: str) -> None:
    """Raise UnsupportedModelError naming every op the pipeline cannot lower."""
    bad = sorted({f"{d}.{o}" for d, o in _OP_RE.findall(text) if d not in SUPPORTED_DIALECTS})
    if bad:
        raise UnsupportedModelError(
            "the model uses operation(s) the PConv pipeline does not support: " + ", ".join(bad)
            + " (torch-mlir could not lower them to linalg/arith/math/tensor)"
        )


def _explain_import_failure(error: Exception) -> str:
    msg = str(error)
    lines = [line for line in msg.splitlines() if line.strip()]
    # torch-mlir names the op that failed to legalize: keep those lines first.
    key = [line for line in lines if "failed to legalize" in line or "torch." in line or "aten" in line]
    summary = "\n".join((key or lines)[:8])
    return f"PyTorch -> linalg import failed (an op the pipeline does not support?):\n{summary}"
