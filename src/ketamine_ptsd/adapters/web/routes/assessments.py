"""Assessment entry for every registered instrument, built from its item metadata (PROTOCOL.md §7).

The form comes from the registry (labels, ranges, anchors, choices), so a new instrument needs no
template. Ranges are enforced three times: ``min``/``max`` in the form, the live score (the page
script posts the items to ``/api/v1/instruments/{id}/score``), and the core's validation on
submit. A refused submission comes back with every typed value and the refused item named.

Who may enter what follows the blind (§3): infusion-day ratings (CADSS, BPRS, YMRS-1, PRISE) need
``infusion_rating.record`` and are stored by the infusion service at their minute; outcome
measures need ``assessment.record`` and are stored by the assessment service at a time point of
the protocol's plan (§5) — outside its window is stored and flagged, never refused.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import Instrument, ScoredResult, get_instrument
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.services import ConflictError, NotFound, PermissionDenied, ValidationFailed
from ketamine_ptsd.services.assessments import AssessmentInput, AssessmentView

from ..deps import CheckedForm, PageSession, Session, State, render, see_other
from ..params import DbId
from .patients import INFUSION_DAY_INSTRUMENTS, parse_date, text

router = APIRouter()


def instrument_for(session: PageSession, instrument_id: str) -> Instrument:
    """The instrument, if this role may enter it (PermissionDenied otherwise)."""
    try:
        instrument = get_instrument(instrument_id)
    except InvalidInput:
        raise NotFound("instrument", instrument_id) from None
    action = (
        Action.INFUSION_RATING_RECORD
        if instrument.id in INFUSION_DAY_INSTRUMENTS
        else Action.ASSESSMENT_RECORD
    )
    if not session.can(action):
        raise PermissionDenied(action.value, session.role.value)
    return instrument


def parse_items(
    instrument: Instrument, raw: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Form text → item values for the core; per-item errors for text that is not a value."""
    items: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in instrument.items:
        value = raw.get(item.key, "").strip()
        if not value:
            continue
        if item.kind == "rating":
            try:
                items[item.key] = int(value)
            except ValueError:
                errors[item.key] = f"a whole number {item.minimum}–{item.maximum}"
        elif item.kind == "months":
            try:
                items[item.key] = float(value)
            except ValueError:
                errors[item.key] = "a number of months"
        else:
            items[item.key] = value
    return items, errors


def item_key(instrument: Instrument, field: str) -> str | None:
    """``caps5.item_7`` → ``7`` (None when the error is about the whole form)."""
    prefix = f"{instrument.field_prefix}.item_"
    if field.startswith(prefix):
        key = field.removeprefix(prefix)
        return key if any(i.key == key for i in instrument.items) else None
    return None


def score_form(
    instrument: Instrument, raw: dict[str, str]
) -> tuple[ScoredResult | None, dict[str, str], str | None]:
    """(result, item errors, form-level error) for the submitted text."""
    items, errors = parse_items(instrument, raw)
    if errors:
        return None, errors, None
    try:
        return instrument.score(items), {}, None
    except InvalidInput as exc:
        if "(missing items:" in exc.message:  # the missing-item rule: mark every missing item
            head, _, listed = exc.message.partition("(missing items:")
            keys = [k.strip() for k in listed.rstrip(")").split(",") if k.strip()]
            return None, {k: "missing" for k in keys}, head.strip().rstrip(";")
        key = item_key(instrument, exc.field)
        if key is not None:
            return None, {key: exc.message}, None
        return None, {}, exc.message


def time_points(
    state: Any, session: PageSession, patient: Any, instrument: Instrument
) -> list[tuple[str, str]]:
    """(name, label) of the protocol's time points that measure ``instrument`` (§5), then the
    follow-up visits once the week-2 response makes them due."""
    protocol = state.protocol(patient.protocol_name)
    points = [(p.name, p.label) for p in protocol.assessments if instrument.id in p.instruments]
    if instrument.id in protocol.follow_up.instruments:
        try:
            visits = state.services.followup.follow_up_plan(session.actor, patient.id)
        except (NotFound, PermissionDenied):
            visits = ()
        points.extend((v.name, v.name.capitalize()) for v in visits)
    return points


def _default_point(state: Any, session: PageSession, patient: Any, names: list[str]) -> str:
    """The time point whose window holds today, else the first one not yet recorded."""
    today = state.now().date()
    try:
        plan = state.services.assessments.schedule(session.actor, patient.id)
    except (NotFound, PermissionDenied):
        return names[0] if names else ""
    for planned in plan.assessments:
        if planned.name in names and planned.window_start <= today <= planned.window_end:
            return str(planned.name)
    for visit in plan.follow_up:
        if visit.name in names and visit.window_start <= today <= visit.window_end:
            return str(visit.name)
    return names[0] if names else ""


