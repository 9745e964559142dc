"""``/patients/{id}/infusions``: the infusion day for scripts and integrations (PROTOCOL.md §6).

The same use cases as the bedside screen, through :class:`~ketamine_ptsd.services.InfusionService`
and so with the same role checks and the same blind: a blinded caller reads "study drug", the
arm-independent volume and rate and no milligrams (§3–§4); infusion-day ratings need
``infusion_rating.read`` (never an outcome rater). A checklist that fails is stored and returned
with ``passed: false`` and its hold reasons (201: the hold is a record); starting while held is a
409 naming the reasons.

Bodies are bounded (lengths, numeric ranges, no NUL characters) so that malformed input is a
422 from validation, never a database error.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints

from ketamine_ptsd.core.protocol import WEIGHT_KG_LIMITS
from ketamine_ptsd.services import AuthenticationFailed, ValidationFailed
from ketamine_ptsd.services.infusions import (
    AdverseEventInput,
    BagInput,
    ChecklistInput,
    Countersign,
    EarlyStop,
    InterventionInput,
    MedicationInput,
    PumpCheck,
    VitalsInput,
)

from ..deps import ApiAuth, State
from ..params import DbId, InfusionNumber, Version

router = APIRouter(prefix="/patients/{patient_id}/infusions", tags=["infusions"])
adverse_events = APIRouter(tags=["adverse events"])

#: Text without NUL (PostgreSQL refuses it in text columns) and of bounded length.
Text = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")]
ShortText = Annotated[str, StringConstraints(max_length=100, pattern=r"^[^\x00]*$")]
Mmhg = Annotated[int, Field(ge=0, le=400)]
Minute = Annotated[int, Field(ge=0, le=1440)]


class ChecklistCreate(BaseModel):
    nil_by_mouth: bool | None = None
    pregnancy_test: Literal["negative", "positive", "not_applicable"] | None = None
    urine_toxicology_positive_for: list[ShortText] | None = Field(default=None, max_length=20)
    bp_readings: list[Annotated[str, StringConstraints(max_length=12)]] = Field(
        default_factory=list, max_length=10
    )
    short_acting_benzodiazepine_taken_this_morning: bool | None = None


class ChecklistRead(BaseModel):
    id: int
    infusion_number: int
    checked_on: dt.date
    passed: bool
    items: list[dict[str, Any]]
    hold_reasons: list[str]
    findings: dict[str, Any] = Field(default_factory=dict)


#: One bound for the form and the API (core.protocol.WEIGHT_KG_LIMITS).
Weight = Annotated[float, Field(ge=WEIGHT_KG_LIMITS[0], le=WEIGHT_KG_LIMITS[1])]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class BagCreate(BaseModel):
    """The bag as labelled; ``concentration_mg_per_ml`` only from staff who see the drug."""

    lot: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
    expiry: dt.date
    volume_ml: float = Field(gt=0, le=1000)
    prepared_by: ShortText
    concentration_mg_per_ml: float | None = Field(default=None, gt=0, le=100)


class PumpCheckCreate(BaseModel):
    """The second staff member's independent check: their username and password, the rate they
    read on the pump, and whether they also confirm the day's weight."""

    witness_username: ShortText
    witness_password: Secret
    pump_rate_ml_per_h: float = Field(gt=0, le=10_000)
    confirms_weight: bool = False


class StartCreate(BaseModel):
    weight_kg: Weight
    bag: BagCreate
    pump_check: PumpCheckCreate
    supervising_physician_id: int = Field(ge=1, le=2**31 - 1)


class AdministrationRead(BaseModel):
    """The bag, the double-check and what was given; concentration and mg null when blinded."""

    bag_lot: str
    bag_expiry: dt.date
    bag_volume_ml: float
    bag_concentration_mg_per_ml: float | None
    prepared_by: str
    started_by: str
    checked_by: str
    pump_rate_ml_per_h: float
    supervising_physician: str
    weight_previous_kg: float | None
    weight_confirmed_by: str | None
    weight_confirmation_reasons: list[str]
    stopped_early: bool | None
    early_stop_reason: str | None
    volume_given_ml: float | None
    dose_given_mg: float | None
    volume_wasted_ml: float | None
    waste_witnessed_by: str | None


