"""Pattern and connectivity projections on hand-checked kernels."""

from __future__ import annotations

import pytest
import torch

from pconv.patterns import PatternLibrary
from pconv.prune import connectivity_mask, kernel_norms, pattern_ids, project_connectivity, project_pattern
from pconv.prune import PruneError
from pconv.prune.projection import kept_kernel_count, pattern_weight_mask

# Kernel with taps 0:1, 2:3, 4:5, 6:2, 8:4 (row-major).
KERNEL = torch.tensor([[1.0, 0.0, 3.0], [0.0, 5.0, 0.0], [2.0, 0.0, 4.0]])
LIBRARY = PatternLibrary([(0, 1, 3, 4), (1, 4, 5, 7), (2, 4, 6, 8), (0, 2, 4, 8)])


def test_pattern_projection_keeps_the_largest_norm() -> None:
    # Kept squared norms: P0 = 1+25 = 26, P1 = 25, P2 = 9+25+4+16 = 54, P3 = 1+9+25+16 = 51.
    weight = KERNEL.reshape(1, 1, 3, 3)
    projected, ids = project_pattern(weight, LIBRARY)
    assert ids.tolist() == [[2]]
    expected = torch.tensor([[0.0, 0.0, 3.0], [0.0, 5.0, 0.0], [2.0, 0.0, 4.0]])
    assert torch.equal(projected[0, 0], expected)


def test_pattern_projection_uses_magnitudes_not_signs() -> None:
    weight = (-KERNEL).reshape(1, 1, 3, 3)
    projected, ids = project_pattern(weight, LIBRARY)
    assert ids.item() == 2
    assert projected[0, 0, 0, 2].item() == -3.0 and projected[0, 0, 0, 0].item() == 0.0


def test_pattern_projection_ties_go_to_the_lowest_id() -> None:
    projected, ids = project_pattern(torch.ones(2, 3, 3, 3), LIBRARY)
    assert ids.eq(0).all()
    assert torch.equal(projected[1, 2].flatten().nonzero().flatten(), torch.tensor([0, 1, 3, 4]))


def test_pattern_projection_of_many_kernels_is_per_kernel() -> None:
    weight = torch.zeros(2, 2, 3, 3)
    weight[0, 0] = KERNEL  # -> 2
    weight[0, 1].view(-1)[[1, 4, 5, 7]] = 1.0  # exactly P1 -> 1
    weight[1, 0].view(-1)[[0, 1, 3]] = 2.0  # P0 keeps 12
    weight[1, 1].view(-1)[8] = 7.0  # P2 and P3 keep 49; tie -> 2
    projected, ids = project_pattern(weight, LIBRARY)
    assert ids.tolist() == [[2, 1], [0, 2]]
    assert torch.equal(projected[0, 1], weight[0, 1])
    # The projection is idempotent and never keeps a tap outside the pattern.
    again, ids_again = project_pattern(projected, LIBRARY)
    assert torch.equal(again, projected) and torch.equal(ids_again, ids)
    assert torch.equal(projected != 0, (projected != 0) & pattern_weight_mask(ids, LIBRARY))


def test_pattern_projection_works_on_depthwise_weights() -> None:
    weight = torch.zeros(4, 1, 3, 3)
    weight[:, 0] = KERNEL
    _, ids = project_pattern(weight, LIBRARY)
    assert ids.shape == (4, 1) and ids.eq(2).all()


def test_pattern_projection_checks_the_kernel_size() -> None:
    with pytest.raises(ValueError, match="does not match the library kernel"):
        pattern_ids(torch.ones(1, 1, 5, 5), LIBRARY)


def _kernels_with_norms(values: list[list[float]]) -> torch.Tensor:
    # Every tap of kernel (f, c) equals values[f][c]: its L2 norm is 3 * |value|.
    return torch.tensor(values)[:, :, None, None].expand(-1, -1, 3, 3).clone()


