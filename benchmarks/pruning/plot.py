"""The evaluation's figure: accuracy vs conv compression and accuracy vs library size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STYLE = {
    "admm": {"label": "ADMM (pattern + connectivity)", "color": "tab:blue", "marker": "o"},
    "one-shot": {"label": "one-shot projection + fine-tune", "color": "tab:orange", "marker": "s"},
    "irregular": {"label": "irregular magnitude + fine-tune", "color": "tab:green", "marker": "^"},
}


def accuracy_vs_compression(summary: dict[str, Any], patterns: int, keep: float, path: Path) -> None:
    """Two panels: the keep-rate sweep against conv-weight compression, and the K sweep."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    dense = summary["dense_sweep_seeds"]
    for ax in (left, right):
        ax.axhline(dense["mean"], color="black", linestyle="--", linewidth=1, label="dense")
        ax.axhspan(dense["mean"] - 0.5, dense["mean"], color="black", alpha=0.06, label="dense - 0.5 pt")

    keep_points = sorted(summary["sweeps"]["keep"], key=lambda p: p["compression"])
    for i, (method, style) in enumerate(STYLE.items()):
        dodge = 1.025 ** (i - 1)  # keep the error bars of the three methods apart
        left.errorbar(
            [p["compression"] * dodge for p in keep_points],
            [p[method]["mean"] for p in keep_points],
            yerr=[p[method]["std"] for p in keep_points],
            capsize=3,
            **style,
        )
    for p in keep_points:
        kept = "all" if p["keep"] >= 1.0 else f"1/{1 / p['keep']:.1f}"
        left.annotate(
            f"keep {kept}",
            (p["compression"], 100.0),
            textcoords="offset points",
            xytext=(0, 3),
            ha="center",
            fontsize=7,
        )
    left.set_xscale("log", base=2)
    ticks = [p["compression"] for p in keep_points]
    left.set_xticks(ticks, [f"{t:.1f}x" for t in ticks])
    left.minorticks_off()
    left.set_xlabel("conv weight compression (dense / kept), log scale")
    left.set_ylabel("test accuracy (%)")
    left.set_title(f"K = {patterns} patterns, connectivity keep rate swept")

    k_points = sorted(summary["sweeps"]["patterns"], key=lambda p: p["patterns"])
    for i, (method, style) in enumerate(STYLE.items()):
        right.errorbar(
            [p["patterns"] + 0.12 * (i - 1) for p in k_points],
            [p[method]["mean"] for p in k_points],
            yerr=[p[method]["std"] for p in k_points],
            capsize=3,
            **style,
        )
    right.set_xticks([p["patterns"] for p in k_points])
    right.set_xlabel("library size K (patterns of 4 taps)")
    right.set_title(f"keep 1/{1 / keep:.1f} of the kernels ({k_points[0]['compression']:.1f}x compression)")
    lows = [p[m]["mean"] - p[m]["std"] for pts in (keep_points, k_points) for p in pts for m in STYLE]
    bottom = min(min(lows), dense["mean"] - 1.0)
    for ax in (left, right):
        ax.set_ylim(bottom - 0.2, 100.2)
        ax.grid(alpha=0.3)
    left.legend(fontsize=8, loc="lower left")
    fig.suptitle("Pattern pruning on scikit-learn digits (mean ± std over seeds)")
    fig.savefig(path, dpi=120)
    plt.close(fig)
