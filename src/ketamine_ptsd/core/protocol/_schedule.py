"""Infusion schedule, assessment time points and follow-up (PROTOCOL.md §5, §8).

The schedule is stated three ways at once — the number of infusions, how many a week, and for how
many weeks — because source documents state it that way, and the validator insists the three
agree (the clinical recommendation's "twice weekly for 2 weeks (total of 6 infusions)" does not).
A ``frequency`` phrase such as "three times weekly" may be given instead of
``infusions_per_week``; it is translated here and checked against it when both are given.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import model_validator

from ._base import FrozenModel, Weekday

__all__ = [
    "Anchor",
    "AssessmentTimePoint",
    "FollowUp",
    "Schedule",
    "frequency_per_week",
]

_NUMBER_WORDS = {
    "once": 1,
    "one": 1,
    "twice": 2,
    "two": 2,
    "thrice": 3,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
}
_FREQUENCY = re.compile(
    r"^\s*(?P<n>\d+|[a-z]+)(?:\s+times?)?\s+(?:a\s+|per\s+|each\s+|every\s+)?week(?:ly)?\s*$"
)


def frequency_per_week(phrase: str) -> int | None:
    """Infusions per week in a phrase like "twice weekly" or "3 times a week"; None if unreadable."""
    match = _FREQUENCY.match(phrase.lower())
    if match is None:
        return None
    n = match.group("n")
    if n.isdigit():
        return int(n)
    return _NUMBER_WORDS.get(n)


class Schedule(FrozenModel):
    """The treatment phase: how many infusions, how often, over how long, on which days."""

    infusion_count: int
    infusions_per_week: int
    weeks: int
    min_days_between_infusions: int
    allowed_weekdays: tuple[Weekday, ...]
    frequency: str | None = None
    source_text: str | None = None
    rationale: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _frequency_phrase(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("frequency") is None:
            return data
        phrase = str(data["frequency"])
        per_week = frequency_per_week(phrase)
        if per_week is None:
            raise ValueError(
                f"frequency {phrase!r} is not understood; write e.g. 'three times weekly'"
            )
        given = data.get("infusions_per_week")
        if given is not None and given != per_week:
            raise ValueError(
                f"frequency {phrase!r} means {per_week} a week but infusions_per_week is {given}"
            )
        return {**data, "infusions_per_week": per_week}


class Anchor(FrozenModel):
    """Where a time point sits relative to an infusion.

    ``before`` infusion N: on the day of infusion N, before it starts. ``after`` infusion N:
    ``offset_days`` after it (24 h after infusion 1 is ``offset_days: 1``), or, with
    ``next_weekday``, the first such weekday after the infusion day ("the next Monday" after
    infusion 6, §5).
    """

    infusion: int
    timing: Literal["before", "after"]
    offset_days: int = 0
    next_weekday: Weekday | None = None


class AssessmentTimePoint(FrozenModel):
    """One assessment time point of §5, with its visit window and instruments."""

    name: str
    label: str
    anchor: Anchor
    window_days_before: int
    window_days_after: int
    instruments: tuple[str, ...]


class FollowUp(FrozenModel):
    """Follow-up of responders (§5, §8): weekly, then monthly, until loss of response."""

    responders_only: bool
    anchor_assessment: str
    instruments: tuple[str, ...]
    weekly_until_week: int
    monthly_until_month: int
    window_days: int
    stop_at_loss_of_response: bool
