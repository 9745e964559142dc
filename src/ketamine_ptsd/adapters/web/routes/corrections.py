"""Correcting a stored outcome assessment from the web: edit (rescored) or void, with a reason.

Issue 4 / 21 CFR 11.10(e) spirit: a saved value is never overwritten silently. The services
(``AssessmentService.edit`` / ``void``) need the version the user read and a reason; the web
passes the version it rendered in a hidden field, so a correction made by someone else meanwhile
is refused (409) and shown as such, with what this user typed kept. Every change is audited by
the services. Infusion-day ratings are the infusion service's and are not corrected here.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketamine_ptsd.core.instruments import get_instrument
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.services import ConflictError, PermissionDenied, ValidationFailed
from ketamine_ptsd.services.assessments import AssessmentView

from ..deps import CheckedForm, PageSession, Session, State, WebState, render, see_other
from ..params import DbId
from .assessments import score_form
from .patients import parse_date, text

router = APIRouter()

CONFLICT = (
    "Not saved — this assessment was changed by someone else after you opened it. "
    "Reload the page to see the current values, then make your correction again."
)


def _raw_from_view(view: AssessmentView) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in view.items.items()}


def _page(
    request: Request,
    session: PageSession,
    state: WebState,
    view: AssessmentView,
    *,
    raw: dict[str, str],
    assessed_on: str,
    version: int,
    reason: str = "",
    errors: dict[str, str] | None = None,
    form_error: str | None = None,
    conflict: bool = False,
    status_code: int = 200,
) -> Response:
    if not session.can(Action.ASSESSMENT_RECORD):
        raise PermissionDenied(Action.ASSESSMENT_RECORD.value, session.role.value)
    patient = state.services.patients.get(session.actor, view.patient_id)
    return render(
        request,
        "assessment_edit.html",
        {
            "patient": patient,
            "view": view,
            "instrument": get_instrument(view.instrument),
            "raw": raw,
            "assessed_on": assessed_on,
            "version": version,
            "reason": reason,
            "errors": errors or {},
            "form_error": form_error,
            "conflict": conflict,
        },
        status_code=status_code,
    )


@router.get("/assessments/{assessment_id}/edit")
def edit_form(assessment_id: DbId, request: Request, session: Session, state: State) -> Response:
    view = state.services.assessments.get(session.actor, assessment_id)
    return _page(
        request,
        session,
        state,
        view,
        raw=_raw_from_view(view),
        assessed_on=view.assessed_on.isoformat(),
        version=view.version,
    )


def _version(form: Any) -> int:
    value = text(form, "expected_version")
    if not value.isdigit() or len(value) > 9:
        raise ValidationFailed("expected_version", "a whole number", value)
    return int(value)


@router.post("/assessments/{assessment_id}/edit")
def edit(
    assessment_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    """Rescore and store the corrected items (and date), or show why not."""
    current = state.services.assessments.get(session.actor, assessment_id)
    instrument = get_instrument(current.instrument)
    raw = {k.removeprefix("item_"): text(form, k) for k in form if k.startswith("item_")}
    reason = text(form, "reason")
    version = _version(form)
    assessed_on = text(form, "assessed_on") or current.assessed_on.isoformat()

    def again(status: int, **extra: Any) -> Response:
        return _page(
            request,
            session,
            state,
            current,
            raw=raw,
            assessed_on=assessed_on,
            version=version,
            reason=reason,
            status_code=status,
            **extra,
        )

    result, errors, form_error = score_form(instrument, raw)
    if result is None:
        return again(422, errors=errors, form_error=form_error)
    from .assessments import parse_items

    items, _ = parse_items(instrument, raw)
    try:
        state.services.assessments.edit(
            session.actor,
            assessment_id,
            expected_version=version,
            reason=reason,
            items=items,
            assessed_on=parse_date(assessed_on, "assessed_on"),
        )
    except ConflictError:
        return again(409, conflict=True)
    except ValidationFailed as exc:
        return again(422, form_error=f"{exc.field}: {exc.message}")
    return see_other(f"/patients/{current.patient_id}?corrected={assessment_id}#score-table")


@router.post("/assessments/{assessment_id}/void")
def void(
    assessment_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    """Void an assessment entered in error (kept, marked, audited)."""
    current = state.services.assessments.get(session.actor, assessment_id)
    reason = text(form, "void_reason")
    version = _version(form)
    try:
        state.services.assessments.void(
            session.actor, assessment_id, expected_version=version, reason=reason
        )
    except (ConflictError, ValidationFailed) as exc:
        conflict = isinstance(exc, ConflictError)
        return _page(
            request,
            session,
            state,
            current,
            raw=_raw_from_view(current),
            assessed_on=current.assessed_on.isoformat(),
            version=version,
            conflict=conflict,
            form_error=None if conflict else f"void: {exc.message}",
            status_code=409 if conflict else 422,
        )
    return see_other(f"/patients/{current.patient_id}?voided={assessment_id}#score-table")
