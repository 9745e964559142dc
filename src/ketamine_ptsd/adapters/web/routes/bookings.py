"""The calendar's booking forms (issue 13): book a patient's infusion, esketamine session or
assessment visit in a room with a nurse, move it (with the reason) or cancel it (with the
reason). A refused form comes back on the calendar with the field named in words and what was
typed kept (services/bookings.py; times are the site's wall clock)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from ketamine_ptsd.services import ConflictError, NotFound, ValidationFailed
from ketamine_ptsd.services.bookings import BookingView

from ..deps import CheckedForm, Session, State, see_other
from ..params import DbId, form_int
from .home import calendar_response
from .patients import parse_date, text

router = APIRouter()

FIELDS = (
    "study_id", "kind", "number", "time_point", "day", "start", "minutes", "room", "nurse_id",
    "reason", "version", "booking_id",
)  # fmt: skip


def _time(value: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value).replace(second=0, microsecond=0)
    except ValueError:
        raise ValidationFailed("start", "a time as hh:mm", value) from None


def _nurse(form: FormData) -> int | None:
    value = text(form, "nurse_id")
    return form_int(value, "nurse_id", minimum=1) if value else None


def _submit(
    request: Request,
    session: Session,
    state: State,
    form: FormData,
    form_name: str,
    action: Callable[[], BookingView],
    notice: str,
    booking_id: int | None = None,
) -> Response:
    values = {k: text(form, k) for k in FIELDS}
    try:
        view = action()
    except (ValidationFailed, ConflictError) as exc:
        # the refused form comes back on the day it is about: the booking's, or the day typed
        day: dt.date | None = None
        if booking_id is not None:
            day = state.services.bookings.get(session.actor, booking_id).day
        else:
            try:
                day = dt.date.fromisoformat(values["day"])
            except ValueError:
                day = None
        return calendar_response(
            request, session, state, error=exc, form_name=form_name, values=values,
            status_code=422 if isinstance(exc, ValidationFailed) else 409,
            start=day, view="day" if day is not None else None,
        )  # fmt: skip
    return see_other(
        f"/calendar?view=rooms&start={view.day.isoformat()}&saved={notice}#booking-{view.id}"
    )


@router.post("/calendar/bookings")
def book(request: Request, session: Session, state: State, form: CheckedForm) -> Response:
    def action() -> BookingView:
        study_id = text(form, "study_id")
        if not study_id:
            raise ValidationFailed("study_id", "the patient's study id", study_id)
        try:
            patient = state.services.patients.find(session.actor, study_id)
        except NotFound:
            raise ValidationFailed("study_id", "no patient with this study id", study_id) from None
        kind = text(form, "kind")
        number = text(form, "number")
        return state.services.bookings.book(
            session.actor, patient.id, kind=kind,
            number=form_int(number, "number", minimum=1, maximum=999)
            if kind != "assessment" else None,
            time_point=text(form, "time_point") or None if kind == "assessment" else None,
            day=parse_date(text(form, "day"), "day"), start=_time(text(form, "start")),
            minutes=form_int(text(form, "minutes"), "minutes"), room=text(form, "room"),
            nurse_id=_nurse(form), time_zone=state.settings.site_timezone,
        )  # fmt: skip

    return _submit(request, session, state, form, "book", action, "booked")


@router.post("/calendar/bookings/{booking_id}/move")
def move(
    booking_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    def action() -> BookingView:
        return state.services.bookings.move(
            session.actor, booking_id,
            day=parse_date(text(form, "day"), "day"), start=_time(text(form, "start")),
            room=text(form, "room"), nurse_id=_nurse(form), reason=text(form, "reason"),
            expected_version=form_int(text(form, "version"), "version"),
            time_zone=state.settings.site_timezone,
        )  # fmt: skip

    return _submit(request, session, state, form, f"move-{booking_id}", action, "moved", booking_id)


@router.post("/calendar/bookings/{booking_id}/cancel")
def cancel(
    booking_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    def action() -> BookingView:
        return state.services.bookings.cancel(
            session.actor, booking_id, reason=text(form, "reason"),
            expected_version=form_int(text(form, "version"), "version"),
        )  # fmt: skip

    return _submit(
        request, session, state, form, f"cancel-{booking_id}", action, "cancelled", booking_id
    )
