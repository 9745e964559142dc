"""Shared base and vocabulary of the protocol models.

Protocols are versioned declarative data (STYLE.md "Our shape" §3): every model is frozen, so a
loaded protocol cannot drift while a patient's series is running, and unknown keys are refused so
that a misspelt field in a site's file is reported instead of silently ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["WEEKDAYS", "FrozenModel", "Weekday", "weekday_index"]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

#: Weekday names in ``datetime.date.weekday()`` order (Monday = 0).
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekday_index(day: Weekday) -> int:
    """Monday = 0 … Sunday = 6, as ``datetime.date.weekday()`` counts."""
    return WEEKDAYS.index(day)


class FrozenModel(BaseModel):
    """Immutable model that refuses unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")