def _page(
    request: Request,
    session: PageSession,
    state: Any,
    patient_id: DbId,
    instrument: Instrument,
    *,
    raw: dict[str, str],
    result: ScoredResult | None = None,
    stored: AssessmentView | None = None,
    errors: dict[str, str] | None = None,
    form_error: str | None = None,
    status_code: int = 200,
) -> Response:
    patient = state.services.patients.get(session.actor, patient_id)
    groups: list[tuple[str | None, list[Any]]] = []
    for item in instrument.items:
        if not groups or groups[-1][0] != item.group:
            groups.append((item.group, []))
        groups[-1][1].append(item)
    rating = instrument.id in INFUSION_DAY_INSTRUMENTS
    points = [] if rating else time_points(state, session, patient, instrument)
    chosen = raw.get("_time_point") or _default_point(
        state, session, patient, [name for name, _ in points]
    )
    return render(
        request,
        "assessment.html",
        {
            "patient": patient,
            "instrument": instrument,
            "groups": groups,
            "raw": raw,
            "result": result,
            "stored": stored,
            "errors": errors or {},
            "form_error": form_error,
            "rating": rating,
            "minute": request.query_params.get("minute") or raw.get("_minute", ""),
            "infusion": request.query_params.get("infusion") or raw.get("_infusion", ""),
            "points": points,
            "time_point": chosen,
            "assessed_on": raw.get("_assessed_on") or state.now().date().isoformat(),
            "draft_key": f"assess:{patient.study_id}:{instrument.id}",
        },
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/assess/{instrument_id}")
def assessment_form(
    patient_id: DbId, instrument_id: str, request: Request, session: Session, state: State
) -> Response:
    instrument = instrument_for(session, instrument_id)
    return _page(request, session, state, patient_id, instrument, raw={})


def _raw(form: FormData) -> dict[str, str]:
    raw = {}
    for key in form:
        if key.startswith("item_"):
            raw[key.removeprefix("item_")] = text(form, key)
    for name in ("minute", "infusion", "time_point", "assessed_on"):
        raw[f"_{name}"] = text(form, name)
    return raw


def _small_int(value: str, name: str) -> int:
    if not value.isdigit() or len(value) > 4:
        raise ValidationFailed(name, "a whole number", value)
    return int(value)


@router.post("/patients/{patient_id}/assess/{instrument_id}")
def submit_assessment(
    patient_id: DbId,
    instrument_id: str,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    """Score, then store: an infusion-day rating (minute + infusion) or an outcome assessment
    at a time point; refused items are named and everything typed comes back (issue 5)."""
    instrument = instrument_for(session, instrument_id)
    raw = _raw(form)
    if instrument.id not in INFUSION_DAY_INSTRUMENTS:  # a script may leave the defaults out
        raw["_assessed_on"] = raw["_assessed_on"] or state.now().date().isoformat()
        if not raw["_time_point"]:
            patient = state.services.patients.get(session.actor, patient_id)
            names = [n for n, _ in time_points(state, session, patient, instrument)]
            raw["_time_point"] = _default_point(state, session, patient, names)
    result, errors, form_error = score_form(instrument, raw)
    if result is None:
        return _page(
            request,
            session,
            state,
            patient_id,
            instrument,
            raw=raw,
            errors=errors,
            form_error=form_error,
            status_code=422,
        )
    items, _ = parse_items(instrument, raw)
    stored: AssessmentView | None = None
    try:
        if instrument.id in INFUSION_DAY_INSTRUMENTS:
            number = _small_int(raw["_infusion"], "infusion")
            state.services.infusions.record_rating(
                session.actor,
                patient_id,
                number,
                minute=_small_int(raw["_minute"], "minute"),
                instrument=instrument.id,
                items=items,
            )
            return see_other(f"/patients/{patient_id}/infusion/{number}?saved=rating#ratings")
        stored = state.services.assessments.record(
            session.actor,
            patient_id,
            AssessmentInput(
                time_point=raw["_time_point"],
                instrument=instrument.id,
                assessed_on=parse_date(raw["_assessed_on"], "assessed_on"),
                items=items,
            ),
        )
    except (ValidationFailed, ConflictError) as exc:
        field = getattr(exc, "field", "")
        key = item_key(instrument, field) if field else None
        message = exc.message if key is None else None
        return _page(
            request,
            session,
            state,
            patient_id,
            instrument,
            raw=raw,
            errors={key: exc.message} if key else {},
            form_error=(f"{field}: {message}" if field else message),
            status_code=409 if isinstance(exc, ConflictError) else 422,
        )
    return _page(
        request, session, state, patient_id, instrument, raw=raw, result=result, stored=stored
    )
