"""Intranasal esketamine sessions under the REMS (issue 13; PROTOCOL.md §8, §11).

The clinic pathway may switch a patient to intranasal esketamine after the series. One session:

* **start** (the nurse, ``infusion.record``): the REMS enrolment (required before the first
  session), the setting's certification (every session), the monitoring provider and the
  prescriber on site, concomitant medicines by the REMS form's classes, the dose (56, 84 mg or
  other with the reason) and device lot, the blood pressure before dosing and the time of the
  first device. A blood pressure above the protocol's hold, or a session sooner than the
  schedule allows, is refused with its rule and § until the prescriber records a decision
  (``infusion.physician_decision``, re-authenticated, with the reason): the only way round;
* **readings** after dosing (blood pressure, pulse, pulse oximetry, MOAA/S) and **events**
  (sedation, dissociation, respiratory depression, and when each resolved);
* **end of monitoring** (the nurse or prescriber): refused before the protocol's minimum from the
  first device (2 hours), without the blood pressure at about 40 minutes and before the end,
  without pulse oximetry, with an event unresolved, or without the answer to "when would the
  patient have been ready to leave"; none of these is releasable;
* **discharge** by the prescriber (``infusion.discharge_signoff``, re-authenticated);
* the **monitoring form** (the REMS's record of the session: JSON and PDF from the adapters),
  submitted within the protocol's days; :meth:`EsketamineService.unsubmitted_forms` is the
  clinic's list of forms not yet submitted.

A trial protocol has no esketamine plan: every call on a trial patient is refused without naming
a drug or an arm (PROTOCOL.md §3). Everything is audited field by field by the unit of work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from ketamine_ptsd.core.protocol import VITAL_RANGES, EsketaminePlan, Protocol
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.rules import esketamine as rules

from ._workflow import check_editable, core_call, require_open
from .access import Actor, require, require_patient
from .auth import AuthService
from .context import ServiceContext
from .errors import ConflictError, NotFound, PermissionDenied, ValidationFailed
from .infusions.base import user_names
from .patients import load_patient
from .protocol_versions import patient_protocol
from .records import (
    EsketamineDecision,
    EsketamineEvent,
    EsketamineReading,
    EsketamineSession,
    Patient,
)
from .uow import UnitOfWork
from .workflow import state_of

__all__ = [
    "DecisionView",
    "EsketamineRefused",
    "EsketamineService",
    "EventView",
    "FormDue",
    "ReadingView",
    "SessionStart",
    "SessionView",
]

MIN_REASON = 10
RELEASE_BP_HOLD = "release_bp_hold"
MOVE_SESSION = "move_session"


class EsketamineRefused(ConflictError):
    """A step refused by a rule of §11 (``rule``); ``releasable``: a prescriber's recorded
    decision may release it. The message names the rule and cites the §."""

    def __init__(self, study_id: str, refusals: Sequence[rules.EsketamineRefusal]) -> None:
        self.rules = tuple(r.rule for r in refusals)
        self.releasable = all(r.releasable for r in refusals)
        text = "; ".join(f"{r.rule}: {r.message}" for r in refusals)
        super().__init__("intranasal session of patient", study_id, text)


@dataclass(frozen=True)
class SessionStart:
    """What the nurse records before the first device (the REMS form's fields, §11)."""

    rems_patient_enrolled: bool
    setting_name: str
    setting_certified: bool
    monitoring_provider: str
    prescriber: str
    dose_mg: int
    device_lot: str
    bp_before_systolic: int
    bp_before_diastolic: int
    concomitant_classes: tuple[str, ...] = ()
    concomitant_notes: str | None = None
    other_dose_reason: str | None = None
    rems_patient_id: str | None = None
    pulse_before: int | None = None
    spo2_before: int | None = None
    #: the first device (start of administration); None: now
    first_device_at: dt.datetime | None = None


@dataclass(frozen=True)
class ReadingView:
    id: int
    taken_at: dt.datetime
    minute: int
    systolic: int | None
    diastolic: int | None
    pulse: int | None
    spo2_percent: int | None
    moaas: int | None


@dataclass(frozen=True)
class EventView:
    id: int
    kind: str
    onset_at: dt.datetime
    resolved_at: dt.datetime | None
    notes: str | None
    version: int


@dataclass(frozen=True)
class DecisionView:
    id: int
    session_number: int
    kind: str
    day: dt.date
    released: str
    reason: str
    decided_by: str
    decided_at: dt.datetime


@dataclass(frozen=True)
class SessionView:
    id: int
    patient_id: int
    study_id: str
    session_number: int
    session_date: dt.date
    phase: str
    rems_patient_enrolled: bool
    rems_patient_id: str | None
    setting_name: str
    setting_certified: bool
    monitoring_provider: str
    prescriber: str
    concomitant_classes: tuple[str, ...]
    concomitant_notes: str | None
    dose_choice: str
    dose_mg: int
    other_dose_reason: str | None
    device_lot: str
    bp_before_systolic: int
    bp_before_diastolic: int
    pulse_before: int | None
    spo2_before: int | None
    first_device_at: dt.datetime
    ended_at: dt.datetime | None
    ready_to_leave_at: dt.datetime | None
    total_monitoring_minutes: int | None
    discharged_at: dt.datetime | None
    discharged_by: str | None
    form_submitted_at: dt.datetime | None
    form_submitted_by: str | None
    form_due_on: dt.date
    form_overdue: bool
    recorded_by: str | None
    version: int
    readings: tuple[ReadingView, ...] = ()
    events: tuple[EventView, ...] = ()
    #: what still keeps the patient from the end of monitoring (each with its rule and §)
    end_refusals: tuple[str, ...] = ()
    #: the earliest end of monitoring by the protocol's minimum
    earliest_end: dt.datetime | None = None
    decisions: tuple[DecisionView, ...] = field(default=())

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    @property
    def discharged(self) -> bool:
        return self.discharged_at is not None


@dataclass(frozen=True)
class FormDue:
    """A monitoring form not yet submitted (the clinic's list; REMS: within 7 days)."""

    patient_id: int
    study_id: str
    session_number: int
    session_date: dt.date
    due_on: dt.date
    overdue: bool


def _text(value: str | None, field_name: str, *, required: bool = True, limit: int = 200) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise ValidationFailed(field_name, "required", value)
    if len(text) > limit:
        raise ValidationFailed(field_name, f"at most {limit} characters", value)
    return text


def _vital(value: int | None, field_name: str, limits: str, *, required: bool = False) -> None:
    if value is None:
        if required:
            raise ValidationFailed(field_name, "required", value)
        return
    low, high = VITAL_RANGES[limits]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(field_name, f"a whole number {low}–{high}", value)


def _check_reading(
    systolic: int | None,
    diastolic: int | None,
    pulse: int | None,
    spo2: int | None,
    moaas: int | None,
) -> None:
    _vital(systolic, "systolic", "systolic_mmhg")
    _vital(diastolic, "diastolic", "diastolic_mmhg")
    if (systolic is None) != (diastolic is None):
        raise ValidationFailed(
            "diastolic" if diastolic is None else "systolic", "give both values", None
        )
    if systolic is not None and diastolic is not None and diastolic >= systolic:
        raise ValidationFailed("diastolic", "below the systolic", diastolic)
    _vital(pulse, "pulse", "heart_rate_bpm")
    _vital(spo2, "spo2_percent", "spo2_percent")
    low, high = rules.MOAAS_RANGE
    if moaas is not None and (
        isinstance(moaas, bool) or not isinstance(moaas, int) or not low <= moaas <= high
    ):
        raise ValidationFailed("moaas", f"MOAA/S {low}–{high}", moaas)
    if all(v is None for v in (systolic, pulse, spo2, moaas)):
        raise ValidationFailed("systolic", "record at least one value", None)


def _moment(value: dt.datetime | None, field_name: str, now: dt.datetime) -> dt.datetime:
    if value is None:
        return now
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValidationFailed(field_name, "a date and time with its zone", value)
    if value > now + dt.timedelta(minutes=1):
        raise ValidationFailed(field_name, "not in the future", value.isoformat())
    return value


class EsketamineService:
    def __init__(self, ctx: ServiceContext, auth: AuthService) -> None:
        self._ctx = ctx
        self._auth = auth

    # --- loading ------------------------------------------------------------------------------

    def _patient(
        self, uow: UnitOfWork, actor: Actor, patient_id: int, action: Action, *, lock: bool = False
    ) -> tuple[Patient, Protocol, EsketaminePlan]:
        patient = load_patient(uow, patient_id, lock=lock)
        require_patient(actor, action, patient)
        protocol = patient_protocol(self._ctx, uow, patient)
        if protocol.esketamine is None or protocol.mode != "clinic":
            refusal = rules.availability_refusal(protocol, patient.status)
            assert refusal is not None
            raise EsketamineRefused(patient.study_id, [refusal])
        return patient, protocol, protocol.esketamine

    @staticmethod
    def _rows(uow: UnitOfWork, patient: Patient) -> list[EsketamineSession]:
        return list(
            uow.session.scalars(
                select(EsketamineSession)
                .where(EsketamineSession.patient_id == patient.id)
                .order_by(EsketamineSession.session_number)
            )
        )

    @staticmethod
    def _row(uow: UnitOfWork, patient: Patient, number: int) -> EsketamineSession:
        row = uow.session.scalars(
            select(EsketamineSession).where(
                EsketamineSession.patient_id == patient.id,
                EsketamineSession.session_number == number,
            )
        ).first()
        if row is None:
            raise NotFound(f"esketamine session of patient {patient.study_id}", number)
        return row

    @staticmethod
    def _decisions(
        uow: UnitOfWork, patient: Patient, number: int, kind: str, day: dt.date
    ) -> list[EsketamineDecision]:
        return list(
            uow.session.scalars(
                select(EsketamineDecision).where(
                    EsketamineDecision.patient_id == patient.id,
                    EsketamineDecision.session_number == number,
                    EsketamineDecision.kind == kind,
                    EsketamineDecision.day == day,
                )
            )
        )

    def _session_end(
        self,
        uow: UnitOfWork,
        row: EsketamineSession,
        ended_at: dt.datetime,
        ready: dt.datetime | None,
    ) -> rules.SessionEnd:
        readings = self._readings(uow, row)
        events = self._events(uow, row)
        return rules.SessionEnd(
            row.first_device_at,
            ended_at,
            tuple(
                rules.EsketamineReading(r.taken_at, r.systolic, r.diastolic, r.spo2_percent)
                for r in readings
            ),
            tuple(rules.EsketamineEvent(e.kind, e.onset_at, e.resolved_at) for e in events),
            ready,
        )

    @staticmethod
    def _readings(uow: UnitOfWork, row: EsketamineSession) -> list[EsketamineReading]:
        return list(
            uow.session.scalars(
                select(EsketamineReading)
                .where(EsketamineReading.session_id == row.id)
                .order_by(EsketamineReading.taken_at, EsketamineReading.id)
            )
        )

    @staticmethod
    def _events(uow: UnitOfWork, row: EsketamineSession) -> list[EsketamineEvent]:
        return list(
            uow.session.scalars(
                select(EsketamineEvent)
                .where(EsketamineEvent.session_id == row.id)
                .order_by(EsketamineEvent.onset_at, EsketamineEvent.id)
            )
        )

    def _view(
        self, uow: UnitOfWork, plan: EsketaminePlan, patient: Patient, row: EsketamineSession
    ) -> SessionView:
        readings = self._readings(uow, row)
        events = self._events(uow, row)
        decisions = list(
            uow.session.scalars(
                select(EsketamineDecision)
                .where(
                    EsketamineDecision.patient_id == patient.id,
                    EsketamineDecision.session_number == row.session_number,
                )
                .order_by(EsketamineDecision.id)
            )
        )
        names = user_names(
            uow,
            {row.recorded_by, row.discharged_by, row.form_submitted_by}
            | {d.decided_by for d in decisions},
        )
        start = row.first_device_at
        end_refusals: tuple[str, ...] = ()
        if row.ended_at is None:
            probe = self._session_end(uow, row, max(uow.now, start), start)
            end_refusals = tuple(
                f"{r.rule}: {r.message}"
                for r in rules.discharge_refusals(plan, probe)
                if r.rule != "ready_to_leave"
            )
        total = (
            int(rules.monitoring_minutes(start, row.ended_at)) if row.ended_at is not None else None
        )
        return SessionView(
            id=row.id,
            patient_id=patient.id,
            study_id=patient.study_id,
            session_number=row.session_number,
            session_date=row.session_date,
            phase=rules.phase_of(plan, row.session_number).label,
            rems_patient_enrolled=row.rems_patient_enrolled,
            rems_patient_id=row.rems_patient_id,
            setting_name=row.setting_name,
            setting_certified=row.setting_certified,
            monitoring_provider=row.monitoring_provider,
            prescriber=row.prescriber,
            concomitant_classes=tuple(row.concomitant_classes),
            concomitant_notes=row.concomitant_notes,
            dose_choice=row.dose_choice,
            dose_mg=row.dose_mg,
            other_dose_reason=row.other_dose_reason,
            device_lot=row.device_lot,
            bp_before_systolic=row.bp_before_systolic,
            bp_before_diastolic=row.bp_before_diastolic,
            pulse_before=row.pulse_before,
            spo2_before=row.spo2_before,
            first_device_at=start,
            ended_at=row.ended_at,
            ready_to_leave_at=row.ready_to_leave_at,
            total_monitoring_minutes=total,
            discharged_at=row.discharged_at,
            discharged_by=names.get(row.discharged_by) if row.discharged_by else None,
            form_submitted_at=row.form_submitted_at,
            form_submitted_by=(names.get(row.form_submitted_by) if row.form_submitted_by else None),
            form_due_on=rules.form_due_on(plan, row.session_date),
            form_overdue=rules.form_overdue(
                plan, row.session_date, row.form_submitted_at is not None, uow.now.date()
            ),
            recorded_by=names.get(row.recorded_by) if row.recorded_by else None,
            version=row.version,
            readings=tuple(
                ReadingView(
                    r.id,
                    r.taken_at,
                    int((r.taken_at - start).total_seconds() // 60),
                    r.systolic,
                    r.diastolic,
                    r.pulse,
                    r.spo2_percent,
                    r.moaas,
                )
                for r in readings
            ),
            events=tuple(
                EventView(e.id, e.kind, e.onset_at, e.resolved_at, e.notes, e.version)
                for e in events
            ),
            end_refusals=end_refusals,
            earliest_end=start + dt.timedelta(minutes=plan.min_monitoring_minutes),
            decisions=tuple(
                DecisionView(
                    d.id,
                    d.session_number,
                    d.kind,
                    d.day,
                    d.released,
                    d.reason,
                    names.get(d.decided_by, ""),
                    d.decided_at,
                )
                for d in decisions
            ),
        )

    # --- reads --------------------------------------------------------------------------------

    def plan(self, actor: Actor, patient_id: int) -> EsketaminePlan:
        """The patient's protocol's esketamine plan (refused for a trial patient)."""
        with self._ctx.uow(actor, write=False) as uow:
            return self._patient(uow, actor, patient_id, Action.INFUSION_READ)[2]

    def sessions(self, actor: Actor, patient_id: int) -> list[SessionView]:
        with self._ctx.uow(actor, write=False) as uow:
            patient, _, plan = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            return [self._view(uow, plan, patient, r) for r in self._rows(uow, patient)]

    def session(self, actor: Actor, patient_id: int, number: int) -> SessionView:
        with self._ctx.uow(actor, write=False) as uow:
            patient, _, plan = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            return self._view(uow, plan, patient, self._row(uow, patient, number))

    def unsubmitted_forms(self, actor: Actor) -> list[FormDue]:
        """Monitoring forms not yet submitted, of the patients this user may see, oldest first
        (the clinic's list; ``overdue`` past the protocol's days, §11)."""
        require(actor, Action.INFUSION_READ)
        out = []
        with self._ctx.uow(actor, write=False) as uow:
            rows = uow.session.scalars(
                select(EsketamineSession)
                .where(EsketamineSession.form_submitted_at.is_(None))
                .order_by(EsketamineSession.session_date, EsketamineSession.id)
            ).all()
            for row in rows:
                try:
                    patient, _, plan = self._patient(
                        uow, actor, row.patient_id, Action.INFUSION_READ
                    )
                except (NotFound, PermissionDenied):
                    continue  # another site's patient: not this user's list
                out.append(
                    FormDue(
                        patient.id,
                        patient.study_id,
                        row.session_number,
                        row.session_date,
                        rules.form_due_on(plan, row.session_date),
                        rules.form_overdue(plan, row.session_date, False, uow.now.date()),
                    )
                )
        return out

    # --- the nurse's steps --------------------------------------------------------------------

    def start(self, actor: Actor, patient_id: int, given: SessionStart) -> SessionView:
        """The next session: its REMS fields and the blood pressure before dosing (§11)."""
        require(actor, Action.INFUSION_RECORD)
        setting = _text(given.setting_name, "setting_name")
        provider = _text(given.monitoring_provider, "monitoring_provider")
        prescriber = _text(given.prescriber, "prescriber")
        lot = _text(given.device_lot, "device_lot", limit=64)
        rems_id = _text(given.rems_patient_id, "rems_patient_id", required=False, limit=64)
        _vital(given.bp_before_systolic, "bp_before_systolic", "systolic_mmhg", required=True)
        _vital(given.bp_before_diastolic, "bp_before_diastolic", "diastolic_mmhg", required=True)
        if given.bp_before_diastolic >= given.bp_before_systolic:
            raise ValidationFailed(
                "bp_before_diastolic", "below the systolic", given.bp_before_diastolic
            )
        _vital(given.pulse_before, "pulse_before", "heart_rate_bpm")
        _vital(given.spo2_before, "spo2_before", "spo2_percent")
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol, plan = self._patient(
                uow, actor, patient_id, Action.INFUSION_RECORD, lock=True
            )
            require_open(patient)
            refusal = rules.availability_refusal(protocol, state_of(patient).value)
            if refusal is not None:
                raise EsketamineRefused(patient.study_id, [refusal])
            dose = core_call(rules.check_dose, plan, given.dose_mg, given.other_dose_reason)
            classes = core_call(rules.check_concomitant, plan, given.concomitant_classes)
            first = _moment(given.first_device_at, "first_device_at", uow.now)
            day = first.date()
            previous = self._rows(uow, patient)
            if previous and previous[-1].ended_at is None:
                raise ConflictError(
                    "esketamine session of patient",
                    patient.study_id,
                    f"session {previous[-1].session_number} is still being monitored",
                )
            number = len(previous) + 1
            refusals = rules.enrolment_refusals(
                first_session=number == 1 or not any(r.rems_patient_enrolled for r in previous),
                patient_enrolled=given.rems_patient_enrolled,
                setting_certified=given.setting_certified,
            )
            if number == 1 and given.rems_patient_enrolled and not rems_id:
                raise ValidationFailed(
                    "rems_patient_id", "the patient's REMS enrolment number (first session)", None
                )
            schedule = rules.schedule_refusal(plan, [r.session_date for r in previous], day)
            if schedule is not None and not self._decisions(
                uow, patient, number, MOVE_SESSION, day
            ):
                refusals.append(schedule)
            hold = rules.bp_hold_refusal(plan, given.bp_before_systolic, given.bp_before_diastolic)
            if hold is not None and not self._decisions(uow, patient, number, RELEASE_BP_HOLD, day):
                refusals.append(hold)
            if refusals:
                raise EsketamineRefused(patient.study_id, refusals)
            row = EsketamineSession(
                patient_id=patient.id,
                session_number=number,
                session_date=day,
                rems_patient_enrolled=given.rems_patient_enrolled
                or any(r.rems_patient_enrolled for r in previous),
                rems_patient_id=rems_id
                or next((r.rems_patient_id for r in previous if r.rems_patient_id), None),
                setting_name=setting,
                setting_certified=given.setting_certified,
                monitoring_provider=provider,
                prescriber=prescriber,
                concomitant_classes=list(classes),
                concomitant_notes=(given.concomitant_notes or "").strip() or None,
                dose_choice=dose.choice,
                dose_mg=dose.dose_mg,
                other_dose_reason=(
                    (given.other_dose_reason or "").strip() or None
                    if dose.choice == "other"
                    else None
                ),
                device_lot=lot,
                bp_before_systolic=given.bp_before_systolic,
                bp_before_diastolic=given.bp_before_diastolic,
                pulse_before=given.pulse_before,
                spo2_before=given.spo2_before,
                first_device_at=first,
                ended_at=None,
                ready_to_leave_at=None,
                discharged_by=None,
                discharged_at=None,
                form_submitted_by=None,
                form_submitted_at=None,
                recorded_by=actor.user_id,
                recorded_at=uow.now,
            )
            uow.reason = f"esketamine session {number} started (§11)"
            uow.session.add(row)
            uow.flush()
            view = self._view(uow, plan, patient, row)
            uow.commit()
            return view

    def _open_row(
        self, uow: UnitOfWork, actor: Actor, patient_id: int, number: int, action: Action
    ) -> tuple[Patient, EsketaminePlan, EsketamineSession]:
        patient, _, plan = self._patient(uow, actor, patient_id, action, lock=True)
        require_open(patient)
        row = self._row(uow, patient, number)
        if row.ended_at is not None:
            raise ConflictError(
                f"esketamine session {number} of patient", patient.study_id, "monitoring ended"
            )
        return patient, plan, row

    def record_reading(
        self,
        actor: Actor,
        patient_id: int,
        number: int,
        *,
        systolic: int | None = None,
        diastolic: int | None = None,
        pulse: int | None = None,
        spo2_percent: int | None = None,
        moaas: int | None = None,
        taken_at: dt.datetime | None = None,
    ) -> SessionView:
        """Vital signs after dosing (§11): blood pressure, pulse, pulse oximetry, MOAA/S."""
        require(actor, Action.INFUSION_RECORD)
        _check_reading(systolic, diastolic, pulse, spo2_percent, moaas)
        with self._ctx.uow(actor, write=True) as uow:
            patient, plan, row = self._open_row(
                uow, actor, patient_id, number, Action.INFUSION_RECORD
            )
            at = _moment(taken_at, "taken_at", uow.now)
            if at < row.first_device_at:
                raise ValidationFailed(
                    "taken_at", "after the first device (the blood pressure before dosing is "
                    "the session's own)", at.isoformat(),
                )  # fmt: skip
            uow.session.add(
                EsketamineReading(
                    session_id=row.id,
                    patient_id=patient.id,
                    taken_at=at,
                    systolic=systolic,
                    diastolic=diastolic,
                    pulse=pulse,
                    spo2_percent=spo2_percent,
                    moaas=moaas,
                    recorded_by=actor.user_id,
                    recorded_at=uow.now,
                )
            )
            uow.flush()
            view = self._view(uow, plan, patient, row)
            uow.commit()
            return view

    def record_event(
        self,
        actor: Actor,
        patient_id: int,
        number: int,
        *,
        kind: str,
        onset_at: dt.datetime | None = None,
        resolved_at: dt.datetime | None = None,
        notes: str | None = None,
    ) -> SessionView:
        """Sedation, dissociation or respiratory depression, and when it resolved (§11)."""
        require(actor, Action.INFUSION_RECORD)
        if kind not in rules.EVENT_KINDS:
            raise ValidationFailed("kind", f"one of {', '.join(rules.EVENT_KINDS)}", kind)
        with self._ctx.uow(actor, write=True) as uow:
            patient, plan, row = self._open_row(
                uow, actor, patient_id, number, Action.INFUSION_RECORD
            )
            onset = _moment(onset_at, "onset_at", uow.now)
            if onset < row.first_device_at:
                raise ValidationFailed("onset_at", "after the first device", onset.isoformat())
            resolved = None if resolved_at is None else _moment(resolved_at, "resolved_at", uow.now)
            if resolved is not None and resolved < onset:
                raise ValidationFailed("resolved_at", "after the onset", resolved.isoformat())
            uow.session.add(
                EsketamineEvent(
                    session_id=row.id,
                    patient_id=patient.id,
                    kind=kind,
                    onset_at=onset,
                    resolved_at=resolved,
                    notes=_text(notes, "notes", required=False, limit=500) or None,
                    recorded_by=actor.user_id,
                    recorded_at=uow.now,
                )
            )
            uow.flush()
            view = self._view(uow, plan, patient, row)
            uow.commit()
            return view

    def resolve_event(
        self,
        actor: Actor,
        patient_id: int,
        number: int,
        event_id: int,
        *,
        expected_version: int,
        resolved_at: dt.datetime | None = None,
    ) -> SessionView:
        """When an event resolved (now, unless given)."""
        require(actor, Action.INFUSION_RECORD)
        with self._ctx.uow(actor, write=True) as uow:
            patient, plan, row = self._open_row(
                uow, actor, patient_id, number, Action.INFUSION_RECORD
            )
            event = uow.session.get(EsketamineEvent, event_id)
            if event is None or event.session_id != row.id:
                raise NotFound(f"event of esketamine session {number}", event_id)
            check_editable("esketamine event", event, expected_version)
            if event.resolved_at is not None:
                raise ConflictError("esketamine event", event_id, "already resolved")
            resolved = _moment(resolved_at, "resolved_at", uow.now)
            if resolved < event.onset_at:
                raise ValidationFailed("resolved_at", "after the onset", resolved.isoformat())
            event.resolved_at = resolved
            uow.flush()
            view = self._view(uow, plan, patient, row)
            uow.commit()
            return view

    def end_monitoring(
        self,
        actor: Actor,
        patient_id: int,
        number: int,
        *,
        ready_to_leave_at: dt.datetime | None,
        expected_version: int,
    ) -> SessionView:
        """The end of monitoring, now, with the answer to "when would the patient have been
        ready to leave" — refused, with each rule and §, before the protocol's minimum from the
        first device and while a reading or an event's resolution is missing (§11)."""
        require(actor, Action.INFUSION_RECORD)
        with self._ctx.uow(actor, write=True) as uow:
            patient, plan, row = self._open_row(
                uow, actor, patient_id, number, Action.INFUSION_RECORD
            )
            check_editable("esketamine session", row, expected_version)
            if ready_to_leave_at is not None and (
                not isinstance(ready_to_leave_at, dt.datetime) or ready_to_leave_at.tzinfo is None
            ):
                raise ValidationFailed(
                    "ready_to_leave_at", "a date and time with its zone", ready_to_leave_at
                )
            refusals = rules.discharge_refusals(
                plan, self._session_end(uow, row, uow.now, ready_to_leave_at)
            )
            if refusals:
                if [r.rule for r in refusals] == ["ready_to_leave"]:
                    raise ValidationFailed(
                        "ready_to_leave_at", refusals[0].message, ready_to_leave_at
                    )
                raise EsketamineRefused(patient.study_id, refusals)
            row.ended_at = uow.now
            row.ready_to_leave_at = ready_to_leave_at
            uow.reason = f"esketamine session {number}: monitoring ended (§11)"
            uow.flush()
            view = self._view(uow, plan, patient, row)
            uow.commit()
            return view

    def submit_form(
        self, actor: Actor, patient_id: int, number: int, *, expected_version: int
    ) -> SessionView:
        """The monitoring form is submitted (after discharge; REMS: within 7 days, §11)."""
        require(actor, Action.INFUSION_RECORD)
        with self._ctx.uow(actor, write=True) as uow:
            patient, _, plan = self._patient(
                uow, actor, patient_id, Action.INFUSION_RECORD, lock=True
            )
            row = self._row(uow, patient, number)
            check_editable("esketamine session", row, expected_version)
            if row.discharged_at is None:
                raise ConflictError(
                    f"esketamine session {number} of patient",
                    patient.study_id,
                    "the form is submitted after the prescriber's discharge (§11)",
                )
            if row.form_submitted_at is not None:
                raise ConflictError(
                    f"esketamine session {number} of patient", patient.study_id, "form submitted"
                )
            row.form_submitted_at = uow.now
            row.form_submitted_by = actor.user_id
            uow.reason = f"esketamine session {number}: monitoring form submitted (§11)"
            uow.flush()
            view = self._view(uow, plan, patient, row)
            uow.commit()
            return view

    # --- the prescriber's ---------------------------------------------------------------------

    def discharge(
        self, actor: Actor, patient_id: int, number: int, *, password: str, expected_version: int
    ) -> SessionView:
        """The prescriber discharges the patient once monitoring has ended (§11), signed by
        re-entering the password."""
        require(actor, Action.DISCHARGE_SIGNOFF)
        with self._ctx.uow(actor, write=True) as uow:
            patient, _, plan = self._patient(
                uow, actor, patient_id, Action.DISCHARGE_SIGNOFF, lock=True
            )
            row = self._row(uow, patient, number)
            check_editable("esketamine session", row, expected_version)
            if row.ended_at is None:
                view = self._view(uow, plan, patient, row)
                raise ConflictError(
                    f"esketamine session {number} of patient",
                    patient.study_id,
                    "monitoring has not ended: " + ("; ".join(view.end_refusals) or
                    "record the end of monitoring first (PROTOCOL.md §11)"),
                )  # fmt: skip
            if row.discharged_at is not None:
                raise ConflictError(
                    f"esketamine session {number} of patient", patient.study_id, "discharged"
                )
            user = self._auth.reauthenticate(uow, password)
            row.discharged_at = uow.now
            row.discharged_by = user.id
            uow.reason = f"esketamine session {number}: discharged by the prescriber (§11)"
            uow.flush()
            view = self._view(uow, plan, patient, row)
            uow.commit()
            return view

    def release_bp_hold(
        self,
        actor: Actor,
        patient_id: int,
        *,
        systolic: int,
        diastolic: int,
        reason: str,
        password: str,
    ) -> DecisionView:
        """The prescriber's recorded decision to dose today's next session although the blood
        pressure before dosing is above the hold (§11): the reading, the reason, re-signed."""
        _vital(systolic, "systolic", "systolic_mmhg", required=True)
        _vital(diastolic, "diastolic", "diastolic_mmhg", required=True)
        return self._decide(
            actor, patient_id, RELEASE_BP_HOLD, None, reason, password,
            lambda plan: rules.bp_hold_refusal(plan, systolic, diastolic),
            f"blood pressure before dosing {systolic}/{diastolic} mmHg",
        )  # fmt: skip

    def move_session(
        self, actor: Actor, patient_id: int, *, day: dt.date, reason: str, password: str
    ) -> DecisionView:
        """The prescriber's recorded decision to give the next session on ``day`` although the
        schedule's interval says otherwise (§11)."""
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise ValidationFailed("day", "the date of the session", day)
        return self._decide(
            actor, patient_id, MOVE_SESSION, day, reason, password, None,
            f"session on {day.isoformat()} sooner than the schedule's interval",
        )  # fmt: skip

    def _decide(
        self,
        actor: Actor,
        patient_id: int,
        kind: str,
        day: dt.date | None,
        reason: str,
        password: str,
        check: object,
        released: str,
    ) -> DecisionView:
        require(actor, Action.PHYSICIAN_DECISION)
        why = reason.strip() if isinstance(reason, str) else ""
        if len(why) < MIN_REASON:
            raise ValidationFailed("reason", f"at least {MIN_REASON} characters", reason)
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol, plan = self._patient(
                uow, actor, patient_id, Action.PHYSICIAN_DECISION, lock=True
            )
            require_open(patient)
            refusal = rules.availability_refusal(protocol, state_of(patient).value)
            if refusal is not None:
                raise EsketamineRefused(patient.study_id, [refusal])
            if callable(check) and check(plan) is None:
                raise ConflictError(
                    "esketamine session of patient", patient.study_id, "nothing is held"
                )
            previous = self._rows(uow, patient)
            day = day or uow.now.date()
            if day < uow.now.date():
                raise ValidationFailed("day", "today or later", day.isoformat())
            number = len(previous) + 1
            user = self._auth.reauthenticate(uow, password)
            decision = EsketamineDecision(
                patient_id=patient.id,
                session_number=number,
                kind=kind,
                day=day,
                released=released,
                reason=why,
                decided_by=user.id,
                decided_at=uow.now,
            )
            uow.reason = f"esketamine session {number}: {released} — {why}"
            uow.session.add(decision)
            uow.flush()
            view = DecisionView(
                decision.id, number, kind, day, released, why, user.full_name, uow.now
            )
            uow.commit()
            return view
