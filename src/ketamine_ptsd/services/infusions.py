"""Infusion days: checklist and holds, dose from the day's weight, vitals, interventions, ratings,
PRISE, adverse events, discharge readiness and the physician's signed sign-off.

SYSTEM.md capability 5; PROTOCOL.md §3 (the blind), §4 (dose), §6 (the infusion day). Infusions
are numbered 1..N (the protocol's ``schedule.infusion_count``); everything recorded on a day is
keyed by (patient, infusion number), so the minute-0 vitals and ratings can be taken before the
start.

* **Checklist.** :meth:`InfusionService.record_checklist` runs
  :func:`ketamine_ptsd.core.rules.pre_infusion_checklist` on the nurse's findings plus what the
  record knows (baseline vitals and minute-0 ratings recorded; a risk-benefit decision for
  pregnancy in the clinic). Every run is stored; a failed run is a recorded hold with its reasons.
  :meth:`InfusionService.start` refuses (:class:`InfusionHeld`, with the reasons) unless today's
  latest checklist for that infusion passed.
* **Allocation.** In the trial, infusion 1 is when the patient is allocated (§3: "assignment on
  the morning of the first infusion"): ``start`` of infusion 1 by someone allowed to allocate
  does it (services/randomization.py); anyone else is asked to have it done first.
* **Dose.** The drug, its mg dose and concentration break the blind (§4: 0.5 vs 0.045 mg/kg)
  and are stored with ``allocation`` sensitivity; a blinded reader sees "study drug", the volume
  and the pump rate, which must then be identical whatever the arm. So a blinded protocol with
  more than one drug doses by :func:`ketamine_ptsd.core.rules.blinded_dose` (the volume from the
  mL/kg every arm shares, the mg delivered = volume × concentration; a protocol whose arms differ
  in mL/kg or minutes is refused, naming the field); an open-label one by
  :func:`ketamine_ptsd.core.rules.calculate_dose`.
* **Vitals** (every 5 min during, every 15 after — ``vitals_due_minutes``) are stored with the
  alerts :func:`vital_sign_alerts` raises. **Interventions** (e.g. labetalol 5 mg IV) with drug,
  dose, route, time and reason.
* **Ratings** at the protocol's minutes (0/40/120: CADSS, BPRS positive, YMRS item 1; PRISE at
  0 and 120), scored by the instruments; stored with ``infusion_rating`` sensitivity and readable
  only with ``infusion_rating.read`` — never by an outcome rater (§3).
* **Discharge.** The nurse records walking unaided and the delayed-effects check;
  :meth:`InfusionService.readiness` applies :func:`discharge_readiness`; the physician's
  :meth:`InfusionService.sign_off_discharge` re-authenticates, refuses while anything but the
  sign-off is outstanding, and signs the infusion record ("discharge sign-off").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import bindparam, select

from ketamine_ptsd.core.instruments import score
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action, is_allowed
from ketamine_ptsd.core.rules import (
    DischargeCriterion,
    DischargeFindings,
    PreInfusionFindings,
    VitalSigns,
    administered_dose,
    discharge_readiness,
    parse_bp_reading,
    pre_infusion_checklist,
    vital_sign_alerts,
    vitals_due_minutes,
)
from ketamine_ptsd.core.workflow import PRE_RESPONSE, Event

from ._workflow import (
    BLINDED_DRUG,
    check_editable,
    core_call,
    entered,
    need_reason,
    not_in_future,
    patient_drug,
    require_open,
)
from .access import Actor, allocation_visibility, require, require_patient
from .audit import AuditEvent, encode_value
from .auth import AuthService
from .context import ServiceContext
from .errors import ConflictError, NotFound, ValidationFailed
from .patients import load_patient
from .protocol_versions import patient_protocol
from .randomization import RandomizationService
from .records import (
    AdverseEvent,
    Allocation,
    InfusionDay,
    InfusionRating,
    Intervention,
    Patient,
    PreInfusionCheck,
    RiskBenefitDecisionRecord,
    Signature,
    VitalSignsRecord,
    Withdrawal,
)
from .uow import UnitOfWork
from .workflow import state_of, transition

__all__ = [
    "AE_OUTCOMES",
    "AE_RELATEDNESS",
    "AE_SEVERITIES",
    "ROUTES",
    "AdverseEventInput",
    "AdverseEventView",
    "ChecklistInput",
    "ChecklistView",
    "DischargeCriterion",
    "DischargeView",
    "InfusionDayView",
    "InfusionHeld",
    "InfusionService",
    "InterventionInput",
    "InterventionView",
    "RatingView",
    "VitalsInput",
    "VitalsView",
]

ROUTES = ("IV", "IM", "PO", "SL", "SC", "IN", "inhaled")
AE_SEVERITIES = ("mild", "moderate", "severe")
AE_RELATEDNESS = ("not_related", "unlikely", "possible", "probable", "definite")
AE_OUTCOMES = (
    "recovered",
    "recovering",
    "not_recovered",
    "recovered_with_sequelae",
    "fatal",
    "unknown",
)
#: Where infusion-day records may be written: the series runs until the response is decided.
ACTIVE_STATES = PRE_RESPONSE


class InfusionHeld(ConflictError):
    """The infusion may not start: the checklist did not pass (the hold is recorded)."""

    def __init__(self, study_id: str, infusion_number: int, reasons: Sequence[str]) -> None:
        self.reasons = tuple(reasons)
        super().__init__(
            "infusion",
            f"{study_id} #{infusion_number}",
            "held: " + "; ".join(self.reasons),
        )


# --- inputs and views ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistInput:
    """The nurse's findings before infusion ``infusion_number`` (PROTOCOL.md §6).

    ``bp_readings``: the readings in the order taken, as "150/85" text or (systolic, diastolic).
    Baseline vitals and the minute-0 ratings are taken from the record, not ticked here.
    """

    infusion_number: int
    nil_by_mouth: bool | None
    pregnancy_test: Literal["negative", "positive", "not_applicable"] | None
    urine_toxicology_positive_for: Sequence[str] | None
    bp_readings: Sequence[str | tuple[int, int]]
    short_acting_benzodiazepine_taken_this_morning: bool | None = None


@dataclass(frozen=True)
class ChecklistView:
    """One stored checklist run.

    ``findings``: what the nurse recorded, as stored (``nil_by_mouth``, ``pregnancy_test``,
    ``urine_toxicology_positive_for``, ``bp_readings`` as "150/85" text in the order taken,
    ``short_acting_benzodiazepine_taken_this_morning``) plus what the record supplied
    (``baseline_vitals_recorded``, ``pre_infusion_ratings_recorded``), so a form can be refilled
    from the record after a reload.
    """

    id: int
    patient_id: int
    infusion_number: int
    checked_on: dt.date
    passed: bool
    items: tuple[dict[str, Any], ...]
    hold_reasons: tuple[str, ...]
    findings: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class VitalsInput:
    """One set of vitals ``minute`` minutes after infusion start (0 = baseline, before it).

    ``measured_at``: when the reading was taken, for readings entered after the fact (a sheet
    typed in at once, a monitor's upload: :meth:`InfusionService.record_vitals_series`); None
    means now. It may not lie in the future.
    """

    minute: int
    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    heart_rate_bpm: int | None = None
    spo2_percent: int | None = None
    measured_at: dt.datetime | None = None


@dataclass(frozen=True)
class VitalsView:
    id: int
    infusion_number: int
    minute: int
    measured_at: dt.datetime
    systolic_mmhg: int | None
    diastolic_mmhg: int | None
    heart_rate_bpm: int | None
    spo2_percent: int | None
    alerts: tuple[str, ...]
    version: int


@dataclass(frozen=True)
class InterventionInput:
    """A drug given during an infusion day, e.g. labetalol 5 mg IV for high BP (§6)."""

    drug: str
    dose_mg: float
    route: str
    reason: str
    minute: int | None = None


@dataclass(frozen=True)
class InterventionView:
    id: int
    infusion_number: int
    given_at: dt.datetime
    minute: int | None
    drug: str
    dose_mg: float
    route: str
    reason: str
    version: int


@dataclass(frozen=True)
class RatingView:
    """An infusion-day rating (only for roles with ``infusion_rating.read``)."""

    id: int
    infusion_number: int
    minute: int
    instrument: str
    total: float | None
    subscales: dict[str, Any]
    derived: dict[str, Any]
    items: dict[str, Any]
    version: int


@dataclass(frozen=True)
class AdverseEventInput:
    term: str
    onset_date: dt.date
    serious: bool
    severity: str  # AE_SEVERITIES
    relatedness: str  # AE_RELATEDNESS
    action: str
    outcome: str  # AE_OUTCOMES
    infusion_number: int | None = None
    resolved_on: dt.date | None = None


@dataclass(frozen=True)
class AdverseEventView:
    id: int
    patient_id: int
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


@dataclass(frozen=True)
class InfusionDayView:
    """A started infusion as the actor may see it.

    ``drug`` is "study drug" and ``dose_mg``/``concentration_mg_per_ml``/``dose_arithmetic`` are
    None for a blinded reader; ``volume_ml`` and ``rate_ml_per_h`` are the same in every arm.
    """

    id: int
    patient_id: int
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
    vitals_due_minutes: tuple[int, ...]
    discharged_at: dt.datetime | None
    version: int


@dataclass(frozen=True)
class DischargeView:
    """Discharge readiness; ``reason_codes[i]`` (a :class:`DischargeCriterion` value, from the
    core rule) names ``reasons[i]``."""

    ready: bool
    earliest_discharge: dt.datetime | None
    reasons: tuple[str, ...]
    discharged_at: dt.datetime | None
    version: int
    reason_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Dose:
    drug: str
    dose_mg: float
    concentration_mg_per_ml: float
    volume_ml: float
    rate_ml_per_h: float
    minutes: int
    arithmetic: str


def _dose(protocol: Protocol, drug: str, weight_kg: float) -> _Dose:
    """Dose, volume and rate for ``drug`` by the one dose rule
    (:func:`ketamine_ptsd.core.rules.administered_dose`: one volume and rate for every arm of a
    blinded trial, the mg delivered by that volume; PROTOCOL.md §3, §4)."""
    r = core_call(administered_dose, protocol, drug, weight_kg)
    return _Dose(
        drug,
        r.dose_mg,
        r.concentration_mg_per_ml,
        r.volume_ml,
        r.rate_ml_per_h,
        r.minutes,
        r.arithmetic,
    )


def _score_fields(result: Any) -> dict[str, Any]:
    return {
        "items": dict(result.items),
        "total": None if result.total is None else float(result.total),
        "subscales": dict(result.subscales),
        "derived": dict(result.derived),
    }


@functools.cache
def _day_query() -> Any:
    """The live record of one infusion day (built once: most of the day's use cases read it)."""
    return select(InfusionDay).where(
        InfusionDay.patient_id == bindparam("patient_id"),
        InfusionDay.infusion_number == bindparam("infusion_number"),
        InfusionDay.voided_at.is_(None),
    )


def _day_records(
    uow: UnitOfWork, record: Any, patient: Patient, infusion_number: int, *, by_minute: bool
) -> list[Any]:
    """The live records of one kind (vitals, ratings, interventions) of one infusion day, in
    the order they were taken (by minute first where the kind has one)."""
    order = (record.minute, record.id) if by_minute else (record.id,)
    return list(
        uow.session.scalars(
            select(record)
            .where(
                record.patient_id == patient.id,
                record.infusion_number == infusion_number,
                record.voided_at.is_(None),
            )
            .order_by(*order)
        )
    )


@functools.cache
def _day_id_query() -> Any:
    return select(InfusionDay.id).where(
        InfusionDay.patient_id == bindparam("patient_id"),
        InfusionDay.infusion_number == bindparam("infusion_number"),
        InfusionDay.voided_at.is_(None),
    )


@functools.cache
def _instrument_ratings_query() -> Any:
    """One instrument's live ratings of one day, by minute (the discharge check's CADSS)."""
    return (
        select(InfusionRating)
        .where(
            InfusionRating.patient_id == bindparam("patient_id"),
            InfusionRating.infusion_number == bindparam("infusion_number"),
            InfusionRating.instrument == bindparam("instrument"),
            InfusionRating.voided_at.is_(None),
        )
        .order_by(InfusionRating.minute)
    )


@functools.cache
def _latest_vitals_query() -> Any:
    return (
        select(VitalSignsRecord)
        .where(
            VitalSignsRecord.patient_id == bindparam("patient_id"),
            VitalSignsRecord.infusion_number == bindparam("infusion_number"),
            VitalSignsRecord.voided_at.is_(None),
        )
        .order_by(VitalSignsRecord.minute.desc(), VitalSignsRecord.id.desc())
    )


@functools.cache
def _rating_duplicate_query() -> Any:
    return select(InfusionRating.id).where(
        InfusionRating.patient_id == bindparam("patient_id"),
        InfusionRating.infusion_number == bindparam("infusion_number"),
        InfusionRating.minute == bindparam("minute"),
        InfusionRating.instrument.in_(bindparam("instruments", expanding=True)),
        InfusionRating.voided_at.is_(None),
    )


@functools.cache
def _todays_checklist_query() -> Any:
    """The latest checklist of one infusion on one day (a re-check after a hold is newer)."""
    return (
        select(PreInfusionCheck)
        .where(
            PreInfusionCheck.patient_id == bindparam("patient_id"),
            PreInfusionCheck.infusion_number == bindparam("infusion_number"),
            PreInfusionCheck.checked_on == bindparam("checked_on"),
        )
        .order_by(PreInfusionCheck.id.desc())
    )


@functools.cache
def _withdrawal_query() -> Any:
    return select(Withdrawal.id).where(Withdrawal.patient_id == bindparam("patient_id"))


class InfusionService:
    """Every use case of an infusion day (see the module docstring)."""

    def __init__(
        self, ctx: ServiceContext, randomization: RandomizationService, auth: AuthService
    ) -> None:
        self._ctx = ctx
        self._randomization = randomization
        self._auth = auth

    # --- helpers ---------------------------------------------------------------------------------

    def _patient(
        self, uow: UnitOfWork, actor: Actor, patient_id: int, action: Action, *, lock: bool = False
    ) -> tuple[Patient, Protocol]:
        patient = load_patient(uow, patient_id, lock=lock)
        require_patient(actor, action, patient)
        return patient, patient_protocol(self._ctx, uow, patient)

    @staticmethod
    def _check_number(protocol: Protocol, infusion_number: int) -> None:
        count = protocol.schedule.infusion_count
        if isinstance(infusion_number, bool) or not 1 <= infusion_number <= count:
            raise ValidationFailed(
                "infusion_number", f"must be 1-{count} (protocol {protocol.name})", infusion_number
            )

    @staticmethod
    def _require_active(uow: UnitOfWork, patient: Patient) -> None:
        require_open(patient)
        if uow.session.scalar(_withdrawal_query(), {"patient_id": patient.id}):
            raise ConflictError("patient", patient.study_id, "withdrawn")
        if state_of(patient) not in ACTIVE_STATES:
            raise ConflictError(
                "patient", patient.study_id, f"not in the treatment phase (status {patient.status})"
            )

    @staticmethod
    def _day(uow: UnitOfWork, patient: Patient, infusion_number: int) -> InfusionDay:
        day = uow.session.scalar(
            _day_query(), {"patient_id": patient.id, "infusion_number": infusion_number}
        )
        if day is None:
            raise NotFound("infusion", f"{patient.study_id} #{infusion_number}")
        return day

    def _day_view(
        self, uow: UnitOfWork, actor: Actor, patient: Patient, protocol: Protocol, day: InfusionDay
    ) -> InfusionDayView:
        visible = allocation_visibility(uow.session, actor, patient)
        due = vitals_due_minutes(protocol, day.drug) if day.drug in protocol.dosing else ()
        return InfusionDayView(
            id=day.id,
            patient_id=patient.id,
            infusion_number=day.infusion_number,
            infusion_date=day.infusion_date,
            weight_kg=day.weight_kg,
            drug=day.drug if visible else BLINDED_DRUG,
            dose_mg=day.dose_mg if visible else None,
            concentration_mg_per_ml=day.concentration_mg_per_ml if visible else None,
            dose_arithmetic=day.dose_arithmetic if visible else None,
            volume_ml=day.volume_ml,
            rate_ml_per_h=day.rate_ml_per_h,
            infusion_minutes=day.infusion_minutes,
            started_at=day.started_at,
            ended_at=day.ended_at,
            vitals_due_minutes=tuple(due),
            discharged_at=day.discharged_at,
            version=day.version,
        )

    # --- checklist and start ------------------------------------------------------------------

    def record_checklist(
        self, actor: Actor, patient_id: int, data: ChecklistInput
    ) -> ChecklistView:
        """Run and store the pre-infusion checklist; a failure is a recorded hold (§6)."""
        readings = []
        for i, raw in enumerate(data.bp_readings, start=1):
            text = raw if isinstance(raw, str) else f"{raw[0]}/{raw[1]}"
            try:
                readings.append(parse_bp_reading(text))
            except Exception as exc:  # InvalidInput names "readings"; say which one
                raise ValidationFailed(f"bp_readings.{i}", str(exc), raw) from exc
        if data.pregnancy_test not in (None, "negative", "positive", "not_applicable"):
            raise ValidationFailed(
                "pregnancy_test", "negative, positive or not_applicable", data.pregnancy_test
            )
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(
                uow, actor, patient_id, Action.INFUSION_RECORD, lock=True
            )
            self._check_number(protocol, data.infusion_number)
            self._require_active(uow, patient)
            self._require_not_started(uow, patient, data.infusion_number)
            self._require_previous(uow, patient, data.infusion_number)
            n = data.infusion_number
            baseline_vitals = uow.session.scalar(
                select(VitalSignsRecord.id).where(
                    VitalSignsRecord.patient_id == patient.id,
                    VitalSignsRecord.infusion_number == n,
                    VitalSignsRecord.minute == 0,
                    VitalSignsRecord.voided_at.is_(None),
                )
            )
            before = [r for r in protocol.monitoring.ratings if r.minute == 0]
            rated = set(
                uow.session.scalars(
                    select(InfusionRating.instrument).where(
                        InfusionRating.patient_id == patient.id,
                        InfusionRating.infusion_number == n,
                        InfusionRating.minute == 0,
                        InfusionRating.voided_at.is_(None),
                    )
                )
            )
            ratings_done = all(i in rated for i in before[0].instruments) if before else True
            pregnancy_decision = uow.session.scalar(
                select(RiskBenefitDecisionRecord.id).where(
                    RiskBenefitDecisionRecord.patient_id == patient.id,
                    RiskBenefitDecisionRecord.criterion_id == "pregnancy",
                    RiskBenefitDecisionRecord.proceed.is_(True),
                    RiskBenefitDecisionRecord.voided_at.is_(None),
                )
            )
            findings = PreInfusionFindings(
                nil_by_mouth=data.nil_by_mouth,
                pregnancy_test=data.pregnancy_test,
                urine_toxicology_positive_for=None
                if data.urine_toxicology_positive_for is None
                else tuple(data.urine_toxicology_positive_for),
                bp_readings=tuple(readings),
                baseline_vitals_recorded=baseline_vitals is not None,
                short_acting_benzodiazepine_taken_this_morning=(
                    data.short_acting_benzodiazepine_taken_this_morning
                ),
                pregnancy_risk_benefit_decision_recorded=pregnancy_decision is not None,
                pre_infusion_ratings_recorded=ratings_done,
            )
            result = core_call(pre_infusion_checklist, protocol, findings)
            record = PreInfusionCheck(
                patient_id=patient.id,
                infusion_number=n,
                checked_on=uow.now.date(),
                findings={
                    "nil_by_mouth": data.nil_by_mouth,
                    "pregnancy_test": data.pregnancy_test,
                    "urine_toxicology_positive_for": findings.urine_toxicology_positive_for,
                    "bp_readings": [str(r) for r in readings],
                    "baseline_vitals_recorded": findings.baseline_vitals_recorded,
                    "short_acting_benzodiazepine_taken_this_morning": (
                        data.short_acting_benzodiazepine_taken_this_morning
                    ),
                    "pre_infusion_ratings_recorded": ratings_done,
                },
                passed=result.passes,
                items=[
                    {"id": i.id, "passed": i.passed, "reason": i.reason, "section": i.section}
                    for i in result.items
                ],
                hold_reasons=list(result.reasons),
                recorded_by=actor.user_id,
                recorded_at=uow.now,
            )
            uow.session.add(record)
            uow.flush()
            if not result.passes:
                uow.events(
                    [
                        AuditEvent(
                            "infusion_hold",
                            "pre_infusion_checks",
                            str(record.id),
                            None,
                            None,
                            encode_value({"infusion": n, "reasons": list(result.reasons)}),
                        )
                    ]
                )
            view = ChecklistView(
                record.id,
                patient.id,
                n,
                record.checked_on,
                record.passed,
                tuple(record.items),
                tuple(record.hold_reasons),
                dict(record.findings),
            )
            uow.commit()
            return view

    @staticmethod
    def _require_not_started(uow: UnitOfWork, patient: Patient, n: int) -> None:
        if uow.session.scalar(_day_id_query(), {"patient_id": patient.id, "infusion_number": n}):
            raise ConflictError("infusion", f"{patient.study_id} #{n}", "already started")

    @staticmethod
    def _require_previous(uow: UnitOfWork, patient: Patient, n: int) -> None:
        if n == 1:
            return
        if not uow.session.scalar(
            _day_id_query(), {"patient_id": patient.id, "infusion_number": n - 1}
        ):
            raise ConflictError(
                "infusion", f"{patient.study_id} #{n}", f"infusion {n - 1} has not been given"
            )

    def start(
        self, actor: Actor, patient_id: int, infusion_number: int, *, weight_kg: float
    ) -> InfusionDayView:
        """Start an infusion: refused while held; dose and pump rate from today's weight."""
        require(actor, Action.INFUSION_RECORD)
        if isinstance(weight_kg, bool) or not isinstance(weight_kg, int | float):
            raise ValidationFailed("weight_kg", "expected a number in kg", weight_kg)
        needs_allocation = False
        with self._ctx.uow(actor, write=False) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_RECORD)
            self._check_number(protocol, infusion_number)
            self._require_active(uow, patient)
            self._require_not_started(uow, patient, infusion_number)
            self._require_passed_checklist(uow, patient, infusion_number)
            for drug in {a.drug for a in protocol.arms}:  # refuse a bad weight before allocating
                _dose(protocol, drug, float(weight_kg))
            if protocol.mode == "trial" and len(protocol.arms) > 1:
                allocated = uow.session.scalar(
                    select(Allocation.id).where(Allocation.patient_id == patient.id)
                )
                if allocated is None:
                    if infusion_number != 1 or not is_allowed(actor.role, Action.ALLOCATE):
                        raise ConflictError(
                            "patient",
                            patient.study_id,
                            "not allocated: allocation happens on the morning of infusion 1 "
                            "(investigator or pharmacist, PROTOCOL.md §3)",
                        )
                    needs_allocation = True
            today = uow.now.date()
        if needs_allocation:
            self._randomization.allocate(actor, patient_id, infusion_date=today)
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(
                uow, actor, patient_id, Action.INFUSION_RECORD, lock=True
            )
            self._require_active(uow, patient)
            self._require_not_started(uow, patient, infusion_number)
            self._require_previous(uow, patient, infusion_number)
            check = self._require_passed_checklist(uow, patient, infusion_number)
            drug = patient_drug(uow, protocol, patient)
            if drug is None:
                raise ConflictError("patient", patient.study_id, "not allocated")
            dose = _dose(protocol, drug, float(weight_kg))
            day = InfusionDay(
                patient_id=patient.id,
                infusion_number=infusion_number,
                infusion_date=uow.now.date(),
                check_id=check.id,
                weight_kg=float(weight_kg),
                drug=dose.drug,
                dose_mg=dose.dose_mg,
                concentration_mg_per_ml=dose.concentration_mg_per_ml,
                dose_arithmetic=dose.arithmetic,
                volume_ml=dose.volume_ml,
                rate_ml_per_h=dose.rate_ml_per_h,
                infusion_minutes=dose.minutes,
                started_at=uow.now,
                ended_at=None,
                ambulatory_unaided=None,
                delayed_effects_checked=None,
                physician_signoff_by=None,
                discharged_at=None,
                discharge_reasons=None,
                **entered(actor, uow.now),
            )
            uow.session.add(day)
            transition(uow, patient, Event.START_INFUSION)
            uow.flush()
            view = self._day_view(uow, actor, patient, protocol, day)
            uow.commit()
            return view

    @staticmethod
    def _require_passed_checklist(uow: UnitOfWork, patient: Patient, n: int) -> PreInfusionCheck:
        check = uow.session.scalars(
            _todays_checklist_query(),
            {"patient_id": patient.id, "infusion_number": n, "checked_on": uow.now.date()},
        ).first()
        if check is None:
            raise InfusionHeld(patient.study_id, n, ["no pre-infusion checklist today (§6)"])
        if not check.passed:
            raise InfusionHeld(patient.study_id, n, check.hold_reasons)
        return check

    def end(
        self, actor: Actor, patient_id: int, infusion_number: int, *, expected_version: int
    ) -> InfusionDayView:
        """Record the end of the infusion (the clinic's observation counts from it, §6)."""
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_RECORD)
            day = self._day(uow, patient, infusion_number)
            check_editable("infusion", day, expected_version)
            if day.ended_at is not None:
                raise ConflictError("infusion", day.id, "already ended")
            day.ended_at = uow.now
            uow.flush()
            view = self._day_view(uow, actor, patient, protocol, day)
            uow.commit()
            return view

    def day(self, actor: Actor, patient_id: int, infusion_number: int) -> InfusionDayView:
        with self._ctx.uow(actor, write=False) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            return self._day_view(
                uow, actor, patient, protocol, self._day(uow, patient, infusion_number)
            )

    def days(self, actor: Actor, patient_id: int) -> list[InfusionDayView]:
        with self._ctx.uow(actor, write=False) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            rows = uow.session.scalars(
                select(InfusionDay)
                .where(InfusionDay.patient_id == patient.id, InfusionDay.voided_at.is_(None))
                .order_by(InfusionDay.infusion_number)
            )
            return [self._day_view(uow, actor, patient, protocol, d) for d in rows]

    def checklists(self, actor: Actor, patient_id: int) -> list[ChecklistView]:
        """Every checklist run (passed ones and holds), oldest first."""
        with self._ctx.uow(actor, write=False) as uow:
            patient, _ = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            rows = uow.session.scalars(
                select(PreInfusionCheck)
                .where(PreInfusionCheck.patient_id == patient.id)
                .order_by(PreInfusionCheck.id)
            )
            return [
                ChecklistView(
                    c.id,
                    c.patient_id,
                    c.infusion_number,
                    c.checked_on,
                    c.passed,
                    tuple(c.items),
                    tuple(c.hold_reasons),
                    dict(c.findings),
                )
                for c in rows
            ]

    # --- vitals and interventions ----------------------------------------------------------------

    def record_vitals(
        self, actor: Actor, patient_id: int, infusion_number: int, data: VitalsInput
    ) -> VitalsView:
        """Store one set of vitals with its alerts (§6 thresholds); minute 0 is the baseline."""
        return self.record_vitals_series(actor, patient_id, infusion_number, [data])[0]

    def record_vitals_series(
        self,
        actor: Actor,
        patient_id: int,
        infusion_number: int,
        readings: Sequence[VitalsInput],
    ) -> list[VitalsView]:
        """Store a series of vital-sign sets entered together, in one transaction.

        What a bedside tablet sends when the nurse enters the 5-minute sheet at once, or a
        monitor's upload: each reading is checked, gets its own alerts
        (:func:`vital_sign_alerts`, PROTOCOL.md §6 thresholds), is stored as a record of its own
        and audited field by field, exactly as :meth:`record_vitals` does for one reading; all or
        none are stored (a bad reading is named by its position, ``readings.<i>.<field>``).
        """
        if not readings:
            raise ValidationFailed("readings", "record at least one set of vitals", None)
        checked = [
            (data, _checked_vitals(data, None if len(readings) == 1 else i))
            for i, data in enumerate(readings, start=1)
        ]
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_RECORD)
            self._check_number(protocol, infusion_number)
            require_open(patient)
            if any(data.minute > 0 for data, _ in checked):
                day = self._day(uow, patient, infusion_number)
                if day.discharged_at is not None:
                    raise ConflictError("infusion", day.id, "patient already discharged")
            now = uow.now
            records = []
            for i, (data, vitals) in enumerate(checked, start=1):
                measured_at = now if data.measured_at is None else data.measured_at
                if measured_at > now:
                    field = "measured_at" if len(checked) == 1 else f"readings.{i}.measured_at"
                    raise ValidationFailed(field, "is in the future", data.measured_at)
                alerts = vital_sign_alerts(vitals, protocol.monitoring.alerts)
                records.append(
                    VitalSignsRecord(
                        patient_id=patient.id,
                        infusion_number=infusion_number,
                        minute=data.minute,
                        measured_at=measured_at,
                        systolic_mmhg=vitals.systolic_mmhg,
                        diastolic_mmhg=vitals.diastolic_mmhg,
                        heart_rate_bpm=vitals.heart_rate_bpm,
                        spo2_percent=vitals.spo2_percent,
                        alerts=[a.message for a in alerts],
                        **entered(actor, now),
                    )
                )
            uow.session.add_all(records)
            uow.flush()
            views = [_vitals_view(r) for r in records]
            uow.commit()
            return views

    def vitals(self, actor: Actor, patient_id: int, infusion_number: int) -> list[VitalsView]:
        with self._ctx.uow(actor, write=False) as uow:
            patient, _ = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            rows = _day_records(uow, VitalSignsRecord, patient, infusion_number, by_minute=True)
            return [_vitals_view(v) for v in rows]

    def record_intervention(
        self, actor: Actor, patient_id: int, infusion_number: int, data: InterventionInput
    ) -> InterventionView:
        """Record a drug given on the day (drug, dose, route, time, reason; §6 labetalol)."""
        if not data.drug.strip():
            raise ValidationFailed("drug", "must not be blank", data.drug)
        if (
            isinstance(data.dose_mg, bool)
            or not isinstance(data.dose_mg, int | float)
            or not 0 < data.dose_mg <= 10_000
        ):
            raise ValidationFailed("dose_mg", "a dose in mg above 0", data.dose_mg)
        if data.route not in ROUTES:
            raise ValidationFailed("route", f"one of {', '.join(ROUTES)}", data.route)
        if not data.reason.strip():
            raise ValidationFailed("reason", "say why it was given", data.reason)
        with self._ctx.uow(actor, write=True) as uow:
            patient, _ = self._patient(uow, actor, patient_id, Action.INFUSION_RECORD)
            day = self._day(uow, patient, infusion_number)
            minute = data.minute
            if minute is None:
                minute = int((uow.now - day.started_at).total_seconds() // 60)
            record = Intervention(
                patient_id=patient.id,
                infusion_number=infusion_number,
                given_at=uow.now,
                minute=minute,
                drug=data.drug.strip(),
                dose_mg=float(data.dose_mg),
                route=data.route,
                reason=data.reason.strip(),
                **entered(actor, uow.now),
            )
            uow.session.add(record)
            uow.flush()
            view = _intervention_view(record)
            uow.commit()
            return view

    def interventions(
        self, actor: Actor, patient_id: int, infusion_number: int
    ) -> list[InterventionView]:
        with self._ctx.uow(actor, write=False) as uow:
            patient, _ = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            rows = _day_records(uow, Intervention, patient, infusion_number, by_minute=False)
            return [_intervention_view(i) for i in rows]

    # --- infusion-day ratings (safety raters; hidden from outcome raters, §3) -----------------

    def record_rating(
        self,
        actor: Actor,
        patient_id: int,
        infusion_number: int,
        *,
        minute: int,
        instrument: str,
        items: Mapping[str, Any],
    ) -> RatingView:
        """Score and store an infusion-day rating at one of the protocol's minutes (§6)."""
        return self.record_ratings(
            actor, patient_id, infusion_number, minute=minute, ratings={instrument: items}
        )[0]

    def record_ratings(
        self,
        actor: Actor,
        patient_id: int,
        infusion_number: int,
        *,
        minute: int,
        ratings: Mapping[str, Mapping[str, Any]],
    ) -> list[RatingView]:
        """The ratings form of one time point: score and store the instruments rated together at
        ``minute`` (e.g. CADSS, BPRS positive, YMRS item 1 and PRISE at minute 0; PROTOCOL.md §6)
        in one transaction, all or none.

        ``ratings`` maps an instrument to its items. Each instrument must be one the protocol
        rates at that minute and not yet recorded for the day; each is scored by its instrument
        module and stored (and audited) as a rating of its own, as :meth:`record_rating` does.
        """
        if not ratings:
            raise ValidationFailed("ratings", "record at least one instrument", None)
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_RATING_RECORD)
            self._check_number(protocol, infusion_number)
            require_open(patient)
            scheduled = {r.minute: r.instruments for r in protocol.monitoring.ratings}
            if minute not in scheduled:
                raise ValidationFailed(
                    "minute",
                    f"the protocol rates at minutes {', '.join(map(str, sorted(scheduled)))}",
                    minute,
                )
            for instrument in ratings:
                if instrument not in scheduled[minute]:
                    raise ValidationFailed(
                        "instrument",
                        f"at minute {minute} the protocol rates {', '.join(scheduled[minute])}",
                        instrument,
                    )
            if minute > 0:
                self._day(uow, patient, infusion_number)
            duplicate = uow.session.scalar(
                _rating_duplicate_query(),
                {
                    "patient_id": patient.id,
                    "infusion_number": infusion_number,
                    "minute": minute,
                    "instruments": list(ratings),
                },
            )
            if duplicate:
                raise ConflictError("infusion rating", duplicate, "already recorded; edit it")
            records = []
            for instrument, items in ratings.items():
                scored = core_call(score, instrument, items)
                records.append(
                    InfusionRating(
                        patient_id=patient.id,
                        infusion_number=infusion_number,
                        minute=minute,
                        instrument=instrument,
                        rated_at=uow.now,
                        **entered(actor, uow.now),
                        **_score_fields(scored),
                    )
                )
            uow.session.add_all(records)
            uow.flush()
            views = [_rating_view(r) for r in records]
            uow.commit()
            return views

    def ratings(self, actor: Actor, patient_id: int, infusion_number: int) -> list[RatingView]:
        """Infusion-day ratings (``infusion_rating.read``: never an outcome rater, §3)."""
        with self._ctx.uow(actor, write=False) as uow:
            patient, _ = self._patient(uow, actor, patient_id, Action.INFUSION_RATING_READ)
            rows = _day_records(uow, InfusionRating, patient, infusion_number, by_minute=True)
            return [_rating_view(r) for r in rows]

    # --- adverse events --------------------------------------------------------------------------

    def record_adverse_event(
        self, actor: Actor, patient_id: int, data: AdverseEventInput
    ) -> AdverseEventView:
        """Record an adverse event (seriousness, severity, relatedness, action, outcome)."""
        _check_ae(data.term, data.severity, data.relatedness, data.outcome, data.action)
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.ADVERSE_EVENT_RECORD)
            require_open(patient)
            not_in_future("onset_date", data.onset_date, uow.now.date())
            if data.infusion_number is not None:
                self._check_number(protocol, data.infusion_number)
            if data.resolved_on is not None and data.resolved_on < data.onset_date:
                raise ValidationFailed("resolved_on", "before the onset", data.resolved_on)
            record = AdverseEvent(
                patient_id=patient.id,
                infusion_number=data.infusion_number,
                term=data.term.strip(),
                onset_date=data.onset_date,
                serious=bool(data.serious),
                severity=data.severity,
                relatedness=data.relatedness,
                action=data.action.strip(),
                outcome=data.outcome,
                resolved_on=data.resolved_on,
                **entered(actor, uow.now),
            )
            uow.session.add(record)
            uow.flush()
            if record.serious:
                uow.events([AuditEvent("serious_adverse_event", "adverse_events", str(record.id))])
            view = _ae_view(record)
            uow.commit()
            return view

    def update_adverse_event(
        self,
        actor: Actor,
        event_id: int,
        *,
        expected_version: int,
        reason: str,
        outcome: str,
        resolved_on: dt.date | None = None,
        severity: str | None = None,
        serious: bool | None = None,
    ) -> AdverseEventView:
        """Follow an event up (outcome, resolution, re-graded severity) — with a reason."""
        reason = need_reason(reason)
        with self._ctx.uow(actor, write=True) as uow:
            record = uow.session.get(AdverseEvent, event_id)
            if record is None:
                raise NotFound("adverse event", event_id)
            self._patient(uow, actor, record.patient_id, Action.ADVERSE_EVENT_RECORD)
            check_editable("adverse event", record, expected_version)
            _check_ae(
                record.term, severity or record.severity, record.relatedness, outcome, record.action
            )
            if resolved_on is not None and resolved_on < record.onset_date:
                raise ValidationFailed("resolved_on", "before the onset", resolved_on)
            uow.reason = reason
            became_serious = serious is True and not record.serious
            record.outcome = outcome
            record.resolved_on = resolved_on
            if severity is not None:
                record.severity = severity
            if serious is not None:
                record.serious = serious
            uow.flush()
            if became_serious:  # the same event a serious event gets when first recorded
                uow.events(
                    [
                        AuditEvent(
                            "serious_adverse_event", "adverse_events", str(record.id), reason=reason
                        )
                    ]
                )
            view = _ae_view(record)
            uow.commit()
            return view

    def adverse_event(self, actor: Actor, event_id: int) -> AdverseEventView:
        """One live adverse event (``adverse_event.read``), e.g. to follow it up."""
        with self._ctx.uow(actor, write=False) as uow:
            record = uow.session.get(AdverseEvent, event_id)
            if record is None or record.voided_at is not None:
                raise NotFound("adverse event", event_id)
            self._patient(uow, actor, record.patient_id, Action.ADVERSE_EVENT_READ)
            return _ae_view(record)

    def adverse_events(self, actor: Actor, patient_id: int) -> list[AdverseEventView]:
        with self._ctx.uow(actor, write=False) as uow:
            patient, _ = self._patient(uow, actor, patient_id, Action.ADVERSE_EVENT_READ)
            rows = uow.session.scalars(
                select(AdverseEvent)
                .where(AdverseEvent.patient_id == patient.id, AdverseEvent.voided_at.is_(None))
                .order_by(AdverseEvent.id)
            )
            return [_ae_view(a) for a in rows]

    # --- discharge -------------------------------------------------------------------------------

    def record_discharge_findings(
        self,
        actor: Actor,
        patient_id: int,
        infusion_number: int,
        *,
        expected_version: int,
        ambulatory_unaided: bool,
        delayed_effects_checked: bool,
        reason: str | None = None,
    ) -> DischargeView:
        """The nurse's findings before discharge (walks unaided, delayed effects checked, §6)."""
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_RECORD)
            day = self._day(uow, patient, infusion_number)
            check_editable("infusion", day, expected_version)
            if day.discharged_at is not None:
                raise ConflictError("infusion", day.id, "already discharged")
            if day.ambulatory_unaided is not None or day.delayed_effects_checked is not None:
                uow.reason = need_reason(reason)
            day.ambulatory_unaided = bool(ambulatory_unaided)
            day.delayed_effects_checked = bool(delayed_effects_checked)
            uow.flush()
            view = self._readiness(uow, protocol, patient, day, signoff=False)
            uow.commit()
            return view

    def _readiness(
        self,
        uow: UnitOfWork,
        protocol: Protocol,
        patient: Patient,
        day: InfusionDay,
        *,
        signoff: bool,
    ) -> DischargeView:
        instrument = protocol.monitoring.discharge.dissociation_instrument
        which = {"patient_id": patient.id, "infusion_number": day.infusion_number}
        scores = {
            r.minute: r.total
            for r in uow.session.scalars(
                _instrument_ratings_query(), {**which, "instrument": instrument}
            )
        }
        latest_minute = max((m for m in scores if m > 0), default=None)
        latest_vitals = uow.session.scalars(_latest_vitals_query(), which).first()
        findings = DischargeFindings(
            infusion_start=day.started_at,
            infusion_end=day.ended_at,
            now=uow.now,
            dissociation_baseline=scores.get(0),
            dissociation_latest=None if latest_minute is None else scores[latest_minute],
            ambulatory_unaided=day.ambulatory_unaided,
            delayed_effects_checked=day.delayed_effects_checked,
            physician_signoff=signoff or day.physician_signoff_by is not None,
            latest_vitals=None
            if latest_vitals is None
            else VitalSigns(
                latest_vitals.systolic_mmhg,
                latest_vitals.diastolic_mmhg,
                latest_vitals.heart_rate_bpm,
                latest_vitals.spo2_percent,
            ),
        )
        result = core_call(discharge_readiness, protocol, findings)
        return DischargeView(
            result.ready,
            result.earliest_discharge,
            result.reasons,
            day.discharged_at,
            day.version,
            tuple(code.value for code in result.codes),
        )

    def readiness(self, actor: Actor, patient_id: int, infusion_number: int) -> DischargeView:
        """May the patient go now? Every outstanding criterion with its reason (§6)."""
        with self._ctx.uow(actor, write=False) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            day = self._day(uow, patient, infusion_number)
            return self._readiness(uow, protocol, patient, day, signoff=False)

    def sign_off_discharge(
        self,
        actor: Actor,
        patient_id: int,
        infusion_number: int,
        *,
        password: str,
        expected_version: int,
    ) -> DischargeView:
        """The physician's assessment and signed sign-off; refused while anything is missing."""
        require(actor, Action.DISCHARGE_SIGNOFF)
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.DISCHARGE_SIGNOFF)
            day = self._day(uow, patient, infusion_number)
            check_editable("infusion", day, expected_version)
            if day.discharged_at is not None:
                raise ConflictError("infusion", day.id, "already discharged")
            pending = self._readiness(uow, protocol, patient, day, signoff=True)
            if not pending.ready:
                raise ConflictError(
                    "infusion", day.id, "not ready for discharge: " + "; ".join(pending.reasons)
                )
            user = self._auth.reauthenticate(uow, password)
            day.physician_signoff_by = user.id
            day.discharged_at = uow.now
            day.discharge_reasons = []
            uow.flush()
            meaning = "discharge sign-off (PROTOCOL.md §6)"
            uow.session.add(
                Signature(
                    table_name="infusion_days",
                    record_id=str(day.id),
                    record_version=day.version,
                    signer_user_id=user.id,
                    signer_name=user.full_name,
                    meaning=meaning,
                    signed_at=uow.now,
                    invalidated_at=None,
                    invalidated_reason=None,
                )
            )
            uow.flush()
            uow.events(
                [
                    AuditEvent(
                        "sign",
                        "infusion_days",
                        str(day.id),
                        None,
                        None,
                        encode_value({"meaning": meaning, "version": day.version}),
                    )
                ]
            )
            view = DischargeView(
                True, pending.earliest_discharge, (), day.discharged_at, day.version
            )
            uow.commit()
            return view


