"""Assessment entry for every registered instrument, built from its item metadata (PROTOCOL.md §7).

The form comes from the registry (labels, ranges, anchors, choices), so a new instrument needs no
template. Ranges are enforced three times: ``min``/``max`` in the form, the live score (the page
script posts the items to ``/api/v1/instruments/{id}/score``), and the core's validation on
submit. A refused submission comes back with every typed value and the refused item named.

Who may enter what follows the blind (§3): infusion-day ratings (CADSS, BPRS, YMRS-1, PRISE) need
``infusion_rating.record``; outcome measures need ``assessment.record``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import Instrument, ScoredResult, get_instrument
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.services import NotFound, PermissionDenied

from ..deps import CheckedForm, PageSession, Session, State, render
from .patients import INFUSION_DAY_INSTRUMENTS, text

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


def _page(
    request: Request,
    session: PageSession,
    state: Any,
    patient_id: int,
    instrument: Instrument,
    *,
    raw: dict[str, str],
    result: ScoredResult | None = None,
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
    return render(
        request,
        "assessment.html",
        {
            "patient": patient,
            "instrument": instrument,
            "groups": groups,
            "raw": raw,
            "result": result,
            "errors": errors or {},
            "form_error": form_error,
            "minute": request.query_params.get("minute") or raw.get("_minute", ""),
            "draft_key": f"assess:{patient.study_id}:{instrument.id}",
        },
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/assess/{instrument_id}")
def assessment_form(
    patient_id: int, instrument_id: str, request: Request, session: Session, state: State
) -> Response:
    instrument = instrument_for(session, instrument_id)
    return _page(request, session, state, patient_id, instrument, raw={})


def _raw(form: FormData) -> dict[str, str]:
    raw = {}
    for key in form:
        if key.startswith("item_"):
            raw[key.removeprefix("item_")] = text(form, key)
    raw["_minute"] = text(form, "minute")
    return raw


@router.post("/patients/{patient_id}/assess/{instrument_id}")
def submit_assessment(
    patient_id: int,
    instrument_id: str,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    instrument = instrument_for(session, instrument_id)
    raw = _raw(form)
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
    return _page(request, session, state, patient_id, instrument, raw=raw, result=result)
