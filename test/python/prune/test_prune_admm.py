"""ADMM pruner: layer plan, penalty, the Z/Y/U/V updates, rho schedule and state persistence."""

from __future__ import annotations

import copy
import io

import pytest
import torch
import torch.nn as nn

from pconv.prune import (
    ADMMPruner,
    PruneConfig,
    RhoSchedule,
    check_pattern_sparse,
    project_connectivity,
    project_pattern,
)

from _prune_testlib import make_net

FLAT = RhoSchedule(initial=1e-2, growth=10.0, epochs_per_stage=1, stages=1)  # constant rho


def _perturb(model: nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))


def test_default_plan_excludes_first_conv_and_depthwise_from_connectivity() -> None:
    pruner = ADMMPruner(make_net())
    plan = pruner.plan
    assert sorted(plan) == ["conv1", "conv2", "dw"]  # the 1x1 conv is not pruned
    assert plan["conv1"].pattern and plan["conv1"].keep is None
    assert plan["conv2"].pattern and plan["conv2"].keep == pytest.approx(1 / 3.6)
    assert plan["dw"].pattern and plan["dw"].depthwise and plan["dw"].keep is None


def test_plan_overrides() -> None:
    config = PruneConfig(connectivity_keep={"conv1": 0.5, "dw": 0.25, "pw": 0.5}, exclude=["conv2"])
    plan = ADMMPruner(make_net(), config=config).plan
    assert plan["conv1"].keep == 0.5 and plan["dw"].keep == 0.25
    assert plan["pw"].keep == 0.5 and not plan["pw"].pattern  # connectivity on a 1x1 conv
    assert "conv2" not in plan
    config = PruneConfig(connectivity_keep=0.5, connectivity_first_conv=True, connectivity_depthwise=True)
    plan = ADMMPruner(make_net(), config=config).plan
    assert plan["conv1"].keep == plan["dw"].keep == plan["conv2"].keep == 0.5
    plan = ADMMPruner(make_net(), config=PruneConfig(connectivity_keep=None, pattern_layers=["conv2"])).plan
    assert list(plan) == ["conv2"] and plan["conv2"].keep is None


def test_initial_state_and_penalty_value() -> None:
    model = make_net()
    pruner = ADMMPruner(model, config=PruneConfig(rho=FLAT))
    w = model.conv2.weight.detach()
    assert torch.equal(pruner.z["conv2"], project_pattern(w, pruner.library)[0])
    assert torch.equal(pruner.y["conv2"], project_connectivity(w, 1 / 3.6)[0])
    assert set(pruner.u) == {"conv1", "conv2", "dw"} and set(pruner.v) == {"conv2"}
    assert all(u.eq(0).all() for u in pruner.u.values())
    _perturb(model, 0)
    expected = (
        sum((pruner._weights[n] - pruner.z[n] + pruner.u[n]).square().sum() for n in pruner.z)
        + (model.conv2.weight - pruner.y["conv2"] + pruner.v["conv2"]).square().sum()
    )
    assert torch.allclose(pruner.penalty(), 1e-2 / 2 * expected)
    # The penalty's gradient is rho * (W - Z + U).
    model.zero_grad()
    pruner.penalty().backward()
    grad = 1e-2 * ((model.conv2.weight - pruner.z["conv2"]) + (model.conv2.weight - pruner.y["conv2"]))
    assert torch.allclose(model.conv2.weight.grad, grad, atol=1e-7)


