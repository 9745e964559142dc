"""The infusion-day bedside screen (PROTOCOL.md §4, §6), stored through the infusion services.

One page, several small forms, each a use case of :class:`~ketamine_ptsd.services.InfusionService`:

* **checklist** — the nurse's findings are recorded every time (a failed run is a recorded hold
  with its reasons, audited); "Record and start" starts the infusion only when today's checklist
  passed, with the dose and pump rate from the day's weight;
* **vitals** — one reading at a time at the protocol's minutes (0 = baseline before the start);
  the alerts stored with it are shown at the top of the page at once, the next reading due below;
* **interventions**, **adverse events**, the **end** of the infusion;
* **ratings** at 0/40/120 min through the instrument forms (``/assess/{id}?minute=…&infusion=…``);
* **discharge** — the nurse's findings, then the physician's signed sign-off (password again).

A refused form comes back with everything typed and the refused field named (422, or 409 for a
hold or a conflict); a saved one redirects back to the screen (post/redirect/get), so a reload
shows what the record holds. The page script still keeps a draft of each form in localStorage
as a fallback for a dropped connection.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import WEIGHT_KG_LIMITS
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.rules import MEDICATION_CLASSES, VITAL_RANGES, check_weight
from ketamine_ptsd.core.workflow import Treatment
from ketamine_ptsd.services import (
    AuthenticationFailed,
    ConflictError,
    PermissionDenied,
    ValidationFailed,
)
from ketamine_ptsd.services.infusions import (
    AE_OUTCOMES,
    AE_RELATEDNESS,
    AE_SEVERITIES,
    ROUTES,
    BagInput,
    ChecklistInput,
    Countersign,
    EarlyStop,
    InterventionInput,
    MedicationInput,
    PumpCheck,
    VitalsInput,
)
from ketamine_ptsd.services.patients import PatientView

from ..bedside import as_context, bedside_view
from ..deps import CheckedForm, PageSession, Session, State, WebState, render, see_other
from ..dosing import DoseDisplay, dose_display
from ..params import DbId, InfusionNumber, form_int
from ..query_marks import query_marks
from .adverse_events import AE_FIELDS, adverse_event_input
from .patients import text

router = APIRouter()

BP_SLOTS = 4
#: (form name, field, column label, low, high): the ranges are the core's (one declaration).
VITAL_FIELDS = tuple(
    (short, field, label, *VITAL_RANGES[field])
    for short, field, label in (
        ("sys", "systolic_mmhg", "Sys"),
        ("dia", "diastolic_mmhg", "Dia"),
        ("hr", "heart_rate_bpm", "HR"),
        ("spo2", "spo2_percent", "SpO₂"),
        ("rr", "respiratory_rate_per_min", "RR"),
        ("moaas", "moaas", "MOAA/S"),
    )
)
#: What the nurse reads at each box of the vitals form: the human label, the unit, and a
#: placeholder that names the unit instead of looking like a value (issue 12: bedside UX).
VITAL_TEXT = {
    "minute": ("Minute", "", ""),
    "sys": ("Systolic BP", "mmHg", "systolic mmHg"),
    "dia": ("Diastolic BP", "mmHg", "diastolic mmHg"),
    "hr": ("Heart rate", "/min", "beats/min"),
    "spo2": ("SpO₂", "%", "SpO₂ %"),
    "rr": ("Respiratory rate", "/min", "breaths/min"),
    "moaas": ("Sedation (MOAA/S)", "", "sedation score"),
}
#: What a refused field is called on the screen: the nurse reads "Second staff member's
#: username", not ``witness_username`` (issue 12: bedside UX). Fields not listed (the vitals
#: have their own labels) fall back to :func:`field_label`'s reading of the name.
FIELD_LABELS = {
    "weight_kg": "Today's weight (kg)",
    "nil_by_mouth": "Nil by mouth",
    "benzo_taken": "Short-acting benzodiazepine this morning",
    "short_acting_benzodiazepine_taken_this_morning": "Short-acting benzodiazepine this morning",
    "pregnancy_test": "Urine pregnancy test",
    "tox_positive_for": "Urine toxicology: positive for",
    "bp_readings": "Blood pressure readings",
    "bag_lot": "Bag lot",
    "bag_expiry": "Bag expiry",
    "bag_volume_ml": "Bag volume (mL)",
    "bag_concentration_mg_per_ml": "Bag concentration (mg/mL)",
    "bag_prepared_by": "Bag prepared by",
    "witness_username": "Second staff member's username",
    "witness_password": "Second staff member's password",
    "pump_rate_ml_per_h": "Rate on the pump (mL/h)",
    "supervising_physician_id": "Supervising physician",
    "ended_at": "End time",
    "volume_given_ml": "Volume given (mL)",
    "early_stop_reason": "Reason for stopping early",
    "volume_wasted_ml": "Volume wasted (mL)",
    "name_confirmed": "Name matches",
    "date_of_birth_confirmed": "Date of birth matches",
    "med_drug": "Medication",
    "med_class": "Medication class",
    "med_dose": "Dose and frequency",
    "med_started_on": "Medication started",
    "med_stopped_on": "Medication stopped",
    "drug": "Drug",
    "dose_mg": "Dose (mg)",
    "route": "Route",
    "reason": "Reason",
    "password": "Your password",
    "ambulatory_unaided": "Walks unaided",
    "delayed_effects_checked": "Delayed effects checked",
    "version": "Version",
}


def field_label(name: str) -> str:
    """The screen's name for a field the services refused (``bp_2_sys`` → "Reading 2,
    systolic"; ``bp_readings.3`` → "Blood pressure reading 3")."""
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    if name in VITAL_TEXT or name in FORM_KEY:
        return VITAL_TEXT[FORM_KEY.get(name, name)][0]
    parts = name.split("_")
    if len(parts) == 3 and parts[0] == "bp" and parts[1].isdigit() and parts[2] in ("sys", "dia"):
        return f"Reading {parts[1]}, {'systolic' if parts[2] == 'sys' else 'diastolic'}"
    if name.startswith("bp_readings."):
        return f"Blood pressure reading {name.split('.', 1)[1]}"
    return name.replace("_", " ").capitalize()


