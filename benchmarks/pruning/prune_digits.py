"""Prune the digits CNN with ADMM on one process or many (``torchrun`` + DDP), then export it.

One process::

    .venv/bin/python benchmarks/pruning/prune_digits.py --out /tmp/pconv-digits

Two processes on this machine (gloo on CPU)::

    .venv/bin/torchrun --standalone --nproc-per-node=2 benchmarks/pruning/prune_digits.py --out /tmp/pconv-digits

Several nodes: run the same command on every node, with its own ``--node-rank``; the
checkpoint directory must be on a shared filesystem for resuming on another node::

    torchrun --nnodes=2 --nproc-per-node=1 --node-rank=$NODE_RANK \\
        --rdzv-backend=c10d --rdzv-endpoint=$MASTER_ADDR:29500 --rdzv-id=pconv-digits \\
        benchmarks/pruning/prune_digits.py --checkpoint-dir /shared/ckpt --out /shared/pruned

Rerunning the same command after an interruption resumes from the last epoch's
checkpoint.  Rank 0 writes the exported model (``model.pt``, ``patterns.json``,
``tables.npz``, ``report.{json,md}``) to ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))

import digits

from pconv.prune import ADMMPruner, FitConfig, PruneConfig, RhoSchedule, fit
from pconv.prune import distributed as pdist


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="directory of the exported model")
    parser.add_argument("--checkpoint-dir", type=Path, help="checkpoint every epoch here (and resume from it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--patterns", type=int, default=8, help="library size K")
    parser.add_argument("--keep", type=float, default=1 / 3.6, help="connectivity keep rate")
    parser.add_argument("--dense-epochs", type=int, default=40)
    parser.add_argument("--admm-epochs", type=int, default=20)
    parser.add_argument("--retrain-epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    distributed = pdist.init_from_env()
    rank = pdist.rank()
    data = digits.load("test")
    # Every rank trains the same dense model (deterministic in the seed); DDP would
    # broadcast rank 0's weights anyway.
    dense = digits.train_dense(data, args.seed, args.dense_epochs, lr=2e-3, batch_size=32)
    dense_acc = digits.accuracy(dense, data.evaluation)
    pruner = ADMMPruner(
        dense,
        config=PruneConfig(
            num_patterns=args.patterns,
            connectivity_keep=args.keep,
            rho=RhoSchedule(initial=1e-3, growth=10.0, epochs_per_stage=3, stages=4),
            rho_scale={"conv1": 10.0},  # as in evaluate.py
        ),
    )
    config = FitConfig(
        admm_epochs=args.admm_epochs,
        retrain_epochs=args.retrain_epochs,
        batch_size=32,
        seed=args.seed,
        lr=1e-3,
        progress=True,
    )
    result = fit(pruner, data.train, nn.functional.cross_entropy, config, checkpoint_dir=args.checkpoint_dir)
    if rank == 0:
        exported = pruner.export(data.input_shape)
        exported.save(args.out)
        world = pdist.world_size()
        print(f"processes: {world}; resumed from epoch: {result.resumed_from}")
        print(
            f"dense accuracy {dense_acc:.2f} %, pruned accuracy {digits.accuracy(pruner.model, data.evaluation):.2f} %"
        )
        print(exported.report.to_markdown())
        print(f"library: {exported.library.to_mlir()}")
        print(f"wrote {args.out}")
    if distributed:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
