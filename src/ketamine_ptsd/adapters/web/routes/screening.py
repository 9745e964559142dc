"""The screening visit with the live eligibility decision and every reason (PROTOCOL.md §1, §2).

The form is built from the protocol's eligibility criteria (one field per screening fact, yes/no
or a number with its unit) plus the CAPS-5 past-month items, so a site's protocol file changes
the form without code. Facts the record already proves (consent, capacity, the clinic's
documents, the CAPS-5 total) are derived by the service, never typed (services/screening.py).
Submitting records the visit; :class:`~ketamine_ptsd.services.ScreeningService` decides, stores
the decision with each criterion's status, reason and §, and writes the CONSORT outcome when the
decision is final. A refused value comes back named, with everything typed kept.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from ketamine_ptsd.core.instruments import get_instrument
from ketamine_ptsd.core.protocol import HEIGHT_CM_LIMITS, WEIGHT_KG_LIMITS, Protocol
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.workflow import Event, allowed_events
from ketamine_ptsd.services import ConflictError, PermissionDenied, ValidationFailed
from ketamine_ptsd.services.screening import DERIVED_FACTS, ScreeningVisitInput

from ..deps import CheckedForm, PageSession, Session, State, WebState, render, see_other
from ..params import DbId
from ..query_marks import query_marks
from .patients import parse_date, text

router = APIRouter()

BOOLEAN_OPS = frozenset({"is_true", "is_false"})
#: The forms the screening page shows, whose queries it lists (issue 17).
SCREENING_FORMS = ("screening_visits", "eligibility_decisions", "demographics", "consents")


def fact_fields(protocol: Protocol) -> list[dict[str, Any]]:
    """One field per fact the visit records, in the protocol's order (derived facts left out)."""
    fields: dict[str, dict[str, Any]] = {}
    for c in protocol.eligibility:
        for fact, boolean in ((c.fact, c.op in BOOLEAN_OPS), (c.satisfied_by, True)):
            if not fact or fact in DERIVED_FACTS or fact in fields:
                continue
            fields[fact] = {
                "fact": fact,
                "boolean": boolean,
                "text": c.text if fact == c.fact else f"{fact.replace('_', ' ')}",
                "unit": c.unit if fact == c.fact else None,
                "kind": c.kind,
                "section": c.section,
            }
    return list(fields.values())


