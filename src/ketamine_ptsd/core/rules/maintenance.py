"""Maintenance planning and the relapse outlook for the clinic (PROTOCOL.md §8).

Response to the series lasts a median of 27.5 days from the primary outcome day (quartiles 23 and
32) in the RCT, so maintenance is planned before the series starts. The options and what each
needs (e.g. intranasal esketamine: a REMS-certified site and 2-hour monitoring after each dose)
are protocol data; this module says which are available given what the clinic has recorded, and
turns the durability quartiles into relapse-watch dates after the patient's own primary outcome
day. Watch dates round *down* (day 27.5 → day 27), so a watch visit comes before, not after, the
point at which that share of responders had relapsed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import InvalidInput
from ..protocol import Protocol

__all__ = [
    "MaintenanceOptionStatus",
    "RelapseWatch",
    "maintenance_options",
    "relapse_watch_dates",
]


@dataclass(frozen=True, slots=True)
class MaintenanceOptionStatus:
    id: str
    label: str
    description: str
    interval_days: tuple[int, ...]
    available: bool
    unmet: tuple[str, ...]
    section: str


@dataclass(frozen=True, slots=True)
class RelapseWatch:
    """By ``day``, ``share_lost`` of RCT responders had lost their response."""

    day: dt.date
    days_after_primary: float
    share_lost: float
    label: str


def maintenance_options(
    protocol: Protocol, facts: Mapping[str, bool]
) -> tuple[MaintenanceOptionStatus, ...]:
    """Each maintenance option of the protocol with the requirements still unmet."""
    if protocol.maintenance is None:
        raise InvalidInput("maintenance", f"protocol {protocol.name!r} plans no maintenance", None)
    out = []
    for option in protocol.maintenance.options:
        unmet = tuple(r.text for r in option.requirements if not facts.get(r.fact, False))
        out.append(
            MaintenanceOptionStatus(
                option.id,
                option.label,
                option.description,
                option.interval_days,
                not unmet,
                unmet,
                option.section,
            )
        )
    return tuple(out)


def relapse_watch_dates(protocol: Protocol, primary_day: dt.date) -> tuple[RelapseWatch, ...]:
    """Dates when a quarter, half and three quarters of RCT responders had lost response."""
    d = protocol.durability
    if d is None:
        raise InvalidInput("durability", f"protocol {protocol.name!r} has no durability data", None)
    points = (
        (d.q25_days, 0.25, "a quarter"),
        (d.median_days, 0.5, "half"),
        (d.q75_days, 0.75, "three quarters"),
    )
    return tuple(
        RelapseWatch(
            primary_day + dt.timedelta(days=math.floor(days)),
            days,
            share,
            f"day {days:g}: {words} of RCT responders had lost response ({d.source})",
        )
        for days, share, words in points
    )
