"""What a patient's self-report between visits sets off (issue 13; PROTOCOL.md §5, §7, §8).

A self-report is the patient's own PCL-5 (past week) and C-SSRS screener, scored by the
instruments (:mod:`ketamine_ptsd.core.instruments`). Three rules read it:

* **suicide risk** (§7) — the screener's risk level at or above the protocol's
  ``monitoring.suicide_risk_review_level`` raises an alert and a physician task, exactly as a
  staff-entered C-SSRS does (:func:`~.suicide_risk.suicide_risk_alert`);
* **symptom rise** (§7) — a PCL-5 total at least ``self_report.meaningful_change_points`` above the
  patient's previous PCL-5 (the last self-report, or the last one staff recorded) raises an alert
  and a physician task (:func:`~ketamine_ptsd.core.instruments.pcl5.pcl5_change`; a rise of 9 does
  not, 10 does);
* **relapse watch** (§8) — the response is a reduction of at least the protocol's fraction (30 %)
  from baseline; on the patient's own scale that is a PCL-5 at or below
  ``baseline × (1 − fraction)``. A self-report above that line, for a patient whose response
  is being watched, raises a task proposing the protocol's maintenance or retreatment options.

Either of the first two shows the patient the protocol's crisis text. All comparisons are exact
on the whole-number totals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ..errors import InvalidInput
from ..instruments.pcl5 import pcl5_change
from ..protocol import Protocol, SelfReportPlan
from .suicide_risk import suicide_risk_alert

__all__ = [
    "SelfReportFindings",
    "TrajectoryPoint",
    "evaluate_self_report",
    "relapse_line",
    "self_report_plan",
    "trajectory",
]


def self_report_plan(protocol: Protocol) -> SelfReportPlan:
    """The protocol's self-report plan, or a refusal naming why there is none."""
    if protocol.self_report is None:
        raise InvalidInput(
            "self_report",
            f"protocol {protocol.name!r} offers no self-report between visits (issue 13)",
            protocol.name,
        )
    return protocol.self_report


def relapse_line(protocol: Protocol, baseline_total: int) -> Fraction:
    """The highest PCL-5 total that still counts as the response's reduction from
    ``baseline_total`` (§8: ≥ 30 % below baseline, so 40 → 28)."""
    if isinstance(baseline_total, bool) or not isinstance(baseline_total, int):
        raise InvalidInput("baseline_total", "a whole PCL-5 total", baseline_total)
    if not 1 <= baseline_total <= 80:
        raise InvalidInput("baseline_total", "1–80 (a reduction needs a baseline above 0)", None)
    fraction = Fraction(Decimal(repr(protocol.response.min_reduction_fraction)))
    return baseline_total * (1 - fraction)


@dataclass(frozen=True, slots=True)
class SelfReportFindings:
    """What one self-report sets off; ``alerts`` each become an alert and a physician task."""

    risk_level: str
    suicide_alert: str | None
    rise_points: int | None  # PCL-5 change from the previous total (None: no previous one)
    rise_alert: str | None
    relapse_alert: str | None

    @property
    def alerts(self) -> tuple[str, ...]:
        return tuple(a for a in (self.suicide_alert, self.rise_alert) if a is not None)

    @property
    def show_crisis_text(self) -> bool:
        """The patient sees the protocol's crisis text when the answers raised an alert."""
        return bool(self.alerts)


def evaluate_self_report(
    protocol: Protocol,
    *,
    cssrs_derived: Mapping[str, Any],
    pcl5_total: int,
    previous_pcl5_total: int | None,
    baseline_pcl5_total: int | None,
    watching_response: bool,
    where: str,
) -> SelfReportFindings:
    """The alerts and the relapse task one scored self-report raises (§7, §8).

    ``previous_pcl5_total``: the patient's last PCL-5 before this one (None: none yet);
    ``baseline_pcl5_total``: the PCL-5 at the response's baseline (None: not recorded);
    ``watching_response``: the patient's response is being watched (a responder, or in
    maintenance); ``where`` names the report in the messages.
    """
    plan = self_report_plan(protocol)
    suicide = suicide_risk_alert(protocol, cssrs_derived, where)
    rise_points = rise = None
    if previous_pcl5_total is not None:
        change = pcl5_change(previous_pcl5_total, pcl5_total, plan.meaningful_change_points)
        rise_points = change.change_points
        if change.direction == "worsened":
            rise = (
                f"PCL-5 rose {change.change_points} points ({previous_pcl5_total} → "
                f"{pcl5_total}) in the patient's {where}; "
                f"{plan.meaningful_change_points} or more is clinically meaningful "
                "(PROTOCOL.md §7)"
            )
    relapse = None
    if watching_response and baseline_pcl5_total is not None and baseline_pcl5_total > 0:
        line = relapse_line(protocol, baseline_pcl5_total)
        if pcl5_total > line:
            percent = float(protocol.response.min_reduction_fraction * 100)
            relapse = (
                f"relapse watch: PCL-5 {pcl5_total} in the {where} is above "
                f"{float(line):g}, under {percent:g} % below the baseline of "
                f"{baseline_pcl5_total} (the response's threshold, PROTOCOL.md §8)"
            )
    return SelfReportFindings(
        str(cssrs_derived.get("risk_level")), suicide, rise_points, rise, relapse
    )


@dataclass(frozen=True, slots=True)
class TrajectoryPoint:
    """One PCL-5 total on a day, and whether it lies within the response's reduction."""

    day: dt.date
    total: int
    source: str  # "self_report" or the staff time point
    within_response: bool | None  # None: the baseline itself, or no baseline to compare with


def trajectory(
    protocol: Protocol,
    points: Sequence[tuple[dt.date, int, str]],
    baseline_pcl5_total: int | None,
) -> tuple[tuple[TrajectoryPoint, ...], float | None]:
    """The patient's PCL-5 totals in date order against the response's line (§8)."""
    line = (
        relapse_line(protocol, baseline_pcl5_total)
        if baseline_pcl5_total is not None and baseline_pcl5_total > 0
        else None
    )
    base = protocol.response.baseline_assessment  # the reference itself is not judged
    out = tuple(
        TrajectoryPoint(
            day, total, source, None if line is None or source == base else total <= line
        )
        for day, total, source in sorted(points, key=lambda p: p[0])
    )
    return out, None if line is None else float(line)