class EndCreate(BaseModel):
    """The end: when (default now) and, for an early stop, the volume given and why."""

    version: Version
    ended_at: dt.datetime | None = None
    stopped_early: bool = False
    volume_given_ml: float | None = Field(default=None, ge=0, le=1000)
    early_stop_reason: Text | None = None


class WasteCreate(BaseModel):
    volume_wasted_ml: float = Field(ge=0, le=1000)
    witness_username: ShortText
    witness_password: Secret


class InfusionDayRead(BaseModel):
    """A started infusion; ``drug`` is "study drug" and the mg fields null for blinded callers."""

    id: int
    infusion_number: int
    infusion_date: dt.date
    weight_kg: float
    drug: str
    dose_mg: float | None
    concentration_mg_per_ml: float | None
    dose_arithmetic: str | None
    volume_ml: float
    rate_ml_per_h: float
    infusion_minutes: int
    started_at: dt.datetime
    ended_at: dt.datetime | None
    vitals_due_minutes: list[int]
    discharged_at: dt.datetime | None
    version: int
    administration: AdministrationRead | None = None


class VitalsCreate(BaseModel):
    minute: Minute
    systolic_mmhg: Mmhg | None = None
    diastolic_mmhg: Mmhg | None = None
    heart_rate_bpm: Mmhg | None = None
    spo2_percent: Annotated[int, Field(ge=0, le=100)] | None = None
    #: required by the service with each set (PROTOCOL.md §12); ranges checked there too
    respiratory_rate_per_min: Annotated[int, Field(ge=0, le=200)] | None = None
    moaas: Annotated[int, Field(ge=0, le=10)] | None = None


class IdentityCheckCreate(BaseModel):
    """Both identifiers asked and matched (PROTOCOL.md §12)."""

    name_confirmed: bool
    date_of_birth_confirmed: bool


class IdentityCheckRead(BaseModel):
    name: str | None
    date_of_birth: dt.date | None
    confirmed_at: dt.datetime | None


class MissedVitalsCreate(BaseModel):
    """A scheduled reading not taken, and why (PROTOCOL.md §6)."""

    minute: Minute
    reason: Text


class MissedVitalsRead(BaseModel):
    id: int
    minute: int
    reason: str
    recorded_at: dt.datetime
    version: int


class WorseningDecisionCreate(BaseModel):
    """The physician's decision to discharge despite BPRS+/YMRS worse than allowed (§6)."""

    version: Version
    reason: Text


class VitalsRead(BaseModel):
    id: int
    minute: int
    measured_at: dt.datetime
    systolic_mmhg: int | None
    diastolic_mmhg: int | None
    heart_rate_bpm: int | None
    spo2_percent: int | None
    respiratory_rate_per_min: int | None = None
    moaas: int | None = None
    alerts: list[str]
    version: int


class InterventionCreate(BaseModel):
    drug: ShortText
    dose_mg: float = Field(gt=0, le=10_000)
    route: ShortText
    reason: Text
    minute: Minute | None = None
    #: required on a day already discharged (a late entry; audited)
    late_entry_reason: Text | None = None


class InterventionRead(BaseModel):
    id: int
    given_at: dt.datetime
    minute: int | None
    drug: str
    dose_mg: float
    route: str
    reason: str
    version: int


class RatingCreate(BaseModel):
    minute: Minute
    instrument: ShortText
    items: dict[ShortText, int | float | ShortText] = Field(max_length=100)


class RatingRead(BaseModel):
    id: int
    minute: int
    instrument: str
    total: float | None
    subscales: dict[str, Any]
    derived: dict[str, Any]
    version: int


