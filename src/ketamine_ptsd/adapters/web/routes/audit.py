"""The audit trail, as a page (issue 17): ``/audit`` for the monitor, the investigator and the
administrator.

Filters: a patient (study id), a form (table name), a user, and a date range read in the site's
time zone (from the start of the first day to the end of the last); newest first, 100 rows a
page. The rows are ``AuditService.entries``'s, so the values are redacted by the reader's role
exactly as everywhere else (no arm for the blinded) and a site's member sees no row of another
site's patient. A filter that is refused is shown at its field with the input kept.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.services import NotFound, PermissionDenied, ValidationFailed

from ..deps import Session, State, render
from ..params import form_int
from .patients import parse_date

router = APIRouter()

#: Rows per page.
PAGE_ROWS = 100
FILTERS = ("study_id", "form", "user", "date_from", "date_to")


def _start_of(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The instant a site's calendar day begins."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


@router.get("/audit")
def audit_page(request: Request, session: Session, state: State) -> Response:
    if not session.can(Action.AUDIT_READ):
        raise PermissionDenied(Action.AUDIT_READ.value, session.role.value)
    values = {k: request.query_params.get(k, "").strip()[:64] for k in FILTERS}
    zone = zoneinfo.ZoneInfo(state.settings.site_timezone)
    rows: list[object] = []
    error: ValidationFailed | None = None
    page = 1
    more = False
    try:
        page = form_int(request.query_params.get("page", "1"), "page", minimum=1, maximum=100_000)
        first = parse_date(values["date_from"], "date_from") if values["date_from"] else None
        last = parse_date(values["date_to"], "date_to") if values["date_to"] else None
        if first and last and last < first:
            raise ValidationFailed("date_to", "is before the first day", values["date_to"])
        try:
            found = state.services.audit.entries(
                session.actor,
                study_id=values["study_id"] or None,
                table_name=values["form"] or None,
                username=values["user"] or None,
                occurred_from=None if first is None else _start_of(first, zone),
                occurred_before=None
                if last is None
                else _start_of(last + dt.timedelta(days=1), zone),
                limit=PAGE_ROWS + 1,
                offset=(page - 1) * PAGE_ROWS,
                newest_first=True,
            )
        except NotFound:  # another site's patient is "not found" too
            raise ValidationFailed(
                "study_id", "no patient with this study id", values["study_id"]
            ) from None
        more = len(found) > PAGE_ROWS
        rows = list(found[:PAGE_ROWS])
    except ValidationFailed as exc:
        error = exc
    query = {k: v for k, v in values.items() if v}
    return render(
        request,
        "audit.html",
        {
            "rows": rows,
            "values": values,
            "error": error,
            "page": page,
            "previous_url": f"/audit?{urlencode({**query, 'page': page - 1})}"
            if page > 1
            else None,
            "next_url": f"/audit?{urlencode({**query, 'page': page + 1})}" if more else None,
        },
        status_code=422 if error else 200,
    )
