"""Esketamine sessions at the bedside (issue 13; PROTOCOL.md §8, §11): the nurse's tablet page
and the printable REMS monitoring form.

``/patients/{id}/esketamine`` lists the sessions and starts the next one with its REMS fields;
``/patients/{id}/esketamine/{n}`` is one session: readings (blood pressure, pulse, SpO2,
MOAA/S), events (sedation, dissociation, respiratory depression) and their resolution, what still
keeps monitoring from ending (each rule with its §, and the earliest end by the 2-hour rule), the
end of monitoring with "when would the patient have been ready to leave", the prescriber's
discharge (password), and the form's submission. ``/{n}/form`` is the printable form (the print
stylesheet), ``/{n}/form.pdf`` and ``/{n}/form.json`` its exports. The prescriber's decisions
(release a blood-pressure hold, move a session) sit on the list page. A refused form comes back
with the rule or field named and everything typed kept (services/esketamine.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData

from ketamine_ptsd.adapters.reports.rems_form import CLASS_LABELS, form_data, form_lines, form_pdf
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.services import (
    AuthenticationFailed,
    ConflictError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from ketamine_ptsd.services.esketamine import SessionStart

from ..deps import CheckedForm, PageSession, Session, State, WebState, render, see_other
from ..params import DbId, form_int
from .infusion import site_time
from .patients import parse_date, text

__all__ = ["esketamine_context", "router"]

router = APIRouter()

Refusal = ValidationFailed | ConflictError | AuthenticationFailed


def _optional_int(form: FormData, name: str) -> int | None:
    value = text(form, name)
    return None if not value else form_int(value, name, minimum=0, maximum=1000)


def _list_page(
    request: Request,
    session: PageSession,
    state: WebState,
    patient_id: int,
    *,
    error: Refusal | None = None,
    form_name: str = "",
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    services = state.services
    patient = services.patients.get(session.actor, patient_id)
    plan = services.esketamine.plan(session.actor, patient_id)
    sessions = services.esketamine.sessions(session.actor, patient_id)
    return render(
        request,
        "esketamine.html",
        {
            "patient": patient,
            "plan": plan,
            "sessions": sessions,
            "open_session": next((s for s in sessions if not s.ended), None),
            "first_session": not any(s.rems_patient_enrolled for s in sessions),
            "class_labels": CLASS_LABELS,
            "can_record": session.can(Action.INFUSION_RECORD),
            "can_decide": session.can(Action.PHYSICIAN_DECISION),
            "error": error,
            "form_name": form_name,
            "values": values or {},
        },
        status_code=status_code,
    )


def _session_page(
    request: Request,
    session: PageSession,
    state: WebState,
    patient_id: int,
    number: int,
    *,
    error: Refusal | None = None,
    form_name: str = "",
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    services = state.services
    patient = services.patients.get(session.actor, patient_id)
    view = services.esketamine.session(session.actor, patient_id, number)
    return render(
        request,
        "esketamine_session.html",
        {
            "patient": patient,
            "s": view,
            "can_record": session.can(Action.INFUSION_RECORD),
            "can_discharge": session.can(Action.DISCHARGE_SIGNOFF),
            "error": error,
            "form_name": form_name,
            "values": values or {},
        },
        status_code=status_code,
    )


def _status(exc: Exception) -> int:
    return (
        422
        if isinstance(exc, ValidationFailed)
        else 401
        if isinstance(exc, AuthenticationFailed)
        else 409
    )


@router.get("/patients/{patient_id}/esketamine")
def sessions_page(patient_id: DbId, request: Request, session: Session, state: State) -> Response:
    return _list_page(request, session, state, patient_id)


def _on_list(
    request: Request,
    session: PageSession,
    state: WebState,
    patient_id: int,
    form: FormData,
    form_name: str,
    action: Callable[[], Any],
    target: Callable[[Any], str],
) -> Response:
    values: dict[str, Any] = {
        k: v for k, v in form.multi_items() if k not in ("csrf_token", "password")
    }
    values["concomitant_classes"] = form.getlist("concomitant_classes")
    try:
        result = action()
    except (ValidationFailed, ConflictError, AuthenticationFailed) as exc:
        return _list_page(
            request, session, state, patient_id, error=exc, form_name=form_name,
            values=values, status_code=_status(exc),
        )  # fmt: skip
    return see_other(target(result))


@router.post("/patients/{patient_id}/esketamine")
def start(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    def run() -> Any:
        first = text(form, "first_device_at")
        given = SessionStart(
            rems_patient_enrolled=text(form, "rems_patient_enrolled") == "yes",
            rems_patient_id=text(form, "rems_patient_id") or None,
            setting_name=text(form, "setting_name"),
            setting_certified=text(form, "setting_certified") == "yes",
            monitoring_provider=text(form, "monitoring_provider"),
            prescriber=text(form, "prescriber"),
            concomitant_classes=tuple(str(c) for c in form.getlist("concomitant_classes")),
            concomitant_notes=text(form, "concomitant_notes") or None,
            dose_mg=form_int(
                text(
                    form, "other_dose_mg" if text(form, "dose_choice") == "other" else "dose_choice"
                ),
                "dose_mg",
                minimum=0,
                maximum=1000,
            ),
            other_dose_reason=text(form, "other_dose_reason") or None,
            device_lot=text(form, "device_lot"),
            bp_before_systolic=form_int(
                text(form, "bp_before_systolic"), "bp_before_systolic", minimum=0, maximum=400
            ),
            bp_before_diastolic=form_int(
                text(form, "bp_before_diastolic"), "bp_before_diastolic", minimum=0, maximum=400
            ),
            pulse_before=_optional_int(form, "pulse_before"),
            spo2_before=_optional_int(form, "spo2_before"),
            first_device_at=site_time(state, "first_device_at", first) if first else None,
        )
        return state.services.esketamine.start(session.actor, patient_id, given)

    return _on_list(
        request, session, state, patient_id, form, "start", run,
        lambda s: f"/patients/{patient_id}/esketamine/{s.session_number}?saved=started",
    )  # fmt: skip


@router.post("/patients/{patient_id}/esketamine/release-bp-hold")
def release_bp_hold(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    return _on_list(
        request, session, state, patient_id, form, "release",
        lambda: state.services.esketamine.release_bp_hold(
            session.actor, patient_id,
            systolic=form_int(text(form, "systolic"), "systolic", minimum=0, maximum=400),
            diastolic=form_int(text(form, "diastolic"), "diastolic", minimum=0, maximum=400),
            reason=text(form, "reason"), password=str(form.get("password") or ""),
        ),
        lambda _: f"/patients/{patient_id}/esketamine?saved=released#start",
    )  # fmt: skip


@router.post("/patients/{patient_id}/esketamine/move")
def move_session(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    return _on_list(
        request, session, state, patient_id, form, "move",
        lambda: state.services.esketamine.move_session(
            session.actor, patient_id, day=parse_date(text(form, "day"), "day"),
            reason=text(form, "reason"), password=str(form.get("password") or ""),
        ),
        lambda _: f"/patients/{patient_id}/esketamine?saved=moved#start",
    )  # fmt: skip


@router.get("/patients/{patient_id}/esketamine/{number}")
def session_page(
    patient_id: DbId, number: DbId, request: Request, session: Session, state: State
) -> Response:
    return _session_page(request, session, state, patient_id, number)


def _on_session(
    request: Request,
    session: PageSession,
    state: WebState,
    patient_id: int,
    number: int,
    form: FormData,
    form_name: str,
    action: Callable[[], Any],
    anchor: str,
) -> Response:
    values = {k: v for k, v in form.multi_items() if k not in ("csrf_token", "password")}
    try:
        action()
    except (ValidationFailed, ConflictError, AuthenticationFailed) as exc:
        return _session_page(
            request, session, state, patient_id, number, error=exc, form_name=form_name,
            values=values, status_code=_status(exc),
        )  # fmt: skip
    return see_other(f"/patients/{patient_id}/esketamine/{number}?saved={form_name}#{anchor}")


@router.post("/patients/{patient_id}/esketamine/{number}/readings")
def reading(
    patient_id: DbId, number: DbId, request: Request, session: Session, state: State,
    form: CheckedForm,
) -> Response:  # fmt: skip
    return _on_session(
        request, session, state, patient_id, number, form, "reading",
        lambda: state.services.esketamine.record_reading(
            session.actor, patient_id, number,
            systolic=_optional_int(form, "systolic"), diastolic=_optional_int(form, "diastolic"),
            pulse=_optional_int(form, "pulse"), spo2_percent=_optional_int(form, "spo2_percent"),
            moaas=_optional_int(form, "moaas"),
        ),
        "readings",
    )  # fmt: skip


@router.post("/patients/{patient_id}/esketamine/{number}/events")
def event(
    patient_id: DbId, number: DbId, request: Request, session: Session, state: State,
    form: CheckedForm,
) -> Response:  # fmt: skip
    def run() -> Any:
        onset = text(form, "onset_at")
        resolved = text(form, "resolved_at")
        return state.services.esketamine.record_event(
            session.actor, patient_id, number, kind=text(form, "kind"),
            onset_at=site_time(state, "onset_at", onset) if onset else None,
            resolved_at=site_time(state, "resolved_at", resolved) if resolved else None,
            notes=text(form, "notes") or None,
        )  # fmt: skip

    return _on_session(request, session, state, patient_id, number, form, "event", run, "events")


@router.post("/patients/{patient_id}/esketamine/{number}/events/{event_id}/resolve")
def resolve(
    patient_id: DbId, number: DbId, event_id: DbId, request: Request, session: Session,
    state: State, form: CheckedForm,
) -> Response:  # fmt: skip
    def run() -> Any:
        resolved = text(form, "resolved_at")
        return state.services.esketamine.resolve_event(
            session.actor, patient_id, number, event_id,
            expected_version=form_int(text(form, "version"), "version"),
            resolved_at=site_time(state, "resolved_at", resolved) if resolved else None,
        )  # fmt: skip

    return _on_session(request, session, state, patient_id, number, form, "resolve", run, "events")


@router.post("/patients/{patient_id}/esketamine/{number}/end")
def end(
    patient_id: DbId, number: DbId, request: Request, session: Session, state: State,
    form: CheckedForm,
) -> Response:  # fmt: skip
    def run() -> Any:
        ready = text(form, "ready_to_leave_at")
        return state.services.esketamine.end_monitoring(
            session.actor, patient_id, number,
            ready_to_leave_at=site_time(state, "ready_to_leave_at", ready) if ready else None,
            expected_version=form_int(text(form, "version"), "version"),
        )  # fmt: skip

    return _on_session(request, session, state, patient_id, number, form, "end", run, "end")


@router.post("/patients/{patient_id}/esketamine/{number}/discharge")
def discharge(
    patient_id: DbId, number: DbId, request: Request, session: Session, state: State,
    form: CheckedForm,
) -> Response:  # fmt: skip
    return _on_session(
        request, session, state, patient_id, number, form, "discharge",
        lambda: state.services.esketamine.discharge(
            session.actor, patient_id, number, password=str(form.get("password") or ""),
            expected_version=form_int(text(form, "version"), "version"),
        ),
        "end",
    )  # fmt: skip


@router.post("/patients/{patient_id}/esketamine/{number}/submit")
def submit(
    patient_id: DbId, number: DbId, request: Request, session: Session, state: State,
    form: CheckedForm,
) -> Response:  # fmt: skip
    return _on_session(
        request, session, state, patient_id, number, form, "submit",
        lambda: state.services.esketamine.submit_form(
            session.actor, patient_id, number,
            expected_version=form_int(text(form, "version"), "version"),
        ),
        "form",
    )  # fmt: skip


def _form(state: WebState, session: PageSession, patient_id: int, number: int) -> Any:
    service = state.services.esketamine
    view = service.session(session.actor, patient_id, number)
    return view, form_data(view, service.plan(session.actor, patient_id))


@router.get("/patients/{patient_id}/esketamine/{number}/form")
def printable_form(
    patient_id: DbId, number: DbId, request: Request, session: Session, state: State
) -> Response:
    """The monitoring form to print (the print stylesheet hides the menu and buttons)."""
    view, data = _form(state, session, patient_id, number)
    return render(
        request,
        "esketamine_form.html",
        {"s": view, "data": data, "lines": form_lines(data, state.settings.site_timezone)},
    )


@router.get("/patients/{patient_id}/esketamine/{number}/form.pdf")
def form_as_pdf(patient_id: DbId, number: DbId, session: Session, state: State) -> Response:
    view, data = _form(state, session, patient_id, number)
    return Response(
        form_pdf(data, state.settings.site_timezone),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="rems-form-{view.study_id}-{number}.pdf"'
        },
    )


@router.get("/patients/{patient_id}/esketamine/{number}/form.json")
def form_as_json(patient_id: DbId, number: DbId, session: Session, state: State) -> Response:
    view, data = _form(state, session, patient_id, number)
    return JSONResponse(
        data,
        headers={
            "Content-Disposition": f'attachment; filename="rems-form-{view.study_id}-{number}.json"'
        },
    )


def esketamine_context(state: WebState, session: PageSession, patient: Any) -> dict[str, Any]:
    """The patient page's card: shown for a clinic patient whose protocol gives esketamine."""
    if patient.mode != "clinic" or not session.can(Action.INFUSION_READ):
        return {"esketamine_shown": False}
    try:
        sessions = state.services.esketamine.sessions(session.actor, patient.id)
    except (ConflictError, NotFound, PermissionDenied):
        return {"esketamine_shown": False}
    return {"esketamine_shown": True, "esketamine_sessions": sessions}
