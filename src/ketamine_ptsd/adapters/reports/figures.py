"""Report figures drawn with matplotlib (Agg backend, no display): each function returns a
``Figure`` the builder saves as PNG (for the HTML) and adds to the PDF.

Figures of the RCT report (PROTOCOL.md §10): the CONSORT flow; Figure 2 (A–E: CAPS-5 total and
clusters, LS means ± SE by arm over time); Figure 3 (MADRS); Figure 4 (Kaplan–Meier of loss of
response among responders, by arm, censoring marked); and the safety figures (CADSS dissociation
and vital signs over infusion-day time by arm).
"""

from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from ketamine_ptsd.core.analysis import TIME_LABELS, AnalysisResults
from ketamine_ptsd.core.stats.survival import KaplanMeier

__all__ = [
    "consort_figure",
    "durability_figure",
    "lsmeans_figure",
    "safety_infusion_figure",
]

_COLOURS = ("#c0392b", "#2c6fbb", "#27ae60", "#8e44ad")
_MARKERS = ("o", "s", "^", "D")


def _colour(results: AnalysisResults, arm: str) -> str:
    return _COLOURS[results.arms.index(arm) % len(_COLOURS)]


def _box(ax: object, x: float, y: float, w: float, h: float, text: str) -> None:
    ax.add_patch(  # type: ignore[attr-defined]
        FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.01", fc="white", ec="black", lw=1.2
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=9, wrap=True)  # type: ignore[attr-defined]


def _arrow(ax: object, x0: float, y0: float, x1: float, y1: float) -> None:
    ax.annotate(
        "",
        xy=(x1, y1),
        xytext=(x0, y0),  # type: ignore[attr-defined]
        arrowprops={"arrowstyle": "->", "lw": 1.2},
    )


def consort_figure(results: AnalysisResults) -> Figure:
    """The CONSORT 2010 flow, every number counted from the dataset."""
    c = results.consort
    fig = Figure(figsize=(8.5, 7.5))
    ax = fig.add_axes((0, 0, 1, 0.95))  # the top 5 % holds the title, clear of the first box
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    assessed = f"Assessed for eligibility\n(n = {c.assessed})"
    if c.eligible_by_override:  # an investigator's override of named criteria (issue 11)
        assessed += f"; {c.eligible_by_override} eligible by override"
    _box(ax, 0.35, 0.93, 0.34, 0.07, assessed)
    # Criterion texts can be long: wrap each under its bullet so the box stays on the page.
    reasons = "\n".join(
        textwrap.fill(
            f"– {r.replace('_', ' ')}: {n}",
            width=46,
            initial_indent="  ",
            subsequent_indent="      ",
        )
        for r, n in c.ineligible_reasons
    )
    ax.text(  # top beside the first box, so a long reason list clears the arm boxes
        0.62,
        0.905,
        f"Excluded (n = {c.ineligible + c.declined})\n"
        f"• Not meeting criteria (n = {c.ineligible})\n{reasons}\n"
        f"• Declined to participate (n = {c.declined})",
        ha="left",
        va="top",
        fontsize=7.5,
        bbox={"boxstyle": "round,pad=0.4", "fc": "white", "ec": "black"},
    )
    _arrow(ax, 0.35, 0.895, 0.35, 0.725)
    ax.plot([0.35, 0.61], [0.80, 0.80], color="black", lw=1.2)
    _box(
        ax,
        0.35,
        0.69,
        0.3,
        0.07,
        f"{'Randomized' if len(results.arms) > 1 else 'Treated'} (n = {c.randomized})",
    )
    n = len(results.arms)
    xs = [0.5] if n == 1 else [0.22 + 0.56 * i / (n - 1) for i in range(n)]
    for x, arm in zip(xs, results.arms, strict=True):
        _arrow(ax, 0.35, 0.655, x, 0.56)
        _box(
            ax,
            x,
            0.515,
            0.36,
            0.09,
            f"Allocated to {arm} (n = {c.allocated[arm]})\n"
            f"Received all infusions (n = {c.received_all[arm]})",
        )
        _arrow(ax, x, 0.47, x, 0.39)
        _box(
            ax,
            x,
            0.345,
            0.36,
            0.09,
            f"Withdrawn from treatment (n = {c.withdrew[arm]})\n"
            f"Lost to follow-up (n = {c.lost_to_follow_up[arm]})"
            + (
                f"\nStill within the primary window (n = {c.ongoing[arm]})"
                if c.ongoing.get(arm)
                else ""
            ),
        )
        _arrow(ax, x, 0.30, x, 0.22)
        _box(ax, x, 0.175, 0.36, 0.09, f"Analysed, intent to treat (n = {c.analysed[arm]})")
    for y, label in ((0.515, "Allocation"), (0.345, "Follow-up"), (0.175, "Analysis")):
        ax.text(
            0.01, y, label, rotation=90, va="center", fontsize=9, weight="bold", color="#444444"
        )
    fig.suptitle("Figure 1. CONSORT flow diagram", fontsize=12, y=0.995)
    return fig


