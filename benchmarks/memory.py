"""Memory and artifact size of whole networks compiled with PConv (issue 6 targets).

For each network (pruned as the speed benchmark prunes it, and dense) this compiles the
model, saves the artifact and measures, in a fresh child process that imports numpy
and the PConv runtime only (no torch):

* **peak resident memory**: VmHWM after N runs minus the RSS just before loading the
  artifact (the high-water mark is reset there with ``clear_refs``, so the imports'
  own peak does not count); once with the runtime's malloc tuning (the default) and
  once with ``PCONV_MALLOC_TUNING=0``;
* **artifact size**: the files of the saved folder (``model.so`` + ``meta.json``),
  with the library's sections and the constants the compiler emitted into it
  (f32 = weights, i32 = pattern schedule tables, from the ``llvm`` stage).

References: the kept weights (non-zero parameters x 4 bytes, as ``prepare.py``
counts them), the index tables (i32 constants of the artifact), and the largest set
of simultaneously live activations (see :func:`live_activations`).  Targets:
peak <= 1.3 x (weights + indices + live activations), artifact <= 1.15 x (weights +
indices).

    .venv/bin/python -m benchmarks.memory --network resnet18 --network vgg16 --runs 5
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import re
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS, WORK, peak_rss_kib, reset_peak_rss, rss_kib, write_json

NETWORKS = ["resnet18", "vgg16", "resnet50", "mobilenet_v2"]
VARIANTS = ["pruned", "dense"]
MEMORY_TARGET = 1.3
ARTIFACT_TARGET = 1.15
_ARTIFACT_FILES = ("model.so", "meta.json")

# --------------------------------------------------------------------------- activations


def live_activations(model: Any, x: Any) -> dict[str, Any]:
    """The largest set of simultaneously live activation tensors of ``model`` on ``x``.

    The module is traced with torch.fx and its tensors sized by one forward pass. A
    tensor lives from the node that makes it to its last use (the network's input and
    output included); views (identity, flatten, reshape) share their input's storage,
    and element-wise ops (ReLU, ReLU6, add) reuse the storage of an input of the same
    size that dies at that op, as the compiler's bufferization does (fused ReLUs,
    in-place residual adds). Returns the peak live bytes, the node where it occurs,
    and the simple bound of the largest input + output pair of one layer (conv, pooling,
    linear; element-wise ops excluded since the compiler fuses them).
    """
    import torch
    import torch.fx
    from torch.fx.passes.shape_prop import ShapeProp

    gm = torch.fx.symbolic_trace(model)
    ShapeProp(gm).propagate(x)
    nodes = list(gm.graph.nodes)
    modules = dict(gm.named_modules())
    views = (torch.nn.Identity, torch.nn.Flatten, torch.nn.Dropout)
    elementwise = (torch.nn.ReLU, torch.nn.ReLU6)

    def nbytes(n: torch.fx.Node) -> int:
        meta = n.meta.get("tensor_meta")
        if meta is None or not hasattr(meta, "shape"):
            return 0
        numel = 1
        for d in meta.shape:
            numel *= int(d)
        return numel * meta.dtype.itemsize

    def kind(n: torch.fx.Node) -> str:
        if n.op == "call_module":
            m = modules[str(n.target)]
            return "view" if isinstance(m, views) else "elementwise" if isinstance(m, elementwise) else "op"
        if n.op == "call_function":
            if n.target in (torch.flatten, torch.reshape):
                return "view"
            if n.target in (operator.add, torch.add, torch.relu, torch.nn.functional.relu):
                return "elementwise"
        if n.op == "call_method":
            if n.target in ("view", "reshape", "flatten"):
                return "view"
            if n.target in ("relu", "add"):
                return "elementwise"
        return "op"

    index = {n: i for i, n in enumerate(nodes)}
    last_use = {n: index[n] for n in nodes}
    for n in nodes:
        for a in n.all_input_nodes:
            last_use[a] = max(last_use[a], index[n])
    storage: dict[torch.fx.Node, int] = {}  # node -> storage id
    size: dict[int, int] = {}
    start: dict[int, int] = {}
    end: dict[int, int] = {}
    largest_io, largest_io_at = 0, ""
    for i, n in enumerate(nodes):
        if n.op == "output":
            for a in n.all_input_nodes:
                end[storage[a]] = len(nodes)  # the result outlives the call
            continue
        inputs = [a for a in n.all_input_nodes if a in storage]
        k = kind(n)
        reuse = None
        if k == "view" and inputs:
            reuse = storage[inputs[0]]
        elif k == "elementwise":
            for a in inputs:
                sid = storage[a]
                if size[sid] == nbytes(n) and end[sid] <= i:
                    reuse = sid
                    break
        if reuse is None:
            reuse = len(size)
            size[reuse], start[reuse], end[reuse] = nbytes(n), i, i
        storage[n] = reuse
        end[reuse] = max(end[reuse], last_use[n])
        if n.op != "placeholder" and k == "op":
            io = sum({storage[a]: size[storage[a]] for a in inputs}.values()) + nbytes(n)
            if io > largest_io:
                largest_io, largest_io_at = io, n.name
    peak, peak_at = 0, ""
    for i, n in enumerate(nodes):
        live = sum(s for sid, s in size.items() if start[sid] <= i <= end[sid])
        if live > peak:
            peak, peak_at = live, n.name
    return {"peak_live_bytes": peak, "peak_at": peak_at,
            "largest_layer_io_bytes": largest_io, "largest_layer_io_at": largest_io_at}


# --------------------------------------------------------------------------- artifact


def elf_sections(path: Path) -> dict[str, int]:
    """File bytes of every section of a 64-bit little-endian ELF file (no binutils needed)."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path}: not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_at = headers[shstrndx][4]
    sections = {}
    for name_off, sh_type, _flags, _addr, _offset, sh_size in headers[1:]:
        start = names_at + name_off
        name = data[start:data.index(b"\0", start)].decode()
        sections[name] = 0 if sh_type == 8 else sh_size  # SHT_NOBITS (.bss) takes no file bytes
    return sections


