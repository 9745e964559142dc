"""The role home page (what this person has to do today) and the clinic's calendar."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..calendar import calendar_page, overdue_assessments
from ..deps import Session, State, render
from ..views import home_page

router = APIRouter()

#: The calendar's views: a day or a week (from Monday).
VIEWS = {"day": 1, "week": 7}


@router.get("/")
def home(request: Request, session: Session, state: State) -> Response:
    return render(
        request,
        "home.html",
        {
            "page": home_page(state, session.actor),
            "overdue": overdue_assessments(state, session.actor),
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
