"""Booking rules at their boundaries (core/rules/booking.py; PROTOCOL.md §6)."""

from __future__ import annotations

import datetime as dt

import pytest

from ketamine_ptsd.core.rules.booking import Slot, booking_problems, same_room

DAY = dt.date(2026, 3, 9)
NOW = dt.datetime(2026, 3, 2, 8, 0)


def _slot(start: str, minutes: int = 60, room: str = "Room 2", nurse: int | None = 7, **kw):  # type: ignore[no-untyped-def]
    return Slot(DAY, dt.time.fromisoformat(start), minutes, room, nurse, **kw)


def _fields(slot: Slot, held: list[Slot], now: dt.datetime = NOW) -> list[str]:
    return [p.field for p in booking_problems(slot, held, now)]


def test_touching_bookings_are_allowed() -> None:
    held = [_slot("09:00", 60, booking_id=1)]
    assert _fields(_slot("10:00"), held) == []
    assert _fields(_slot("08:00"), held) == []


def test_a_one_minute_overlap_of_the_room_is_refused_naming_the_other_time() -> None:
    held = [_slot("09:00", 60, nurse=8, booking_id=1)]
    [problem] = booking_problems(_slot("09:59"), held, NOW)
    assert problem.field == "room"
    assert "09:00–10:00" in problem.message and "09 Mar 2026" in problem.message


def test_the_same_nurse_in_another_room_is_refused_citing_section_6() -> None:
    held = [_slot("09:00", 120, room="Room 1", booking_id=1)]
    [problem] = booking_problems(_slot("10:30", room="Room 3"), held, NOW)
    assert problem.field == "nurse_id" and "§6" in problem.message
    assert "09:00–11:00" in problem.message


def test_another_nurse_in_another_room_is_fine_and_a_booking_never_conflicts_with_itself() -> None:
    held = [_slot("09:00", 120, room="Room 1", nurse=8, booking_id=1)]
    assert _fields(_slot("09:30", room="Room 3"), held) == []
    assert _fields(_slot("09:30", room="Room 1", nurse=8, booking_id=1), held) == []


def test_rooms_are_compared_as_free_text_and_per_site() -> None:
    assert same_room("room  2", "Room 2") and not same_room("Room 2", "Room 12")
    held = [_slot("09:00", nurse=8, booking_id=1, site="BOS")]
    assert _fields(_slot("09:30", room="room 2", site="YAL"), held) == []
    assert _fields(_slot("09:30", room="room 2", site="BOS"), held) == ["room"]


@pytest.mark.parametrize(("minutes", "ok"), [(14, False), (15, True), (480, True), (481, False)])
def test_duration_is_15_to_480_minutes(minutes: int, ok: bool) -> None:
    assert (_fields(_slot("09:00", minutes), []) == []) is ok


def test_a_booking_in_the_past_is_refused() -> None:
    now = dt.datetime.combine(DAY, dt.time(9, 1))
    assert _fields(_slot("09:00"), [], now) == ["start"]
    assert _fields(_slot("09:01"), [], now) == []
    assert _fields(_slot("09:00"), [], now + dt.timedelta(days=1)) == ["day"]