def test_duals_accumulate_across_epochs() -> None:
    model = make_net()
    pruner = ADMMPruner(model, config=PruneConfig(rho=FLAT))
    lib = pruner.library
    u, v = torch.zeros_like(model.conv2.weight), torch.zeros_like(model.conv2.weight)
    for epoch in range(3):
        _perturb(model, epoch)  # stands for an epoch of training
        w = model.conv2.weight.detach().clone()
        pruner.penalty()  # computing the penalty must not touch the state
        pruner.epoch_end()
        z = project_pattern(w + u, lib)[0]
        y = project_connectivity(w + v, 1 / 3.6)[0]
        u, v = u + (w - z), v + (w - y)
        assert torch.equal(pruner.z["conv2"], z) and torch.equal(pruner.y["conv2"], y)
        assert torch.allclose(pruner.u["conv2"], u) and torch.allclose(pruner.v["conv2"], v)
    assert pruner.updates == 3
    assert u.abs().sum() > 0  # the duals really carry information from epoch to epoch


def test_rho_schedule_and_dual_rescaling() -> None:
    schedule = RhoSchedule(initial=1e-4, growth=10.0, epochs_per_stage=2, stages=3)
    assert [schedule.at(e) for e in range(7)] == pytest.approx([1e-4, 1e-4, 1e-3, 1e-3, 1e-2, 1e-2, 1e-2])
    model = make_net()
    pruner = ADMMPruner(model, config=PruneConfig(rho=RhoSchedule(1e-3, 10.0, 1, 2)))
    _perturb(model, 0)
    w = model.conv2.weight.detach().clone()
    info = pruner.epoch_end()
    assert info["rho"] == pytest.approx(1e-2) and pruner.rho == pytest.approx(1e-2)
    z = project_pattern(w, pruner.library)[0]
    # Scaled dual U = lambda / rho: when rho grows 10x, U shrinks 10x.
    assert torch.allclose(pruner.u["conv2"], (w - z) * 0.1)
    no_rescale = ADMMPruner(
        copy.deepcopy(model), config=PruneConfig(rho=RhoSchedule(1e-3, 10.0, 1, 2), rescale_duals=False)
    )
    _perturb(no_rescale.model, 1)
    w2 = no_rescale.model.conv2.weight.detach().clone()
    no_rescale.epoch_end()
    assert torch.allclose(no_rescale.u["conv2"], w2 - project_pattern(w2, no_rescale.library)[0])


def test_state_survives_a_save_load_round_trip() -> None:
    model = make_net()
    pruner = ADMMPruner(model, config=PruneConfig(rho=RhoSchedule(1e-3, 10.0, 1, 3)))
    for epoch in range(2):
        _perturb(model, epoch)
        pruner.epoch_end()
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "pruner": pruner.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)

    fresh_model = make_net(seed=123)  # different weights: a fresh process before resuming
    fresh_model.load_state_dict(saved["model"])
    resumed = ADMMPruner(fresh_model, library=pruner.library, config=pruner.config)
    assert resumed.u["conv2"].eq(0).all()  # a new pruner starts from scratch ...
    resumed.load_state_dict(saved["pruner"])  # ... until its state is loaded
    for key in ("z", "u", "y", "v"):
        for name, tensor in getattr(pruner, key).items():
            assert torch.equal(getattr(resumed, key)[name], tensor), (key, name)
    assert (resumed.rho, resumed.updates, resumed.phase) == (pruner.rho, 2, "admm")
    # Both continue identically.
    _perturb(model, 7)
    _perturb(fresh_model, 7)
    pruner.epoch_end()
    resumed.epoch_end()
    assert torch.equal(pruner.u["conv2"], resumed.u["conv2"]) and torch.equal(pruner.v["conv2"], resumed.v["conv2"])


def test_resumed_pruner_adopts_the_saved_extracted_library() -> None:
    model = make_net()
    pruner = ADMMPruner(model, config=PruneConfig(num_patterns=4))
    state = pruner.state_dict()
    other = ADMMPruner(make_net(seed=5), config=PruneConfig(num_patterns=4))
    if other.library == pruner.library:
        pytest.skip("both seeds extract the same library")
    other.load_state_dict(state)
    assert other.library == pruner.library


