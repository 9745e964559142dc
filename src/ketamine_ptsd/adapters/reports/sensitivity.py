"""The estimand's sensitivity analysis for the report (ICH E9(R1); core/stats/mi.py): the
primary outcome re-analysed by reference-based imputation — jump to reference (JR) for every
patient whose outcome is missing after discontinuation, conditional mean imputation with
jackknife SEs — and a tipping-point analysis with its plot.

Matplotlib (Agg) only here; the numbers come from the core. ``tipping_point_figure`` is also
what ``stats mi --tipping-plot`` writes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

from ketamine_ptsd.core.analysis.model import TIME_LABELS
from ketamine_ptsd.core.analysis.sensitivity import SensitivityAnalysis
from ketamine_ptsd.core.stats.mi import TippingPoint

if TYPE_CHECKING:
    from ketamine_ptsd.adapters.reports.builder import Table

__all__ = ["sensitivity_table", "tipping_point_figure"]


def _p(p: float) -> str:
    if math.isnan(p):
        return "–"
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def sensitivity_table(sens: SensitivityAnalysis, difference_label: str) -> Table:
    """The JR differences per visit (with LS means) and, in the note, the method, the counts
    and the tipping point."""
    from ketamine_ptsd.adapters.reports.builder import Table

    res = sens.result
    arms = sorted({m.group for m in res.lsmeans}, key=lambda g: g != sens.reference)
    lsm = {(m.group, m.time): m for m in res.lsmeans}
    rows = tuple(
        (
            sens.label,
            TIME_LABELS.get(d.time, d.time),
            *(f"{lsm[(a, d.time)].estimate:.2f} ({lsm[(a, d.time)].se:.2f})" for a in arms),
            f"{d.estimate:.2f}",
            f"{d.se:.2f}",
            f"{d.ci_low:.2f} to {d.ci_high:.2f}",
            _p(d.p),
        )
        for d in res.differences
    )
    note = (
        f"Jump to reference ({sens.reference}) from each patient's dropout (the first of the "
        f"trailing missing visits; {sens.n_dropouts} of {sens.n_subjects} patients), conditional "
        f"mean imputation from the MMRM (arm × visit + baseline × visit, unstructured, REML), "
        f"ANCOVA on arm and baseline per visit, jackknife SEs, {res.level:.1%} CI "
        f"(Carpenter et al. 2013; Wolbers et al. 2022). Values imputed: {res.n_imputed}."
    )
    if sens.n_without_baseline:
        note += f" {sens.n_without_baseline} patients without a baseline value left out."
    tp = sens.tipping
    if tp is not None:
        if tp.delta is None:
            note += (
                f" Tipping point: none up to δ = {tp.searched_to:.2f} added to {tp.active}'s "
                f"imputed values at {TIME_LABELS.get(tp.time, tp.time)}."
            )
        elif tp.delta == 0.0:
            note += (
                f" At {TIME_LABELS.get(tp.time, tp.time)} the difference is not significant at "
                f"α = {tp.alpha:g} without any shift."
            )
        else:
            note += (
                f" Tipping point: adding δ = {tp.delta:.2f} {sens.unit} to every imputed value "
                f"of {tp.active} makes the difference at {TIME_LABELS.get(tp.time, tp.time)} "
                f"non-significant (p ≥ {tp.alpha:g})."
            )
    elif sens.note:
        note += " " + sens.note
    return Table(
        "sensitivity",
        f"Sensitivity analysis: {sens.label}, jump to reference ({difference_label})",
        ("Outcome", "Time", *(f"{a} LS mean (SE)" for a in arms), "Difference", "SE", "CI", "p"),
        rows,
        note,
    )


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
