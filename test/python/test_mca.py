"""The AArch64 llvm-mca study (benchmarks/mca.py) on a small pattern conv.

Checks what the study reads, not how fast anything is: the loop finder sees the
pattern kernel's multiply-adds, both scheduling models are identified (LLVM
schedules -mcpu=cortex-a76 with its Cortex-A57 model), and the loop's cycles are
never below the FMA-only cycles of the same model.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
import torch

import pconv
from benchmarks import mca
from pconv.testing import apply_random_patterns, random_library


@pytest.fixture(scope="module")
def hot_loop(tmp_path_factory: pytest.TempPathFactory) -> dict:
    rng = random.Random(0)
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(16, 16, 3, padding=1).eval()
    apply_random_patterns(conv, random_library(rng), rng, keep=0.5)
    target = "aarch64-linux-gnu"
    art = pconv.compile(conv, (torch.randn(1, 16, 16, 16),), target=target, keep_workdir=True)
    llc, _ = mca._tools()
    asm = tmp_path_factory.mktemp("mca") / "conv.s"
    subprocess.run([llc, "-mtriple=aarch64-linux-gnu", "-mcpu=cortex-a76", "-O3",
                    str(Path(art.directory) / "model.opt.bc"), "-o", str(asm)], check=True)
    loops = mca.loops_from_asm(asm.read_text())
    inner = [lp for lp in loops.values() if lp["inner"] and lp["macs_per_iteration"]]
    assert inner, "no innermost loop with multiply-adds found"
    return max(inner, key=lambda lp: lp["macs_per_iteration"])


def test_hot_loop_is_the_vector_pattern_kernel(hot_loop: dict) -> None:
    # 4-lane FMLAs (NEON), 4 taps per kernel: a multiple of 16 MACs per iteration.
    assert hot_loop["fma"] > 0 and hot_loop["fmul"] == 0
    assert hot_loop["macs_per_iteration"] % 16 == 0


@pytest.mark.parametrize("cpu, model", [("cortex-a76", "A57"), ("neoverse-n1", "N1")])
def test_cost_under_both_models(hot_loop: dict, cpu: str, model: str) -> None:
    _, llvm_mca = mca._tools()
    cost = mca.cost_loop(hot_loop["body"], hot_loop["macs_per_iteration"], llvm_mca, cpu)
    assert cost["scheduling_model"] == model
    assert cost["cycles_per_kept_mac"] > 0
    # The FMA-only cycle count of a model is a lower bound of the whole loop under it.
    assert 0 < cost["fraction_of_modeled_fma_bound"] <= 1.0 + 1e-6
    assert cost["fma_only_cycles_per_iteration"] <= cost["cycles_per_iteration"] + 1e-6


def test_modeled_fma_bound_of_no_fma_is_none() -> None:
    _, llvm_mca = mca._tools()
    assert mca.modeled_fma_bound(["add x0, x0, #1"], llvm_mca, "cortex-a76") is None
