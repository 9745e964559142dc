"""The role home page (what this person has to do today) and the clinic's calendar."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketamine_ptsd.core.roles import Action, Role
from ketamine_ptsd.services.bookings import KINDS

from ..calendar import calendar_page, maintained, overdue_assessments, room_grid
from ..deps import PageSession, Session, State, WebState, render
from ..views import TodayInfusion, home_page

router = APIRouter()

#: The calendar's views: a day, a week (from Monday), or a day by room.
VIEWS = {"day": 1, "week": 7, "rooms": 1}
#: The booking form's fields as a person reads them (an error names the field so).
FIELD_LABELS = {
    "study_id": "Patient", "patient": "Patient", "kind": "What", "number": "Number",
    "time_point": "Time point", "day": "Day", "start": "Start", "minutes": "Duration",
    "room": "Room", "nurse_id": "Nurse", "reason": "Reason", "version": "Version",
}  # fmt: skip


@router.get("/")
def home(request: Request, session: Session, state: State) -> Response:
    page = home_page(state, session.actor)
    patients = (
        state.services.patients.list(session.actor) if session.can(Action.PATIENT_READ) else []
    )
    if session.can(Action.INFUSION_READ) and session.role is not Role.PHARMACIST:
        today = state.now().date()
        for patient, schedule in maintained(state, session.actor, patients):  # due or overdue (§8)
            if schedule.next_due is not None and schedule.next_due <= today:
                late = "" if schedule.next_due == today else f", due {schedule.next_due:%d %b}"
                page.infusions_today.append(
                    TodayInfusion(
                        patient, schedule.next_number,
                        f"maintenance infusion {schedule.next_number}{late}",
                    )
                )  # fmt: skip
    # the clinic's self-reports between visits, due or late, with no usable link (issue 13)
    self_reports_due = (
        state.services.self_reports.due(session.actor)
        if session.can(Action.ASSESSMENT_RECORD) and session.role is not Role.OUTCOME_RATER
        else []
    )
    forms_due = (
        state.services.esketamine.unsubmitted_forms(session.actor)
        if session.role in (Role.NURSE, Role.CLINICIAN, Role.INVESTIGATOR)
        else []
    )  # the REMS monitoring forms not yet submitted (issue 13, §11); clinic patients only
    return render(
        request,
        "home.html",
        {
            "page": page,
            "overdue": overdue_assessments(state, session.actor, patients),
            "self_reports_due": self_reports_due,
            "forms_due": forms_due,
        },
    )


@router.get("/calendar")
def calendar(request: Request, session: Session, state: State) -> Response:
    """Bookings, infusions, assessment time points and follow-up visits by day
    (``view=day|week|rooms``, ``start=YYYY-MM-DD``; a week starts on its Monday; ``rooms`` is one
    day with a column per room), filtered by ``room=`` or ``nurse=`` (a user id)."""
    return calendar_response(request, session, state)


def calendar_response(
    request: Request,
    session: PageSession,
    state: WebState,
    *,
    error: Exception | None = None,
    form_name: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    start: dt.date | None = None,
    view: str | None = None,
) -> Response:
    """The calendar page (also re-rendered by a refused booking form, with what was typed)."""
    params = request.query_params
    view = view or params.get("view", "week")
    if view not in VIEWS:
        view = "week"
    today = site_today(state)
    if start is None:
        try:
            start = dt.date.fromisoformat(params.get("start", "") or today.isoformat())
        except ValueError:
            start = today
    if view == "week":
        start -= dt.timedelta(days=start.weekday())
    room = " ".join(params.get("room", "").split())[:64]
    try:
        nurse_id: int | None = int(params.get("nurse", "")) if params.get("nurse") else None
    except ValueError:
        nurse_id = None
    page = calendar_page(state, session.actor, start, VIEWS[view], room=room, nurse_id=nurse_id)
    grid = room_grid(page.entries.get(start, [])) if view == "rooms" else None
    can_book = session.can(Action.BOOKING_RECORD)
    kinds = dict(KINDS)
    if not can_book or all(  # the blind: esketamine is named only where a clinic patient is
        p.mode != "clinic" for p in state.services.patients.list(session.actor)
    ):
        kinds.pop("esketamine")
    filters = "".join(
        f"&{k}={quote(v)}" for k, v in (("room", room), ("nurse", str(nurse_id or ""))) if v
    )
    return render(
        request,
        "calendar.html",
        {
            "cal": page, "view": view, "grid": grid, "filters": filters,
            "can_book": can_book, "kinds": kinds,
            "error": error, "form_name": form_name, "values": values or {},
            "labels": FIELD_LABELS, "site_today": today,
        },
        status_code=status_code,
    )  # fmt: skip


def site_today(state: WebState) -> dt.date:
    """Today on the site's clock (bookings are in site time)."""
    return state.now().astimezone(zoneinfo.ZoneInfo(state.settings.site_timezone)).date()
