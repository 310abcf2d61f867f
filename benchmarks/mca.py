"""AArch64: cost the pattern conv's generated inner loop with llvm-mca (cortex-a76).

No ARM hardware is here, so no ARM latency is claimed: one pruned VGG-16 3x3 layer is
compiled for aarch64-linux-gnu (pattern path), its optimized bitcode (model.opt.bc) is
compiled with ``llc -mtriple=aarch64-linux-gnu -mcpu=cortex-a76 -O3`` to assembly, the
innermost loops are found (a backward branch whose body holds no other loop), the
hottest one (most floating-point multiply-adds) is fed to ``llvm-mca``, and its
steady-state cycles per iteration are divided by the kept MACs one iteration performs.

FMA-bound limit on Cortex-A76: two 128-bit FP/ASIMD pipes, each an FMLA of 4 fp32 lanes
per cycle, i.e. 8 MACs/cycle = 0.125 cycles per kept MAC (scalar FMADD: 2 MACs/cycle).
LLVM has no scheduling model of its own for the A76: ``-mcpu=cortex-a76`` is scheduled with
the Cortex-A57 model (resource names ``A57Unit*``), in which a 128-bit FMLA issues once per
cycle, so that model's FMA bound is 0.25 cycles per MAC. The loop is therefore also costed
against the model's own FMA-only cycle count (its multiply-adds alone, same registers) and
under the Neoverse-N1 model (same core design, two 128-bit FP pipes, two load pipes).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

A76_MACS_PER_CYCLE_VECTOR = 8.0   # 2 pipes x 4 fp32 lanes
A76_MACS_PER_CYCLE_SCALAR = 2.0   # 2 pipes x 1

_BLOCK = re.compile(r"^(\.LBB\d+_\d+):\s*(?://\s*(\S+))?|^//\s*%(bb\.\d+):\s*(?://\s*(\S+))?")
_IN_LOOP = re.compile(r"in Loop: Header=(BB\d+_\d+) Depth=(\d+)")
_HEADER = re.compile(r"=>\s*This (Inner )?Loop Header: Depth=(\d+)")


def _tools() -> tuple[str, str]:
    from pconv.toolchain import tool

    return tool("llc"), tool("llvm-mca")


def loops_from_asm(asm: str) -> dict[str, dict[str, Any]]:
    """Loops of an llc listing, from LLVM's own loop annotations (``// in Loop: Header=...``).

    Returns {header: {depth, inner, blocks: [(name, ir_name)], body: [instructions of the
    loop's own blocks, child-loop preheaders left out], MAC counts}}.
    """
    blocks: list[dict[str, Any]] = []
    cur: dict[str, Any] | None = None
    for line in asm.splitlines():
        m = _BLOCK.match(line)
        if m:
            name = (m.group(1) or m.group(3)).lstrip(".L")
            cur = {"name": name.replace("bb.", "bb."), "ir": (m.group(2) or m.group(4) or ""), "loop": None,
                   "depth": 0, "header": False, "inner": False, "ins": []}
            blocks.append(cur)
            continue
        if cur is None:
            continue
        t = line.strip()
        if t.startswith("//"):
            h = _HEADER.search(t)
            if h:
                cur["loop"], cur["header"], cur["inner"], cur["depth"] = cur["name"], True, bool(h.group(1)), int(h.group(2))
            il = _IN_LOOP.search(t)
            if il and not cur["header"]:
                cur["loop"], cur["depth"] = il.group(1), int(il.group(2))
            continue
        if not t or t.startswith(".") or t.endswith(":"):
            continue
        cur["ins"].append(t.split("//")[0].rstrip())
    loops: dict[str, dict[str, Any]] = {}
    for b in blocks:
        if b["loop"] is None:
            continue
        lp = loops.setdefault(b["loop"], {"header": b["loop"], "depth": b["depth"], "inner": False,
                                          "blocks": [], "body": []})
        if b["header"]:
            lp["inner"], lp["depth"] = b["inner"], b["depth"]
        lp["blocks"].append(f"{b['name']} ({b['ir']})")
        if not b["header"] and b["ir"].endswith(".preheader"):
            continue  # a child loop's preheader runs once per child loop, not per iteration
        lp["body"] += b["ins"]
    for lp in loops.values():
        lp.update(_count_macs(lp["body"]))
    return loops


def _lanes(ins: str) -> int:
    m = re.search(r"v\d+\.(\d+)s", ins)
    return int(m.group(1)) if m else 1


def _count_macs(body: list[str]) -> dict[str, Any]:
    fma_lanes = fmul_lanes = fadd_lanes = 0
    n_fma = n_fmul = n_fadd = loads = 0
    for ins in body:
        op = ins.split()[0].lower()
        if op in FMA_OPS:
            n_fma += 1
            fma_lanes += _lanes(ins)
        elif op == "fmul":
            n_fmul += 1
            fmul_lanes += _lanes(ins)
        elif op == "fadd":
            n_fadd += 1
            fadd_lanes += _lanes(ins)
        elif op.startswith("ld"):
            loads += 1
    unfused = min(fmul_lanes, fadd_lanes)  # a multiply and an add not contracted into an FMA
    return {"instructions": len(body), "fma": n_fma, "fmul": n_fmul, "fadd": n_fadd, "loads": loads,
            "fma_macs": fma_lanes, "unfused_macs": unfused, "macs_per_iteration": fma_lanes + unfused}


FMA_OPS = ("fmla", "fmls", "fmadd", "fmsub", "fnmadd", "fnmsub")


def run_mca(body: list[str], llvm_mca: str, iterations: int = 200, cpu: str = "cortex-a76") -> dict[str, Any]:
    src = "\n".join(body) + "\n"
    proc = subprocess.run([llvm_mca, "-mtriple=aarch64-linux-gnu", f"-mcpu={cpu}", f"-iterations={iterations}",
                           "-timeline=false", "-bottleneck-analysis"],
                          input=src, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError("llvm-mca failed: " + proc.stderr[-500:])
    out = proc.stdout
    def num(key: str) -> float | None:
        m = re.search(rf"{key}:\s+([\d.]+)", out)
        return float(m.group(1)) if m else None
    total = num("Total Cycles")
    # The scheduling model llvm-mca used, from its resource names (A57UnitW -> A57).
    unit = re.search(r"\[[\d.]+\]\s+-\s+([A-Za-z0-9]+?)Unit", out)
    return {"cpu": cpu, "scheduling_model": unit.group(1) if unit else None,
            "iterations": iterations, "total_cycles": total, "cycles_per_iteration": total / iterations if total else None,
            "ipc": num("IPC"), "block_rthroughput": num("Block RThroughput"),
            "report_head": "\n".join(out.splitlines()[:40])}


def modeled_fma_bound(body: list[str], llvm_mca: str, cpu: str) -> float | None:
    """Cycles per iteration of the loop's multiply-adds alone under llvm-mca's model of `cpu`:
    the FMA-bound cycle count as that model sees it (its FP pipes and their throughput)."""
    fmas = [ins for ins in body if ins.split()[0].lower() in FMA_OPS]
    return run_mca(fmas, llvm_mca, cpu=cpu)["cycles_per_iteration"] if fmas else None


def cost_loop(body: list[str], macs: int, llvm_mca: str, cpu: str,
              measured: dict[str, Any] | None = None) -> dict[str, Any]:
    """One loop under one llvm-mca model: cycles per kept MAC against the hardware FMA bound
    (two 128-bit pipes) and against the model's own FMA-only cycle count. `measured`: the
    loop's run_mca result under `cpu`, if already there."""
    m = measured or run_mca(body, llvm_mca, cpu=cpu)
    bound = modeled_fma_bound(body, llvm_mca, cpu)
    cpi = m["cycles_per_iteration"]
    return {"cpu": cpu, "scheduling_model": m["scheduling_model"], "cycles_per_iteration": cpi,
            "cycles_per_kept_mac": cpi / macs if cpi and macs else None,
            "fraction_of_fma_bound": (1.0 / A76_MACS_PER_CYCLE_VECTOR) / (cpi / macs) if cpi and macs else None,
            "fma_only_cycles_per_iteration": bound,
            "fraction_of_modeled_fma_bound": bound / cpi if bound and cpi else None}


def analyse(work: Path, quick: bool = False, layer: str = "features.17") -> dict[str, Any]:
    """Compile one pruned VGG-16 layer for AArch64 and cost its hottest inner loop."""
    import torch
    import torch.nn as nn

    import pconv
    from benchmarks import networks as N

    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    model, x = N.build("vgg16")
    N.prune_network(model)
    layers = {l["name"]: l for l in N.conv3x3_layers(model, x)}
    info = layers[layer]
    conv = info["module"]
    single = nn.Conv2d(conv.in_channels, conv.out_channels, 3, conv.stride, conv.padding, bias=True)
    with torch.no_grad():
        single.weight.copy_(conv.weight)
        single.bias.copy_(conv.bias)
    xin = torch.randn(info["in_shape"])
    target = "aarch64-linux-gnu"
    art = pconv.compile(single, (xin,), target=target,
                        options=pconv.CompileOptions(target=target, keep_workdir=True))
    bc = Path(art.directory) / "model.opt.bc"
    llc, llvm_mca = _tools()
    asm_path = work / "vgg16_layer.s"
    subprocess.run([llc, "-mtriple=aarch64-linux-gnu", "-mcpu=cortex-a76", "-O3", "-filetype=asm", str(bc),
                    "-o", str(asm_path)], check=True, capture_output=True, timeout=600)
    asm = asm_path.read_text()
    loops = loops_from_asm(asm)
    inner = [l for l in loops.values() if l["inner"] and l["macs_per_iteration"]]
    if not loops or not any(l["macs_per_iteration"] for l in loops.values()):
        return {"layer": layer, "error": "no loop with floating-point multiply-adds found", "asm": str(asm_path)}
    # The costed loop: the innermost loop doing the most multiply-add work per iteration.
    # A non-innermost loop whose own blocks do more (a vectorized body whose innermost child
    # is the scalar fallback) is costed too.
    if inner:
        hot = max(inner, key=lambda l: (l["macs_per_iteration"], -l["instructions"]))
    else:
        hot = max(loops.values(), key=lambda l: (l["macs_per_iteration"], -l["instructions"]))
    outer = max(loops.values(), key=lambda l: (l["macs_per_iteration"], -l["instructions"]))
    best_inner = outer if outer["macs_per_iteration"] > hot["macs_per_iteration"] else None
    mca = run_mca(hot["body"], llvm_mca)
    w = conv.weight
    kept = int((w != 0).sum())
    out_hw = info["out_shape"][2] * info["out_shape"][3]
    res: dict[str, Any] = {
        "layer": f"vgg16.{layer}", "shape": {"cin": conv.in_channels, "cout": conv.out_channels,
                                             "hw_in": list(info["in_shape"][2:])},
        "kept_weights": kept, "kept_macs": kept * out_hw, "pconv_stats": art.stats,
        "asm": str(asm_path), "loops": len(loops), "innermost_loops": sum(1 for l in loops.values() if l["inner"]),
        "loop": {k: v for k, v in hot.items() if k != "body"}, "loop_body": hot["body"][:160],
        "mca": mca,
        "fma_bound_cycles_per_mac": 1.0 / A76_MACS_PER_CYCLE_VECTOR,
        "fma_bound_note": "Cortex-A76: 2 x 128-bit FMLA per cycle = 8 fp32 MACs/cycle",
    }
    macs = hot["macs_per_iteration"]
    cpi = mca["cycles_per_iteration"]
    if macs and cpi:
        res["cycles_per_kept_mac"] = cpi / macs
        res["fraction_of_fma_bound"] = (1.0 / A76_MACS_PER_CYCLE_VECTOR) / (cpi / macs)
    else:
        res["cycles_per_kept_mac"] = None
        res["note"] = "the hottest innermost loop has no floating-point multiply-add"
    import shutil

    if best_inner is not None and best_inner["header"] != hot["header"]:
        m2 = run_mca(best_inner["body"], llvm_mca)
        inner_res = {k: v for k, v in best_inner.items() if k != "body"}
        inner_res["mca_cycles_per_iteration"] = m2["cycles_per_iteration"]
        inner_res["cycles_per_kept_mac"] = (m2["cycles_per_iteration"] / best_inner["macs_per_iteration"]
                                            if m2["cycles_per_iteration"] else None)
        res["hotter_outer_loop"] = inner_res
    res["fp_contraction"] = "fmul+fadd, not contracted to FMA" if hot["fma"] == 0 else "FMA"
    # LLVM schedules -mcpu=cortex-a76 with its Cortex-A57 model (one 128-bit FMLA per cycle,
    # one load pipe), so the same loop is also costed against the FMA-only cycles of that
    # model, and under the Neoverse-N1 model (the A76's server sibling: same core, two
    # 128-bit FP pipes, two load pipes).
    if macs:
        res["models"] = [cost_loop(hot["body"], macs, llvm_mca, "cortex-a76", measured=mca),
                         cost_loop(hot["body"], macs, llvm_mca, "neoverse-n1")]
        res["scheduling_model"] = res["models"][0]["scheduling_model"]
        res["modeled_fma_bound_cycles_per_iteration"] = res["models"][0]["fma_only_cycles_per_iteration"]
        res["fraction_of_modeled_fma_bound"] = res["models"][0]["fraction_of_modeled_fma_bound"]
    shutil.rmtree(art.directory, ignore_errors=True)
    return res


if __name__ == "__main__":
    import json
    import sys

    from benchmarks.common import WORK

    r = analyse(WORK / "mca", layer=sys.argv[1] if len(sys.argv) > 1 else "features.17")
    r.pop("loop_body", None)
    print(json.dumps(r, indent=1, default=str))
