"""Prepare benchmark cases on disk: the pruned model (torch + ONNX + TFLite), input, reference.

Every engine runs the same weights: the torch module is pickled (model.pt), exported
once to ONNX (model.onnx, opset 17, TorchScript exporter), and the ONNX graph is
converted to TFLite (model.tflite) for LiteRT/TFLite.  The reference output is
PyTorch eager's (fp32, one thread).
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from benchmarks import networks
from benchmarks.common import WORK, write_json

CASE_VERSION = 3  # bump when the prepared files change meaning


def _export_onnx(model: nn.Module, x: torch.Tensor, path: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=17,
                          input_names=["input"], output_names=["output"])


def _macs(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """Dense and kept (non-zero weight) MACs of every Conv2d and Linear, from one forward pass."""
    dense = kept = 0
    hooks = []

    def conv_hook(m, inp, out):
        nonlocal dense, kept
        per_out = out.shape[2] * out.shape[3]
        dense += m.weight.numel() * per_out
        kept += int((m.weight != 0).sum()) * per_out

    def lin_hook(m, inp, out):
        nonlocal dense, kept
        dense += m.weight.numel()
        kept += int((m.weight != 0).sum())

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return {"dense_macs": int(dense), "kept_macs": int(kept)}


def write_case(directory: Path, name: str, model: nn.Module, x: torch.Tensor, extra: dict[str, Any]) -> Path:
    """Write one case folder (skipped when an identical one is already there)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256()
    for t in [x, *[p.detach() for p in model.state_dict().values()]]:
        key.update(t.numpy().tobytes()[:1 << 16])
        key.update(str(tuple(t.shape)).encode())
    digest = f"{CASE_VERSION}-{key.hexdigest()[:16]}"
    meta_path = directory / "case.json"
    if meta_path.exists():
        try:
            old = json.loads(meta_path.read_text())
            if old.get("digest") == digest and (directory / "model.onnx").exists():
                return directory
        except ValueError:
            pass
        import shutil

        shutil.rmtree(directory / "engines", ignore_errors=True)
    torch.set_num_threads(1)
    model = model.eval()
    with torch.no_grad():
        ref = model(x).contiguous().numpy()
    torch.save(model, directory / "model.pt")
    np.save(directory / "input.npy", x.numpy())
    np.save(directory / "ref.npy", ref)
    meta: dict[str, Any] = {"name": name, "digest": digest, "input_shape": list(x.shape),
                            "output_shape": list(ref.shape), **extra, **_macs(model, x)}
    params = sum(p.numel() for p in model.parameters())
    meta["dense_weight_bytes"] = int(params * 4)
    meta["kept_weight_bytes"] = networks.kept_weight_bytes(model)
    t0 = time.perf_counter()
    try:
        _export_onnx(model, x, directory / "model.onnx")
        meta["onnx_export_s"] = time.perf_counter() - t0
    except Exception as e:  # the ONNX engines then fail with this reason
        meta["onnx_error"] = f"{type(e).__name__}: {e}"[:500]
    if "onnx_error" not in meta:
        try:
            from benchmarks.tflite_convert import convert_onnx_to_tflite

            t1 = time.perf_counter()
            convert_onnx_to_tflite(directory / "model.onnx", directory / "model.tflite")
            meta["tflite_convert_s"] = time.perf_counter() - t1
        except Exception as e:
            meta["tflite_error"] = f"ONNX->TFLite conversion failed: {type(e).__name__}: {e}"[:500]
            (directory / "tflite_error.txt").write_text(traceback.format_exc())
    write_json(meta_path, meta)
    return directory


def prepare_network(name: str, work: Path = WORK, prune: bool = True,
                    filter_block: int = 1, keep_1x1: float | None = None) -> tuple[Path, dict]:
    model, x = networks.build(name)
    summary = networks.prune_network(model, filter_block=filter_block, keep_1x1=keep_1x1) if prune else {}
    extra = {"kind": "network", "network": name, "pruned": prune, "filter_block": filter_block,
             "keep_1x1": keep_1x1,
             "prune": {"library": summary.get("library"),
                       "layers": {k: {kk: v[kk] for kk in ("pattern", "keep", "depthwise", "nonzero", "total")}
                                  for k, v in summary.get("layers", {}).items()}}}
    d = write_case(work / name, name, model, x, extra)
    return d, model


def prepare_layers(net: str, model: nn.Module, work: Path = WORK, only: list[str] | None = None) -> list[Path]:
    """One case per non-depthwise 3x3 conv of the (already pruned) network ``model``."""
    _, x = networks.build(net)
    dirs = []
    for i, layer in enumerate(networks.conv3x3_layers(model, x)):
        if only is not None and layer["name"] not in only:
            continue
        conv: nn.Conv2d = layer["module"]
        single = nn.Conv2d(conv.in_channels, conv.out_channels, 3, conv.stride, conv.padding,
                           bias=conv.bias is not None)
        with torch.no_grad():
            single.weight.copy_(conv.weight)
            if conv.bias is not None:
                single.bias.copy_(conv.bias)
        xin = torch.randn(layer["in_shape"], generator=torch.Generator().manual_seed(100 + i))
        tag = f"{net}.{layer['name']}"
        w = conv.weight
        extra = {"kind": "layer", "network": net, "layer": layer["name"], "index": i,
                 "cin": conv.in_channels, "cout": conv.out_channels, "stride": conv.stride[0],
                 "hw_in": list(layer["in_shape"][2:]), "hw_out": list(layer["out_shape"][2:]),
                 "kernels_kept": int((w.flatten(2).abs().sum(2) != 0).sum()),
                 "kernels_total": int(w.shape[0] * w.shape[1])}
        dirs.append(write_case(work / "layers" / tag, tag, single, xin, extra))
    return dirs