def _checked_vitals(data: VitalsInput, position: int | None) -> VitalSigns:
    """Validate one reading (a minute of 0 or more, at least one value, values in range);
    ``position`` prefixes the field name when the reading is one of a series."""
    prefix = "" if position is None else f"readings.{position}."
    if isinstance(data.minute, bool) or not isinstance(data.minute, int) or data.minute < 0:
        raise ValidationFailed(
            prefix + "minute", "minutes after infusion start, 0 or more", data.minute
        )
    try:
        vitals = core_call(
            VitalSigns,
            data.systolic_mmhg,
            data.diastolic_mmhg,
            data.heart_rate_bpm,
            data.spo2_percent,
        )
    except ValidationFailed as exc:
        if position is None:
            raise
        raise ValidationFailed(prefix + exc.field, exc.message, exc.value) from exc
    if all(v is None for v in (vitals.systolic_mmhg, vitals.heart_rate_bpm, vitals.spo2_percent)):
        raise ValidationFailed(prefix + "vitals", "record at least one value", None)
    return vitals


def _check_ae(term: str, severity: str, relatedness: str, outcome: str, action: str) -> None:
    if not term.strip():
        raise ValidationFailed("term", "must not be blank", term)
    if severity not in AE_SEVERITIES:
        raise ValidationFailed("severity", f"one of {', '.join(AE_SEVERITIES)}", severity)
    if relatedness not in AE_RELATEDNESS:
        raise ValidationFailed("relatedness", f"one of {', '.join(AE_RELATEDNESS)}", relatedness)
    if outcome not in AE_OUTCOMES:
        raise ValidationFailed("outcome", f"one of {', '.join(AE_OUTCOMES)}", outcome)
    if not action.strip():
        raise ValidationFailed(
            "action", "say what was done (e.g. 'none', 'infusion paused')", action
        )


def _vitals_view(r: VitalSignsRecord) -> VitalsView:
    return VitalsView(
        r.id,
        r.infusion_number,
        r.minute,
        r.measured_at,
        r.systolic_mmhg,
        r.diastolic_mmhg,
        r.heart_rate_bpm,
        r.spo2_percent,
        tuple(r.alerts),
        r.version,
    )


def _intervention_view(r: Intervention) -> InterventionView:
    return InterventionView(
        r.id,
        r.infusion_number,
        r.given_at,
        r.minute,
        r.drug,
        r.dose_mg,
        r.route,
        r.reason,
        r.version,
    )


def _rating_view(r: InfusionRating) -> RatingView:
    return RatingView(
        r.id,
        r.infusion_number,
        r.minute,
        r.instrument,
        r.total,
        dict(r.subscales),
        dict(r.derived),
        dict(r.items),
        r.version,
    )


def _ae_view(r: AdverseEvent) -> AdverseEventView:
    return AdverseEventView(
        r.id,
        r.patient_id,
        r.infusion_number,
        r.term,
        r.onset_date,
        r.serious,
        r.severity,
        r.relatedness,
        r.action,
        r.outcome,
        r.resolved_on,
        r.version,
    )