_GLOBAL_RE = re.compile(
    r"^\s*llvm\.mlir\.global\s.*\bconstant\s+@(\S+?)\(.*:\s*(!llvm\.array<.*>|[a-z]\w*)\s*$")
_ELEMENT_BYTES = {"f32": 4, "i32": 4, "i64": 8, "f64": 8, "i8": 1, "i16": 2, "f16": 2, "bf16": 2, "i1": 1}


def emitted_constants(llvm_text: str) -> dict[str, int]:
    """Bytes of the constant globals of an ``llvm`` stage text, by element type."""
    out: dict[str, int] = {}
    for line in llvm_text.splitlines():
        m = _GLOBAL_RE.match(line)
        if not m:
            continue
        ty = m.group(2)
        elem = re.findall(r"([a-z]+\d+)\s*>*$", ty)
        if not elem or elem[0] not in _ELEMENT_BYTES:
            continue
        count = 1
        for d in re.findall(r"(\d+) x", ty):
            count *= int(d)
        out[elem[0]] = out.get(elem[0], 0) + count * _ELEMENT_BYTES[elem[0]]
    return out


def artifact_accounting(folder: Path, llvm_text: str) -> dict[str, Any]:
    """Sizes of a saved artifact folder: its files, the library's sections, the emitted constants."""
    folder = Path(folder)
    files = {name: (folder / name).stat().st_size for name in _ARTIFACT_FILES}
    sections = elf_sections(folder / "model.so")
    return {
        "files": files,
        "artifact_bytes": sum(files.values()),
        "text_bytes": sections.get(".text", 0),
        "rodata_bytes": sections.get(".rodata", 0),
        "other_section_bytes": sum(v for k, v in sections.items() if k not in (".text", ".rodata")),
        "constants": emitted_constants(llvm_text),
    }


# --------------------------------------------------------------------------- child process


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _child(folder: Path, runs: int) -> dict[str, Any]:
    """Runs in the fresh process: baseline after imports, load, ``runs`` calls, peak."""
    import numpy as np

    import pconv.runtime

    rng = np.random.default_rng(0)  # numpy.random's modules load here, before the baseline
    hwm_reset = reset_peak_rss()
    # Without clear_refs the high-water mark still holds the imports' peak: the
    # difference below is then a lower bound.
    baseline = rss_kib() if hwm_reset else peak_rss_kib()
    anon0, file0 = _status_kib("RssAnon"), _status_kib("RssFile")
    fn = pconv.runtime.load(folder)
    after_load = rss_kib()
    x = rng.standard_normal(fn.inputs[0].shape, dtype=np.float32)
    t0 = time.perf_counter()
    for _ in range(runs):
        fn(x)
    seconds = time.perf_counter() - t0
    peak = peak_rss_kib()
    return {"pid": os.getpid(), "hwm_reset": hwm_reset, "baseline_kib": baseline,
            "after_load_kib": after_load, "peak_kib": peak,
            "peak_minus_baseline_bytes": (peak - baseline) * 1024,
            "anon_growth_kib": _status_kib("RssAnon") - anon0,
            "file_growth_kib": _status_kib("RssFile") - file0,
            "malloc_tuned": pconv.runtime.tune_malloc(), "torch_imported": "torch" in sys.modules,
            "runs": runs, "ms_per_run": seconds * 1e3 / max(runs, 1)}