#: The service's field names as the form names them (an error is shown at its box).
FORM_KEY = {field: short for short, field, *_ in VITAL_FIELDS} | {"minute": "minute"}
SAVED = {
    "start": "Infusion started.",
    "vitals": "Reading recorded.",
    "intervention": "Intervention recorded.",
    "ae": "Adverse event recorded.",
    "end": "Infusion end recorded.",
    "waste": "Waste recorded.",
    "discharge": "Discharge findings recorded.",
    "signoff": "Discharge signed off.",
    "rating": "Rating recorded.",
    "missed": "Missed reading recorded with its reason.",
    "identity": "Identity check recorded.",
    "alert": "Alert acknowledged.",
    "release": "Hold released by the physician; the infusion may start.",
    "move": "Decision recorded: the infusion may be given today.",
    "medication": "Medication added to the list.",
    "worsening": "Physician's decision recorded.",
}


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def _int(form: FormData, name: str, *, required: bool = False) -> int | None:
    value = text(form, name)
    if not value:
        if required:
            raise ValidationFailed(name, "required", value)
        return None
    return form_int(value, name)


def _float(form: FormData, name: str, *, required: bool = False) -> float | None:
    value = text(form, name)
    if not value:
        if required:
            raise ValidationFailed(name, "required", value)
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValidationFailed(name, "a number", value) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValidationFailed(name, "a number", value)
    return number


def _values(form: FormData | None) -> dict[str, str]:
    if form is None:
        return {}
    return {
        k: text(form, k) for k in form if k not in ("csrf_token", "password", "witness_password")
    }