class AdverseEventCreate(BaseModel):
    term: ShortText
    onset_date: dt.date
    serious: bool
    severity: ShortText
    relatedness: ShortText
    action: Text
    outcome: ShortText
    resolved_on: dt.date | None = None


class AdverseEventRead(BaseModel):
    id: int
    infusion_number: int | None
    term: str
    onset_date: dt.date
    serious: bool
    severity: str
    relatedness: str
    action: str
    outcome: str
    resolved_on: dt.date | None
    version: int


class AdverseEventUpdate(BaseModel):
    """A follow-up of an adverse event: its outcome (and resolution date), a re-graded severity
    or seriousness, the version read, and why."""

    expected_version: Version
    reason: Text
    outcome: ShortText
    resolved_on: dt.date | None = None
    severity: ShortText | None = None
    serious: bool | None = None


class DischargeCreate(BaseModel):
    version: Version
    ambulatory_unaided: bool
    delayed_effects_checked: bool
    reason: Text | None = None


class SignoffCreate(BaseModel):
    version: Version
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class DischargeRead(BaseModel):
    ready: bool
    earliest_discharge: dt.datetime | None
    reasons: list[str]
    discharged_at: dt.datetime | None
    version: int
    #: one ``DischargeCriterion`` value per reason, in order (core/rules/discharge.py)
    reason_codes: list[str] = Field(default_factory=list)
    #: scheduled vitals minutes neither recorded nor explained as missed (§6)
    vitals_missing: list[int] = Field(default_factory=list)


def _as(model: type[BaseModel], view: object) -> Any:
    return model.model_validate(view, from_attributes=True)


@router.get("", response_model=list[InfusionDayRead])
def days(patient_id: DbId, auth: ApiAuth, state: State) -> list[Any]:
    return [_as(InfusionDayRead, d) for d in state.services.infusions.days(auth.actor, patient_id)]


@router.get("/{number}", response_model=InfusionDayRead)
def day(patient_id: DbId, number: InfusionNumber, auth: ApiAuth, state: State) -> Any:
    return _as(InfusionDayRead, state.services.infusions.day(auth.actor, patient_id, number))


@router.post("/{number}/checklist", response_model=ChecklistRead, status_code=201)
def checklist(
    patient_id: DbId,
    number: InfusionNumber,
    body: ChecklistCreate,
    auth: ApiAuth,
    state: State,
) -> Any:
    view = state.services.infusions.record_checklist(
        auth.actor,
        patient_id,
        ChecklistInput(
            infusion_number=number,
            nil_by_mouth=body.nil_by_mouth,
            pregnancy_test=body.pregnancy_test,
            urine_toxicology_positive_for=body.urine_toxicology_positive_for,
            bp_readings=body.bp_readings,
            short_acting_benzodiazepine_taken_this_morning=(
                body.short_acting_benzodiazepine_taken_this_morning
            ),
        ),
    )
    return _as(ChecklistRead, view)


@router.get("/{number}/identity-check", response_model=IdentityCheckRead)
def identity_check(patient_id: DbId, number: InfusionNumber, auth: ApiAuth, state: State) -> Any:
    """Name and date of birth for the treating nurse (``identity.confirm``: 403 for blinded
    raters and the pharmacy), with today's confirmation (PROTOCOL.md §12)."""
    view = state.services.infusions.identity_to_check(auth.actor, patient_id, number)
    return _as(IdentityCheckRead, view)


@router.post("/{number}/identity-check", response_model=IdentityCheckRead, status_code=201)
def confirm_identity(
    patient_id: DbId, number: InfusionNumber, body: IdentityCheckCreate, auth: ApiAuth, state: State
) -> Any:
    view = state.services.infusions.confirm_identity(
        auth.actor,
        patient_id,
        number,
        name_confirmed=body.name_confirmed,
        date_of_birth_confirmed=body.date_of_birth_confirmed,
    )
    return _as(IdentityCheckRead, view)


