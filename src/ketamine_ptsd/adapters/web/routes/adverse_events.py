"""Following an adverse event up from the web: its outcome, resolution date, severity and
seriousness change over its course (``InfusionService.update_adverse_event``).

The form carries the version it rendered, so a follow-up saved by someone else meanwhile is
refused (409) and said so; a refused entry is shown again with everything typed kept and the
field named. Every change is audited with the reason; a change to serious is also audited as a
serious adverse event. The patient page lists the events with a link here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.services import ConflictError, PermissionDenied, ValidationFailed
from ketamine_ptsd.services.infusions import (
    AE_OUTCOMES,
    AE_SEVERITIES,
    AdverseEventInput,
    AdverseEventView,
)

from ..deps import CheckedForm, PageSession, Session, State, WebState, render, see_other
from ..params import DbId
from .patients import parse_date, render_patient_page, text

router = APIRouter()

#: The adverse-event form's fields (the bedside page's and the patient page's).
AE_FIELDS = ("term", "onset_date", "severity", "relatedness", "outcome", "ae_action", "serious")


def adverse_event_input(
    values: dict[str, str], *, infusion_number: int | None, default_onset: dt.date | None
) -> AdverseEventInput:
    """The service input from the adverse-event form's ``values`` (see :data:`AE_FIELDS`); a
    blank onset is ``default_onset`` where one is given, else refused."""
    onset = values["onset_date"]
    return AdverseEventInput(
        term=values["term"],
        onset_date=parse_date(onset, "onset_date")
        if onset or default_onset is None
        else default_onset,
        serious=values["serious"] == "yes",
        severity=values["severity"],
        relatedness=values["relatedness"],
        action=values["ae_action"],
        outcome=values["outcome"],
        infusion_number=infusion_number,
    )


def _values(view: AdverseEventView) -> dict[str, Any]:
    return {
        "outcome": view.outcome,
        "resolved_on": view.resolved_on.isoformat() if view.resolved_on else "",
        "severity": view.severity,
        "serious": "yes" if view.serious else "no",
        "reason": "",
        "expected_version": str(view.version),
    }


def _page(
    request: Request,
    session: PageSession,
    state: WebState,
    view: AdverseEventView,
    values: dict[str, Any],
    *,
    error: ValidationFailed | None = None,
    conflict: bool = False,
    status_code: int = 200,
) -> Response:
    if not session.can(Action.ADVERSE_EVENT_RECORD):
        raise PermissionDenied(Action.ADVERSE_EVENT_RECORD.value, session.role.value)
    return render(
        request,
        "adverse_event.html",
        {
            "patient": state.services.patients.get(session.actor, view.patient_id),
            "event": view,
            "values": values,
            "outcomes": AE_OUTCOMES,
            "severities": AE_SEVERITIES,
            "error": error,
            "conflict": conflict,
        },
        status_code=status_code,
    )


@router.post("/patients/{patient_id}/adverse-events")
def record(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    """An adverse event outside an infusion day (between infusions, during follow-up)."""
    values = {key: text(form, key) for key in AE_FIELDS}
    try:
        state.services.infusions.record_adverse_event(
            session.actor,
            patient_id,
            adverse_event_input(values, infusion_number=None, default_onset=None),
        )
    except (ValidationFailed, ConflictError) as exc:
        return render_patient_page(
            request,
            session,
            state,
            patient_id,
            error=exc,
            form_name="ae",
            values=values,
            status_code=422 if isinstance(exc, ValidationFailed) else 409,
        )
    return see_other(f"/patients/{patient_id}?notice=adverse+event+recorded#adverse-events")


@router.get("/adverse-events/{event_id}/follow-up")
def follow_up_form(event_id: DbId, request: Request, session: Session, state: State) -> Response:
    view = state.services.infusions.adverse_event(session.actor, event_id)
    return _page(request, session, state, view, _values(view))


@router.post("/adverse-events/{event_id}/follow-up")
def follow_up(
    event_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    """Save the follow-up, or show the form again saying why not."""
    current = state.services.infusions.adverse_event(session.actor, event_id)
    values = {
        key: text(form, key)
        for key in ("outcome", "resolved_on", "severity", "serious", "reason", "expected_version")
    }
    try:
        version = values["expected_version"]
        if not version.isdigit() or len(version) > 9:
            raise ValidationFailed("expected_version", "a whole number", version)
        if values["serious"] not in ("yes", "no"):
            raise ValidationFailed("serious", "yes or no", values["serious"])
        state.services.infusions.update_adverse_event(
            session.actor,
            event_id,
            expected_version=int(version),
            reason=values["reason"],
            outcome=values["outcome"],
            resolved_on=parse_date(values["resolved_on"], "resolved_on")
            if values["resolved_on"]
            else None,
            severity=values["severity"],
            serious=values["serious"] == "yes",
        )
    except ConflictError:
        return _page(request, session, state, current, values, conflict=True, status_code=409)
    except ValidationFailed as exc:
        return _page(request, session, state, current, values, error=exc, status_code=422)
    return see_other(f"/patients/{current.patient_id}?notice=adverse+event+updated#adverse-events")