def measure_in_child(folder: Path, runs: int, threads: int = 1, malloc_tuning: bool = True,
                     timeout: float = 600) -> dict[str, Any]:
    """Peak resident memory of loading ``folder`` and running it ``runs`` times, in a fresh process."""
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PCONV_MALLOC_TUNING="1" if malloc_tuning else "0",
               PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "benchmarks.memory", "--child", str(folder), "--runs", str(runs)]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"memory child on {folder} failed (exit {proc.returncode}): "
                           f"{proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- one network


def measure(model: Any, x: Any, folder: Path, runs: int = 5, threads: int = 1) -> dict[str, Any]:
    """Compile ``model`` for the host, save it to ``folder`` and measure it (see the module doc)."""
    import pconv

    from benchmarks.networks import kept_weight_bytes

    t0 = time.perf_counter()
    art = pconv.compile(model, (x,), target="host", threads=0)
    compile_s = time.perf_counter() - t0
    if folder.exists():
        shutil.rmtree(folder)
    art.save(folder)
    llvm_text = art.stages["llvm"]
    del art
    acc = artifact_accounting(folder, llvm_text)
    weights = kept_weight_bytes(model)
    indices = acc["constants"].get("i32", 0)
    live = live_activations(model, x)
    reference = weights + indices + live["peak_live_bytes"]
    row: dict[str, Any] = {"compile_s": compile_s, "kept_weight_bytes": weights, "index_bytes": indices,
                           "activations": live, "artifact": acc,
                           "artifact_ratio": acc["artifact_bytes"] / (weights + indices),
                           "artifact_vs_weights": acc["artifact_bytes"] / weights,
                           "memory_reference_bytes": reference, "runs": {}}
    for tuned in (True, False):
        child = measure_in_child(folder, runs, threads, malloc_tuning=tuned)
        child["ratio"] = child["peak_minus_baseline_bytes"] / reference
        child["ratio_vs_weights"] = child["peak_minus_baseline_bytes"] / (weights + live["peak_live_bytes"])
        row["runs"]["tuned" if tuned else "untuned"] = child
    return row


def measure_network(name: str, variant: str, work: Path, runs: int, threads: int) -> dict[str, Any]:
    from benchmarks import networks

    model, x = networks.build(name)
    if variant == "pruned":
        networks.prune_network(model)
    elif variant != "dense":
        raise ValueError(f"unknown variant {variant!r}; known: {VARIANTS}")
    row = measure(model, x, work / f"{name}-{variant}", runs, threads)
    return {"network": name, "variant": variant, "threads": threads, **row}


# --------------------------------------------------------------------------- report


def _mib(n: float) -> str:
    return f"{n / 2**20:.1f}"


def _ok(ratio: float, target: float) -> str:
    return f"{ratio:.2f} ({'ok' if ratio <= target else 'MISSED'})"


def _machine(info: dict[str, Any]) -> str:
    return (f"{info.get('cpu', 'unknown CPU')}, {info.get('cores', '?')} cores, "
            f"{info.get('mem_gib', '?')} GiB, git {info.get('git', '?')}")