@router.post("/{number}/start", response_model=InfusionDayRead, status_code=201)
def start(
    patient_id: DbId, number: InfusionNumber, body: StartCreate, auth: ApiAuth, state: State
) -> Any:
    """Start: the bag, the second staff member's pump check, the supervising physician (§4,
    §6); a refused weight, bag, pump rate or witness is a 422 naming the field."""
    view = state.services.infusions.start(
        auth.actor,
        patient_id,
        number,
        weight_kg=body.weight_kg,
        bag=BagInput(
            lot=body.bag.lot,
            expiry=body.bag.expiry,
            volume_ml=body.bag.volume_ml,
            prepared_by=body.bag.prepared_by,
            concentration_mg_per_ml=body.bag.concentration_mg_per_ml,
        ),
        pump_check=PumpCheck(
            Countersign(body.pump_check.witness_username, body.pump_check.witness_password),
            body.pump_check.pump_rate_ml_per_h,
            confirms_weight=body.pump_check.confirms_weight,
        ),
        supervising_physician_id=body.supervising_physician_id,
    )
    return _as(InfusionDayRead, view)


@router.get("/{number}/vitals", response_model=list[VitalsRead])
def vitals(patient_id: DbId, number: InfusionNumber, auth: ApiAuth, state: State) -> Any:
    return [
        _as(VitalsRead, v) for v in state.services.infusions.vitals(auth.actor, patient_id, number)
    ]


@router.post("/{number}/vitals", response_model=VitalsRead, status_code=201)
def record_vitals(
    patient_id: DbId, number: InfusionNumber, body: VitalsCreate, auth: ApiAuth, state: State
) -> Any:
    view = state.services.infusions.record_vitals(
        auth.actor,
        patient_id,
        number,
        VitalsInput(
            body.minute,
            body.systolic_mmhg,
            body.diastolic_mmhg,
            body.heart_rate_bpm,
            body.spo2_percent,
            respiratory_rate_per_min=body.respiratory_rate_per_min,
            moaas=body.moaas,
        ),
    )
    return _as(VitalsRead, view)


@router.get("/{number}/vitals/missed", response_model=list[MissedVitalsRead])
def missed_vitals(patient_id: DbId, number: InfusionNumber, auth: ApiAuth, state: State) -> Any:
    rows = state.services.infusions.missed_vitals(auth.actor, patient_id, number)
    return [_as(MissedVitalsRead, m) for m in rows]


@router.post("/{number}/vitals/missed", response_model=MissedVitalsRead, status_code=201)
def record_missed_vitals(
    patient_id: DbId, number: InfusionNumber, body: MissedVitalsCreate, auth: ApiAuth, state: State
) -> Any:
    """A scheduled reading not taken, with the reason (discharge needs each present or
    explained, PROTOCOL.md §6)."""
    view = state.services.infusions.record_missed_vitals(
        auth.actor, patient_id, number, minute=body.minute, reason=body.reason
    )
    return _as(MissedVitalsRead, view)


@router.get("/{number}/interventions", response_model=list[InterventionRead])
def interventions(patient_id: DbId, number: InfusionNumber, auth: ApiAuth, state: State) -> Any:
    rows = state.services.infusions.interventions(auth.actor, patient_id, number)
    return [_as(InterventionRead, i) for i in rows]


@router.post("/{number}/interventions", response_model=InterventionRead, status_code=201)
def record_intervention(
    patient_id: DbId,
    number: InfusionNumber,
    body: InterventionCreate,
    auth: ApiAuth,
    state: State,
) -> Any:
    view = state.services.infusions.record_intervention(
        auth.actor,
        patient_id,
        number,
        InterventionInput(
            body.drug,
            body.dose_mg,
            body.route,
            body.reason,
            body.minute,
            late_entry_reason=body.late_entry_reason,
        ),
    )
    return _as(InterventionRead, view)


