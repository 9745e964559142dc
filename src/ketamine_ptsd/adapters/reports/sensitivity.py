"""The estimand's sensitivity analysis for the report (ICH E9(R1); core/stats/mi.py): the
primary outcome re-analysed by reference-based imputation — jump to reference (JR) for every
patient whose outcome is missing after discontinuation, conditional mean imputation with
jackknife SEs — and a tipping-point analysis with its plot.

Matplotlib (Agg) only here; the numbers come from the core. ``tipping_point_figure`` is also
what ``stats mi --tipping-plot`` writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

from ketamine_ptsd.core.stats.mi import MIResult, TippingPoint

__all__ = ["SensitivityResult", "tipping_point_figure"]


@dataclass(frozen=True)
class SensitivityResult:
    """JR analysis of one outcome and its tipping point, for the report's template."""

    outcome: str
    unit: str
    strategy: str
    n_ice: int
    result: MIResult
    tipping: TippingPoint


def tipping_point_figure(tp: TippingPoint, *, outcome: str = "") -> Figure:
    """Effect (first arm − second) with its CI against δ, the shift added to every imputed
    value of the active arm; the tipping point (p reaches α) marked."""
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    deltas = [d for d, _ in tp.curve]
    est = [r.estimate for _, r in tp.curve]
    lo = [r.ci_low for _, r in tp.curve]
    hi = [r.ci_high for _, r in tp.curve]
    ax.fill_between(deltas, lo, hi, color="#2c6fbb", alpha=0.2, label=f"{1 - tp.alpha:.0%} CI")
    ax.plot(deltas, est, color="#2c6fbb", lw=2, label="difference")
    ax.axhline(0.0, color="black", lw=0.8)
    if tp.delta is not None and math.isfinite(tp.delta):
        ax.axvline(tp.delta, color="#c0392b", ls="--", lw=1.2)
        ax.annotate(
            f"tipping point δ = {tp.delta:.2f}",
            xy=(tp.delta, 0.0),
            xytext=(6, 10),
            textcoords="offset points",
            color="#c0392b",
            fontsize=9,
        )
    ax.set_xlabel(f"δ added to every imputed value of {tp.active}")
    ax.set_ylabel(f"difference at {tp.time}" + (f" ({outcome})" if outcome else ""))
    ax.set_title("Tipping-point analysis (reference-based MI)", fontsize=11, loc="left")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    return fig
