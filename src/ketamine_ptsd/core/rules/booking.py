"""Booking rules: who and what may hold a room and a nurse at one time (issue 13).

Pure: the caller passes the bookings already held and "now", all in the site's local time.

* A room holds one patient at a time.
* A nurse looks after one booked patient at a time. The limit is protocol-agnostic and applies to
  every kind of booking: during an infusion "a nurse monitors" with continuous ECG and vitals
  every 5 minutes, and after it vitals every 15 minutes and nurse monitoring for up to 120
  minutes (PROTOCOL.md §6); an esketamine session is monitored for at least 2 hours under direct
  observation (§11). A booking's duration should therefore cover that monitoring.
* Two bookings that only touch (one ends when the other starts) do not overlap.
* A booking starts in the future, and lasts 15 to 480 minutes (a working day).

A refusal names the field and the other booking's day and time, never its patient (the other
booking may be another site's, where the nurse also works).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "MAX_MINUTES",
    "MIN_MINUTES",
    "NURSE_LIMIT",
    "BookingProblem",
    "Slot",
    "booking_problems",
    "same_room",
]

MIN_MINUTES = 15
MAX_MINUTES = 480
#: Bookings one nurse looks after at once (PROTOCOL.md §6: a nurse monitors continuously).
NURSE_LIMIT = 1


@dataclass(frozen=True)
class Slot:
    """A booking's place in time: the site-local day and start, its length, room and nurse."""

    day: dt.date
    start: dt.time
    minutes: int
    room: str
    nurse_id: int | None = None
    #: the booking this slot is (None: a new one); a booking never conflicts with itself
    booking_id: int | None = None
    #: the site whose room it is (rooms are a site's; a nurse is one person everywhere)
    site: str = ""

    @property
    def begins(self) -> dt.datetime:
        return dt.datetime.combine(self.day, self.start)

    @property
    def ends(self) -> dt.datetime:
        return self.begins + dt.timedelta(minutes=self.minutes)

    def overlaps(self, other: Slot) -> bool:
        """True when the two share at least one minute (touching is not overlapping)."""
        return self.begins < other.ends and other.begins < self.ends

    def when(self) -> str:
        return f"{self.day:%d %b %Y} {self.begins:%H:%M}–{self.ends:%H:%M}"


@dataclass(frozen=True)
class BookingProblem:
    field: str  # day, start, minutes, room, nurse_id
    message: str


def same_room(a: str, b: str) -> bool:
    """Rooms are free text: "room 2" and "Room  2" are the same room."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def booking_problems(slot: Slot, held: Iterable[Slot], now: dt.datetime) -> list[BookingProblem]:
    """Every reason ``slot`` cannot be booked, given the bookings ``held`` (not cancelled) and
    the site-local ``now`` (naive); empty when it can."""
    problems: list[BookingProblem] = []
    if not MIN_MINUTES <= slot.minutes <= MAX_MINUTES:
        problems.append(
            BookingProblem(
                "minutes", f"between {MIN_MINUTES} and {MAX_MINUTES} minutes, not {slot.minutes}"
            )
        )
        return problems  # an impossible length has no overlaps worth naming
    if not slot.room.strip():
        problems.append(BookingProblem("room", "a room, such as Room 2"))
    if slot.begins < now:
        problems.append(
            BookingProblem(
                "day" if slot.day < now.date() else "start",
                f"{slot.day:%d %b %Y} {slot.begins:%H:%M} is in the past (now {now:%d %b %Y} "
                f"{now:%H:%M})",
            )
        )
    nurse_busy = 0
    for other in held:
        if other.booking_id is not None and other.booking_id == slot.booking_id:
            continue
        if not slot.overlaps(other):
            continue
        if slot.room.strip() and other.site == slot.site and same_room(other.room, slot.room):
            problems.append(
                BookingProblem(
                    "room",
                    f"{' '.join(slot.room.split())} is already booked {other.when()}: a room "
                    "holds one patient at a time",
                )
            )
        if slot.nurse_id is not None and other.nurse_id == slot.nurse_id:
            nurse_busy += 1
            if nurse_busy >= NURSE_LIMIT:
                problems.append(
                    BookingProblem(
                        "nurse_id",
                        f"this nurse is already booked {other.when()}: a nurse looks after "
                        f"{NURSE_LIMIT} patient at a time, monitoring continuously "
                        "(PROTOCOL.md §6)",
                    )
                )
    # one message per field: the first conflict is enough to act on
    seen: set[str] = set()
    unique = []
    for problem in problems:
        if problem.field not in seen:
            seen.add(problem.field)
            unique.append(problem)
    return unique