def _page(
    request: Request,
    session: PageSession,
    state: WebState,
    patient_id: DbId,
    *,
    values: dict[str, str] | None = None,
    error: ValidationFailed | ConflictError | None = None,
    status_code: int = 200,
    override_values: dict[str, Any] | None = None,
) -> Response:
    if not session.can(Action.SCREENING_READ):
        raise PermissionDenied(Action.SCREENING_READ.value, session.role.value)
    services = state.services
    patient = services.patients.get(session.actor, patient_id)
    protocol = state.protocol(patient.protocol_name)
    visits = services.screening.visits(session.actor, patient_id)
    events = allowed_events(patient.status, session.role)
    decisions = services.screening.decisions(session.actor, patient_id)
    if values is None:
        values = {}
        if visits:
            latest = visits[-1]
            values["visit_date"] = latest.visit_date.isoformat()
            for fact, value in latest.facts.items():
                values[f"fact_{fact}"] = (
                    ("yes" if value else "no") if isinstance(value, bool) else f"{value:g}"
                )
            items = latest.measures.get("caps5_past_month", {}).get("items", {})
            for key, value in items.items():
                values[f"caps_{key}"] = str(value)
    qmarks = query_marks(services, session, patient_id)
    return render(
        request,
        "screening.html",
        {
            "patient": patient,
            # queries shown where the value is shown (issue 17): the visits, the decisions, the
            # demographics and the consents the decision reads
            "qmarks": qmarks,
            "screening_queries": [q for table in SCREENING_FORMS for q in qmarks.of(table)],
            "fields": fact_fields(protocol),
            "caps5": get_instrument("caps5_past_month"),
            "weight_limits": WEIGHT_KG_LIMITS,
            "height_limits": HEIGHT_CM_LIMITS,
            "v": values,
            "error": error,
            "decision": decisions[-1] if decisions else None,
            "visits": visits,
            "can_record": Event.DECIDE_ELIGIBILITY in events,
            "can_override": Event.OVERRIDE_ELIGIBILITY in events,
            "override_values": override_values or {"criteria": []},
            "overrides": [
                o
                for o in services.patients.screening_outcomes(session.actor, patient_id)
                if o.override_criteria and not o.voided
            ],
        },
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/screening-visit")
def screening_page(patient_id: DbId, request: Request, session: Session, state: State) -> Response:
    return _page(request, session, state, patient_id)


def _facts(form: FormData, fields: list[dict[str, Any]]) -> dict[str, bool | int | float]:
    facts: dict[str, bool | int | float] = {}
    for f in fields:
        raw = text(form, f"fact_{f['fact']}")
        if not raw:
            continue  # missing, not false: the decision says "incomplete"
        if f["boolean"]:
            if raw not in ("yes", "no"):
                raise ValidationFailed(f"facts.{f['fact']}", "yes or no", raw)
            facts[f["fact"]] = raw == "yes"
        else:
            try:
                number = float(raw)
            except ValueError:
                raise ValidationFailed(f"facts.{f['fact']}", "a number", raw) from None
            facts[f["fact"]] = int(number) if number.is_integer() else number
    return facts


def _caps5(form: FormData) -> dict[str, int] | None:
    items: dict[str, int] = {}
    for item in get_instrument("caps5_past_month").items:
        raw = text(form, f"caps_{item.key}")
        if raw:
            if not raw.lstrip("-").isdigit():
                raise ValidationFailed(f"caps5.item_{item.key}", "a whole number 0–4", raw)
            items[item.key] = int(raw)
    return items or None


def _number(form: FormData, name: str) -> float | None:
    """A typed number, or None when blank; the service checks the range (core's one bound)."""
    raw = text(form, name)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValidationFailed(name, "a number", raw) from None


@router.post("/patients/{patient_id}/screening-visit")
def record_visit(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    values = {k: text(form, k) for k in form if k != "csrf_token"}
    patient = state.services.patients.get(session.actor, patient_id)
    fields = fact_fields(state.protocol(patient.protocol_name))
    try:
        visit_date = values.get("visit_date") or state.now().date().isoformat()
        state.services.screening.record_visit(
            session.actor,
            patient_id,
            ScreeningVisitInput(
                visit_date=parse_date(visit_date, "visit_date"),
                facts=_facts(form, fields),
                caps5_past_month=_caps5(form),
                weight_kg=_number(form, "weight_kg"),
                height_cm=_number(form, "height_cm"),
            ),
        )
    except (ValidationFailed, ConflictError) as exc:
        return _page(
            request,
            session,
            state,
            patient_id,
            values=values,
            error=exc,
            status_code=409 if isinstance(exc, ConflictError) else 422,
        )
    return see_other(f"/patients/{patient_id}/screening-visit#decision")


@router.post("/patients/{patient_id}/screening-visit/reevaluate")
def reevaluate(
    patient_id: DbId, request: Request, session: Session, state: State, _form: CheckedForm
) -> Response:
    try:
        state.services.screening.reevaluate(session.actor, patient_id)
    except (ValidationFailed, ConflictError) as exc:
        return _page(request, session, state, patient_id, error=exc, status_code=409)
    return see_other(f"/patients/{patient_id}/screening-visit#decision")


@router.post("/patients/{patient_id}/screening-visit/override")
def override(
    patient_id: DbId, request: Request, session: Session, state: State, form: CheckedForm
) -> Response:
    """An investigator's override of named criteria, with a reason (issue 11; audited)."""
    values: dict[str, Any] = {
        "criteria": [str(c) for c in form.getlist("criteria")],
        "reason": text(form, "reason"),
        "decided_on": text(form, "decided_on"),
    }
    try:
        state.services.screening.override_eligibility(
            session.actor,
            patient_id,
            criteria=values["criteria"],
            reason=values["reason"],
            decided_on=parse_date(values["decided_on"], "decided_on"),
        )
    except (ValidationFailed, ConflictError) as exc:
        return _page(
            request,
            session,
            state,
            patient_id,
            error=exc,
            override_values=values,
            status_code=409 if isinstance(exc, ConflictError) else 422,
        )
    return see_other(f"/patients/{patient_id}/screening-visit#decision")
