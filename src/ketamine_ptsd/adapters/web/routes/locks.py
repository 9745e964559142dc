"""Locks of the record, as pages (issue 17).

``/locks`` shows whether the database is locked (since when, by whom, why, the audit head it
sealed) and every lock, newest first; an investigator locks or unlocks the database there with
a reason and the password again. The monitor and the administrator read it. A patient's own lock
is taken and lifted on the patient's page (``POST /patients/{id}/lock`` and ``/unlock``), where
the record is. A refusal is shown at its field with the reason kept; the password never is.
Every decision goes through ``services.locks``, so the roles, the site scope and the audit trail
are the service's.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.services import AuthenticationFailed, ConflictError, ValidationFailed

from ..deps import CheckedForm, PageSession, Session, State, render, see_other
from ..params import DbId
from .patients import render_patient_page, text

router = APIRouter()


def _password(form: FormData) -> str:
    value = form.get("password")
    return value if isinstance(value, str) else ""


def _page(
    request: Request,
    session: PageSession,
    state: State,
    *,
    error: ValidationFailed | ConflictError | None = None,
    form_name: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    history = state.services.locks.history(session.actor)
    database = next((v for v in history if v.open and v.patient is None), None)
    status = 200
    if error is not None:
        status = 422 if isinstance(error, ValidationFailed) else 409
    return render(
        request,
        "locks.html",
        {
            "database": database,
            "history": history,
            "can_lock": session.can(Action.DATABASE_LOCK),
            "error": error,
            "form_name": form_name,
            "values": values or {},
            "notice": request.query_params.get("notice"),
        },
        status_code=status,
    )


@router.get("/locks")
def locks_page(request: Request, session: Session, state: State) -> Response:
    return _page(request, session, state)


def _decide(
    request: Request, session: PageSession, state: State, form: FormData, unlock: bool
) -> Response:
    values = {"reason": text(form, "reason")}
    name = "unlock" if unlock else "lock"
    act = state.services.locks.unlock if unlock else state.services.locks.lock
    try:
        try:
            act(session.actor, reason=values["reason"], password=_password(form))
        except AuthenticationFailed as exc:  # counted and audited by the service
            raise ValidationFailed("password", exc.message, None) from None
    except (ValidationFailed, ConflictError) as exc:
        return _page(request, session, state, error=exc, form_name=name, values=values)
    return see_other(f"/locks?notice=database+{name}ed+(audited)")


@router.post("/locks/database")
def lock_database(request: Request, session: Session, state: State, form: CheckedForm) -> Response:
    return _decide(request, session, state, form, unlock=False)


@router.post("/locks/database/unlock")
def unlock_database(
    request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    return _decide(request, session, state, form, unlock=True)


def _patient_decision(
    patient_id: int,
    request: Request,
    session: PageSession,
    state: State,
    form: FormData,
    unlock: bool,
) -> Response:
    values = {"reason": text(form, "reason")}
    act = state.services.locks.unlock if unlock else state.services.locks.lock
    try:
        try:
            act(
                session.actor,
                reason=values["reason"],
                password=_password(form),
                patient_id=patient_id,
            )
        except AuthenticationFailed as exc:  # counted and audited by the service
            raise ValidationFailed("password", exc.message, None) from None
    except (ValidationFailed, ConflictError) as exc:
        return render_patient_page(
            request,
            session,
            state,
            patient_id,
            error=exc,
            form_name="patient_lock",
            values=values,
            status_code=422 if isinstance(exc, ValidationFailed) else 409,
        )
    verb = "unlocked" if unlock else "locked"
    return see_other(f"/patients/{patient_id}?notice=record+{verb}+(audited)")


@router.post("/patients/{patient_id}/lock")
def lock_patient(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    return _patient_decision(patient_id, request, session, state, form, unlock=False)


@router.post("/patients/{patient_id}/unlock")
def unlock_patient(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    return _patient_decision(patient_id, request, session, state, form, unlock=True)
