"""Infusion dates, assessment windows and follow-up dates (PROTOCOL.md §5, §8).

From the date of the first infusion the series is laid out greedily: each next infusion is the
earliest allowed weekday at least ``min_days_between_infusions`` after the previous one, with no
more than ``infusions_per_week`` in one Monday–Sunday week. For the RCT (three a week, Mon–Fri, at
least two days apart) a Monday start gives Mon/Wed/Fri twice (§5); weekends are skipped and two
infusions never share a day.

Assessments are placed by their anchors (before infusion N = the day of infusion N; 24 h after
infusion 1 = the next day; after infusion 6 "next Monday" = the first Monday after it) with the
protocol's window on each side. Follow-up of responders is anchored on the primary outcome day:
weekly to ``weekly_until_week``, then on the same day of each calendar month up to
``monthly_until_month`` (a month whose date would crowd the last weekly visit is skipped).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from ..errors import InvalidInput
from ..protocol import AssessmentTimePoint, Protocol, weekday_index

__all__ = [
    "PlannedAssessment",
    "PlannedVisit",
    "SchedulePlan",
    "add_months",
    "assessment_target",
    "follow_up_visits",
    "infusion_dates",
    "plan_schedule",
]


@dataclass(frozen=True, slots=True)
class PlannedAssessment:
    """An assessment time point on the calendar, with its window (both ends inclusive)."""

    name: str
    label: str
    target: dt.date
    window_start: dt.date
    window_end: dt.date
    instruments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlannedVisit:
    """A follow-up visit of a responder (§5, §8)."""

    name: str
    target: dt.date
    window_start: dt.date
    window_end: dt.date


@dataclass(frozen=True, slots=True)
class SchedulePlan:
    """The calendar of one patient's series."""

    infusions: tuple[dt.date, ...]
    assessments: tuple[PlannedAssessment, ...]
    follow_up: tuple[PlannedVisit, ...]


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months later, clamped to the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def infusion_dates(protocol: Protocol, first_infusion: dt.date) -> tuple[dt.date, ...]:
    """The infusion dates of the series starting on ``first_infusion`` (§5)."""
    s = protocol.schedule
    allowed = {weekday_index(d) for d in s.allowed_weekdays}
    if first_infusion.weekday() not in allowed:
        raise InvalidInput(
            "first_infusion",
            f"{first_infusion.isoformat()} is a {calendar.day_name[first_infusion.weekday()]}; "
            f"protocol {protocol.name!r} gives infusions on {', '.join(s.allowed_weekdays)}",
            first_infusion.isoformat(),
        )
    if s.min_days_between_infusions < 1 or s.infusions_per_week < 1:
        raise InvalidInput("schedule", "the protocol's schedule is not valid", None)
    dates = [first_infusion]
    per_week: dict[tuple[int, int], int] = {_week(first_infusion): 1}
    guard = 0
    while len(dates) < s.infusion_count:
        candidate = dates[-1] + dt.timedelta(days=s.min_days_between_infusions)
        while (
            candidate.weekday() not in allowed
            or per_week.get(_week(candidate), 0) >= s.infusions_per_week
        ):
            candidate += dt.timedelta(days=1)
            guard += 1
            if guard > 366 * s.infusion_count:
                raise InvalidInput("schedule", "no date satisfies the protocol's schedule", None)
        dates.append(candidate)
        per_week[_week(candidate)] = per_week.get(_week(candidate), 0) + 1
    return tuple(dates)


def _week(day: dt.date) -> tuple[int, int]:
    iso = day.isocalendar()
    return (iso.year, iso.week)


def assessment_target(point: AssessmentTimePoint, infusions: tuple[dt.date, ...]) -> dt.date:
    """The target date of one time point, given the infusion dates."""
    anchor = point.anchor
    day = infusions[anchor.infusion - 1]
    if anchor.timing == "before":
        return day
    if anchor.next_weekday is not None:
        ahead = (weekday_index(anchor.next_weekday) - day.weekday()) % 7 or 7
        return day + dt.timedelta(days=ahead)
    return day + dt.timedelta(days=anchor.offset_days)


def plan_schedule(protocol: Protocol, first_infusion: dt.date) -> SchedulePlan:
    """Infusions, assessment windows and follow-up visits from the first-infusion date.

    InvalidInput naming ``first_infusion`` when the schedule would run past 9999-12-31, the
    last day Python's calendar holds (a typo such as 9999 for 2029)."""
    try:
        return _plan_schedule(protocol, first_infusion)
    except OverflowError as exc:
        raise InvalidInput(
            "first_infusion",
            "the schedule from this date runs past 9999-12-31, the last date the calendar holds",
            first_infusion.isoformat(),
        ) from exc


def _plan_schedule(protocol: Protocol, first_infusion: dt.date) -> SchedulePlan:
    infusions = infusion_dates(protocol, first_infusion)
    assessments = []
    for point in protocol.assessments:
        if not 1 <= point.anchor.infusion <= len(infusions):
            raise InvalidInput(
                f"assessments.{point.name}",
                f"anchored on infusion {point.anchor.infusion}, which the schedule lacks",
            )
        target = assessment_target(point, infusions)
        assessments.append(
            PlannedAssessment(
                name=point.name,
                label=point.label,
                target=target,
                window_start=target - dt.timedelta(days=point.window_days_before),
                window_end=target + dt.timedelta(days=point.window_days_after),
                instruments=point.instruments,
            )
        )
    follow_up: tuple[PlannedVisit, ...] = ()
    anchors = [a for a in assessments if a.name == protocol.follow_up.anchor_assessment]
    if anchors:
        follow_up = follow_up_visits(protocol, anchors[0].target)
    return SchedulePlan(infusions, tuple(assessments), follow_up)


def _clinic_day(day: dt.date) -> dt.date:
    """A monthly visit that lands on a weekend moves to the nearest weekday (Saturday to Friday,
    Sunday to Monday), so the target itself is a day the clinic is open."""
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


def follow_up_visits(protocol: Protocol, primary_day: dt.date) -> tuple[PlannedVisit, ...]:
    """Weekly then monthly visits after the primary outcome day (§5)."""
    f = protocol.follow_up
    width = dt.timedelta(days=f.window_days)
    visits = [
        PlannedVisit(f"follow-up week {k}", day, day - width, day + width)
        for k in range(1, f.weekly_until_week + 1)
        for day in [primary_day + dt.timedelta(weeks=k)]
    ]
    last = visits[-1].target if visits else primary_day
    for month in range(1, f.monthly_until_month + 1):
        day = _clinic_day(add_months(primary_day, month))
        if (day - last).days > 2 * f.window_days:
            visits.append(PlannedVisit(f"follow-up month {month}", day, day - width, day + width))
            last = day
    return tuple(visits)