@router.get("/{number}/ratings", response_model=list[RatingRead])
def ratings(patient_id: DbId, number: InfusionNumber, auth: ApiAuth, state: State) -> Any:
    """Infusion-day ratings (``infusion_rating.read``; an outcome rater gets 403, §3)."""
    return [
        _as(RatingRead, r) for r in state.services.infusions.ratings(auth.actor, patient_id, number)
    ]


@router.post("/{number}/ratings", response_model=RatingRead, status_code=201)
def record_rating(
    patient_id: DbId, number: InfusionNumber, body: RatingCreate, auth: ApiAuth, state: State
) -> Any:
    view = state.services.infusions.record_rating(
        auth.actor,
        patient_id,
        number,
        minute=body.minute,
        instrument=body.instrument,
        items=body.items,
    )
    return _as(RatingRead, view)


@router.post("/{number}/adverse-events", response_model=AdverseEventRead, status_code=201)
def record_adverse_event(
    patient_id: DbId,
    number: InfusionNumber,
    body: AdverseEventCreate,
    auth: ApiAuth,
    state: State,
) -> Any:
    view = state.services.infusions.record_adverse_event(
        auth.actor,
        patient_id,
        AdverseEventInput(
            term=body.term,
            onset_date=body.onset_date,
            serious=body.serious,
            severity=body.severity,
            relatedness=body.relatedness,
            action=body.action,
            outcome=body.outcome,
            infusion_number=number,
            resolved_on=body.resolved_on,
        ),
    )
    return _as(AdverseEventRead, view)


@router.post("/{number}/end", response_model=InfusionDayRead)
def end(
    patient_id: DbId, number: InfusionNumber, body: EndCreate, auth: ApiAuth, state: State
) -> Any:
    """The end (default now; not before the start, not in the future); an early stop with the
    volume given and the reason, the mg given recomputed from them (§6)."""
    early = None
    if body.stopped_early:
        if body.volume_given_ml is None:
            raise ValidationFailed("volume_given_ml", "the volume given before the stop", None)
        early = EarlyStop(body.volume_given_ml, body.early_stop_reason or "")
    view = state.services.infusions.end(
        auth.actor,
        patient_id,
        number,
        expected_version=body.version,
        ended_at=body.ended_at,
        early_stop=early,
    )
    return _as(InfusionDayRead, view)


@router.post("/{number}/waste", response_model=InfusionDayRead)
def record_waste(
    patient_id: DbId, number: InfusionNumber, body: WasteCreate, auth: ApiAuth, state: State
) -> Any:
    """The volume discarded, witnessed by a second staff member (drug accountability)."""
    view = state.services.infusions.record_waste(
        auth.actor,
        patient_id,
        number,
        volume_wasted_ml=body.volume_wasted_ml,
        witness=Countersign(body.witness_username, body.witness_password),
    )
    return _as(InfusionDayRead, view)


@router.get("/{number}/discharge", response_model=DischargeRead)
def readiness(patient_id: DbId, number: InfusionNumber, auth: ApiAuth, state: State) -> Any:
    return _as(DischargeRead, state.services.infusions.readiness(auth.actor, patient_id, number))


@router.post("/{number}/discharge", response_model=DischargeRead)
def discharge(
    patient_id: DbId,
    number: InfusionNumber,
    body: DischargeCreate,
    auth: ApiAuth,
    state: State,
) -> Any:
    view = state.services.infusions.record_discharge_findings(
        auth.actor,
        patient_id,
        number,
        expected_version=body.version,
        ambulatory_unaided=body.ambulatory_unaided,
        delayed_effects_checked=body.delayed_effects_checked,
        reason=body.reason,
    )
    return _as(DischargeRead, view)


@router.post("/{number}/worsening-decision", response_model=DischargeRead)
def worsening_decision(
    patient_id: DbId,
    number: InfusionNumber,
    body: WorseningDecisionCreate,
    auth: ApiAuth,
    state: State,
) -> Any:
    """The physician's audited decision to discharge although BPRS positive or YMRS item 1 is
    worse than the protocol allows (PROTOCOL.md §6)."""
    view = state.services.infusions.record_worsening_decision(
        auth.actor, patient_id, number, reason=body.reason, expected_version=body.version
    )
    return _as(DischargeRead, view)


