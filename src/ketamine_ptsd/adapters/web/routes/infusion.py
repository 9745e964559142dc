"""The infusion-day bedside screen (PROTOCOL.md §4, §6): checklist, dose, vitals, ratings, discharge.

One form for the whole day, re-checked by the core rules each time it is submitted:

* the pre-infusion checklist with the blood-pressure cutoff — "Start infusion" is refused, with
  every reason, while any check fails;
* the dose and pump rate with the arithmetic for the double check; blinded staff see "study
  drug" and the arm-independent volume of :mod:`..dosing`;
* the vitals grid at the protocol's times (every 5 min during, every 15 after) with the next
  reading due, values beyond the alert thresholds highlighted and the alerts listed at the top;
* the infusion-day ratings due at 0/40/120 min (links to the instrument forms);
* discharge readiness with everything still missing.

The record has no infusion-day service yet, so the screen computes from what the form holds and
stores nothing; the page's script keeps a draft in the tablet's localStorage so a reload or a
dropped connection loses nothing (see the report of issue 5).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.rules import (
    BpReading,
    DischargeFindings,
    DischargeReadiness,
    PreInfusionFindings,
    PreInfusionResult,
    VitalAlert,
    VitalSigns,
    discharge_readiness,
    parse_bp_reading,
    pre_infusion_checklist,
    vital_sign_alerts,
    vitals_due_minutes,
)
from ketamine_ptsd.services import PermissionDenied

from ..deps import CheckedForm, PageSession, Session, State, render
from ..dosing import DoseDisplay, dose_display
from .patients import text

router = APIRouter()

VITAL_FIELDS = (
    ("sys", "systolic_mmhg", "Sys", 30, 320),
    ("dia", "diastolic_mmhg", "Dia", 10, 220),
    ("hr", "heart_rate_bpm", "HR", 10, 300),
    ("spo2", "spo2_percent", "SpO₂", 30, 100),
)
BP_SLOTS = 4
LATE_GRACE = dt.timedelta(minutes=2)


@dataclass
class VitalsRow:
    minute: int
    due_at: dt.datetime | None
    values: dict[str, str]
    alerts: tuple[VitalAlert, ...] = ()
    flagged: frozenset[str] = frozenset()
    error: str | None = None

    @property
    def recorded(self) -> bool:
        return any(self.values.values())


@dataclass
class BedsideState:
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    checklist: PreInfusionResult | None = None
    start_blocked: tuple[str, ...] = ()
    started_at: dt.datetime | None = None
    dose: DoseDisplay | None = None
    rows: list[VitalsRow] = field(default_factory=list)
    alerts: list[tuple[int, VitalAlert]] = field(default_factory=list)
    next_due: VitalsRow | None = None
    next_due_late: bool = False
    discharge: DischargeReadiness | None = None


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def _clock_time(day: dt.date, value: str, name: str, errors: dict[str, str]) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.time.fromisoformat(value)
    except ValueError:
        errors[name] = "a time as HH:MM (UTC)"
        return None
    return dt.datetime.combine(day, moment.replace(second=0, microsecond=0), tzinfo=dt.UTC)


def _number(value: str, name: str, errors: dict[str, str], low: float, high: float) -> float | None:
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        errors[name] = "a number"
        return None
    if not low <= number <= high:
        errors[name] = f"must be {low:g}–{high:g}"
        return None
    return number


def _schedule_drug(protocol: Protocol) -> str:
    """Any arm's drug: the timetable depends only on the infusion time, shared by the arms."""
    return protocol.arms[0].drug


