"""Patients: the list, registration, the patient page (timeline), consent, screening outcome,
allocation and emergency unblinding (PROTOCOL.md §1–§3, §5).

A refused form is shown again with what was typed and the refused field named; nothing typed is
lost (issue 5). What a role sees of the allocation is what the services return ("study drug"
for blinded roles).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from ketamine_ptsd.core.instruments import REGISTRY
from ketamine_ptsd.core.roles import Action, is_allowed
from ketamine_ptsd.core.workflow import ENROLLED, Event, PatientState, Treatment
from ketamine_ptsd.services import (
    AuthenticationFailed,
    ConflictError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from ketamine_ptsd.services.infusions import AE_OUTCOMES, AE_RELATEDNESS, AE_SEVERITIES
from ketamine_ptsd.services.maintenance import iv_options
from ketamine_ptsd.services.patient_search import SORTS, PatientQuery
from ketamine_ptsd.services.patients import CLINIC_CONSENT_TOPICS, ConsentInput, IdentityInput

from ..course import course
from ..deps import CheckedForm, Session, State, render, see_other
from ..params import DbId
from ..views import timeline

router = APIRouter()

#: Instruments given on infusion days (PROTOCOL.md §6), hidden from outcome raters (§3).
INFUSION_DAY_INSTRUMENTS = frozenset({"cadss", "bprs_positive", "ymrs_item1", "prise"})


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def parse_date(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(field, "a date as YYYY-MM-DD", value) from None


def enterable_instruments(session: Any) -> list[str]:
    """Instruments this role may enter: outcome measures, infusion-day ratings, or both."""
    result = []
    for instrument_id in REGISTRY:
        infusion_day = instrument_id in INFUSION_DAY_INSTRUMENTS
        action = Action.INFUSION_RATING_RECORD if infusion_day else Action.ASSESSMENT_RECORD
        if is_allowed(session.role, action):
            result.append(instrument_id)
    return result


def _page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


@router.get("/patients")
def patient_list(request: Request, session: Session, state: State) -> Response:
    return _list_page(request, session, state)


def _list_page(
    request: Request,
    session: Session,
    state: State,
    *,
    error: ValidationFailed | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    params = request.query_params
    query = PatientQuery(
        text=params.get("q", "")[:100],
        status=params.get("status") or None,
        protocol=params.get("protocol") or None,
        sort=params.get("sort") or "study_id",
        page=_page_number(params.get("page")),
        per_page=50,
    )
    search_error = None
    try:
        found = state.services.patients.search(session.actor, query)
    except ValidationFailed as exc:  # a hand-edited address: say which part, show the first page
        search_error = exc
        found = state.services.patients.search(session.actor, PatientQuery(text=query.text))
    return render(
        request,
        "patients.html",
        {
            "patients": found.items,
            "found": found,
            "query": query,
            "search_error": search_error,
            "statuses": [s.value for s in PatientState],
            "sorts": SORTS,
            "can_search_names": session.can(Action.IDENTITY_READ),
            "can_register": session.can(Action.PATIENT_REGISTER),
            "with_identity": session.can(Action.IDENTITY_EDIT),
            "protocols": ["clinical"] if session.role.value == "clinician" else ["rct", "clinical"],
            "error": error,
            "values": values or {"site": state.settings.site},
        },
        status_code=status_code,
    )


@router.post("/patients")
def register(request: Request, session: Session, state: State, form: CheckedForm) -> Response:
    values = {
        k: text(form, k)
        for k in ("protocol_name", "site", "stratum", "family_name", "given_name", "date_of_birth")
    }
    try:
        identity = None
        if values["family_name"] or values["given_name"]:
            identity = IdentityInput(
                values["family_name"],
                values["given_name"],
                parse_date(values["date_of_birth"], "date_of_birth")
                if values["date_of_birth"]
                else None,
            )
        patient = state.services.patients.register(
            session.actor,
            protocol_name=values["protocol_name"],
            site=values["site"].upper(),
            stratum=values["stratum"] or None,
            identity=identity,
        )
    except ValidationFailed as exc:
        return _list_page(request, session, state, error=exc, values=values, status_code=422)
    return see_other(f"/patients/{patient.id}")


def _maintenance_context(
    state: State, session: Session, patient: Any, protocol: Any
) -> dict[str, Any]:
    """The maintenance plan's card (issue 13): the schedule, and what this role may do."""
    options = iv_options(protocol)
    if patient.mode != "clinic" or not options or not session.can(Action.INFUSION_READ):
        return {"maintenance_shown": False}
    try:
        schedule = state.services.maintenance.schedule(session.actor, patient.id)
    except NotFound:
        schedule = None
    return {
        "maintenance_shown": True,
        "maintenance": schedule,
        "maintenance_options": options,
        "can_start_maintenance": Event.START_MAINTENANCE in patient.events
        and session.can(Action.CLINIC_PLAN_RECORD),
        "can_change_maintenance": schedule is not None
        and schedule.active
        and session.can(Action.CLINIC_PLAN_RECORD),
    }


