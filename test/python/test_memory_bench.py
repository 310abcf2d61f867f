"""The memory / artifact-size measurement of benchmarks/memory.py, on tiny models.

Checks the accounting (artifact bytes are the folder's files, sections and emitted
constants are consistent with the library), the live-activation analysis on a
network whose answer is known, and that the peak is measured in a fresh child
process without torch. Asserts no memory thresholds (those are benchmark results).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks import memory, networks  # noqa: E402


class _Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.conv3 = nn.Conv2d(4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.conv1(x))
        z = torch.relu(self.conv2(y)) + y
        return torch.flatten(self.conv3(z), 1)


def test_live_activations_of_a_residual_block() -> None:
    # Bytes at 8x8: input 3 ch = 768, 4 ch = 1024, output 2 ch = 512.
    # conv2 runs while y (kept for the add) and its own output are live: 768 is
    # already dead, the peak is y + conv2's output = 2048; the ReLUs and the add
    # work in place, flatten is a view.
    live = memory.live_activations(_Residual().eval(), torch.randn(1, 3, 8, 8))
    assert live["peak_live_bytes"] == 2048
    assert live["peak_at"] in ("conv2", "relu_1")
    assert live["largest_layer_io_bytes"] == 2048  # conv2: y in, 4 ch out
    assert live["largest_layer_io_at"] == "conv2"


def test_emitted_constants_by_element_type() -> None:
    text = "\n".join([
        "  llvm.mlir.global private constant @__constant_16x1x3x3xf32(dense_resource<w> "
        ": tensor<16x1x3x3xf32>) {addr_space = 0 : i32, alignment = 64 : i64} "
        ": !llvm.array<16 x array<1 x array<3 x array<3 x f32>>>>",
        "  llvm.mlir.global private constant @__constant_9xi32(dense<[0, 2, 5, 7, 8, 10, 12, 15, 16]>"
        " : tensor<9xi32>) {addr_space = 0 : i32, alignment = 64 : i64} : !llvm.array<9 x i32>",
        "  llvm.mlir.global internal @not_a_constant() : !llvm.array<4 x f32>",
    ])
    assert memory.emitted_constants(text) == {"f32": 144 * 4, "i32": 9 * 4}


def test_elf_sections_refuses_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "model.so"
    bad.write_bytes(b"not an ELF file at all" * 4)
    with pytest.raises(ValueError, match="not a 64-bit little-endian ELF"):
        memory.elf_sections(bad)


def test_measure_tiny_pruned(tmp_path: Path) -> None:
    model, x = networks.build("tiny")
    networks.prune_network(model)
    folder = tmp_path / "artifact"
    row = memory.measure(model, x, folder, runs=2, threads=1)

    acc = row["artifact"]
    files = {p.name: p.stat().st_size for p in folder.iterdir()}
    assert files == acc["files"] and acc["artifact_bytes"] == sum(files.values())
    sections = memory.elf_sections(folder / "model.so")
    assert acc["text_bytes"] == sections[".text"] > 0
    assert sum(sections.values()) <= files["model.so"]
    # Every emitted constant lies in .rodata; every kept weight was emitted.
    assert acc["rodata_bytes"] >= acc["constants"]["f32"] + acc["constants"]["i32"]
    assert acc["constants"]["f32"] >= row["kept_weight_bytes"] == networks.kept_weight_bytes(model)
    assert row["index_bytes"] == acc["constants"]["i32"] > 0
    weights, indices = row["kept_weight_bytes"], row["index_bytes"]
    assert row["artifact_ratio"] == pytest.approx(acc["artifact_bytes"] / (weights + indices))
    assert row["memory_reference_bytes"] == (row["kept_weight_bytes"] + row["index_bytes"]
                                             + row["activations"]["peak_live_bytes"])

    for name, tuned in (("tuned", True), ("untuned", False)):
        child = row["runs"][name]
        assert child["pid"] != os.getpid()  # measured in a fresh process ...
        assert child["torch_imported"] is False  # ... that did not import torch
        assert child["malloc_tuned"] is tuned
        assert child["runs"] == 2
        assert child["peak_kib"] >= child["after_load_kib"] > 0
        if child["hwm_reset"]:
            assert child["peak_minus_baseline_bytes"] == (child["peak_kib"] - child["baseline_kib"]) * 1024
        peak = child["peak_minus_baseline_bytes"]
        assert child["ratio"] == pytest.approx(peak / row["memory_reference_bytes"])
        live = row["activations"]["peak_live_bytes"]
        assert child["ratio_vs_weights"] == pytest.approx(peak / (weights + live))


def test_child_reports_a_bad_artifact(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="memory child .* failed"):
        memory.measure_in_child(tmp_path / "missing", runs=1)


def test_render_names_both_targets(tmp_path: Path) -> None:
    row = {"network": "tiny", "variant": "pruned", "kept_weight_bytes": 100, "index_bytes": 20,
           "artifact_ratio": 1.2, "artifact_vs_weights": 1.44, "memory_reference_bytes": 200,
           "artifact": {"artifact_bytes": 144, "rodata_bytes": 130, "text_bytes": 10,
                        "constants": {"f32": 100}},
           "activations": {"peak_live_bytes": 80, "peak_at": "conv", "largest_layer_io_bytes": 80},
           "runs": {k: {"peak_minus_baseline_bytes": 250, "ratio": 1.25, "ratio_vs_weights": 1.39,
                        "anon_growth_kib": 1, "file_growth_kib": 1} for k in ("tuned", "untuned")}}
    text = memory.render({"date": "d", "machine": {}, "runs": 1, "threads": 1, "rows": [row]})
    assert "1.20 (MISSED)" in text and "1.25 (ok)" in text and "| 1.44 |" in text and "| 1.39 |" in text