def render(result: dict[str, Any]) -> str:
    rows = result["rows"]
    lines = [
        "# Memory and artifact size (issue 6 targets)", "",
        f"{result['date']}, {_machine(result['machine'])}; generated by `benchmarks/memory.py` "
        f"({result['runs']} runs per child process, OMP_NUM_THREADS={result['threads']}). "
        "MiB = 2^20 bytes.", "",
        f"Targets: peak resident memory <= {MEMORY_TARGET} x (kept weights + index tables + largest live "
        f"activations); artifact <= {ARTIFACT_TARGET} x (kept weights + index tables).", "",
        "## Artifact size", "",
        "| network | variant | kept weights | index tables (/ weights) | artifact (so + meta) | .rodata "
        "| .text | f32 constants emitted | ratio (target) | artifact / kept weights |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        a = r["artifact"]
        lines.append(f"| {r['network']} | {r['variant']} | {_mib(r['kept_weight_bytes'])} "
                     f"| {_mib(r['index_bytes'])} ({r['index_bytes'] / r['kept_weight_bytes']:.0%}) "
                     f"| {_mib(a['artifact_bytes'])} | {_mib(a['rodata_bytes'])} | {_mib(a['text_bytes'])} "
                     f"| {_mib(a['constants'].get('f32', 0))} | {_ok(r['artifact_ratio'], ARTIFACT_TARGET)} "
                     f"| {r['artifact_vs_weights']:.2f} |")
    lines += [
        "", "## Peak resident memory", "",
        "Peak = VmHWM after the runs minus the RSS before loading, in a fresh process that imported "
        "numpy and the PConv runtime only. tuned: the runtime's malloc settings (default); untuned: "
        "`PCONV_MALLOC_TUNING=0`. Anon / file: growth of the resident anonymous "
        "(heap, stacks) and file-backed (library: code and weights) memory from before loading to the end "
        "of the tuned run.", "",
        "| network | variant | weights + indices | live activations (at) | reference | peak tuned "
        "| ratio tuned | peak untuned | ratio untuned | anon / file growth (tuned) "
        "| tuned peak / (weights + act.) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        t, u, act = r["runs"]["tuned"], r["runs"]["untuned"], r["activations"]
        lines.append(
            f"| {r['network']} | {r['variant']} | {_mib(r['kept_weight_bytes'] + r['index_bytes'])} "
            f"| {_mib(act['peak_live_bytes'])} ({act['peak_at']}) | {_mib(r['memory_reference_bytes'])} "
            f"| {_mib(t['peak_minus_baseline_bytes'])} | {_ok(t['ratio'], MEMORY_TARGET)} "
            f"| {_mib(u['peak_minus_baseline_bytes'])} | {_ok(u['ratio'], MEMORY_TARGET)} "
            f"| {_mib(t['anon_growth_kib'] * 1024)} / {_mib(t['file_growth_kib'] * 1024)} "
            f"| {t['ratio_vs_weights']:.2f} |")
    bounds = ", ".join(f"{r['network']}/{r['variant']} {_mib(r['activations']['largest_layer_io_bytes'])} MiB"
                       for r in rows)
    lines += ["", f"Largest input + output of one layer (the simple bound): {bounds}."]
    if result.get("notes"):
        lines += ["", *result["notes"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.split("\n\n")[0])
    p.add_argument("--network", action="append", choices=[*NETWORKS, "tiny"],
                   help="network to measure (repeatable; default: all four)")
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma list of pruned,dense (default both)")
    p.add_argument("--runs", type=int, default=5, help="runs in each child process (default 5)")
    p.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of the child (default 1)")
    p.add_argument("--work", type=Path, default=WORK / "memory", help="where artifacts are saved")
    p.add_argument("--out", type=Path, default=RESULTS / "memory",
                   help="results stem: writes OUT.json and OUT.md (default benchmarks/results/memory)")
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    if args.child is not None:
        print(json.dumps(_child(args.child, args.runs)))
        return 0
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in VARIANTS:
            p.error(f"unknown variant {v!r}; known: {','.join(VARIANTS)}")
    from benchmarks.run import machine_info

    result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                              "machine": machine_info(), "runs": args.runs, "threads": args.threads,
                              "rows": []}
    for name in args.network or NETWORKS:
        for variant in variants:
            print(f"[memory] {name} {variant} ...", file=sys.stderr, flush=True)
            row = measure_network(name, variant, args.work, args.runs, args.threads)
            result["rows"].append(row)
            print(f"[memory] {name} {variant}: artifact {row['artifact_ratio']:.2f}x, peak "
                  f"{row['runs']['tuned']['ratio']:.2f}x (untuned {row['runs']['untuned']['ratio']:.2f}x)",
                  file=sys.stderr, flush=True)
            write_json(args.out.with_suffix(".json"), result)
    args.out.with_suffix(".md").write_text(render(result))
    print(args.out.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