def evaluate(
    protocol: Protocol,
    treatment: str | None,
    form: FormData | None,
    now: dt.datetime,
    *,
    action: str = "check",
) -> BedsideState:
    """Apply the core rules to the form's values (pure apart from ``now``)."""
    raw: dict[str, Any] = {}
    if form is not None:
        for key in form:
            raw[key] = text(form, key)
    state = BedsideState(values=raw)
    errors = state.errors
    # --- checklist (PROTOCOL.md §6, §1) ---------------------------------------------------
    readings: list[BpReading] = []
    for slot in range(1, BP_SLOTS + 1):
        value = raw.get(f"bp_{slot}", "")
        if value:
            try:
                readings.append(parse_bp_reading(value))
            except InvalidInput as exc:
                errors[f"bp_{slot}"] = exc.message
    tox_recorded = raw.get("tox_recorded", "")
    tox = None
    if tox_recorded == "negative":
        tox = ()
    elif tox_recorded == "positive":
        tox = tuple(s.strip() for s in raw.get("tox_positive_for", "").split(",") if s.strip())
        if not tox:
            errors["tox_positive_for"] = "name what the screen was positive for"
    pregnancy = raw.get("pregnancy_test") or None
    if pregnancy not in (None, "negative", "positive", "not_applicable"):
        errors["pregnancy_test"] = "negative, positive or not applicable"
        pregnancy = None
    minute0 = any(raw.get(f"v0_{key}") for key, *_ in VITAL_FIELDS)
    findings = PreInfusionFindings(
        nil_by_mouth=_yes_no(raw.get("nil_by_mouth", "")),
        pregnancy_test=pregnancy,  # type: ignore[arg-type]
        urine_toxicology_positive_for=tox,
        bp_readings=tuple(readings),
        baseline_vitals_recorded=minute0 or None,
        short_acting_benzodiazepine_taken_this_morning=_yes_no(raw.get("benzo_taken", "")),
        pre_infusion_ratings_recorded=_yes_no(raw.get("ratings_before", "")),
    )
    state.checklist = pre_infusion_checklist(protocol, findings)
    # --- start ------------------------------------------------------------------------------
    day = now.date()
    started = _clock_time(day, raw.get("start_time", ""), "start_time", errors)
    if action == "start" and started is None:
        if state.checklist.passes and not errors:
            started = now.replace(second=0, microsecond=0)
            raw["start_time"] = started.strftime("%H:%M")
        else:
            state.start_blocked = state.checklist.reasons or ("correct the fields marked",)
    state.started_at = started
    ended = _clock_time(day, raw.get("end_time", ""), "end_time", errors)
    # --- dose (PROTOCOL.md §4) ----------------------------------------------------------------
    weight = _number(raw.get("weight_kg", ""), "weight_kg", errors, 1, 500)
    if weight is not None:
        try:
            state.dose = dose_display(protocol, treatment, weight)
        except InvalidInput as exc:
            errors["weight_kg"] = exc.message
    # --- vitals grid (PROTOCOL.md §6) -----------------------------------------------------------
    thresholds = protocol.monitoring.alerts
    latest: VitalSigns | None = None
    for minute in vitals_due_minutes(protocol, _schedule_drug(protocol)):
        values = {key: raw.get(f"v{minute}_{key}", "") for key, *_ in VITAL_FIELDS}
        due_at = started + dt.timedelta(minutes=minute) if started else None
        row = VitalsRow(minute, due_at, values)
        if row.recorded:
            numbers: dict[str, int | None] = {}
            for key, name, _label, low, high in VITAL_FIELDS:
                number = _number(values[key], f"v{minute}_{key}", errors, low, high)
                numbers[name] = int(number) if number is not None else None
            try:
                vitals = VitalSigns(**numbers)
            except InvalidInput as exc:
                row.error = exc.message
            else:
                row.alerts = vital_sign_alerts(vitals, thresholds)
                row.flagged = frozenset(a.parameter for a in row.alerts)
                state.alerts.extend((minute, a) for a in row.alerts)
                latest = vitals
        state.rows.append(row)
    if started is not None:
        state.next_due = next((r for r in state.rows if not r.recorded), None)
        if state.next_due is not None and state.next_due.due_at is not None:
            state.next_due_late = now > state.next_due.due_at + LATE_GRACE
        # --- discharge (PROTOCOL.md §6) ----------------------------------------------------------
        cadss_before = _number(raw.get("cadss_before", ""), "cadss_before", errors, 0, 92)
        cadss_latest = _number(raw.get("cadss_latest", ""), "cadss_latest", errors, 0, 92)
        try:
            state.discharge = discharge_readiness(
                protocol,
                DischargeFindings(
                    infusion_start=started,
                    infusion_end=ended,
                    now=max(now, started),
                    dissociation_baseline=cadss_before,
                    dissociation_latest=cadss_latest,
                    ambulatory_unaided=raw.get("ambulatory") == "yes",
                    delayed_effects_checked=raw.get("delayed_effects_checked") == "yes",
                    physician_signoff=raw.get("physician_signoff") == "yes",
                    latest_vitals=latest,
                ),
            )
        except InvalidInput as exc:
            errors[exc.field] = exc.message
    return state


def _page(
    request: Request,
    session: PageSession,
    state_: Any,
    patient_id: int,
    number: int,
    form: FormData | None,
    action: str = "check",
) -> Response:
    if not session.can(Action.INFUSION_READ):
        raise PermissionDenied(Action.INFUSION_READ.value, session.role.value)
    patient = state_.services.patients.get(session.actor, patient_id)
    protocol = state_.protocol(patient.protocol_name)
    if action == "start" and not session.can(Action.INFUSION_RECORD):
        raise PermissionDenied(Action.INFUSION_RECORD.value, session.role.value)
    bedside = evaluate(protocol, patient.treatment, form, state_.now(), action=action)
    ratings = [(r.minute, [i for i in r.instruments]) for r in protocol.monitoring.ratings]
    return render(
        request,
        "infusion.html",
        {
            "patient": patient,
            "number": number,
            "protocol": protocol,
            "bedside": bedside,
            "v": bedside.values,
            "vital_fields": VITAL_FIELDS,
            "bp_slots": range(1, BP_SLOTS + 1),
            "ratings": ratings,
            "can_record": session.can(Action.INFUSION_RECORD),
            "can_rate": session.can(Action.INFUSION_RATING_RECORD),
            "now": state_.now(),
        },
        status_code=422 if bedside.errors else 200,
    )


@router.get("/patients/{patient_id}/infusion/{number}")
def bedside(
    patient_id: int, number: int, request: Request, session: Session, state: State
) -> Response:
    return _page(request, session, state, patient_id, number, None)


@router.post("/patients/{patient_id}/infusion/{number}")
def bedside_check(
    patient_id: int,
    number: int,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    action = text(form, "action") or "check"
    return _page(request, session, state, patient_id, number, form, action=action)
