"""Response at week 2, loss of response and time to loss (PROTOCOL.md §8).

Response: the protocol's measure (CAPS-5 total) at least ``min_reduction_fraction`` (30 %) below
baseline at the primary time point. The comparison is exact on the decimal values entered —
29.9 % is not a response, 30.0 % is — so a floating-point artefact cannot flip a patient's status.

Loss of response: the first follow-up visit at which the reduction from baseline is no longer at
least 30 %. Time to loss counts days from the primary outcome day; a responder who never loses it
is right-censored at the last visit (§8, analysed by Kaplan-Meier, §9).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from ..errors import InvalidInput
from ..protocol import ResponseDefinition

__all__ = [
    "DurabilityOutcome",
    "FollowUpScore",
    "ResponseResult",
    "assess_response",
    "reduction_fraction",
    "time_to_loss_of_response",
]


def _exact(value: float, field: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(field, "expected a finite number", value)
    return Fraction(Decimal(repr(value)))


def reduction_fraction(baseline: float, value: float) -> Fraction:
    """(baseline − value) / baseline, exactly; baseline must be positive."""
    b = _exact(baseline, "baseline")
    if b <= 0:
        raise InvalidInput("baseline", "must be above 0 to measure a reduction from it", baseline)
    return (b - _exact(value, "value")) / b


@dataclass(frozen=True, slots=True)
class ResponseResult:
    responder: bool
    reduction_percent: float
    reason: str


def assess_response(
    definition: ResponseDefinition, baseline: float, value: float
) -> ResponseResult:
    """Responder at the primary time point (§8: ≥ 30 % CAPS-5 reduction at week 2)?"""
    reduction = reduction_fraction(baseline, value)
    threshold = Fraction(Decimal(repr(definition.min_reduction_fraction)))
    responder = reduction >= threshold
    percent = float(reduction * 100)
    verdict = "response" if responder else "no response"
    reason = (
        f"{definition.instrument} {definition.measure} {baseline:g} → {value:g} at "
        f"{definition.assessment}: {percent:.1f} % reduction, {verdict} (threshold "
        f"{float(threshold * 100):g} %, PROTOCOL.md §8)"
    )
    return ResponseResult(responder, percent, reason)


@dataclass(frozen=True, slots=True)
class FollowUpScore:
    """A follow-up visit's score on the response measure."""

    day: dt.date
    score: float


@dataclass(frozen=True, slots=True)
class DurabilityOutcome:
    """``event``: response was lost at ``loss_day``; else censored after ``time_days``."""

    event: bool
    time_days: int
    loss_day: dt.date | None
    last_day: dt.date
    reason: str


def time_to_loss_of_response(
    definition: ResponseDefinition,
    baseline: float,
    primary_day: dt.date,
    primary_score: float,
    visits: Sequence[FollowUpScore],
) -> DurabilityOutcome:
    """Days from the primary outcome day to the first visit without a ≥ 30 % reduction.

    Only responders are followed (§5, §8); the patient must be a responder at ``primary_day``.
    Visits must fall after the primary day, on distinct days.
    """
    if not assess_response(definition, baseline, primary_score).responder:
        raise InvalidInput(
            "primary_score",
            "not a responder at the primary time point; durability applies to responders (§8)",
            primary_score,
        )
    ordered = sorted(visits, key=lambda v: v.day)
    days = [v.day for v in ordered]
    if len(set(days)) != len(days):
        raise InvalidInput("visits", "two follow-up scores share one day", None)
    if ordered and ordered[0].day <= primary_day:
        raise InvalidInput(
            "visits", f"visit on {ordered[0].day.isoformat()} is not after the primary day", None
        )
    threshold = Fraction(Decimal(repr(definition.min_reduction_fraction)))
    for visit in ordered:
        reduction = reduction_fraction(baseline, visit.score)
        if reduction < threshold:
            days_to = (visit.day - primary_day).days
            return DurabilityOutcome(
                True,
                days_to,
                visit.day,
                visit.day,
                f"response lost on {visit.day.isoformat()} (day {days_to}): "
                f"{float(reduction * 100):.1f} % below baseline, under "
                f"{float(threshold * 100):g} % (PROTOCOL.md §8)",
            )
    last = ordered[-1].day if ordered else primary_day
    days_to = (last - primary_day).days
    return DurabilityOutcome(
        False,
        days_to,
        None,
        last,
        f"response kept through {last.isoformat()}: censored at day {days_to} (PROTOCOL.md §8)",
    )