def _self_report_context(
    state: State, session: Session, patient: Any, protocol: Any
) -> dict[str, Any]:
    """The self-report and relapse-watch card, and retreatment (issue 13): the schedule, the
    trajectory against the response's line, the reports, and what this role may do."""
    out: dict[str, Any] = {"self_report_shown": False, "retreatment_shown": False}
    services = state.services
    if protocol.self_report is not None and session.can(Action.ASSESSMENT_READ):
        try:
            out["self_report_status"] = services.self_reports.status(session.actor, patient.id)
            out["self_reports"] = services.self_reports.list(session.actor, patient.id)[:10]
            out["self_report_shown"] = True
        except PermissionDenied:
            pass
        out["can_issue_link"] = (
            session.can(Action.ASSESSMENT_RECORD) and Event.RECORD_ASSESSMENT in patient.events
        )
    if protocol.retreatment is not None and session.can(Action.INFUSION_READ):
        out["retreatment_shown"] = True
        out["retreatment_courses"] = services.retreatment.courses(session.actor, patient.id)
        out["can_retreat"] = (
            Event.START_RETREATMENT in patient.events
            and session.can(Action.CLINIC_PLAN_RECORD)
            and patient.status in protocol.retreatment.allowed_from
        )
    return out


def _esketamine_context(state: State, session: Session, patient: Any) -> dict[str, Any]:
    from .esketamine import esketamine_context  # that module imports this one's helpers

    return esketamine_context(state, session, patient)


def render_patient_page(
    request: Request,
    session: Session,
    state: State,
    patient_id: DbId,
    *,
    error: ValidationFailed | ConflictError | None = None,
    form_name: str | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
    notice: str | None = None,
    issued_link: tuple[str, Any] | None = None,
) -> Response:
    services = state.services
    actor = session.actor
    patient = services.patients.get(actor, patient_id)
    identity = None
    if session.can(Action.IDENTITY_READ):
        try:
            identity = services.patients.identity(actor, patient_id)
        except NotFound:
            identity = None
    protocol = state.protocol(patient.protocol_name)
    # Open queries where the value is shown (issue 17): (form, record) → the questions.
    open_queries: dict[tuple[str, str], list[str]] = {}
    if session.can(Action.QUERY_READ):
        for q in services.queries.list(actor, patient_id=patient_id, state="open"):
            open_queries.setdefault((q.table_name, q.record_id), []).append(
                f"{q.field}: {q.question}"
            )
    return render(
        request,
        "patient.html",
        {
            "patient": patient,
            "open_queries": open_queries,
            "identity": identity,
            "events": timeline(state, actor, patient),
            "course": course(state, actor, patient),
            "protocol": protocol,
            # What this role may do next is the workflow's answer (core.workflow), not a
            # comparison of status strings; consent is offered until it is given.
            "can_consent": Event.CONSENT in patient.events
            or (
                Event.RENEW_CONSENT in patient.events
                and patient.reconsent_to is not None  # after an amendment (issue 11)
            ),
            "can_screen": Event.SCREEN_FAIL in patient.events,
            "can_allocate": Event.ALLOCATE in patient.events and patient.mode == "trial",
            "can_unblind": session.can(Action.UNBLIND_EMERGENCY)
            and patient.visibility is Treatment.BLINDED,
            "can_infuse": session.can(Action.INFUSION_READ),
            "adverse_events": services.infusions.adverse_events(actor, patient_id)
            if session.can(Action.ADVERSE_EVENT_READ)
            else None,
            "can_follow_up_ae": session.can(Action.ADVERSE_EVENT_RECORD)
            and PatientState(patient.status) in ENROLLED | {PatientState.WITHDRAWN},
            "ae_severities": AE_SEVERITIES,
            "ae_relatedness": AE_RELATEDNESS,
            "ae_outcomes": AE_OUTCOMES,
            "can_read_screening": session.can(Action.SCREENING_READ),
            "instruments": enterable_instruments(session),
            "registry": REGISTRY,
            "consent_topics": CLINIC_CONSENT_TOPICS if patient.mode == "clinic" else (),
            "error": error,
            "form_name": form_name,
            "values": values or {},
            "notice": notice or request.query_params.get("notice"),
            # owned alerts at the top of every page of the patient until acknowledged (§12)
            "open_alerts": services.infusions.alerts(actor, patient_id, open_only=True)
            if session.can(Action.INFUSION_READ)
            else [],
            **_maintenance_context(state, session, patient, protocol),
            **_self_report_context(state, session, patient, protocol),
            "issued_link": issued_link,
            **_esketamine_context(state, session, patient),
            "can_ack": session.can(Action.ALERT_ACKNOWLEDGE),
            # a patient's record locked after the last visit (issue 17): the investigator's
            "can_lock": session.can(Action.DATABASE_LOCK),
            "record_lock": services.locks.patient_lock(actor, patient_id)
            if session.can(Action.DATABASE_LOCK)
            else None,
            "can_decide": session.can(Action.PHYSICIAN_DECISION),
            # issue 15: whether each end-of-treatment guess is recorded (never the answers;
            # the form is on its own page, so this page names no drug)
            "guesses": services.blinding_guesses.view(actor, patient_id),
        },
        status_code=status_code,
    )


