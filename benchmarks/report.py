"""Markdown tables, PNG plots and a paste-able summary from a results JSON.

    .venv/bin/python -m benchmarks.report benchmarks/results/quick.json   # regenerate

Every number comes from the JSON; nothing is edited by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

NOT_TIMED = ("not-run", "skipped", "timeout", "error")


def _ms(row: dict) -> float | None:
    return (row.get("timing") or {}).get("median_ms")


def _fmt(v: float | None, spec: str = ".2f", none: str = "–") -> str:
    return none if v is None else format(v, spec)


def _short_reason(r: str | None, n: int = 140) -> str:
    if not r:
        return ""
    r = r.replace("|", "/").replace("\n", " ")
    return r if len(r) <= n else r[: n - 1] + "…"


def pconv_ms(rows: list[dict], net: str, threads: int) -> float | None:
    for r in rows:
        if r["engine"] == "pconv" and r.get("network") == net and r["threads"] == threads and r.get("status") == "ok":
            return _ms(r)
    return None


def network_table(result: dict, net: str) -> list[str]:
    rows = [r for r in result["rows"] if r.get("network") == net]
    meta = result["networks"].get(net, {})
    dense_w = meta.get("dense_weight_bytes") or 0
    out = [f"### {net}", "",
           f"Input {tuple(meta.get('input_shape', []))}; dense {meta.get('dense_macs', 0) / 1e9:.2f} GMAC, "
           f"kept after pruning {meta.get('kept_macs', 0) / 1e9:.2f} GMAC "
           f"({(meta.get('dense_macs') or 1) / max(meta.get('kept_macs') or 1, 1):.1f}x fewer); dense weights "
           f"{dense_w / 2**20:.1f} MiB, kept {meta.get('kept_weight_bytes', 0) / 2**20:.1f} MiB.", "",
           "| engine | thr | status | median ms | p10–p90 ms | runs | engine / PConv | max rel err | output ok | "
           "compile s | artifact MiB (x dense w.) | peak RSS MiB run (build) | notes |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        t = r.get("timing") or {}
        ms = t.get("median_ms")
        base = pconv_ms(result["rows"], net, r["threads"])
        ratio = f"{ms / base:.2f}" if ms and base else "–"
        chk = r.get("check") or {}
        art = r.get("artifact_bytes")
        art_s = f"{art / 2**20:.1f} ({art / dense_w:.2f})" if art and dense_w else "–"
        rss = r.get("peak_rss_run_kib")
        rss_s = f"{rss / 1024:.0f} ({r.get('peak_rss_incl_build_kib', 0) / 1024:.0f})" if rss else "–"
        label = r.get("label", r["engine"]) + ("" if r.get("fp32", True) else " ⚠ not fp32")
        status = r.get("status", "?")
        notes = _short_reason(r.get("reason")) if status != "ok" else _short_reason(r.get("notes"), 80)
        out.append(
            f"| {label} | {r['threads']} | {status} | {_fmt(ms)} | "
            f"{(_fmt(t.get('p10_ms')) + '–' + _fmt(t.get('p90_ms'))) if t else '–'} | {t.get('runs', '–')} | {ratio} | "
            f"{_fmt(chk.get('max_rel_err'), '.1e')} | {'yes' if chk.get('pass') else ('no' if chk else '–')} | "
            f"{_fmt(r.get('compile_s'), '.1f')} | {art_s} | {rss_s} | {notes} |")
    out.append("")
    return out


# A dense row whose output missed the check by less than this factor of the tolerance
# (Winograd's rounding on a single random-weight layer: MNN at 1.0e-3 to 1.3e-3) is
# not counted as the best dense engine, but the summary also gives the ratios with it.
NEAR_MISS_FACTOR = 10.0


def _near_miss(row: dict) -> bool:
    """A timed dense row whose only fault is an output error under NEAR_MISS_FACTOR x the tolerance."""
    check = row.get("check") or {}
    err, tol = check.get("max_rel_err"), check.get("tolerance_rel")
    return (row.get("status") == "wrong-output" and _ms(row) is not None and err is not None
            and tol is not None and err <= NEAR_MISS_FACTOR * tol)


def layer_summary(result: dict) -> list[dict]:
    """Per layer: PConv vs the best dense engine (fp32, correct output); ``near_*`` keys
    also count dense rows that missed the output check narrowly (``_near_miss``)."""
    peak = (result.get("peak") or {}).get("peak_gflops")
    by_case: dict[str, list[dict]] = {}
    for r in result.get("layer_rows", []):
        if r.get("case"):
            by_case.setdefault(r["case"], []).append(r)
    out = []
    for case, meta in result.get("layer_cases", {}).items():
        rows = by_case.get(case, [])
        pc = next((r for r in rows if r["engine"] == "pconv" and r.get("status") == "ok"), None)
        dense = [r for r in rows if not r["engine"].startswith("pconv") and r.get("status") == "ok" and _ms(r)]
        best = min(dense, key=_ms) if dense else None
        kept, dmacs = meta["kept_macs"], meta["dense_macs"]
        e: dict[str, Any] = {"case": case, "network": meta["network"], "layer": meta["layer"],
                             "shape": f"{meta['cin']}->{meta['cout']} @{meta['hw_in'][0]}x{meta['hw_in'][1]}"
                                      + (f" s{meta['stride']}" if meta['stride'] != 1 else ""),
                             "kernels_kept": f"{meta['kernels_kept']}/{meta['kernels_total']}",
                             "kept_macs": kept, "dense_macs": dmacs}
        if pc:
            e["pconv_ms"] = _ms(pc)
            e["pconv_eff_gflops"] = 2 * kept / (_ms(pc) * 1e-3) / 1e9
            e["pconv_frac_peak"] = e["pconv_eff_gflops"] / peak if peak else None
        else:
            bad = next((r for r in rows if r["engine"] == "pconv"), {})
            e["pconv_error"] = bad.get("reason") or bad.get("status") or "not run"
        if best:
            e["best_dense"] = best.get("label", best["engine"])
            e["dense_ms"] = _ms(best)
            e["dense_gflops"] = 2 * dmacs / (_ms(best) * 1e-3) / 1e9
            e["dense_frac_peak"] = e["dense_gflops"] / peak if peak else None
            e["dense_eff_gflops"] = 2 * kept / (_ms(best) * 1e-3) / 1e9
        if pc and best:
            e["speedup_vs_best_dense"] = _ms(best) / _ms(pc)
        near = [r for r in rows if not r["engine"].startswith("pconv") and _near_miss(r)]
        near_best = min(dense + near, key=_ms) if dense or near else None
        if pc and near_best:
            e["near_speedup"] = _ms(near_best) / _ms(pc)
            if near_best in near:
                e["near_engine"] = near_best.get("label", near_best["engine"])
                e["near_rel_err"] = near_best["check"]["max_rel_err"]
        e["all"] = {r["engine"]: _ms(r) for r in rows if r.get("status") == "ok"}
        out.append(e)
    return out


def near_miss_line(ls: list[dict]) -> str:
    """The per-layer ratios counting narrowly failed dense rows, when one of them is the fastest."""
    hits = [e for e in ls if "near_engine" in e]
    sp = sorted(e["near_speedup"] for e in ls if "near_speedup" in e)
    if not hits or not sp:
        return ""
    engines = ", ".join(sorted({e["near_engine"] for e in hits}))
    errs = sorted(e["near_rel_err"] for e in hits)
    return (f"Counting dense rows whose output missed the check by less than {NEAR_MISS_FACTOR:g}x the tolerance "
            f"({engines} on {len(hits)} layer(s), max rel err {errs[0]:.1e}–{errs[-1]:.1e}), time vs the best "
            f"dense engine is {sp[0]:.2f}x–{sp[-1]:.2f}x (median {sp[len(sp) // 2]:.2f}x).")


def layer_table(result: dict) -> list[str]:
    peak = (result.get("peak") or {}).get("peak_gflops")
    ls = layer_summary(result)
    if not ls:
        return []
    out = ["## Per-layer: PConv pattern conv vs the best dense engine (1 thread)", "",
           f"Effective GFLOP/s = 2 x kept (non-zero weight) MACs / time; dense GFLOP/s = 2 x dense MACs / time. "
           f"Peak = measured single-core peak (best of a 2048^3 sgemm and an AVX-512 FMA register loop), {_fmt(peak, '.1f')} GFLOP/s. Kept MACs count every non-zero "
           "weight at every output pixel (zero-padding taps at the border included). A dense engine above 100% of "
           "the peak computes fewer multiplies than the dense count (Winograd, e.g. MNN) or ran while the sgemm "
           "reference was slowed by other jobs on this shared machine.", "",
           "| layer | shape | kernels kept | kept MMAC | PConv ms | PConv eff. GFLOP/s (% peak) | best dense engine | "
           "dense ms | dense GFLOP/s (% peak) | PConv speed-up |", "|---|---|---|---|---|---|---|---|---|---|"]
    for e in ls:
        pct = lambda f: f" ({100 * f:.1f}%)" if f is not None else ""  # noqa: E731
        pc = (f"{e['pconv_eff_gflops']:.2f}{pct(e.get('pconv_frac_peak'))}" if "pconv_eff_gflops" in e
              else "not run: " + _short_reason(e.get("pconv_error"), 60))
        dn = f"{e['dense_gflops']:.1f}{pct(e.get('dense_frac_peak'))}" if "dense_gflops" in e else "–"
        sp = f"{e['speedup_vs_best_dense']:.2f}x" if "speedup_vs_best_dense" in e else "–"
        out.append(f"| {e['network']}.{e['layer']} | {e['shape']} | {e['kernels_kept']} | {e['kept_macs'] / 1e6:.1f} | "
                   f"{_fmt(e.get('pconv_ms'))} | {pc} | {e.get('best_dense', '–')} | {_fmt(e.get('dense_ms'))} | "
                   f"{dn} | {sp} |")
    near = near_miss_line(ls)
    if near:
        out += ["", near]
    failed = [r for r in result.get("layer_rows", []) if r.get("status") != "ok"]
    if failed:
        out += ["", "Per-layer rows not timed or not correct (never counted as the best dense engine):", ""]
        seen = set()
        for r in failed:
            key = (r["engine"], r.get("network"), r.get("reason"))
            if key in seen:
                continue
            seen.add(key)
            out.append(f"- {r['engine']} ({r.get('network')}{', ' + r['case'] if r.get('case') else ''}): "
                       f"{r.get('status')}: {_short_reason(r.get('reason'), 200)}")
    out.append("")
    return out


def mca_section(result: dict) -> list[str]:
    m = result.get("mca")
    if not m:
        return []
    out = ["## AArch64: pattern conv inner loop under llvm-mca (cortex-a76)", ""]
    if m.get("error"):
        return out + [f"Not available: {m['error']}", ""]
    hot = m.get("loop") or m.get("hot_loop")
    out += [f"Layer {m['layer']} ({m['shape']['cin']}->{m['shape']['cout']} at {m['shape']['hw_in'][0]}x"
            f"{m['shape']['hw_in'][1]}), compiled with `pconv.compile(..., target='aarch64-linux-gnu')`, "
            f"`llc -mtriple=aarch64-linux-gnu -mcpu=cortex-a76 -O3`; no ARM latency is claimed.", "",
            "| loop | instructions | MACs / iteration | FMA / fmul / fadd / loads | llvm-mca cycles / iteration | "
            "cycles per kept MAC | FMA-bound limit | fraction of limit |", "|---|---|---|---|---|---|---|---|",
            f"| innermost, most MACs ({hot['header']}, depth {hot['depth']}) | {hot['instructions']} | {hot['macs_per_iteration']} | "
            f"{hot['fma']} / {hot['fmul']} / {hot['fadd']} / {hot['loads']} | {_fmt(m['mca'].get('cycles_per_iteration'))} | "
            f"{_fmt(m.get('cycles_per_kept_mac'), '.3f')} | {m['fma_bound_cycles_per_mac']:.3f} | "
            f"{_fmt(m.get('fraction_of_fma_bound'), '.1%')} |"]
    si = m.get("hotter_outer_loop")
    if si:
        out.append(f"| non-innermost loop with more MACs ({si['header']}, depth {si['depth']}) | {si['instructions']} | "
                   f"{si['macs_per_iteration']} | {si['fma']} / {si['fmul']} / {si['fadd']} / {si['loads']} | "
                   f"{_fmt(si.get('mca_cycles_per_iteration'))} | {_fmt(si.get('cycles_per_kept_mac'), '.3f')} | "
                   f"{m['fma_bound_cycles_per_mac']:.3f} | "
                   f"{_fmt((m['fma_bound_cycles_per_mac'] / si['cycles_per_kept_mac']) if si.get('cycles_per_kept_mac') else None, '.1%')} |")
    models = m.get("models") or []
    if models:
        out += ["", "The same loop under two llvm-mca scheduling models, against the hardware FMA bound "
                "(0.125 cycles per MAC) and against the model's own FMA-only cycle count (the loop's "
                "multiply-adds alone):", "",
                "| -mcpu | scheduling model | cycles / iteration | cycles per kept MAC | fraction of the hardware "
                "FMA bound | FMA-only cycles / iteration (model) | fraction of the model's FMA bound |",
                "|---|---|---|---|---|---|---|"]
        for c in models:
            out.append(f"| {c['cpu']} | {c.get('scheduling_model')} | {_fmt(c.get('cycles_per_iteration'))} | "
                       f"{_fmt(c.get('cycles_per_kept_mac'), '.3f')} | {_fmt(c.get('fraction_of_fma_bound'), '.1%')} | "
                       f"{_fmt(c.get('fma_only_cycles_per_iteration'))} | "
                       f"{_fmt(c.get('fraction_of_modeled_fma_bound'), '.1%')} |")
        out += ["", "LLVM schedules `-mcpu=cortex-a76` with its Cortex-A57 model (resources `A57Unit*`), in which a "
                "128-bit FMLA issues once per cycle: there the FMA bound is 0.25 cycles per MAC, not the A76's "
                "0.125. Neoverse-N1 is the A76's server sibling (same core design) and is modelled with two "
                "128-bit FP pipes and two load pipes."]
    out += ["", f"FMA-bound limit: {m['fma_bound_note']}. Multiply-adds in the loop: {m.get('fp_contraction')}. "
            "Loops are read from LLVM's loop annotations in the listing; of the innermost loops the one doing the "
            "most multiply-add work per iteration is costed (its blocks as one straight-line sequence; a "
            "non-innermost loop is added when its own blocks do more, e.g. a vector body whose innermost child "
            f"is a scalar fallback). Innermost loops found: {m.get('innermost_loops')} of {m.get('loops')}. "
            f"Listing: `{Path(m['asm']).name}` (kept in the work folder).", ""]
    return out


def failures(result: dict) -> list[str]:
    bad = [r for r in result["rows"] if r.get("status") != "ok"]
    if not bad:
        return []
    out = ["## Rows not timed or not correct", ""]
    seen = set()
    for r in bad:
        key = (r["engine"], r.get("network"), r.get("status"), r.get("reason"))
        if key in seen:
            continue
        seen.add(key)
        out.append(f"- **{r.get('label', r['engine'])}** on {r.get('network')} ({r['threads']} thr): "
                   f"{r.get('status')}: {_short_reason(r.get('reason'), 400)}")
    return out + [""]


def round_trip_line(peak: dict) -> str | None:
    """The header line of the core-to-core round trips measured with the peak, if any."""
    trips = ", ".join(f"{x['round_trip_ns']:.0f} ns ({x.get('when')})"
                      for x in peak.get("measurements", []) if x.get("round_trip_ns"))
    if not trips:
        return None
    return (f"- Core-to-core round trip (two threads pinned to the first two CPUs pass one cache line, best "
            f"of 3) at each of those measurements: {trips}. On the shared Zen 4 host it was 61-77 ns in some "
            f"minutes and 328-333 ns in others, when 2-thread runs went at about 1-thread speed: 2-thread rows "
            f"are comparable within a run, where engines alternate round by round.")


def header(result: dict) -> list[str]:
    m = result["meta"]
    mach = m["machine"]
    peak = result.get("peak") or {}
    bandwidth = ", ".join(f"{x['dram_read_gbs']:.1f} GB/s ({x.get('when')})"
                          for x in peak.get("measurements", []) if x.get("dram_read_gbs"))
    round_trips = round_trip_line(peak)
    return [f"# PConv benchmarks ({m['mode']})", "",
            f"- Date: {m['date_utc']}; run took {m.get('elapsed_s', 0):.0f} s",
            f"- Machine: {mach.get('cpu', '?')}, {mach.get('cores')} cores, {mach.get('mem_gib')} GiB, "
            f"AVX-512 {'yes' if mach.get('avx512f') else 'no'}, AMX {'yes' if mach.get('amx') else 'no'}; "
            f"load average at start {tuple(round(x, 2) for x in mach.get('loadavg_start', []))} "
            f"(shared machine: absolute times are noisy, ratios measured side by side are the unit)",
            f"- Measured single-core peak: {_fmt(peak.get('peak_gflops'), '.1f')} GFLOP/s "
            f"(sgemm {peak.get('n')}^3, one thread: numpy {_fmt(peak.get('numpy_gflops'), '.1f')}, "
            f"torch {_fmt(peak.get('torch_gflops'), '.1f')}; AVX-512 FMA register loop "
            f"{_fmt(peak.get('fma_probe_gflops'), '.1f')}; best of {len(peak.get('measurements', []))} measurements "
            f"in this run: " + ", ".join(f"{_fmt(x.get('peak_gflops'), '.0f')} ({x.get('when')})"
                                        for x in peak.get('measurements', [])) + ")",
            *([f"- Memory read bandwidth of one core at each of those measurements (400 MiB read once, best "
               f"of 3): {bandwidth}; memory-bound layers (VGG-16's classifier) move with it."] if bandwidth else []),
            *([round_trips] if round_trips else []),
            f"- Threads: {m['threads']}, pinned (`OMP_PROC_BIND=spread OMP_PLACES=cores`) and each engine's own "
            "thread setting; every engine runs in its own process"
            + ("; **contention**: during every multi-thread row a CPU-bound process at normal priority runs "
               "on the last CPU (`--contention`)" if m['args'].get('contention') else ""),
            f"- Timing: warm-up {m['args']['warmup']} s (at least 1 run), then N runs with N = time budget "
            f"{m['args']['budget']} s / one run (at least 1); per-engine cap {m['args']['cap']:.0f} s per network. "
            + (f"The budget is split over {m['args']['rounds']} rounds of all engines in turn (a fresh worker "
               "process per round, warm-up each time), and each row pools its rounds' samples: a slow spell of "
               "this shared machine then lands on every engine, not on one engine's window. "
               if (m['args'].get('rounds') or 1) > 1 else "")
            + "Median and p10–p90 reported.",
            "- Pruning: pconv.prune, K=8 library patterns of 4 taps on every 3x3 conv; connectivity keeps 1/3.6 of "
            "the 3x3 kernels (not the first conv, not depthwise); random weights (batch norms folded)."
            + (f" Group-shared: blocks of {m['args'].get('filter_block')} consecutive filters keep the same kernels "
               "and patterns (`--filter-block`)." if (m['args'].get('filter_block') or 1) > 1 else "")
            + (f" 1x1 convs (not depthwise): connectivity keeps {m['args']['keep_1x1']:.4g} of their weights "
               "(`--keep-1x1`; their accuracy cost is not measured on these random weights)."
               if m['args'].get('keep_1x1') else ""),
            _build_line(result),
            "- Output check: every engine against PyTorch eager on the same input before timing; pass = max abs "
            "error / max |reference| <= 1e-3 (5e-2 for the bf16 row).", ""]


def _build_line(result: dict) -> str:
    m = result["meta"]
    ids = sorted({r.get("toolchain_id") for r in result["rows"] + result.get("layer_rows", [])
                  if r.get("engine", "").startswith("pconv") and r.get("toolchain_id")})
    b = m.get("pconv_build_start") or {}
    line = (f"- PConv compiler build: {', '.join(ids) or '?'} (pconv-opt built {b.get('pconv_opt_built', '?')}; "
            f"repository {m['machine'].get('git', '?')})")
    if len(ids) > 1:
        line += (" — WARNING: the compiler was rebuilt during this run, so PConv rows come from different builds "
                 "(each row's `toolchain_id` in the JSON says which)")
    return line


def write_plots(result: dict, out_dir: Path, name: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    for net in result["networks"]:
        rows = [r for r in result["rows"] if r.get("network") == net]
        engines = list(dict.fromkeys(r["engine"] for r in rows))
        threads = sorted({r["threads"] for r in rows})
        fig, ax = plt.subplots(figsize=(9, 0.45 * len(engines) * len(threads) + 1.5))
        ylabels, y = [], 0
        colors = {1: "#4c72b0", 2: "#dd8452"}
        for e in engines:
            for t in threads:
                r = next((r for r in rows if r["engine"] == e and r["threads"] == t), None)
                ms = _ms(r) if r else None
                label = (r or {}).get("label", e) + f" ({t} thr)"
                if ms and r.get("status") == "ok":
                    c = ("#2ca02c" if t == 1 else "#98df8a") if e == "pconv" else colors.get(t, "gray")
                    ax.barh(y, ms, color=c, alpha=1.0 if (r.get("fp32", True)) else 0.5)
                    ax.text(ms, y, f" {ms:.1f}", va="center", fontsize=7)
                elif ms:
                    ax.barh(y, ms, color="lightgray", hatch="//")
                    ax.text(ms, y, f" {ms:.1f} ({r.get('status')})", va="center", fontsize=7)
                else:
                    ax.text(0.0, y, f"  {(r or {}).get('status', 'missing')}", va="center", fontsize=7, color="red",
                            transform=ax.get_yaxis_transform())
                ylabels.append(label)
                y += 1
        ax.set_yticks(range(len(ylabels)), ylabels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("median latency, ms (log scale; lower is better)")
        from matplotlib.patches import Patch

        handles = [Patch(color=colors[t], label=f"{t} thread{'s' if t > 1 else ''}") for t in threads if t in colors]
        handles += [Patch(color="#2ca02c", label="PConv pattern path"),
                    Patch(color="gray", alpha=0.4, label="lighter: not fp32")]
        ax.legend(handles=handles, fontsize=7, loc="lower right")
        lo, hi = ax.get_xlim()
        ax.set_xlim(lo, hi * 2.5)
        ax.set_title(f"{net}, batch 1, fp32 — {result['meta']['date_utc']} ({name})", fontsize=9)
        fig.tight_layout()
        p = out_dir / f"{name}-latency-{net}.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        files.append(p.name)

    ls = layer_summary(result)
    peak = (result.get("peak") or {}).get("peak_gflops")
    for net in sorted({e["network"] for e in ls}):
        es = [e for e in ls if e["network"] == net]
        fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(es) + 2), 4))
        xs = range(len(es))
        w = 0.4
        ax.bar([x - w / 2 for x in xs], [e.get("pconv_eff_gflops", 0) for e in es], w, label="PConv effective (kept MACs)",
               color="#2ca02c")
        ax.bar([x + w / 2 for x in xs], [e.get("dense_gflops", 0) for e in es], w, label="best dense engine (dense MACs)",
               color="#4c72b0")
        if peak:
            ax.axhline(peak, color="red", ls="--", lw=1, label=f"measured 1-core peak {peak:.0f}")
        ax.set_xticks(list(xs), [e["layer"] for e in es], rotation=60, fontsize=7, ha="right")
        ax.set_ylabel("GFLOP/s (1 thread)")
        ax.set_title(f"{net} 3x3 layers: PConv effective GFLOP/s vs best dense engine ({name})", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        p = out_dir / f"{name}-layers-{net}.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        files.append(p.name)
    return files


def summary(result: dict, plots: list[str], name: str) -> list[str]:
    m = result["meta"]
    mach = m["machine"]
    out = [f"### Benchmark results ({m['mode']} run, {m['date_utc']})", "",
           f"Machine: {mach.get('cpu', '?')}, {mach.get('cores')} cores (shared), measured 1-core peak "
           f"{_fmt((result.get('peak') or {}).get('peak_gflops'), '.1f')} GFLOP/s. Latency in ms (median), batch 1, fp32; "
           "ratio = best dense engine / PConv (above 1: PConv faster). Generated by `benchmarks/run.py`; "
           f"full tables in `benchmarks/results/{name}.md`."
           + (" Contention run: a CPU-bound process shared the last CPU during every multi-thread row."
              if (m.get("args") or {}).get("contention") else ""), "",
           "| network | thr | PConv pattern | PConv dense path | best dense engine | its latency | ratio |",
           "|---|---|---|---|---|---|---|"]
    for net in result["networks"]:
        for t in m["threads"]:
            rows = [r for r in result["rows"] if r.get("network") == net and r["threads"] == t]
            ok = [r for r in rows if r.get("status") == "ok" and _ms(r)]
            pc = next((r for r in ok if r["engine"] == "pconv"), None)
            pd = next((r for r in ok if r["engine"] == "pconv-dense"), None)
            dense = [r for r in ok if not r["engine"].startswith("pconv") and r.get("fp32", True)]
            best = min(dense, key=_ms) if dense else None
            ratio = f"{_ms(best) / _ms(pc):.2f}" if best and pc else "–"
            pcs = _fmt(_ms(pc)) if pc else next((r.get("status") for r in rows if r["engine"] == "pconv"), "–")
            pds = _fmt(_ms(pd)) if pd else next((r.get("status") for r in rows if r["engine"] == "pconv-dense"), "–")
            out.append(f"| {net} | {t} | {pcs} | {pds} | {best.get('label') if best else '–'} | "
                       f"{_fmt(_ms(best)) if best else '–'} | {ratio} |")
    ls = [e for e in layer_summary(result) if "pconv_frac_peak" in e and e["pconv_frac_peak"] is not None]
    if ls:
        fr = sorted(e["pconv_frac_peak"] for e in ls)
        sp = sorted(e["speedup_vs_best_dense"] for e in ls if "speedup_vs_best_dense" in e)
        keep = (result.get("meta", {}).get("args") or {}).get("layer_keep")
        pruning = ("pattern pruning only" if keep == 1 else f"connectivity keep {keep:g}") if keep else ""
        out += ["", f"Per 3x3 layer ({len(ls)} layers of {', '.join(sorted({e['network'] for e in ls}))}, 1 thread"
                f"{', ' + pruning if pruning else ''}): "
                f"PConv effective GFLOP/s is {100 * fr[0]:.1f}–{100 * fr[-1]:.1f}% of the measured peak "
                f"(median {100 * fr[len(fr) // 2]:.1f}%)"
                + (f"; time vs the best dense engine on the layer: {sp[0]:.2f}x–{sp[-1]:.2f}x "
                   f"(median {sp[len(sp) // 2]:.2f}x, above 1 = PConv faster)." if sp else ".")]
        near = near_miss_line(ls)
        if near:
            out[-1] += " " + near
    mc = result.get("mca") or {}
    if mc.get("cycles_per_kept_mac"):
        out += ["", f"AArch64 (llvm-mca, cortex-a76, {mc['layer']}): the hottest pattern-conv loop costs "
                f"{mc['cycles_per_kept_mac']:.3f} cycles per kept MAC against an FMA-bound limit of "
                f"{mc['fma_bound_cycles_per_mac']:.3f} ({100 * mc['fraction_of_fma_bound']:.1f}% of the limit; "
                f"{mc.get('fp_contraction')})"
                + (f"; llvm-mca's cortex-a76 model ({mc.get('scheduling_model')}) issues one 128-bit FMA per "
                   f"cycle, and against that model's FMA-only cycle count the loop is at "
                   f"{100 * mc['fraction_of_modeled_fma_bound']:.1f}%."
                   if mc.get("fraction_of_modeled_fma_bound") else ".")]
    bad = sorted({(r.get("label", r["engine"]), r.get("status"), _short_reason(r.get("reason"), 120))
                  for r in result["rows"] if r.get("status") != "ok"})
    if bad:
        out += ["", "Rows without a valid timing: " + "; ".join(f"{l}: {s} ({why})" for l, s, why in bad[:12])]
    out += ["", "Plots: " + ", ".join(f"`benchmarks/results/{p}`" for p in plots), ""]
    return out


def write_all(result: dict, out_dir: Path, name: str) -> None:
    out_dir = Path(out_dir)
    plots = write_plots(result, out_dir, name)
    md = header(result)
    md += ["## Whole networks", ""]
    for net in result["networks"]:
        md += network_table(result, net)
        md += [f"![{net}]({name}-latency-{net}.png)", ""]
    md += layer_table(result)
    for net in sorted({e["network"] for e in layer_summary(result)}):
        md += [f"![{net} layers]({name}-layers-{net}.png)", ""]
    md += mca_section(result)
    md += failures(result)
    (out_dir / f"{name}.md").write_text("\n".join(md))
    (out_dir / f"SUMMARY-{name}.md").write_text("\n".join(summary(result, plots, name)))


if __name__ == "__main__":
    p = Path(sys.argv[1])
    res = json.loads(p.read_text())
    write_all(res, p.parent, res["meta"]["mode"])
    print(f"wrote {p.parent / (res['meta']['mode'] + '.md')}")
