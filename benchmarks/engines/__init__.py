"""The engines the harness compares; one small module each, run in its own process.

Each module defines ``build(case, threads, variant) -> Built``: compile/load the case's
model for ``threads`` threads and return an object with ``run(x) -> ndarray`` and an
``info`` dict (version, precision, artifact path/bytes, notes, optional ``compile_s``
when the compile happened in an earlier process and was cached).

``ENGINES`` maps the row key to its module, variant, label, whether it is fp32, the
Python packages it needs (checked to say "not installed" instead of failing), and the
virtual environment it runs in (relative to the repository root).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EngineSpec:
    key: str
    module: str
    label: str
    variant: str | None = None
    fp32: bool = True
    needs: tuple[str, ...] = ()
    venv: str = ".venv"
    dense: bool = True           # a dense engine (candidate for "best dense engine")
    pconv: bool = False
    install: str = "make bench-install"


ENGINES: dict[str, EngineSpec] = {s.key: s for s in [
    EngineSpec("pytorch", "torch_eager", "PyTorch eager", needs=("torch",)),
    EngineSpec("pytorch-cl", "torch_eager", "PyTorch eager, channels-last", variant="channels_last", needs=("torch",)),
    EngineSpec("torch-compile", "torch_compile", "torch.compile (inductor)", needs=("torch",)),
    EngineSpec("onnxruntime", "onnxruntime_engine", "ONNX Runtime (MLAS)", needs=("onnxruntime",)),
    EngineSpec("openvino", "openvino_engine", "OpenVINO fp32", variant="f32", needs=("openvino",)),
    EngineSpec("openvino-bf16", "openvino_engine", "OpenVINO bf16", variant="bf16", fp32=False,
               needs=("openvino",)),
    EngineSpec("mnn", "mnn_engine", "MNN", needs=("MNN",)),
    EngineSpec("litert", "litert_engine", "LiteRT (XNNPACK)", variant="ai_edge_litert", needs=("ai_edge_litert",)),
    EngineSpec("tflite-runtime", "litert_engine", "TFLite runtime 2.14 (XNNPACK)", variant="tflite_runtime",
               needs=("tflite_runtime",), venv="build/venv-tflite"),
    EngineSpec("tvm", "tvm_engine", "TVM Relax (untuned)", variant="untuned", needs=("tvm",)),
    EngineSpec("tvm-ms", "tvm_engine", "TVM Relax (MetaSchedule)", variant="metaschedule", needs=("tvm", "xgboost")),
    EngineSpec("iree", "iree_engine", "IREE (llvm-cpu)", needs=("iree.compiler", "iree.runtime")),
    EngineSpec("pconv-dense", "pconv_engine", "PConv dense path", variant="dense", needs=("pconv",), dense=False,
               pconv=True, install="make setup"),
    EngineSpec("pconv", "pconv_engine", "PConv pattern path", variant="pattern", needs=("pconv",), dense=False,
               pconv=True, install="make setup"),
    EngineSpec("pconv-static", "pconv_engine", "PConv pattern path, OpenMP static schedule", variant="static",
               needs=("pconv",), dense=False, pconv=True, install="make setup"),
]}


@dataclass
class Built:
    run: Any
    info: dict[str, Any] = field(default_factory=dict)