def _page(
    request: Request,
    session: PageSession,
    state: WebState,
    patient_id: DbId,
    number: InfusionNumber,
    *,
    form_name: str | None = None,
    error: ValidationFailed | ConflictError | None = None,
    values: dict[str, str] | None = None,
    hold: tuple[str, ...] = (),
    preview: DoseDisplay | None = None,
    status_code: int = 200,
) -> Response:
    if not session.can(Action.INFUSION_READ):
        raise PermissionDenied(Action.INFUSION_READ.value, session.role.value)
    patient = state.services.patients.get(session.actor, patient_id)
    view = bedside_view(state, session.actor, patient, number)
    values = values or {}
    if form_name is None:  # a plain reload: the checklist form shows what the record holds
        values = {**view.checklist_values, **{k: v for k, v in values.items() if v}}
    if preview is None and view.day is None and values.get("weight_kg"):
        preview = _preview(state, patient, values["weight_kg"])
    saved = request.query_params.get("saved", "")
    alerts = state.services.infusions.alerts(session.actor, patient_id)
    today = state.now().date()
    decisions = [
        d
        for d in state.services.infusions.decisions(session.actor, patient_id)
        if d.infusion_number == number and d.day == today
    ]
    shown = [r for row in view.rows for r in row.readings] + list(view.extra_vitals)
    return render(
        request,
        "infusion.html",
        {
            **as_context(view, state.now()),
            # queries shown where the value is shown (issue 17)
            "qmarks": query_marks(state.services, session, patient_id),
            "vitals_ids": [r.id for r in shown],
            "vital_labels": {name: label for _, name, label, *_ in VITAL_FIELDS},
            "reading_labels": {str(r.id): f"the minute-{r.minute} reading" for r in shown},
            "patient": patient,
            "number": number,
            "protocol": view.protocol,
            "v": values,
            "form_name": form_name,
            "error": error,
            "hold": hold,
            "preview": preview,
            "saved": saved if saved in SAVED else "",
            "saved_text": SAVED.get(saved, ""),
            "vital_fields": VITAL_FIELDS,
            "vital_text": VITAL_TEXT,
            "field_label": field_label,
            "field_errors": dict(error.errors)
            if isinstance(error, FieldErrors)
            else ({error.field: error.message} if isinstance(error, ValidationFailed) else {}),
            "bp_slots": range(1, BP_SLOTS + 1),
            "routes": ROUTES,
            "medication_classes": MEDICATION_CLASSES,
            "medications": state.services.infusions.medications(session.actor, patient_id),
            "severities": AE_SEVERITIES,
            "relatedness": AE_RELATEDNESS,
            "outcomes": AE_OUTCOMES,
            "can_record": session.can(Action.INFUSION_RECORD),
            "can_rate": session.can(Action.INFUSION_RATING_RECORD),
            "can_ae": session.can(Action.ADVERSE_EVENT_RECORD),
            "can_sign": session.can(Action.DISCHARGE_SIGNOFF),
            "can_ack": session.can(Action.ALERT_ACKNOWLEDGE),
            "can_decide": session.can(Action.PHYSICIAN_DECISION),
            "open_alerts": [a for a in alerts if a.open],
            "owned_done": [a for a in alerts if not a.open and a.infusion_number == number],
            "decisions": decisions,
            "released": {r for d in decisions if d.kind == "release_hold" for r in d.released},
            "now": state.now(),
            "weight_limits": WEIGHT_KG_LIMITS,
            # Blinded staff never see (or type) the bag's concentration: it tells the arm.
            "show_concentration": patient.visibility is Treatment.NAMED
            or not view.protocol.blinded,
            "physicians": state.services.infusions.physicians(session.actor)
            if session.can(Action.INFUSION_RECORD) and view.day is None
            else [],
        },
        status_code=status_code,
    )


def _preview(state: WebState, patient: PatientView, weight: str) -> Any:
    try:
        protocol = state.protocol(patient.protocol_name)
        return dose_display(protocol, patient.treatment, patient.visibility, float(weight))
    except (ValueError, InvalidInput):
        return None


def _saved(patient_id: DbId, number: int, what: str, anchor: str) -> Response:
    return see_other(f"/patients/{patient_id}/infusion/{number}?saved={what}#{anchor}")


def site_time(state: WebState, name: str, typed: str) -> dt.datetime:
    """Today's ``typed`` hh:mm on the site's clock (the page shows site time; the record stores
    an aware time, so a nurse in Europe/London types what the wall clock says)."""
    try:
        clock = dt.time.fromisoformat(typed)
    except ValueError:
        raise ValidationFailed(name, "a time (hh:mm)", typed) from None
    zone = zoneinfo.ZoneInfo(state.settings.site_timezone)
    local_today = state.now().astimezone(zone).date()
    return dt.datetime.combine(local_today, clock, tzinfo=zone).astimezone(dt.UTC)