def test_hard_prune_is_pattern_sparse_and_honours_the_rates() -> None:
    model = make_net()
    pruner = ADMMPruner(model)
    masks = pruner.hard_prune()
    assert pruner.phase == "pruned" and pruner.penalty().item() == 0.0
    check_pattern_sparse(model, pruner.library, pruner.pattern_layers)
    kept_kernels = (model.conv2.weight.flatten(2) != 0).any(dim=2)
    assert int(kept_kernels.sum()) == round(16 * 8 / 3.6)
    assert masks.kept()["conv2"] == 4 * round(16 * 8 / 3.6)
    assert masks.kept()["conv1"] == 4 * 8 and masks.kept()["dw"] == 4 * 16
    ids = pruner.assignments["conv2"]
    assert torch.equal(ids >= 0, kept_kernels)
    with pytest.raises(ValueError, match="already hard-pruned"):
        pruner.epoch_end()


def test_rho_scale_multiplies_one_layers_penalty() -> None:
    model = make_net()
    plain = ADMMPruner(model, config=PruneConfig(rho=FLAT))
    scaled = ADMMPruner(model, library=plain.library, config=PruneConfig(rho=FLAT, rho_scale={"conv1": 10.0}))
    _perturb(model, 0)
    conv1 = (model.conv1.weight - plain.z["conv1"] + plain.u["conv1"]).square().sum()
    assert torch.allclose(scaled.penalty(), plain.penalty() + 9 * 1e-2 / 2 * conv1)
    with pytest.raises(ValueError, match=r"rho_scale names \['conv9'\]"):
        ADMMPruner(model, config=PruneConfig(rho_scale={"conv9": 2.0}))
    with pytest.raises(ValueError, match="rho_scale for layer 'conv1' must be a positive"):
        PruneConfig(rho_scale={"conv1": -1.0})


