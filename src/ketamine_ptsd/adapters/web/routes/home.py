"""The role home page (what this person has to do today) and the clinic's calendar."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketamine_ptsd.core.roles import Action, Role

from ..calendar import calendar_page, maintained, overdue_assessments
from ..deps import Session, State, render
from ..views import TodayInfusion, home_page

router = APIRouter()

#: The calendar's views: a day or a week (from Monday).
VIEWS = {"day": 1, "week": 7}


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
    """Infusions, assessment time points and follow-up visits by day (``view=day|week``,
    ``start=YYYY-MM-DD``; a week starts on its Monday)."""
    view = request.query_params.get("view", "week")
    if view not in VIEWS:
        view = "week"
    today = state.now().date()
    try:
        start = dt.date.fromisoformat(request.query_params.get("start", "") or today.isoformat())
    except ValueError:
        start = today
    if view == "week":
        start -= dt.timedelta(days=start.weekday())
    page = calendar_page(state, session.actor, start, VIEWS[view])
    return render(request, "calendar.html", {"cal": page, "view": view})