def _submit(
    request: Request,
    session: PageSession,
    state: WebState,
    patient_id: DbId,
    number: InfusionNumber,
    form: FormData,
    form_name: str,
    anchor: str | Callable[[object], str],
    action: Callable[[], object],
) -> Response:
    """Run one use case; a refusal re-renders with what was typed, a success redirects (to
    ``anchor``, or where ``anchor(result)`` says)."""
    try:
        result = action()
    except (ValidationFailed, ConflictError) as exc:
        return _page(
            request,
            session,
            state,
            patient_id,
            number,
            form_name=form_name,
            error=exc,
            values=_values(form),
            status_code=409 if isinstance(exc, ConflictError) else 422,
        )
    return _saved(
        patient_id, number, form_name, anchor if isinstance(anchor, str) else anchor(result)
    )


@router.get("/patients/{patient_id}/infusion/{number}")
def bedside(
    patient_id: DbId, number: InfusionNumber, request: Request, session: Session, state: State
) -> Response:
    weight = request.query_params.get("weight_kg", "")
    return _page(request, session, state, patient_id, number, values={"weight_kg": weight[:8]})


def _bp_reading(form: FormData, i: int) -> str:
    """Reading ``i`` from its two numeric boxes (systolic, diastolic), as "150/85"; a script may
    still send one ``bp_<i>`` text. A box left empty beside a filled one is named."""
    systolic, diastolic = text(form, f"bp_{i}_sys"), text(form, f"bp_{i}_dia")
    if not systolic and not diastolic:
        return text(form, f"bp_{i}")
    for name, value, label in (
        (f"bp_{i}_sys", systolic, "systolic"),
        (f"bp_{i}_dia", diastolic, "diastolic"),
    ):
        if not value:
            raise ValidationFailed(name, f"Reading {i}: the {label} pressure is missing", value)
    return f"{systolic}/{diastolic}"


def _checklist_input(form: FormData, number: int) -> ChecklistInput:
    readings = [_bp_reading(form, i) for i in range(1, BP_SLOTS + 1)]
    tox: list[str] | None = None
    if text(form, "tox_recorded") == "negative":
        tox = []
    elif text(form, "tox_recorded") == "positive":
        tox = [s.strip() for s in text(form, "tox_positive_for").split(",") if s.strip()]
        if not tox:
            raise ValidationFailed("tox_positive_for", "name what the screen was positive for", "")
    pregnancy = text(form, "pregnancy_test") or None
    return ChecklistInput(
        infusion_number=number,
        nil_by_mouth=_yes_no(text(form, "nil_by_mouth")),
        pregnancy_test=pregnancy,  # type: ignore[arg-type]  # the service refuses other values
        urine_toxicology_positive_for=tox,
        bp_readings=[r for r in readings if r],
        short_acting_benzodiazepine_taken_this_morning=_yes_no(text(form, "benzo_taken")),
    )


def core_field(fn: Callable[..., float], value: float) -> float:
    try:
        return fn(value)
    except InvalidInput as exc:
        raise ValidationFailed(exc.field, exc.message, exc.value) from None


def _date(form: FormData, name: str) -> dt.date:
    value = text(form, name)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(name, "a date (YYYY-MM-DD)", value) from None


