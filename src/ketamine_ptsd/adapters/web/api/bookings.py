"""``/bookings``: a patient's infusion, esketamine session or assessment visit booked in a room
with a nurse at a site-local day and time (issue 13; services/bookings.py).

``GET /bookings?from=&to=&room=&nurse=`` lists (``infusion.read``; the actor's sites only);
``POST /bookings`` books, ``POST /bookings/{id}/move`` moves (with the reason) and
``POST /bookings/{id}/cancel`` cancels (with the reason; never deleted), all ``booking.record``.
Times are the site's wall clock (``site_timezone``). Refusals: 403 role, 404 another site's or
no such booking, 409 a stale version or a cancelled booking, 422 naming the field (an overlap of
the room or the nurse names the other booking's time, never its patient).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, StringConstraints

from ..deps import ApiAuth, State
from ..params import DbId, Version

router = APIRouter(prefix="/bookings", tags=["bookings"])

Text = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")]
Room = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
Minutes = Annotated[int, Field(ge=1, le=1440)]


class BookingRead(BaseModel):
    id: int
    patient_id: int
    study_id: str
    kind: str
    number: int | None
    time_point: str | None
    title: str
    day: dt.date
    start_time: dt.time
    end_time: dt.time
    minutes: int
    room: str
    nurse_id: int | None
    nurse_name: str | None
    booked_by: int | None
    booked_at: dt.datetime
    cancelled_at: dt.datetime | None
    cancel_reason: str | None
    version: int


class BookingCreate(BaseModel):
    patient_id: DbId
    kind: Literal["infusion", "esketamine", "assessment"]
    number: Annotated[int, Field(ge=1, le=999)] | None = None
    time_point: Annotated[str, StringConstraints(max_length=64)] | None = None
    day: dt.date
    start_time: dt.time
    minutes: Minutes
    room: Room
    nurse_id: DbId | None = None


class BookingMove(BaseModel):
    day: dt.date
    start_time: dt.time
    minutes: Minutes | None = None
    room: Room
    nurse_id: DbId | None = None
    reason: Text
    version: Version


class BookingCancel(BaseModel):
    reason: Text
    version: Version


def _read(view: object) -> Any:
    return BookingRead.model_validate(view, from_attributes=True)


@router.get("", response_model=list[BookingRead])
def bookings(
    auth: ApiAuth,
    state: State,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
    room: Annotated[str | None, Query(max_length=64)] = None,
    nurse: Annotated[DbId | None, Query()] = None,
    cancelled: bool = False,
) -> Any:
    """The bookings from ``from`` to ``to`` (default: today to a week on), by day and time."""
    first = start or state.now().date()
    last = end or first + dt.timedelta(days=6)
    views = state.services.bookings.list(
        auth.actor, start=first, end=last, room=room or None, nurse_id=nurse,
        include_cancelled=cancelled,
    )  # fmt: skip
    return [_read(v) for v in views]


@router.post("", response_model=BookingRead, status_code=201)
def book(body: BookingCreate, auth: ApiAuth, state: State) -> Any:
    view = state.services.bookings.book(
        auth.actor, body.patient_id, kind=body.kind, number=body.number,
        time_point=body.time_point, day=body.day, start=body.start_time, minutes=body.minutes,
        room=body.room, nurse_id=body.nurse_id, time_zone=state.settings.site_timezone,
    )  # fmt: skip
    return _read(view)


@router.get("/{booking_id}", response_model=BookingRead)
def booking(booking_id: DbId, auth: ApiAuth, state: State) -> Any:
    return _read(state.services.bookings.get(auth.actor, booking_id))


@router.post("/{booking_id}/move", response_model=BookingRead)
def move(booking_id: DbId, body: BookingMove, auth: ApiAuth, state: State) -> Any:
    view = state.services.bookings.move(
        auth.actor, booking_id, day=body.day, start=body.start_time, minutes=body.minutes,
        room=body.room, nurse_id=body.nurse_id, reason=body.reason,
        expected_version=body.version, time_zone=state.settings.site_timezone,
    )  # fmt: skip
    return _read(view)


@router.post("/{booking_id}/cancel", response_model=BookingRead)
def cancel(booking_id: DbId, body: BookingCancel, auth: ApiAuth, state: State) -> Any:
    view = state.services.bookings.cancel(
        auth.actor, booking_id, reason=body.reason, expected_version=body.version
    )
    return _read(view)