def lsmeans_figure(
    results: AnalysisResults, outcomes: list[tuple[str, str]], title: str, ncols: int = 3
) -> Figure:
    """LS means ± SE by arm over time from each outcome's MMRM (Figures 2 and 3)."""
    present = [(key, label) for key, label in outcomes if key in results.mmrm]
    rows = max(1, -(-len(present) // ncols))
    cols = min(ncols, max(1, len(present)))
    fig = Figure(figsize=(4.2 * cols, 3.6 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(present):
            ax.axis("off")
            continue
        key, label = present[k]
        spec, res = results.mmrm[key]
        times = list(spec.time_points)
        for j, arm in enumerate(results.arms):
            pts = [next(m for m in res.lsmeans if m.group == arm and m.time == t) for t in times]
            offset = (j - (len(results.arms) - 1) / 2) * 0.06
            ax.errorbar(
                [i + offset for i in range(len(times))],
                [p.estimate for p in pts],
                yerr=[p.se for p in pts],
                marker=_MARKERS[j],
                capsize=4,
                lw=1.8,
                color=_colour(results, arm),
                label=arm,
            )
        ax.set_xticks(range(len(times)), [TIME_LABELS.get(t, t) for t in times])
        ax.set_ylabel(f"LS mean ± SE ({spec.unit})")
        ax.set_xlabel("Time point")
        letter = chr(ord("A") + k) if len(present) > 1 else ""
        ax.set_title(f"{letter}{'. ' if letter else ''}{label}", fontsize=10, loc="left")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=12)
    return fig


def _at_risk(curve: KaplanMeier, time: float) -> int:
    """Patients still at risk at ``time`` (follow-up ≥ ``time``): the curve's ``at_risk`` at its
    first time point at or after ``time``, 0 past the last one."""
    for point in curve.curve:
        if point.time >= time:
            return point.at_risk
    return 0


def _steps(curve: KaplanMeier, values: list[float]) -> tuple[list[float], list[float]]:
    """The step function's corners: 1 (or the band's start) from day 0 to the first time."""
    xs, ys = [0.0], [values[0]]
    for pt, v in zip(curve.curve, values[1:], strict=True):
        xs.extend([pt.time, pt.time])
        ys.extend([ys[-1], v])
    return xs, ys


def durability_figure(results: AnalysisResults) -> Figure:
    """Figure 4: Kaplan–Meier of loss of response among responders by arm, with its pointwise
    95% confidence band (log transform, Greenwood SE: R's ``survfit`` default), censoring marked
    '+' in the arm's colour (each arm's mark in the legend), and the numbers at risk under the
    time axis."""
    curves = results.durability.curves
    fig = Figure(figsize=(9.8, 5.6), layout="constrained")
    ax, risk = fig.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [4.2, 0.3 + 0.22 * len(curves)]}
    )
    data = results.durability.data
    last = max((pt.time for c in curves for pt in c.curve), default=1.0)
    for j, curve in enumerate(curves):
        colour = _colour(results, curve.group) if curve.group in results.arms else _COLOURS[j]
        xs, ys = _steps(curve, [1.0, *(pt.survival for pt in curve.curve)])
        ax.plot(
            xs,
            ys,
            color=colour,
            lw=2,
            label=f"{curve.group} (n = {curve.n}, events = {curve.events})",
        )
        lows = [1.0, *(pt.ci_low if pt.ci_low == pt.ci_low else 0.0 for pt in curve.curve)]
        highs = [1.0, *(pt.ci_high if pt.ci_high == pt.ci_high else 1.0 for pt in curve.curve)]
        bx, lo = _steps(curve, lows)
        _, hi = _steps(curve, highs)
        ax.fill_between(
            bx, lo, hi, color=colour, alpha=0.15, lw=0,
            label=f"{curve.group}: {curve.confidence:.0%} confidence band",
        )  # fmt: skip
        cens = data[(data["arm"].astype(str) == curve.group) & (data["event"] == 0)]
        times = [float(t) for t in cens["time_days"]]
        ax.plot(
            times,
            [curve.survival_at(t) for t in times],
            linestyle="none",
            marker="+",
            ms=12,
            mew=2,
            color=colour,
            label=f"{curve.group}: censored (still responding)",
        )
    ax.set_ylabel("Proportion still responding")
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlim(0, last * 1.04 if last > 0 else 1.0)
    ax.grid(alpha=0.3)
    # Beside the plot, clear of the curves and their bands.
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(
        "Figure 4. Time to loss of response among responders (Kaplan–Meier)",
        fontsize=11,
        loc="left",
    )
    ax.tick_params(labelbottom=True)
    ticks = [t for t in ax.xaxis.get_majorticklocs() if 0 <= t <= ax.get_xlim()[1]]
    risk.set_ylim(len(curves) - 0.5, -0.5)
    risk.set_yticks(range(len(curves)), [c.group for c in curves])
    for j, curve in enumerate(curves):
        colour = _colour(results, curve.group) if curve.group in results.arms else _COLOURS[j]
        risk.get_yticklabels()[j].set_color(colour)
        for t in ticks:
            risk.text(t, j, str(_at_risk(curve, float(t))), ha="center", va="center", fontsize=9)
    risk.tick_params(left=False, bottom=False, labelbottom=False, pad=12)
    for side in ("top", "right", "bottom", "left"):
        risk.spines[side].set_visible(False)
    risk.set_title("Number at risk", fontsize=9, loc="left")
    ax.set_xlabel("Days since the primary outcome day (week 2)")
    return fig


_VITAL_LABELS = {
    "systolic_mmhg": "Systolic BP (mmHg)",
    "diastolic_mmhg": "Diastolic BP (mmHg)",
    "heart_rate_bpm": "Heart rate (beats/min)",
    "spo2_percent": "SpO₂ (%)",
}
_RATING_LABELS = {
    "cadss": "CADSS total (0–92)",
    "bprs_positive": "BPRS positive (4–28)",
    "ymrs_item1": "YMRS item 1 (0–4)",
}


def safety_infusion_figure(results: AnalysisResults) -> Figure:
    """Infusion-day ratings and vitals over minutes since infusion start, mean ± SE by arm."""
    panels = [("rating", k, v) for k, v in _RATING_LABELS.items()] + [
        ("vital", k, v) for k, v in _VITAL_LABELS.items() if k != "spo2_percent"
    ]
    fig = Figure(figsize=(12.5, 7.2), layout="constrained")
    axes = fig.subplots(2, 3, squeeze=False)
    for ax, (kind, key, label) in zip(axes.flat, panels, strict=False):
        table = results.safety.infusion_ratings if kind == "rating" else results.safety.vitals
        for j, arm in enumerate(results.arms):
            d = table[(table["arm"] == arm) & (table["measure"] == key)].sort_values("minute")
            ax.errorbar(
                d["minute"],
                d["mean"],
                yerr=d["se"],
                marker=_MARKERS[j],
                ms=4,
                capsize=3,
                lw=1.6,
                color=_colour(results, arm),
                label=arm,
            )
        ax.axvspan(0, 40, color="#f4d03f", alpha=0.15, lw=0)
        ax.set_xlabel("Minutes since infusion start")
        ax.set_ylabel(label)
        ax.set_title(label.split(" (")[0], fontsize=10, loc="left")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, frameon=False)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle("Infusion-day safety: mean ± SE by arm (shaded: 40-minute infusion)", fontsize=12)
    return fig
