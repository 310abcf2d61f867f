"""Bounded fuzzing of pconv-opt (pconv.fuzz): no crash or hang, only diagnostics.

The time budget is PCONV_FUZZ_SECONDS (default 15 s); a finding prints the
case number, generator and pipeline, so `python -m pconv.fuzz --seed N` replays
it; a crasher, once fixed, becomes a lit regression test next to its pass's
test (e.g. the dangling option list found in pconv-choose-tiles: the TUNED
run of test/Transforms/pconv-choose-tiles.mlir)."""

import os
import random

from pconv import fuzz


def test_generators_make_valid_and_invalid_ir():
    outcomes = {"conv": set(), "linalg": set()}
    for seed in range(40):
        rng = random.Random(seed)
        for name, gen in (("conv", fuzz.gen_conv), ("linalg", fuzz.gen_linalg)):
            text = gen(random.Random(rng.random()))
            outcome, output = fuzz.run_case(text, fuzz.PIPELINES[0] if name == "conv" else fuzz.PIPELINES[3])
            assert outcome in ("ok", "diagnostic"), output
            outcomes[name].add(outcome)
    # Not vacuous: valid inputs get through the lowering, broken ones are diagnosed.
    assert outcomes["conv"] == {"ok", "diagnostic"}
    assert "ok" in outcomes["linalg"]


def test_fuzz_finds_no_crash_or_hang():
    seconds = float(os.environ.get("PCONV_FUZZ_SECONDS", "15"))
    counts, findings = fuzz.fuzz(seconds, seed=int(os.environ.get("PCONV_FUZZ_SEED", "1000")))
    report = "\n".join(f"{f.kind}: python -m pconv.fuzz --seed {f.seed} ({f.generator}, {f.pipeline})\n"
                       f"{f.output[-800:]}" for f in findings)
    assert not findings, report
    assert sum(counts.values()) > 10
