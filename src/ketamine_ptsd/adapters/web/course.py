"""The patient's course as stored: scores per time point, the week-2 response, follow-up, the
relapse watch, and the CAPS-5 / PCL-5 trajectory as a server-rendered SVG chart.

PROTOCOL.md §5 (time points and follow-up of responders), §8 (response: ≥ 30 % CAPS-5 reduction
at week 2; durability; the clinic's relapse-watch dates from the RCT's responders). Everything is
read through the services as the signed-in actor; outcome assessments carry no allocation and no
infusion-day rating (§3), so what an outcome rater sees here is blind by construction.

The chart is plain SVG built here (no script, no external library — the CSP allows neither), one
polyline per instrument on its own 0–80 scale (CAPS-5 past-week and PCL-5 totals are both 0–80),
with the response threshold drawn when the baseline is known.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from ketamine_ptsd.core.roles import Action, is_allowed
from ketamine_ptsd.services import Actor, NotFound, PermissionDenied, ValidationFailed
from ketamine_ptsd.services.assessments import AssessmentView
from ketamine_ptsd.services.followup import DurabilityView, ResponseView
from ketamine_ptsd.services.patients import PatientView

from .deps import WebState

__all__ = ["Course", "course", "trajectory_svg"]

#: Instruments drawn on the trajectory chart, with their colour and the top of their scale.
CHART_SERIES = (("caps5_past_week", "CAPS-5 (past week)", "#1f5fa8"), ("pcl5", "PCL-5", "#b3541e"))
CHART_MAX = 80.0


@dataclass
class Course:
    assessments: list[AssessmentView] = field(default_factory=list)
    by_point: dict[str, list[AssessmentView]] = field(default_factory=dict)
    response: ResponseView | None = None
    durability: DurabilityView | None = None
    relapse_watch: tuple[Any, ...] = ()
    chart: Markup | None = None
    readable: bool = False


def course(state: WebState, actor: Actor, patient: PatientView) -> Course:
    """What the record holds of the patient's outcomes, as ``actor`` may read it."""
    result = Course()
    if not is_allowed(actor.role, Action.ASSESSMENT_READ):
        return result
    services = state.services
    result.readable = True
    result.assessments = services.assessments.list(actor, patient.id)
    for a in result.assessments:
        result.by_point.setdefault(a.time_point, []).append(a)
    if not result.assessments:
        return result
    try:
        result.response = services.followup.response(actor, patient.id)
    except NotFound:
        result.response = None
    if result.response is not None and result.response.responder:
        try:
            result.durability = services.followup.durability(actor, patient.id)
        except (NotFound, ValidationFailed):
            result.durability = None
        if patient.mode == "clinic" and is_allowed(actor.role, Action.CLINIC_PLAN_READ):
            try:
                result.relapse_watch = tuple(services.clinic.relapse_watch(actor, patient.id))
            except (NotFound, ValidationFailed, PermissionDenied):
                result.relapse_watch = ()
    threshold = None
    if result.response is not None:
        protocol = state.protocol(patient.protocol_name)
        threshold = result.response.baseline * (1 - protocol.response.min_reduction_fraction)
    result.chart = trajectory_svg(result.assessments, threshold)
    return result


def _points(assessments: list[AssessmentView], instrument: str) -> list[tuple[dt.date, float]]:
    return [
        (a.assessed_on, float(a.total))
        for a in assessments
        if a.instrument == instrument and a.total is not None
    ]


def trajectory_svg(
    assessments: list[AssessmentView],
    response_threshold: float | None = None,
    *,
    width: int = 640,
    height: int = 240,
) -> Markup | None:
    """An inline SVG line chart of the CAPS-5 and PCL-5 totals over time (None: nothing to draw)."""
    series = [(label, colour, _points(assessments, i)) for i, label, colour in CHART_SERIES]
    series = [s for s in series if s[2]]
    if not series:
        return None
    days = [d for _, _, pts in series for d, _ in pts]
    first, last = min(days), max(days)
    span = max((last - first).days, 1)
    left, right, top, bottom = 44, 16, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(day: dt.date) -> float:
        return left + plot_w * (day - first).days / span

    def y(value: float) -> float:
        return top + plot_h * (1 - min(max(value, 0.0), CHART_MAX) / CHART_MAX)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="trajectory" role="img" aria-labelledby="traj-title">',
        '<title id="traj-title">CAPS-5 and PCL-5 totals over time</title>',
    ]
    for tick in (0, 20, 40, 60, 80):
        ty = y(tick)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end">{tick}</text>'
        )
    for day in sorted({first, last}):
        parts.append(
            f'<text x="{x(day):.1f}" y="{height - 8}" text-anchor="middle">'
            f"{escape(day.strftime('%d %b'))}</text>"
        )
    if response_threshold is not None:
        ty = y(response_threshold)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" '
            f'class="threshold" stroke-dasharray="6 4"/>'
            f'<text x="{width - right}" y="{ty - 4:.1f}" text-anchor="end" class="threshold">'
            f"response ≤ {response_threshold:.1f}</text>"
        )
    for label, colour, pts in series:
        coords = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in pts)
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2.5" '
            f'data-series="{escape(label)}"/>'
        )
        for d, v in pts:
            parts.append(
                f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="4" fill="{colour}">'
                f"<title>{escape(label)} {v:g} on {d.isoformat()}</title></circle>"
            )
    legend_x = left + 8
    for n, (label, colour, _) in enumerate(series):
        ly = top + 12 + 16 * n
        parts.append(
            f'<rect x="{legend_x}" y="{ly - 9}" width="12" height="4" fill="{colour}"/>'
            f'<text x="{legend_x + 18}" y="{ly - 4}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # every interpolated text above is escaped or numeric
