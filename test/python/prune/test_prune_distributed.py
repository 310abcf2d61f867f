"""The pruner under DistributedDataParallel: 2 CPU processes on gloo."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

from pconv.prune import ADMMPruner, FitConfig, PruneConfig, RhoSchedule, fit
from pconv.prune.training import CHECKPOINT_NAME

from _prune_testlib import make_dataset, make_net

WORLD = 2


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        model = make_net()
        if rank == 1:
            # Ranks disagree before DDP syncs them: the pruner's projections must still agree.
            with torch.no_grad():
                model.conv2.weight.mul_(1.5).add_(0.01)
        pruner = ADMMPruner(
            model, library=ADMMPruner(make_net()).library, config=PruneConfig(rho=RhoSchedule(1e-3, 10, 1, 3))
        )
        z_init = {k: v.clone() for k, v in pruner.z.items()}
        # Retraining distills from a teacher: each rank runs its own frozen copy, no extra sync.
        config = FitConfig(admm_epochs=2, retrain_epochs=1, batch_size=8, seed=0, progress=False, distill_weight=0.5)
        result = fit(
            pruner,
            make_dataset(),
            nn.functional.cross_entropy,
            config,
            checkpoint_dir=Path(out_dir) / "ckpt",
            teacher=make_net(seed=5),
        )
        torch.save(
            {
                "z_init": z_init,
                "model": model.state_dict(),
                "masks": pruner.masks.state_dict(),
                "assignments": pruner.assignments,
                "history": result.history,
                "tables": {k: torch.from_numpy(v) for k, v in pruner.export((1, 8, 8)).tables.items()},
            },
            os.path.join(out_dir, f"rank{rank}.pt"),
        )
    finally:
        dist.destroy_process_group()


def test_two_process_ddp_pruning_is_consistent(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=WORLD, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for key in ("z_init", "model", "masks", "assignments", "tables"):
        assert r0[key].keys() == r1[key].keys(), key
        for name in r0[key]:
            assert torch.equal(r0[key][name], r1[key][name]), (key, name)
    # Rank 0's weights won: Z was projected from the unperturbed weights.
    reference = ADMMPruner(make_net(), config=PruneConfig())
    assert torch.equal(r0["z_init"]["conv2"], reference.z["conv2"])
    assert [h["stage"] for h in r0["history"]] == ["admm", "admm", "retrain"]
    assert "distill" in r0["history"][2] and "distill" not in r0["history"][1]
    # Rank 0 wrote the checkpoint (the directory is shared here).
    assert (tmp_path / "ckpt" / CHECKPOINT_NAME).exists()
    assert (r0["tables"]["conv2"] >= 0).sum() == round(128 / 3.6)
