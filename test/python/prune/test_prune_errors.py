"""Bad input raises clear ValueError subclasses with precise messages."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from pconv.patterns import PatternLibraryError
from pconv.prune import (
    ADMMPruner,
    FitConfig,
    InvalidRateError,
    NoPrunableLayerError,
    PruneConfig,
    PruneError,
    RhoSchedule,
    UnknownLayerError,
    extract_library,
    fit,
    project_connectivity,
)

from _prune_testlib import make_dataset, make_net


def test_error_types_are_value_errors() -> None:
    for cls in (PatternLibraryError, PruneError, InvalidRateError, NoPrunableLayerError, UnknownLayerError):
        assert issubclass(cls, ValueError)


def test_library_with_different_tap_counts() -> None:
    with pytest.raises(PatternLibraryError, match=r"same number of taps, got sizes \[3, 4\]"):
        ADMMPruner(make_net(), library=[[0, 1, 3, 4], [1, 4, 7]])
    masks = np.zeros((2, 3, 3), dtype=bool)
    masks[0].flat[[0, 4]] = True
    masks[1].flat[[0, 4, 8]] = True
    with pytest.raises(PatternLibraryError, match=r"got sizes \[2, 3\]"):
        ADMMPruner(make_net(), library=masks)


@pytest.mark.parametrize("rate", [0, 0.0, -0.25, 1.5, math.nan, math.inf])
def test_global_rate_outside_unit_interval(rate: float) -> None:
    with pytest.raises(InvalidRateError, match=r"connectivity keep rate must be in \(0, 1\]"):
        PruneConfig(connectivity_keep=rate)


def test_pointwise_rate_outside_unit_interval() -> None:
    with pytest.raises(InvalidRateError, match=r"pointwise_keep \(keep rate of the 1x1 convolutions\) must be in"):
        PruneConfig(pointwise_keep=1.5)


def test_per_layer_rate_outside_unit_interval_names_the_layer() -> None:
    with pytest.raises(InvalidRateError, match=r"for layer 'conv2' must be in \(0, 1\].*got 2"):
        PruneConfig(connectivity_keep={"conv2": 2})
    with pytest.raises(InvalidRateError, match="must be a number"):
        PruneConfig(connectivity_keep={"conv2": "half"})  # type: ignore[dict-item]
    with pytest.raises(InvalidRateError, match=r"got 0"):
        project_connectivity(torch.ones(2, 2, 3, 3), 0)


def test_model_without_3x3_conv() -> None:
    pointwise = nn.Sequential(nn.Conv2d(3, 8, 1), nn.ReLU(), nn.Conv2d(8, 8, 5))
    with pytest.raises(NoPrunableLayerError, match=r"no 3x3 Conv2d layer to prune.*'0: 1x1', '2: 5x5'"):
        ADMMPruner(pointwise)
    with pytest.raises(NoPrunableLayerError, match="no 3x3 Conv2d"):
        extract_library(pointwise)
    with pytest.raises(NoPrunableLayerError, match=r"found: none"):
        ADMMPruner(nn.Sequential(nn.Linear(4, 4)), library=[[0, 1, 3, 4]])


def test_unknown_layer_names() -> None:
    with pytest.raises(UnknownLayerError, match=r"connectivity_keep names \['conv9'\].*known: \['conv1'"):
        ADMMPruner(make_net(), config=PruneConfig(connectivity_keep={"conv9": 0.5}))
    with pytest.raises(PruneError, match=r"pattern_layers \['pw'\] do not have a 3x3 kernel"):
        ADMMPruner(make_net(), config=PruneConfig(pattern_layers=["pw"]))


def test_other_bad_settings() -> None:
    with pytest.raises(PruneError, match=r"num_patterns must be in \[1, 127\]"):
        PruneConfig(num_patterns=0)
    with pytest.raises(PruneError, match=r"taps must be in \[1, 9\]"):
        PruneConfig(taps=10)
    with pytest.raises(PruneError, match="rho growth"):
        RhoSchedule(growth=0.5)
    with pytest.raises(PruneError, match="optimizer must be"):
        FitConfig(optimizer="lbfgs")
    with pytest.raises(PruneError, match="call hard_prune"):
        ADMMPruner(make_net()).export((1, 8, 8))
    pruned = ADMMPruner(make_net())
    pruned.hard_prune()
    with pytest.raises(PruneError, match="already hard-pruned: use admm_epochs=0"):
        fit(pruned, make_dataset(), nn.functional.cross_entropy, FitConfig(admm_epochs=1, progress=False))
