"""Block pruning of linear layers (pconv.prune.prune_linear)."""

import pytest
import torch

from pconv.prune import (
    InvalidRateError,
    NoPrunableLayerError,
    UnknownLayerError,
    block_norms,
    project_blocks,
    prune_linear,
)


def test_block_norms_and_projection_by_hand():
    # Row 0: blocks [3, 4] (norm 5) and [0, 1] (norm 1); row 1: [1, 0], [0, 2] (+ a
    # short last block of one weight).
    w = torch.tensor([[3.0, 4.0, 0.0, 1.0, 0.5], [1.0, 0.0, 0.0, 2.0, 0.0]])
    norms = block_norms(w, 2)
    assert torch.allclose(norms, torch.tensor([[5.0, 1.0, 0.5], [1.0, 2.0, 0.0]]))
    projected, mask = project_blocks(w, keep=2 / 6, block=2)  # the two largest blocks
    assert torch.equal(projected, torch.tensor([[3.0, 4.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0, 0.0]]))
    assert mask.shape == w.shape and int(mask.sum()) == 4


def test_prune_linear_only_large_layers_by_default():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(300, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    results = prune_linear(model, keep=0.25, block=16, min_weights=10_000)
    assert list(results) == ["0"]
    r = results["0"]
    assert (r.kept_blocks, r.total_blocks) == (round(0.25 * 64 * 19), 64 * 19)
    w = model[0].weight
    assert torch.equal(w == 0, ~r.mask | (w == 0))  # pruned weights exactly zero
    assert int((block_norms(w, 16) > 0).sum()) == r.kept_blocks
    assert int((model[2].weight == 0).sum()) == 0  # the small head stays dense


def test_prune_linear_bad_input():
    model = torch.nn.Sequential(torch.nn.Linear(8, 4))
    with pytest.raises(NoPrunableLayerError, match="no nn.Linear layer with at least"):
        prune_linear(model)
    with pytest.raises(UnknownLayerError, match="not nn.Linear layers of the model: 1"):
        prune_linear(model, layers=["1"])
    with pytest.raises(InvalidRateError):
        prune_linear(model, keep=0.0, layers=["0"])
    with pytest.raises(ValueError, match="block must be a positive"):
        prune_linear(model, block=0, layers=["0"])