@router.post("/{number}/signoff", response_model=DischargeRead)
def signoff(
    patient_id: DbId,
    number: InfusionNumber,
    body: SignoffCreate,
    auth: ApiAuth,
    state: State,
) -> Any:
    """The physician's signed discharge sign-off; the password is asked again (§6)."""
    try:
        view = state.services.infusions.sign_off_discharge(
            auth.actor, patient_id, number, password=body.password, expected_version=body.version
        )
    except AuthenticationFailed as exc:  # counted and audited by the service
        raise ValidationFailed("password", exc.message, None) from None
    return _as(DischargeRead, view)


class MedicationCreate(BaseModel):
    """A concomitant medication (PROTOCOL.md §1, §11); ``drug_class`` one of
    ``core.rules.MEDICATION_CLASSES`` (refused 422 naming the field otherwise)."""

    drug: ShortText
    drug_class: ShortText
    dose: ShortText
    started_on: dt.date
    stopped_on: dt.date | None = None


class MedicationStop(BaseModel):
    stopped_on: dt.date
    version: Version
    reason: Text


class MedicationRead(BaseModel):
    id: int
    drug: str
    drug_class: str
    dose: str
    started_on: dt.date
    stopped_on: dt.date | None
    flagged: bool
    version: int


@adverse_events.get("/patients/{patient_id}/medications", response_model=list[MedicationRead])
def list_medications(patient_id: DbId, auth: ApiAuth, state: State) -> Any:
    """The patient's concomitant medications; ``flagged``: a class the checklist flags."""
    rows = state.services.infusions.medications(auth.actor, patient_id)
    return [_as(MedicationRead, m) for m in rows]


@adverse_events.post(
    "/patients/{patient_id}/medications", response_model=MedicationRead, status_code=201
)
def record_medication(patient_id: DbId, body: MedicationCreate, auth: ApiAuth, state: State) -> Any:
    view = state.services.infusions.record_medication(
        auth.actor,
        patient_id,
        MedicationInput(body.drug, body.drug_class, body.dose, body.started_on, body.stopped_on),
    )
    return _as(MedicationRead, view)


@adverse_events.post(
    "/patients/{patient_id}/medications/{medication_id}/stop", response_model=MedicationRead
)
def stop_medication(
    patient_id: DbId, medication_id: DbId, body: MedicationStop, auth: ApiAuth, state: State
) -> Any:
    view = state.services.infusions.stop_medication(
        auth.actor,
        patient_id,
        medication_id,
        stopped_on=body.stopped_on,
        expected_version=body.version,
        reason=body.reason,
    )
    return _as(MedicationRead, view)


@adverse_events.get("/patients/{patient_id}/adverse-events", response_model=list[AdverseEventRead])
def list_adverse_events(patient_id: DbId, auth: ApiAuth, state: State) -> Any:
    """The patient's live adverse events, oldest first."""
    return [
        _as(AdverseEventRead, a)
        for a in state.services.infusions.adverse_events(auth.actor, patient_id)
    ]


@adverse_events.patch("/adverse-events/{event_id}", response_model=AdverseEventRead)
def update_adverse_event(
    event_id: DbId,
    body: AdverseEventUpdate,
    auth: ApiAuth,
    state: State,
) -> Any:
    """Follow an adverse event up; a change to serious is audited as a serious adverse event."""
    view = state.services.infusions.update_adverse_event(
        auth.actor,
        event_id,
        expected_version=body.expected_version,
        reason=body.reason,
        outcome=body.outcome,
        resolved_on=body.resolved_on,
        severity=body.severity,
        serious=body.serious,
    )
    return _as(AdverseEventRead, view)
