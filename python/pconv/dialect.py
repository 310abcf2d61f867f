"""Python bindings of the pconv dialect for the ``mlir`` package (MLIR 22.1.8).

Build, walk and transform pconv IR with the upstream Python API::

    from mlir import ir
    from mlir.passmanager import PassManager
    from pconv import dialect as pconv_d

    with ir.Context() as ctx, ir.Location.unknown():
        pconv_d.register_dialect(ctx)          # pconv ops parse, verify, print
        module = ir.Module.parse(text)
        for op in module.body.operations[0].regions[0].blocks[0]:
            if isinstance(op, pconv_d.Conv2DOp):
                lib = pconv_d.pattern_library(op.library)   # -> PatternLibrary
        pconv_d.register_passes()              # pconv-* passes, pconv-to-llvm
        PassManager.parse("builtin.module(func.func(pconv-lower-to-loops))").run(module.operation)

The op classes (``Conv2DOp``, ``conv2d``) are generated from ODS by
``mlir-tblgen -gen-python-op-bindings`` at build time; ``Conv2DOp`` takes a
:class:`pconv.PatternLibrary` directly as its ``library``. Importing this
module also makes them importable as ``mlir.dialects.pconv``.

How it is wired (docs/integration.md): the wheel's bindings run on their own
copy of MLIR inside ``libMLIRPythonCAPI.so``. ``libPConvPythonCAPI.so`` (built
in ``capi/``) holds the dialect, the passes and a C API (``PConvCAPI.h``) and
resolves MLIR from that same library; this module calls the C API with ctypes,
passing the bindings' objects through their ``_CAPIPtr`` capsules. No
extension module is compiled: the wheel ships no nanobind headers to compile
one against.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path
from typing import Optional

from mlir import ir

from .patterns import PatternLibrary
from .toolchain import ToolchainError, repo_root

__all__ = ["Conv2DOp", "conv2d", "register_dialect", "register_passes", "pattern_library",
           "library_attr", "is_pattern_library"]


def _build_dir() -> Path:
    """The build tree (or install prefix) holding the bindings' files."""
    return Path(os.environ.get("PCONV_BUILD_DIR", repo_root() / "build"))


def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        raise ToolchainError(
            f"the pconv Python bindings need {what} ({path}); build them with "
            f"`ninja -C build` (or `make setup`), or set PCONV_BUILD_DIR to the build tree")
    return path


class _Handle(ctypes.Structure):
    """MlirContext, MlirAttribute, MlirDialectHandle, ...: ``{void *ptr}``."""

    _fields_ = [("ptr", ctypes.c_void_p)]


_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def _unwrap(obj, kind: str) -> _Handle:
    """The C handle inside a bindings object (``mlir.ir.<kind>._CAPIPtr``)."""
    return _Handle(_capsule_pointer(obj._CAPIPtr, f"mlir.ir.{kind}._CAPIPtr".encode()))


def _load_library() -> ctypes.CDLL:
    lib = ctypes.CDLL(str(_require(_build_dir() / "lib" / "libPConvPythonCAPI.so",
                                   "libPConvPythonCAPI.so")))
    signatures = {
        "mlirGetDialectHandle__pconv__": (_Handle, []),
        "mlirDialectHandleLoadDialect": (_Handle, [_Handle, _Handle]),
        "pconvRegisterPasses": (None, []),
        "pconvAttributeIsAPatternLibrary": (ctypes.c_bool, [_Handle]),
        "pconvPatternLibraryGetKernelDim": (ctypes.c_int64, [_Handle, ctypes.c_ssize_t]),
        "pconvPatternLibraryGetTaps": (ctypes.c_int64, [_Handle]),
        "pconvPatternLibraryGetNumPatterns": (ctypes.c_ssize_t, [_Handle]),
        "pconvPatternLibraryGetPosition": (ctypes.c_int64, [_Handle, ctypes.c_ssize_t, ctypes.c_ssize_t]),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


def _load_ops():
    """Imports the generated op classes as ``mlir.dialects._pconv_ops_gen`` so
    their relative imports resolve inside the ``mlir.dialects`` package."""
    name = "mlir.dialects._pconv_ops_gen"
    if name in sys.modules:
        return sys.modules[name]
    # A build tree keeps it in python/, an install prefix in lib/pconv/python/.
    candidates = [_build_dir() / "python", _build_dir() / "lib" / "pconv" / "python"]
    folder = next((c for c in candidates if (c / "_pconv_ops_gen.py").is_file()), candidates[0])
    path = _require(folder / "_pconv_ops_gen.py", "the generated _pconv_ops_gen.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_lib = _load_library()
_ops = _load_ops()
Conv2DOp = _ops.Conv2DOp
conv2d = _ops.conv2d
sys.modules.setdefault("mlir.dialects.pconv", sys.modules[__name__])


def register_dialect(context: Optional[ir.Context] = None) -> None:
    """Loads the pconv dialect into ``context`` (default: the current one)."""
    context = context or ir.Context.current
    _lib.mlirDialectHandleLoadDialect(_lib.mlirGetDialectHandle__pconv__(), _unwrap(context, "Context"))


def register_passes() -> None:
    """Registers the pconv passes and the ``pconv-to-llvm`` pipeline for
    ``PassManager.parse`` (once per process; later calls do nothing)."""
    _lib.pconvRegisterPasses()


def is_pattern_library(attr: ir.Attribute) -> bool:
    return bool(_lib.pconvAttributeIsAPatternLibrary(_unwrap(attr, "Attribute")))


def pattern_library(attr: ir.Attribute) -> PatternLibrary:
    """The :class:`PatternLibrary` of a ``#pconv.patterns<...>`` attribute."""
    if not is_pattern_library(attr):
        raise TypeError(f"not a #pconv.patterns attribute: {attr}")
    h = _unwrap(attr, "Attribute")
    taps = _lib.pconvPatternLibraryGetTaps(h)
    patterns = [[_lib.pconvPatternLibraryGetPosition(h, p, t) for t in range(taps)]
                for p in range(_lib.pconvPatternLibraryGetNumPatterns(h))]
    kernel = (_lib.pconvPatternLibraryGetKernelDim(h, 0), _lib.pconvPatternLibraryGetKernelDim(h, 1))
    return PatternLibrary(patterns, kernel=kernel, taps=taps)


@ir.register_attribute_builder("PConv_PatternLibraryAttr")
def library_attr(library: PatternLibrary, context: Optional[ir.Context] = None) -> ir.Attribute:
    """The ``#pconv.patterns<...>`` attribute of a :class:`PatternLibrary`
    (the printed form is the one the compiler and the pruner share)."""
    return ir.Attribute.parse(library.to_mlir(), context=context)
