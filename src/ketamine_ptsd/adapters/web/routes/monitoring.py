"""Monitoring (issue 17): data queries and source-data verification, as pages.

``/queries`` lists the queries the reader may see (open first) with their counts by state, form
and age, and — for whoever raises queries — a button that sweeps the record with the protocol's
edit checks (``POST /queries/sweep``); whoever may answer does so there (a correction is made on the record's own correction
page, with its reason, then answered "corrected"). ``/patients/{id}/monitoring`` is a monitor's
visit for one patient: the critical records with their verification status and a "verified"
button each (and, once verified, the form's lock and unlock, with a reason and the password), what changed since the monitor's last verification, the patient's queries, and a
form to raise a query: the monitor picks one of the patient's forms (``?form=table:record``),
then one of its fields, each shown with its value — nothing to type but the question. Every action goes through the
services (queries.py, sdv.py), so the roles, the blind and the audit trail are theirs.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.services import (
    AuthenticationFailed,
    ConflictError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)

from ..deps import CheckedForm, PageSession, Session, State, render, see_other
from ..params import DbId, form_int
from .patients import text

router = APIRouter()


def _require(session: PageSession, action: Action) -> None:
    if not session.can(action):
        raise PermissionDenied(action.value, session.role.value)


def _queries_context(session: PageSession, state: State, **extra: object) -> dict[str, object]:
    views = state.services.queries.list(session.actor)
    order = {"open": 0, "answered": 1, "closed": 2}
    context: dict[str, object] = {
        "queries": sorted(views, key=lambda v: (order[v.state], v.id)),
        "counts": state.services.queries.counts(session.actor),
        "can_answer": session.can(Action.QUERY_ANSWER),
        "can_raise": session.can(Action.QUERY_RAISE),
        "error": None,
        "swept": None,
    }
    context.update(extra)
    return context


@router.get("/queries")
def queries_page(request: Request, session: Session, state: State) -> Response:
    _require(session, Action.QUERY_READ)
    return render(request, "queries.html", _queries_context(session, state))


@router.post("/queries/sweep")
def sweep(request: Request, session: Session, state: State, form: CheckedForm) -> Response:
    """Run the protocol's edit checks over the record (services/edit_checks.py) and show what
    they raised, by check, above the list that now holds the new queries."""
    _require(session, Action.QUERY_RAISE)
    run = state.services.edit_checks.run(session.actor)
    return render(request, "queries.html", _queries_context(session, state, swept=run))


def _picker(
    state: State, session: PageSession, patient_id: int, pick: str | None
) -> dict[str, object]:
    """The monitor's query picker (issue 17): the patient's forms, and — once one is chosen
    (``table:record``, the ``form`` query parameter) — its fields with the values they hold."""
    if not session.can(Action.QUERY_RAISE):
        return {"forms": [], "picked": None, "pick_fields": []}
    queries = state.services.queries
    forms = queries.forms(session.actor, patient_id)
    table, _, record = (pick or "").partition(":")
    picked = next((f for f in forms if (f.table_name, f.record_id) == (table, record)), None)
    fields = (
        []
        if picked is None
        else queries.fields(session.actor, patient_id, table_name=table, record_id=record)
    )
    return {"forms": forms, "picked": picked, "pick_fields": fields}


def _visit(
    request: Request, session: PageSession, state: State, patient_id: int, **extra: object
) -> Response:
    services = state.services
    values = extra.get("values")
    pick = (
        f"{values['table_name']}:{values['record_id']}"
        if isinstance(values, dict)
        else request.query_params.get("form")
    )
    context: dict[str, object] = {
        "patient": services.patients.get(session.actor, patient_id),
        "items": services.sdv.items(session.actor, patient_id),
        "changes": services.sdv.changes_since_last_visit(session.actor, patient_id)
        if session.can(Action.AUDIT_READ)
        else [],
        "queries": services.queries.list(session.actor, patient_id=patient_id),
        "can_verify": session.can(Action.SDV_RECORD),
        # a verified form is locked by the monitor or the investigator (issue 17)
        "form_locks": services.locks.form_locks(session.actor, patient_id),
        "can_lock_forms": session.can(Action.SDV_RECORD) or session.can(Action.DATABASE_LOCK),
        "lock_form": None,  # (table, record) of the lock form a refusal belongs to
        "lock_reason": "",
        "can_raise": session.can(Action.QUERY_RAISE),
        "values": {"table_name": "", "record_id": "", "field": "", "question": ""},
        "error": None,
        **_picker(state, session, patient_id, pick),
    }
    context.update(extra)
    error = context.get("error")
    status = 200 if error is None else 409 if isinstance(error, ConflictError) else 422
    return render(request, "monitoring.html", context, status_code=status)


@router.get("/patients/{patient_id}/monitoring")
def visit(patient_id: DbId, request: Request, session: Session, state: State) -> Response:
    _require(session, Action.QUERY_READ)
    return _visit(request, session, state, patient_id)


@router.post("/patients/{patient_id}/monitoring/verify")
def verify(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    _require(session, Action.SDV_RECORD)
    try:
        state.services.sdv.verify(
            session.actor,
            patient_id,
            table_name=text(form, "table_name"),
            record_id=text(form, "record_id"),
            note=text(form, "note") or None,
        )
    except (ValidationFailed, NotFound) as exc:
        return _visit(request, session, state, patient_id, error=exc)
    return see_other(f"/patients/{patient_id}/monitoring")


@router.post("/patients/{patient_id}/monitoring/{step}-form")
def lock_form(
    patient_id: DbId,
    step: str,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    """Lock (``lock-form``) or unlock (``unlock-form``) one verified form of the patient, with
    a reason and the password again; a refusal is shown at the form, the reason kept."""
    if step not in ("lock", "unlock"):
        raise NotFound("monitoring step", step)
    table_name, record_id = text(form, "table_name"), text(form, "record_id")
    reason = text(form, "reason")
    password = form.get("password")
    locks = state.services.locks
    try:
        try:
            if step == "lock":
                locks.lock_form(
                    session.actor,
                    patient_id,
                    table_name=table_name,
                    record_id=record_id,
                    reason=reason,
                    password=password if isinstance(password, str) else "",
                )
            else:
                locks.unlock_form(
                    session.actor,
                    table_name=table_name,
                    record_id=record_id,
                    reason=reason,
                    password=password if isinstance(password, str) else "",
                    patient_id=patient_id,
                )
        except AuthenticationFailed as exc:  # counted and audited by the service
            raise ValidationFailed("password", exc.message, None) from None
    except (ValidationFailed, ConflictError) as exc:
        return _visit(
            request,
            session,
            state,
            patient_id,
            error=exc,
            lock_form=(table_name, record_id),
            lock_reason=reason,
        )
    return see_other(f"/patients/{patient_id}/monitoring")


@router.post("/patients/{patient_id}/monitoring/queries")
def raise_query(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    _require(session, Action.QUERY_RAISE)
    values = {k: text(form, k) for k in ("table_name", "record_id", "field", "question")}
    try:
        state.services.queries.raise_query(session.actor, patient_id=patient_id, **values)
    except (ValidationFailed, NotFound) as exc:
        return _visit(request, session, state, patient_id, values=values, error=exc)
    return see_other(f"/patients/{patient_id}/monitoring")


@router.post("/queries/{query_id}/{step}")
def query_step(
    query_id: DbId, step: str, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    """answer (the site), close or reopen (the raiser); back to where the form was."""
    version = form_int(text(form, "expected_version"), "expected_version", minimum=1)
    queries = state.services.queries
    back = text(form, "back") or "/queries"
    if not back.startswith("/") or back.startswith("//"):
        back = "/queries"
    try:
        if step == "answer":
            queries.answer(
                session.actor,
                query_id,
                answer=text(form, "answer"),
                corrected=text(form, "corrected") == "yes",
                expected_version=version,
            )
        elif step == "close":
            queries.close(session.actor, query_id, expected_version=version)
        elif step == "reopen":
            queries.reopen(
                session.actor, query_id, question=text(form, "question"), expected_version=version
            )
        else:
            raise NotFound("query step", step)
    except (ValidationFailed, ConflictError) as exc:
        context = _queries_context(session, state, error=exc, failed_query=query_id)
        return render(request, "queries.html", context, status_code=422)
    return see_other(back)
