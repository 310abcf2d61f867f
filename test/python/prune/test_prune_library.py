"""Pattern library extraction and coercion."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from pconv.patterns import PatternLibrary, PatternLibraryError
from pconv.prune import ADMMPruner, PruneConfig, as_library, count_kernel_masks, extract_library


def _kernel(big: list[int], centre: float = 0.5) -> torch.Tensor:
    k = torch.full((9,), 0.01)
    k[4] = centre
    for rank, pos in enumerate(big):
        k[pos] = 1.0 + 0.1 * (len(big) - rank)
    return k.reshape(3, 3)


def _model_with(kernels: list[torch.Tensor]) -> nn.Module:
    model = nn.Sequential(nn.Conv2d(1, len(kernels), 3), nn.Conv2d(len(kernels), 1, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.stack(kernels)[:, None])
    return model


# 3 kernels pick {0, 1, 2}, 2 pick {6, 7, 8}, 1 picks {1, 3, 5}; one all-zero kernel is ignored.
KERNELS = [_kernel([0, 1, 2])] * 3 + [_kernel([6, 7, 8])] * 2 + [_kernel([1, 3, 5]), torch.zeros(3, 3)]


def test_extraction_keeps_the_most_frequent_masks_with_the_centre() -> None:
    model = _model_with(KERNELS)
    counts = count_kernel_masks([model[0].weight], taps=4)
    assert counts == {(0, 1, 2, 4): 3, (4, 6, 7, 8): 2, (1, 3, 4, 5): 1}
    lib = extract_library(model, num_patterns=2)
    assert isinstance(lib, PatternLibrary)
    assert lib.patterns == ((0, 1, 2, 4), (4, 6, 7, 8)) and lib.taps == 4 and lib.kernel == (3, 3)
    assert extract_library(model, num_patterns=3).patterns[2] == (1, 3, 4, 5)


def test_extraction_pads_with_unseen_candidates_in_order() -> None:
    lib = extract_library(_model_with(KERNELS), num_patterns=5)
    assert lib.patterns[3:] == ((0, 1, 3, 4), (0, 1, 4, 5))


def test_extraction_without_forced_centre_takes_the_largest_taps() -> None:
    model = _model_with([_kernel([0, 1, 2, 3], centre=0.0)])
    assert extract_library(model, num_patterns=1).patterns == ((0, 1, 2, 4),)
    assert extract_library(model, num_patterns=1, force_centre=False).patterns == ((0, 1, 2, 3),)


def test_extraction_is_configurable_in_taps_and_size() -> None:
    model = _model_with(KERNELS)
    lib = extract_library(model, num_patterns=4, taps=2)
    assert lib.taps == 2 and len(lib) == 4 and all(4 in p for p in lib.patterns)
    with pytest.raises(ValueError, match="only 8 patterns of 2 taps"):
        extract_library(model, num_patterns=9, taps=2)


def test_extraction_reads_only_kxk_layers_and_is_deterministic(net: nn.Module) -> None:
    lib1 = extract_library(net, num_patterns=8)
    lib2 = extract_library(net, num_patterns=8)
    assert lib1 == lib2 and len(lib1) == 8
    # The pruner extracts the same library by default.
    assert ADMMPruner(net, config=PruneConfig(num_patterns=8)).library == lib1


def test_as_library_accepts_masks_positions_and_dicts() -> None:
    masks = np.zeros((2, 3, 3), dtype=bool)
    masks[0].flat[[0, 1, 3, 4]] = True
    masks[1].flat[[4, 5, 7, 8]] = True
    lib = as_library(masks)
    assert lib.patterns == ((0, 1, 3, 4), (4, 5, 7, 8))
    assert as_library([[0, 1, 3, 4], [4, 5, 7, 8]]) == lib
    assert as_library(lib.to_dict()) == lib
    assert as_library(list(masks.astype(int))) == lib


def test_masks_with_different_tap_counts_are_rejected() -> None:
    masks = np.zeros((2, 3, 3), dtype=bool)
    masks[0].flat[[0, 1, 3, 4]] = True
    masks[1].flat[[4, 5, 7]] = True
    with pytest.raises(PatternLibraryError, match="same number of taps, got sizes \\[3, 4\\]"):
        as_library(masks)
