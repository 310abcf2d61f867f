"""PConv: a compiler for pattern-sparse convolutional networks, built on MLIR.

    import pconv
    art = pconv.compile(model, (x,), target="host")   # or "aarch64-linux-gnu"
    art = pconv.compile_onnx("model.onnx")             # an ONNX model instead
    art.stages["pconv"]                                # IR after each stage
    art.save("model.pconv")
    fn = pconv.load("model.pconv")
    y = fn(x)
"""

from .artifact import Artifact, ArtifactError, TensorSpec
from .compiler import CompileError, CompileOptions, compile, compile_linalg
from .frontend import UnsupportedModelError
from .onnx_frontend import compile_onnx
from .patterns import PatternLibrary, PatternLibraryError
from .runtime import CompiledModel, load

__all__ = [
    "Artifact", "ArtifactError", "CompileError", "CompileOptions", "CompiledModel",
    "PatternLibrary", "PatternLibraryError", "TensorSpec", "UnsupportedModelError",
    "compile", "compile_linalg", "compile_onnx", "load",
]
__version__ = "0.1.0"

# torch.compile(model, backend="pconv"): registered here when torch is already
# imported (an installed pconv also declares it as a torch_dynamo_backends entry
# point); importing pconv alone never imports torch.
if "torch" in __import__("sys").modules:
    from .dynamo import register as _register_dynamo_backend

    _register_dynamo_backend()
