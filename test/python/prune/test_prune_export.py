"""Export: pattern-id tables, the pattern-sparsity check and the per-layer report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from pconv.patterns import PatternLibrary
from pconv.prune import ADMMPruner, NotPatternSparseError, PruneConfig, pattern_tables, prune_report

from _prune_testlib import make_net


def _pruned() -> ADMMPruner:
    pruner = ADMMPruner(make_net(), config=PruneConfig(num_patterns=8))
    pruner.hard_prune()
    return pruner


def test_tables_match_the_weights_and_the_pruner() -> None:
    pruner = _pruned()
    exported = pruner.export((1, 1, 8, 8))
    assert exported.library is pruner.library
    tables, library = pattern_tables(pruner.model, pruner.library, pruner.pattern_layers)
    assert library == pruner.library
    for name, table in tables.items():
        assert table.dtype == np.int32
        np.testing.assert_array_equal(table, exported.tables[name])
        np.testing.assert_array_equal(table, pruner.assignments[name].numpy())
        weight = dict(pruner.model.named_modules())[name].weight.detach()
        masks = library.masks()
        for (f, c), pid in np.ndenumerate(table):
            nonzero = weight[f, c].numpy() != 0
            if pid < 0:
                assert not nonzero.any()
            else:
                assert not (nonzero & ~masks[pid]).any() and nonzero.sum() == library.taps
    assert exported.tables["conv2"].shape == (16, 8)
    assert exported.tables["dw"].shape == (16, 1)  # depthwise: [C, 1]
    assert (exported.tables["conv2"] == -1).sum() == 16 * 8 - round(16 * 8 / 3.6)
    assert (exported.tables["conv1"] >= 0).all()


def test_report_fields() -> None:
    pruner = _pruned()
    report = pruner.export((1, 8, 8)).report  # (C, H, W) also accepted
    assert report.input_shape == (1, 1, 8, 8)
    rows = {r.name: r for r in report.layers}
    assert list(rows) == ["conv1", "conv2", "dw", "pw"]
    conv2 = rows["conv2"]
    kept = round(16 * 8 / 3.6)
    assert (conv2.kernels, conv2.kept_kernels) == (128, kept)
    assert conv2.weight_shape == (16, 8, 3, 3) and conv2.output_hw == (8, 8)
    assert sum(conv2.pattern_histogram) == kept and len(conv2.pattern_histogram) == 8
    assert conv2.weights == 16 * 8 * 9 and conv2.kept_weights == 4 * kept
    assert conv2.dense_macs == 8 * 8 * 16 * 8 * 9
    assert conv2.kept_macs == 8 * 8 * 4 * kept
    assert conv2.mac_reduction == pytest.approx(9 * 128 / (4 * kept))
    assert rows["dw"].groups == 16 and rows["dw"].dense_macs == 8 * 8 * 16 * 9
    assert rows["conv1"].mac_reduction == pytest.approx(9 / 4)
    assert not rows["pw"].pattern_pruned and rows["pw"].pattern_histogram == ()
    assert report.dense_macs == sum(r.dense_macs for r in report.layers)
    assert report.kept_macs == sum(r.kept_macs for r in report.layers)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["library"] == pruner.library.to_dict() and len(data["layers"]) == 4
    assert "| conv2 | 16x8x3x3 |" in report.to_markdown()


def test_report_counts_strided_outputs() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1))
    lib = PatternLibrary([(1, 3, 4, 5)])
    with torch.no_grad():
        model[0].weight.mul_(torch.from_numpy(lib.masks()[0]).float())
    report = prune_report(model, lib, (2, 3, 16, 16))
    assert report.layers[0].output_hw == (8, 8)
    assert report.layers[0].dense_macs == 64 * 4 * 3 * 9 and report.layers[0].kept_macs == 64 * 4 * 3 * 4


def test_export_rejects_a_model_that_is_not_pattern_sparse() -> None:
    pruner = _pruned()
    with torch.no_grad():
        table = pruner.assignments["conv2"]
        f, c = (table >= 0).nonzero()[0].tolist()
        outside = next(t for t in range(9) if t not in pruner.library.patterns[int(table[f, c])])
        pruner.model.conv2.weight[f, c].view(-1)[outside] = 0.5
    with pytest.raises(NotPatternSparseError, match=rf"layer 'conv2'.*filter {f}, channel {c}"):
        pruner.export((1, 8, 8))


def test_saved_export(tmp_path: Path) -> None:
    exported = _pruned().export((1, 8, 8))
    out = exported.save(tmp_path / "pruned")
    assert {p.name for p in out.iterdir()} == {"model.pt", "patterns.json", "tables.npz", "report.json", "report.md"}
    assert PatternLibrary.from_json((out / "patterns.json").read_text()) == exported.library
    with np.load(out / "tables.npz") as saved:
        np.testing.assert_array_equal(saved["conv2"], exported.tables["conv2"])
    state = torch.load(out / "model.pt", weights_only=True)
    assert torch.equal(state["conv2.weight"], exported.model.conv2.weight)
    assert not exported.model.training


def test_tables_without_a_library_infer_it_from_the_weights() -> None:
    pruner = _pruned()
    tables, library = pattern_tables(pruner.model, layers=pruner.pattern_layers)
    assert set(library.patterns) <= set(pruner.library.patterns) and library.taps == 4
    for name, table in tables.items():
        # Same kernels, same masks: the ids differ only by the libraries' orders.
        translated = np.array(
            [pruner.library.patterns.index(library.patterns[i]) if i >= 0 else -1 for i in table.flat]
        )
        np.testing.assert_array_equal(translated.reshape(table.shape), pruner.assignments[name].numpy())
    with torch.no_grad():
        pruner.model.conv2.weight[0, 0].view(-1)[:] = 1.0  # a full 9-tap kernel among 4-tap ones
    with pytest.raises(NotPatternSparseError, match=r"different tap counts \[4, 9\]"):
        pattern_tables(pruner.model, layers=pruner.pattern_layers)