def test_filter_block_shares_kernels_and_patterns_within_blocks() -> None:
    """Group-shared pattern pruning: Z, Y and the hard projection choose per block of
    filter_block filters; depthwise layers stay per kernel."""
    model = make_net()
    _perturb(model, 3)
    pruner = ADMMPruner(model, config=PruneConfig(filter_block=4, rho=FLAT))
    assert pruner.plan["conv2"].filter_block == 4 and pruner.plan["dw"].filter_block == 1
    ids_z = project_pattern(pruner.z["conv2"], pruner.library, 4)[1]
    assert torch.equal(ids_z.view(4, 4, -1), ids_z.view(4, 4, -1)[:, :1].expand(4, 4, -1))
    pruner.epoch_end()
    kept_y = (pruner.y["conv2"].flatten(2) != 0).any(dim=2)
    assert torch.equal(kept_y.view(4, 4, -1), kept_y.view(4, 4, -1)[:, :1].expand(4, 4, -1))
    pruner.hard_prune()
    check_pattern_sparse(model, pruner.library, pruner.pattern_layers)
    for name, filters in (("conv1", 8), ("conv2", 16)):
        ids = pruner.assignments[name].view(filters // 4, 4, -1)
        assert torch.equal(ids, ids[:, :1].expand_as(ids)), name
    kept = (model.conv2.weight.flatten(2) != 0).any(dim=2)
    assert int(kept.sum()) == 4 * round(16 / 4 * 8 / 3.6)


def test_filter_block_must_be_a_positive_integer() -> None:
    with pytest.raises(ValueError, match="filter_block"):
        PruneConfig(filter_block=0)


def test_pointwise_keep_prunes_the_1x1_convs() -> None:
    """`pointwise_keep`: every 1x1 conv except the first, depthwise, excluded or
    mapped ones gets connectivity pruning (one weight per kernel), per block
    of `filter_block` filters; hard pruning keeps exactly that share."""
    from pconv.prune import plan_layers

    torch.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(1, 8, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(16, 16, 1), nn.ReLU(), nn.Conv2d(16, 16, 1, groups=16), nn.Conv2d(16, 8, 1))
    plans = plan_layers(net, PruneConfig(pointwise_keep=0.25, filter_block=8))
    assert sorted(plans) == ["2", "4", "7"]  # not the first conv, not the depthwise one
    assert plans["4"].keep == 0.25 and not plans["4"].pattern and plans["4"].filter_block == 8
    assert plans["2"].keep == 1 / 3.6 and plans["2"].pattern
    plans = plan_layers(net, PruneConfig(connectivity_keep={"4": 0.5}, pointwise_keep=0.25, exclude=["7"]))
    assert plans["4"].keep == 0.5 and "7" not in plans and "2" in plans and plans["2"].keep is None
    assert plan_layers(net, PruneConfig(pointwise_keep=0.5, connectivity_first_conv=True))["0"].keep == 0.5

    pruner = ADMMPruner(net, config=PruneConfig(num_patterns=4, pointwise_keep=0.25, filter_block=8))
    pruner.hard_prune()
    w = net[4].weight.detach()[:, :, 0, 0]
    assert int((w != 0).sum()) == 16 * 16 // 4
    assert all(bool(((b != 0) == (b[0] != 0)).all()) for b in w.reshape(2, 8, 16))
    assert int((net[7].weight != 0).sum()) == 8 * 16 // 4
    assert bool((net[0].weight != 0).all()) and bool((net[6].weight != 0).all())


def test_joint_connectivity_picks_kernels_by_their_pattern_norm() -> None:
    """joint_connectivity: Y keeps whole kernels, chosen by the norm left after pattern
    projection (hard_prune's rule); off, by the full norm."""
    model = make_net()
    with torch.no_grad():
        # Kernel (0, 0): large but spread over all 9 taps; the others get 4 equal taps of a
        # smaller size inside one library pattern, so after pattern projection kernel
        # (0, 0) keeps 4/9 of its squared norm and ranks below them.
        weight = torch.zeros_like(model.conv2.weight)
        plain = ADMMPruner(model, config=PruneConfig(rho=FLAT))
        pattern = torch.from_numpy(plain.library.masks()[0]).to(weight.dtype)
        weight[:] = 0.5 * pattern
        weight[0, 0] = 1.0 / 3.0 * 1.2  # squared norm 9 * 0.16 = 1.44 > 4 * 0.25 = 1; kept 0.64 < 1
        weight[1:, :] *= torch.linspace(1.0, 0.5, 8)[None, :, None, None]
        model.conv2.weight.copy_(weight)
    plain = ADMMPruner(model, library=plain.library, config=PruneConfig(rho=FLAT))
    joint = ADMMPruner(model, library=plain.library, config=PruneConfig(rho=FLAT, joint_connectivity=True))
    expected = project_connectivity(project_pattern(weight, plain.library)[0], 1 / 3.6)[1]
    for pruner in (plain, joint):
        kept = (pruner.y["conv2"].flatten(2) != 0).any(dim=2)
        assert int(kept.sum()) == round(16 * 8 / 3.6)
        kept_rows = kept[:, :, None, None]
        assert torch.equal(pruner.y["conv2"], weight * kept_rows)  # whole kernels
    assert bool((plain.y["conv2"][0, 0] != 0).all())  # largest full norm
    assert torch.equal((joint.y["conv2"].flatten(2) != 0).any(dim=2), expected)
    assert not bool(expected[0, 0])
    # The same rule in the epoch update, and hard_prune keeps exactly Y's kernels.
    joint.epoch_end()
    assert torch.equal((joint.y["conv2"].flatten(2) != 0).any(dim=2), expected)
    joint.hard_prune()
    assert torch.equal(joint.assignments["conv2"] >= 0, expected)
    # Layers without pattern pruning keep the plain rule.
    net = make_net()
    _perturb(net, 1)
    with_pw = [ADMMPruner(net, config=PruneConfig(rho=FLAT, pointwise_keep=0.5, joint_connectivity=j))
               for j in (False, True)]
    assert with_pw[1].plan["pw"].pattern is False
    assert torch.equal(with_pw[0].y["pw"], with_pw[1].y["pw"])
