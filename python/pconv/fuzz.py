"""Fuzzing pconv-opt: generated and mutated IR through PConv's passes.

    .venv/bin/python -m pconv.fuzz --seconds 60            # report crashers
    .venv/bin/python -m pconv.fuzz --seconds 60 --out dir  # and save them

Three generators, all deterministic in their seed so a failure is reproducible:

* ``conv``: a random ``pconv.conv2d`` (shapes, strides, padding, dilation,
  library, kernel table, tile and schedule attributes), mostly valid, sometimes
  broken on purpose (ids out of range, wrong weight count, bad attributes);
* ``linalg``: a random ``linalg.conv_2d_nchw_fchw`` with constant weights that
  are pattern-sparse, dense, or neither, through the import pass;
* ``mutate``: a lit test of the repository with random byte/token mutations.

Each input runs through a pass pipeline of ``pconv-opt`` (the verifier runs
after every pass). Allowed outcomes: success, or a failure with a diagnostic
(``error:`` and exit code 1). A crash (signal, LLVM's "PLEASE submit a bug
report", "LLVM ERROR") or a hang (timeout) is a finding.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .toolchain import repo_root, tool

__all__ = ["Finding", "PIPELINES", "fuzz", "gen_conv", "gen_linalg", "mutate", "run_case"]

PIPELINES = [
    "builtin.module(pconv-choose-tiles,pconv-group-patterns,func.func(pconv-lower-to-vectors))",
    "builtin.module(func.func(pconv-reorder-filters,pconv-lower-to-loops))",
    "builtin.module(func.func(pconv-lower-to-vectors{vector-width=4 shifted-copies=true}))",
    "builtin.module(func.func(pconv-import-linalg,pconv-fuse-activation),"
    "pconv-to-llvm{import=false vector-width=8})",
]


@dataclass
class Finding:
    kind: str  # "crash" or "hang"
    seed: int
    generator: str
    pipeline: str
    text: str
    output: str

    def command(self, path: str) -> str:
        return f"pconv-opt {path} --pass-pipeline='{self.pipeline}'"


def _library(rng: random.Random, broken: bool) -> tuple[list[list[int]], str]:
    k = rng.randint(1, 4)
    patterns: list[list[int]] = []
    while len(patterns) < k:
        p = sorted(rng.sample(range(9), 4))
        if p not in patterns:
            patterns.append(p)
    if broken and rng.random() < 0.3:
        victim = rng.randrange(k)
        patterns[victim] = rng.choice([[0, 1, 2], [0, 0, 1, 2], [1, 3, 4, 9], [4, 3, 2, 1]])
    text = "#pconv.patterns<3x3, taps = 4, [" + ", ".join(
        "[" + ", ".join(map(str, p)) + "]" for p in patterns) + "]>"
    return patterns, text


def gen_conv(rng: random.Random) -> str:
    """A function with one random pconv.conv2d (sometimes invalid)."""
    broken = rng.random() < 0.25
    n, c, f = rng.randint(1, 2), rng.randint(1, 6), rng.randint(1, 6)
    h, w = rng.randint(1, 12), rng.randint(1, 12)
    sh, sw = rng.randint(1, 3), rng.randint(1, 3)
    dh, dw = rng.randint(1, 2), rng.randint(1, 2)
    pad = [rng.randint(0, 2) for _ in range(4)]
    if broken and rng.random() < 0.2:
        pad[rng.randrange(4)] = -1
    patterns, lib = _library(rng, broken)
    ids = [[rng.choice([-1] + list(range(len(patterns)))) for _ in range(c)] for _ in range(f)]
    if broken and rng.random() < 0.3:
        ids[0][0] = len(patterns) + rng.randint(0, 3)
    kept = sum(v >= 0 for row in ids for v in row)
    nweights = kept * 4 + (rng.choice([-1, 1, 4]) if broken and rng.random() < 0.3 else 0)
    oh = (h + pad[0] + pad[2] - dh * 2 - 1) // sh + 1
    ow = (w + pad[1] + pad[3] - dw * 2 - 1) // sw + 1
    if oh < 1 or ow < 1:
        oh, ow = max(oh, 1), max(ow, 1)  # invalid on purpose: the verifier must say so
    if broken and rng.random() < 0.2:
        ow += 1
    attrs = []
    if rng.random() < 0.5:
        fields = {"rows": rng.randint(0 if broken else 1, 7), "vectors": rng.randint(1, 3),
                  "channel_block": rng.randint(1, c + 1), "filter_groups": rng.randint(1, f + 2)}
        chosen = rng.sample(sorted(fields), rng.randint(1, 4))
        attrs.append("pconv.tile = {" + ", ".join(f"{k} = {fields[k]}" for k in chosen) + "}")
    if broken and rng.random() < 0.2:
        attrs.append("pconv.schedule = {channel_block = 1, group_start = array<i32: 0, 1>, "
                     "row_ptr = array<i32: 0>, channel = array<i32>, weight_offset = array<i32>}")
    attr_text = " {" + ", ".join(attrs) + "}" if attrs else ""
    bias = rng.random() < 0.5
    relu = " relu" if rng.random() < 0.5 else ""
    table = "[" + ", ".join("[" + ", ".join(map(str, row)) + "]" for row in ids) + "]"
    in_t, out_t = f"tensor<{n}x{c}x{h}x{w}xf32>", f"tensor<{n}x{f}x{oh}x{ow}xf32>"
    w_t, b_t = f"tensor<{max(nweights, 0)}xf32>", f"tensor<{f}xf32>"
    weights = ", ".join(f"{rng.uniform(-1, 1):.3f}" for _ in range(max(nweights, 0)))
    lines = [f"func.func @f(%x: {in_t}) -> {out_t} {{",
             f"  %w = arith.constant dense<[{weights}]> : {w_t}"]
    if bias:
        lines.append(f"  %b = arith.constant dense<0.5> : {b_t}")
    operands = "%x, %w" + (" bias(%b)" if bias else "")
    types = ", ".join([in_t, w_t] + ([b_t] if bias else []))
    lines += [f"  %y = pconv.conv2d {operands} library {lib} kernels dense<{table}> : tensor<{f}x{c}xi8>"
              f" strides [{sh}, {sw}] padding [{', '.join(map(str, pad))}] dilations [{dh}, {dw}]{relu}"
              f"{attr_text} : ({types}) -> {out_t}",
              f"  return %y : {out_t}", "}"]
    return "\n".join(lines) + "\n"


def gen_linalg(rng: random.Random) -> str:
    """A linalg conv with constant weights: pattern-sparse, dense, or neither."""
    n, c, f = 1, rng.randint(1, 4), rng.randint(1, 4)
    k = rng.choice([1, 3, 3, 3, 5])
    h = w = rng.randint(k, 10)
    s = rng.randint(1, 2)
    oh = (h - k) // s + 1
    mode = rng.choice(["pattern", "dense", "random"])
    masks = [sorted(rng.sample(range(k * k), min(4, k * k))) for _ in range(2)]
    values = []
    for _ in range(f * c):
        if mode == "pattern" and k == 3:
            mask = rng.choice(masks + [[]])
            values += [round(rng.uniform(-1, 1), 3) if i in mask else 0.0 for i in range(9)]
        elif mode == "dense":
            values += [round(rng.uniform(-1, 1), 3) for _ in range(k * k)]
        else:
            values += [round(rng.uniform(-1, 1), 3) if rng.random() < 0.4 else 0.0 for _ in range(k * k)]
    wt = f"tensor<{f}x{c}x{k}x{k}xf32>"
    ot = f"tensor<{n}x{f}x{oh}x{oh}xf32>"
    return (f"func.func @f(%x: tensor<{n}x{c}x{h}x{w}xf32>) -> {ot} {{\n"
            f"  %w = arith.constant dense<[{', '.join(map(str, values))}]> : tensor<{len(values)}xf32>\n"
            f"  %w4 = tensor.expand_shape %w [[0, 1, 2, 3]] output_shape [{f}, {c}, {k}, {k}] "
            f": tensor<{len(values)}xf32> into {wt}\n"
            f"  %z = arith.constant 0.0 : f32\n"
            f"  %e = tensor.empty() : {ot}\n"
            f"  %i = linalg.fill ins(%z : f32) outs(%e : {ot}) -> {ot}\n"
            f"  %y = linalg.conv_2d_nchw_fchw {{dilations = dense<1> : tensor<2xi64>, "
            f"strides = dense<{s}> : tensor<2xi64>}} ins(%x, %w4 : tensor<{n}x{c}x{h}x{w}xf32>, {wt}) "
            f"outs(%i : {ot}) -> {ot}\n"
            f"  return %y : {ot}\n}}\n")


def _corpus() -> list[str]:
    root = repo_root() / "test"
    return [p.read_text() for p in sorted(root.glob("*/*.mlir"))]


def mutate(rng: random.Random, text: str) -> str:
    """A few random edits of `text` (digits, tokens, deleted or duplicated lines)."""
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("//")]
    for _ in range(rng.randint(1, 4)):
        if not lines:
            break
        i = rng.randrange(len(lines))
        line = lines[i]
        op = rng.randrange(5)
        if op == 0 and any(ch.isdigit() for ch in line):
            pos = rng.choice([j for j, ch in enumerate(line) if ch.isdigit()])
            line = line[:pos] + rng.choice("0123456789-") + line[pos + 1:]
        elif op == 1 and line:
            pos = rng.randrange(len(line))
            line = line[:pos] + line[pos + 1:]
        elif op == 2:
            lines.insert(i, line)
        elif op == 3:
            line = line.replace(rng.choice(["1", "2", "3", "4"]), rng.choice(["0", "7", "13", "-1"]), 1)
        else:
            del lines[i]
            continue
        lines[i] = line
    return "\n".join(lines) + "\n"


_CRASH_MARKS = ("PLEASE submit a bug report", "LLVM ERROR", "Assertion", "Stack dump")


def run_case(text: str, pipeline: str, timeout: float = 20.0) -> tuple[str, str]:
    """Runs pconv-opt; returns ("ok" | "diagnostic" | "crash" | "hang", output)."""
    try:
        proc = subprocess.run([tool("pconv-opt"), "-", f"--pass-pipeline={pipeline}", "-split-input-file",
                               "-o", "/dev/null"], input=text, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "hang", ""
    out = proc.stderr
    if proc.returncode < 0 or any(m in out for m in _CRASH_MARKS):
        return "crash", out
    if proc.returncode == 0:
        return "ok", out
    return ("diagnostic" if "error:" in out else "crash"), out


def fuzz(seconds: float, seed: int = 0, out: Path | None = None) -> tuple[dict[str, int], list[Finding]]:
    """Runs cases from `seed` on until `seconds` pass; returns outcome counts and findings."""
    corpus = _corpus()
    counts: dict[str, int] = {}
    findings: list[Finding] = []
    start = time.monotonic()
    case = seed
    while time.monotonic() - start < seconds:
        rng = random.Random(case)
        generator = ("conv", "conv", "linalg", "mutate")[case % 4]
        if generator == "conv":
            text = gen_conv(rng)
        elif generator == "linalg":
            text = gen_linalg(rng)
        else:
            text = mutate(rng, rng.choice(corpus))
        pipeline = PIPELINES[rng.randrange(len(PIPELINES))]
        outcome, output = run_case(text, pipeline)
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome in ("crash", "hang"):
            finding = Finding(outcome, case, generator, pipeline, text, output[-2000:])
            findings.append(finding)
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                path = out / f"{outcome}-{case}.mlir"
                path.write_text(f"// {finding.command(path.name)}\n" + text)
        case += 1
    return counts, findings


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0, help="first case number")
    ap.add_argument("--out", type=Path, help="folder for crashing inputs")
    a = ap.parse_args()
    counts, findings = fuzz(a.seconds, a.seed, a.out)
    print("outcomes:", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for f in findings:
        print(f"{f.kind}: case {f.seed} ({f.generator}) with {f.pipeline}\n{f.output[-600:]}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
