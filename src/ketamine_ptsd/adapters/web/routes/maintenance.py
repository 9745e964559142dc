"""The maintenance plan on the patient page (issue 13; PROTOCOL.md §8, §11): the physician
starts periodic IV maintenance, changes its interval or stops it, each with the reason the
workflow asks for; a refused form comes back on the patient page with its field named and what
was typed kept (services/maintenance.py)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from ketamine_ptsd.services import ConflictError, NotFound, ValidationFailed

from ..deps import CheckedForm, Session, State, see_other
from ..params import DbId, form_int
from .patients import parse_date, render_patient_page, text

router = APIRouter()

FIELDS = ("option_id", "interval_days", "starts_on", "reason", "stopped_on", "version")


def _submit(
    request: Request,
    session: Session,
    state: State,
    patient_id: int,
    form: FormData,
    action: Callable[[], object],
    notice: str,
) -> Response:
    values = {k: text(form, k) for k in FIELDS}
    try:
        action()
    except (ValidationFailed, ConflictError, NotFound) as exc:
        error = (
            exc
            if not isinstance(exc, NotFound)
            else ConflictError("maintenance", patient_id, str(exc))
        )
        return render_patient_page(
            request, session, state, patient_id, error=error, form_name="maintenance",
            values=values, status_code=422 if isinstance(exc, ValidationFailed) else 409,
        )  # fmt: skip
    return see_other(f"/patients/{patient_id}?notice={notice}#maintenance")


@router.post("/patients/{patient_id}/maintenance")
def start(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    return _submit(
        request, session, state, patient_id, form,
        lambda: state.services.maintenance.start(
            session.actor, patient_id,
            option_id=text(form, "option_id"),
            interval_days=form_int(text(form, "interval_days"), "interval_days"),
            starts_on=parse_date(text(form, "starts_on"), "starts_on"),
            reason=text(form, "reason") or None,
        ),
        "Maintenance started.",
    )  # fmt: skip


@router.post("/patients/{patient_id}/maintenance/interval")
def change_interval(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    return _submit(
        request, session, state, patient_id, form,
        lambda: state.services.maintenance.change_interval(
            session.actor, patient_id,
            interval_days=form_int(text(form, "interval_days"), "interval_days"),
            reason=text(form, "reason"),
            expected_version=form_int(text(form, "version"), "version"),
        ),
        "Maintenance interval changed.",
    )  # fmt: skip


@router.post("/patients/{patient_id}/maintenance/stop")
def stop(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    return _submit(
        request, session, state, patient_id, form,
        lambda: state.services.maintenance.stop(
            session.actor, patient_id,
            stopped_on=parse_date(text(form, "stopped_on"), "stopped_on"),
            reason=text(form, "reason"),
            expected_version=form_int(text(form, "version"), "version"),
        ),
        "Maintenance stopped.",
    )  # fmt: skip