def _start_inputs(form: FormData, weight: float | None) -> dict[str, Any]:
    """The start's inputs from the form: the bag, the second staff member's pump check, the
    supervising physician (services/infusions/day.py). Every box that cannot be read is listed
    at once, each under the label the screen gives it (the services then judge the values)."""
    errors: list[tuple[str, str]] = []

    def read(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except ValidationFailed as exc:
            errors.append((exc.field, f"{field_label(exc.field)}: {exc.message}"))
            return None

    if weight is None:
        errors.append(("weight_kg", f"{field_label('weight_kg')}: required to start"))
    physician = read(lambda: _int(form, "supervising_physician_id", required=True))
    expiry = read(lambda: _date(form, "bag_expiry"))
    volume = read(lambda: _float(form, "bag_volume_ml", required=True))
    concentration = read(lambda: _float(form, "bag_concentration_mg_per_ml"))
    rate = read(lambda: _float(form, "pump_rate_ml_per_h", required=True))
    if errors:
        raise FieldErrors(errors, None)
    password = form.get("witness_password")
    return {
        "weight_kg": weight,
        "bag": BagInput(
            lot=text(form, "bag_lot"),
            expiry=expiry,
            volume_ml=volume,
            prepared_by=text(form, "bag_prepared_by"),
            concentration_mg_per_ml=concentration,
        ),
        "pump_check": PumpCheck(
            Countersign(
                text(form, "witness_username"), password if isinstance(password, str) else ""
            ),
            rate,
            confirms_weight=text(form, "confirms_weight") == "yes",
        ),
        "supervising_physician_id": physician,
    }


@router.post("/patients/{patient_id}/infusion/{number}/checklist")
def record_checklist(
    patient_id: DbId,
    number: InfusionNumber,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    """Record the checklist; with ``action=start``, start the infusion if it passed (§6)."""
    values = _values(form)
    start = text(form, "action") == "start"
    infusions = state.services.infusions
    try:
        weight = _float(form, "weight_kg")
        if weight is not None:  # typed: checked now, not only at the start (issue 12 item 3)
            weight = core_field(check_weight, weight)
        # the start's boxes are read before anything is stored, every unreadable one listed
        inputs = _start_inputs(form, weight) if start else None
        check = infusions.record_checklist(
            session.actor, patient_id, _checklist_input(form, number)
        )
        # The readings are in the record now: the boxes come back empty, so sending the form
        # again (after a refused start) cannot count the same readings twice (§6).
        values = {k: v for k, v in values.items() if not k.startswith("bp_")}
        if start:
            assert inputs is not None
            try:
                infusions.start(session.actor, patient_id, number, **inputs)
            except ConflictError:
                if check.passed:
                    raise
                # held, and not (or not wholly) released by the physician: the hold's reasons
                return _page(
                    request, session, state, patient_id, number, form_name="checklist",
                    values=values, hold=check.hold_reasons, status_code=409,
                )  # fmt: skip
            return _saved(patient_id, number, "start", "dose")
        if not check.passed:
            return _page(
                request, session, state, patient_id, number, form_name="checklist",
                values=values, hold=check.hold_reasons, status_code=409,
            )  # fmt: skip
    except (ValidationFailed, ConflictError) as exc:
        return _page(
            request,
            session,
            state,
            patient_id,
            number,
            form_name="checklist",
            error=exc,
            values=values,
            status_code=409 if isinstance(exc, ConflictError) else 422,
        )
    return _page(request, session, state, patient_id, number, form_name="checklist", values=values)


@router.post("/patients/{patient_id}/infusion/{number}/vitals")
def record_vitals(
    patient_id: DbId,
    number: InfusionNumber,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    def act() -> object:
        values = _vitals_values(form)
        data = VitalsInput(
            values["minute"] or 0,
            values["sys"],
            values["dia"],
            values["hr"],
            values["spo2"],
            respiratory_rate_per_min=values["rr"],
            moaas=values["moaas"],
        )
        try:
            return state.services.infusions.record_vitals(session.actor, patient_id, number, data)
        except ValidationFailed as exc:  # shown at its box, with the box's human label
            key = FORM_KEY.get(exc.field, exc.field)
            raise FieldErrors([(key, _human(key, exc.message))], exc.value) from exc

    def where(saved: object) -> str:
        # a reading beyond an alert lands on the alert, in view, with its acknowledgement (§12)
        return "alerts" if getattr(saved, "alerts", ()) else "vitals"

    return _submit(request, session, state, patient_id, number, form, "vitals", where, act)


class FieldErrors(ValidationFailed):
    """Every refused box of a form at once: ``errors`` lists (form key, message) in form order;
    the first is also the error's ``field`` (where focus goes)."""

    def __init__(self, errors: list[tuple[str, str]], value: object = None) -> None:
        self.errors = errors
        super().__init__(errors[0][0], "; ".join(m for _, m in errors), value)


def _human(key: str, message: str) -> str:
    """A message that starts with the box's label, as a nurse reads it."""
    label = VITAL_TEXT.get(key, (key, "", ""))[0]
    first = label.split(" (")[0]
    return message if message.startswith((label, first)) else f"{label}: {message}"


def _vitals_values(form: FormData) -> dict[str, int | None]:
    """Every box of the vitals form checked before anything is stored: a whole number in the
    core's range (VITAL_RANGES), respiratory rate and sedation required (PROTOCOL.md §12); every
    refused box is listed, each with its human label ("SpO₂ must be 30–100 %")."""
    errors: list[tuple[str, str]] = []
    values: dict[str, int | None] = {}
    for key in VITAL_TEXT:
        label, unit, _ = VITAL_TEXT[key]
        raw = text(form, key)
        values[key] = None
        if not raw:
            if key in ("minute", "rr", "moaas"):
                errors.append(
                    (
                        key,
                        f"{label} is required with each reading (PROTOCOL.md §12)"
                        if key != "minute"
                        else f"{label} is required",
                    )
                )
            continue
        try:
            number = int(raw)
        except ValueError:
            errors.append((key, f"{label} must be a whole number"))
            continue
        field = next((f for short, f, *_ in VITAL_FIELDS if short == key), None)
        if field is not None:
            low, high = VITAL_RANGES[field]
            if not low <= number <= high:
                errors.append((key, f"{label} must be {low}–{high}{' ' + unit if unit else ''}"))
                continue
        values[key] = number
    if errors:
        raise FieldErrors(errors, None)
    return values


@router.post("/patients/{patient_id}/infusion/{number}/identity")
def confirm_identity(
    patient_id: DbId,
    number: InfusionNumber,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    """The nurse's two-identifier check before the drug is given (PROTOCOL.md §12)."""

    def act() -> object:
        return state.services.infusions.confirm_identity(
            session.actor,
            patient_id,
            number,
            name_confirmed=text(form, "name_confirmed") == "yes",
            date_of_birth_confirmed=text(form, "date_of_birth_confirmed") == "yes",
        )

    return _submit(request, session, state, patient_id, number, form, "identity", "identity", act)


@router.post("/patients/{patient_id}/infusion/{number}/medications")
def record_medication(
    patient_id: DbId,
    number: InfusionNumber,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    """Add a concomitant medication to the patient's list (PROTOCOL.md §1, §11)."""

    def act() -> object:
        return state.services.infusions.record_medication(
            session.actor,
            patient_id,
            MedicationInput(
                text(form, "med_drug"),
                text(form, "med_class"),
                text(form, "med_dose"),
                _date(form, "med_started_on"),
                _date(form, "med_stopped_on", required=False),
            ),
        )

    return _submit(
        request, session, state, patient_id, number, form, "medication", "medications", act
    )


def _date(form: FormData, name: str, *, required: bool = True) -> Any:
    value = text(form, name)
    if not value:
        if required:
            raise ValidationFailed(name, "a date (YYYY-MM-DD)", value)
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(name, "a date (YYYY-MM-DD)", value) from None


@router.post("/patients/{patient_id}/infusion/{number}/vitals/missed")
def record_missed_vitals(
    patient_id: DbId,
    number: InfusionNumber,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    """A scheduled reading not taken, with the reason (PROTOCOL.md §6)."""

    def act() -> object:
        return state.services.infusions.record_missed_vitals(
            session.actor,
            patient_id,
            number,
            minute=_int(form, "minute", required=True) or 0,
            reason=text(form, "reason"),
        )

    return _submit(request, session, state, patient_id, number, form, "missed", "vitals", act)


@router.post("/patients/{patient_id}/infusion/{number}/worsening-decision")
def record_worsening_decision(
    patient_id: DbId,
    number: InfusionNumber,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    """The physician's decision to discharge despite BPRS+/YMRS worse than allowed (§6)."""

    def act() -> object:
        return state.services.infusions.record_worsening_decision(
            session.actor,
            patient_id,
            number,
            reason=text(form, "reason"),
            expected_version=_int(form, "version", required=True) or 0,
        )

    return _submit(request, session, state, patient_id, number, form, "worsening", "discharge", act)


@router.post("/patients/{patient_id}/infusion/{number}/interventions")
def record_intervention(
    patient_id: DbId,
    number: InfusionNumber,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    def act() -> object:
        data = InterventionInput(
            drug=text(form, "drug"),
            dose_mg=_float(form, "dose_mg", required=True) or 0.0,
            route=text(form, "route"),
            reason=text(form, "reason"),
            minute=_int(form, "minute"),
            late_entry_reason=text(form, "late_entry_reason") or None,
        )
        return state.services.infusions.record_intervention(session.actor, patient_id, number, data)

    return _submit(
        request, session, state, patient_id, number, form, "intervention", "interventions", act
    )


@router.post("/patients/{patient_id}/infusion/{number}/adverse-events")
def record_adverse_event(
    patient_id: DbId,
    number: InfusionNumber,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    def act() -> object:
        values = {key: text(form, key) for key in AE_FIELDS}
        data = adverse_event_input(values, infusion_number=number, default_onset=state.now().date())
        return state.services.infusions.record_adverse_event(session.actor, patient_id, data)

    return _submit(request, session, state, patient_id, number, form, "ae", "adverse-events", act)


@router.post("/patients/{patient_id}/infusion/{number}/end")
def record_end(
    patient_id: DbId,
    number: InfusionNumber,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    def act() -> object:
        version = _int(form, "version", required=True) or 0
        ended_at = None
        typed = text(form, "ended_at")
        if typed:
            ended_at = site_time(state, "ended_at", typed)
        early = None
        if text(form, "stopped_early") == "yes":
            given = _float(form, "volume_given_ml", required=True)
            early = EarlyStop(given or 0.0, text(form, "early_stop_reason"))
        return state.services.infusions.end(
            session.actor,
            patient_id,
            number,
            expected_version=version,
            ended_at=ended_at,
            early_stop=early,
        )

    return _submit(request, session, state, patient_id, number, form, "end", "discharge", act)


@router.post("/patients/{patient_id}/infusion/{number}/waste")
def record_waste(
    patient_id: DbId,
    number: InfusionNumber,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    """The volume discarded, witnessed by a second staff member (drug accountability)."""

    def act() -> object:
        password = form.get("witness_password")
        return state.services.infusions.record_waste(
            session.actor,
            patient_id,
            number,
            volume_wasted_ml=_float(form, "volume_wasted_ml", required=True) or 0.0,
            witness=Countersign(
                text(form, "witness_username"), password if isinstance(password, str) else ""
            ),
        )

    return _submit(request, session, state, patient_id, number, form, "waste", "discharge", act)


@router.post("/patients/{patient_id}/infusion/{number}/discharge")
def record_discharge(
    patient_id: DbId,
    number: InfusionNumber,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    def act() -> object:
        return state.services.infusions.record_discharge_findings(
            session.actor,
            patient_id,
            number,
            expected_version=_int(form, "version", required=True) or 0,
            ambulatory_unaided=text(form, "ambulatory") == "yes",
            delayed_effects_checked=text(form, "delayed_effects_checked") == "yes",
            reason=text(form, "reason") or None,
        )

    return _submit(request, session, state, patient_id, number, form, "discharge", "discharge", act)


@router.post("/patients/{patient_id}/infusion/{number}/signoff")
def sign_off(
    patient_id: DbId,
    number: InfusionNumber,
    request: Request,
    session: Session,
    state: State,
    form: CheckedForm,
) -> Response:
    """The physician's electronic signature: the password is asked again (21 CFR 11.200)."""

    def act() -> object:
        password = form.get("password")
        try:
            return state.services.infusions.sign_off_discharge(
                session.actor,
                patient_id,
                number,
                password=password if isinstance(password, str) else "",
                expected_version=_int(form, "version", required=True) or 0,
            )
        except AuthenticationFailed as exc:  # counted and audited by the service
            raise ValidationFailed("password", exc.message, None) from None

    return _submit(request, session, state, patient_id, number, form, "signoff", "discharge", act)