def test_connectivity_projection_keeps_the_largest_kernels() -> None:
    weight = _kernels_with_norms([[1.0, -4.0], [2.0, 3.0]])
    assert torch.allclose(kernel_norms(weight), torch.tensor([[3.0, 12.0], [6.0, 9.0]]))
    projected, mask = project_connectivity(weight, 0.5)
    assert mask.tolist() == [[False, True], [False, True]]
    assert torch.equal(projected[0, 1], weight[0, 1]) and projected[0, 0].abs().sum() == 0


def test_connectivity_ties_go_to_the_lower_flat_index() -> None:
    mask = connectivity_mask(torch.ones(2, 2), 0.5)
    assert mask.tolist() == [[True, True], [False, False]]


@pytest.mark.parametrize(
    ("total", "keep", "expected"), [(10, 0.25, 3), (1024, 1 / 3.6, 284), (5, 0.01, 1), (7, 1.0, 7)]
)
def test_kept_kernel_count_rounds_and_keeps_at_least_one(total: int, keep: float, expected: int) -> None:
    assert kept_kernel_count(total, keep) == expected
    assert int(connectivity_mask(torch.rand(total, 1), keep).sum()) == expected


def test_pattern_projection_shared_by_filter_blocks() -> None:
    # Block 0 (filters 0-1), channel 0: filter 0 holds KERNEL (alone: P2, 54), filter 1
    # taps 1 and 7 at 4 (alone: P1, 32). Summed over the block P0 keeps 26 + 16 = 42,
    # P1 25 + 32 = 57, P2 54 + 0, P3 51 + 0: both filters get P1.
    weight = torch.zeros(4, 2, 3, 3)
    weight[0, 0] = KERNEL
    weight[1, 0].view(-1)[[1, 7]] = 4.0
    weight[2:, 1].view(2, -1)[:, [0, 1, 3]] = 2.0  # block 1, channel 1: P0
    _, per_kernel = project_pattern(weight, LIBRARY)
    projected, ids = project_pattern(weight, LIBRARY, filter_block=2)
    assert per_kernel[0, 0] == 2 and per_kernel[1, 0] == 1
    assert ids[0, 0] == 1 and ids[1, 0] == 1
    assert torch.equal(ids[0], ids[1]) and torch.equal(ids[2], ids[3])
    assert ids[2, 1] == 0
    assert torch.equal(projected != 0, (projected != 0) & pattern_weight_mask(ids, LIBRARY))
    # filter_block=1 is the per-kernel projection.
    assert torch.equal(project_pattern(weight, LIBRARY, filter_block=1)[1], per_kernel)


def test_connectivity_projection_shared_by_filter_blocks() -> None:
    norms = torch.tensor([[3.0, 0.0, 1.0], [0.0, 3.0, 1.0], [2.0, 2.0, 0.0], [0.0, 0.0, 0.5]])
    weight = norms[:, :, None, None] * torch.ones(1, 1, 3, 3) / 3.0  # kernel norm = norms
    # Block norms: block 0 (3, 3, sqrt 2), block 1 (2, 2, 0.5); keep 2 of 6 block kernels
    # (the ties between 3 and 3 go to the lower flat index): channels 0 and 1 of block 0.
    projected, mask = project_connectivity(weight, 1 / 3, filter_block=2)
    assert mask.tolist() == [[True, True, False], [True, True, False], [False] * 3, [False] * 3]
    assert torch.equal(projected, weight * mask[:, :, None, None])


@pytest.mark.parametrize("block", [0, 3, -1, 2.0, True])
def test_filter_block_must_divide_the_filters(block) -> None:
    with pytest.raises(PruneError, match="filter_block"):
        project_pattern(torch.ones(4, 2, 3, 3), LIBRARY, filter_block=block)
    with pytest.raises(PruneError, match="filter_block"):
        project_connectivity(torch.ones(4, 2, 3, 3), 0.5, filter_block=block)