@router.get("/patients/{patient_id}")
def patient_page(patient_id: DbId, request: Request, session: Session, state: State) -> Response:
    return render_patient_page(request, session, state, patient_id)


@router.post("/patients/{patient_id}/consent")
def record_consent(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    values = {
        k: text(form, k)
        for k in ("consent_version", "consent_date", "capacity_assessor", "capacity_note")
    }
    values["capacity_assessed"] = form.get("capacity_assessed") == "yes"
    values["topics"] = [t for t in form.getlist("topics") if isinstance(t, str)]
    try:
        state.services.patients.record_consent(
            session.actor,
            patient_id,
            ConsentInput(
                consent_version=values["consent_version"],
                consent_date=parse_date(values["consent_date"], "consent_date"),
                capacity_assessed=values["capacity_assessed"],
                capacity_assessor=values["capacity_assessor"] or None,
                capacity_note=values["capacity_note"] or None,
                topics=tuple(values["topics"]),
            ),
        )
    except (ValidationFailed, ConflictError) as exc:
        return render_patient_page(
            request,
            session,
            state,
            patient_id,
            error=exc,
            form_name="consent",
            values=values,
            status_code=422,
        )
    return see_other(f"/patients/{patient_id}?notice=consent+recorded")


@router.post("/patients/{patient_id}/screening")
def record_screening(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    values = {k: text(form, k) for k in ("outcome", "decided_on", "reasons")}
    try:
        state.services.patients.record_screening_outcome(
            session.actor,
            patient_id,
            outcome=values["outcome"],
            decided_on=parse_date(values["decided_on"], "decided_on"),
            reasons=[r for r in values["reasons"].splitlines() if r.strip()],
        )
    except (ValidationFailed, ConflictError) as exc:
        return render_patient_page(
            request,
            session,
            state,
            patient_id,
            error=exc,
            form_name="screening",
            values=values,
            status_code=422,
        )
    return see_other(f"/patients/{patient_id}?notice=screening+outcome+recorded")


@router.post("/patients/{patient_id}/allocate")
def allocate(
    patient_id: DbId, request: Request, session: Session, state: State, _form: CheckedForm
) -> Response:
    try:
        state.services.randomization.allocate(
            session.actor, patient_id, infusion_date=state.now().date()
        )
    except (ValidationFailed, ConflictError) as exc:
        return render_patient_page(
            request, session, state, patient_id, error=exc, form_name="allocate", status_code=409
        )
    return see_other(f"/patients/{patient_id}?notice=allocated")


@router.post("/patients/{patient_id}/unblind")
def unblind(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    values = {"reason": text(form, "reason")}
    password = form.get("password")
    try:
        try:
            state.services.randomization.emergency_unblind(
                session.actor,
                patient_id,
                reason=values["reason"],
                password=password if isinstance(password, str) else "",
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
            form_name="unblind",
            values=values,
            status_code=422,
        )
    return see_other(f"/patients/{patient_id}?notice=unblinded+(audited)")
