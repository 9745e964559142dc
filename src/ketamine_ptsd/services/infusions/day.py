"""Starting and ending an infusion: allocation on the morning of infusion 1, the dose (§3, §4)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action, is_allowed
from ketamine_ptsd.core.rules import baseline_instruments, missing_baseline
from ketamine_ptsd.core.workflow import Event, WorkflowFacts

from .._workflow import (
    check_editable,
    entered,
    patient_drug,
)
from ..access import Actor, require
from ..errors import ConflictError, ValidationFailed
from ..records import (
    Allocation,
    Assessment,
    IdentityCheck,
    InfusionDay,
    Patient,
    PatientIdentity,
)
from ..uow import UnitOfWork
from ..workflow import load_facts, transition
from .checklist import ChecklistUseCases
from .queries import (
    day_id_query,
    day_query,
)
from .views import (
    IdentityCheckView,
    InfusionDayView,
    dose_for,
)


class DayUseCases(ChecklistUseCases):
    """Starting and ending an infusion: allocation on the morning of infusion 1, the dose (§3, §4)."""

    @staticmethod
    def _require_not_started(uow: UnitOfWork, patient: Patient, n: int) -> None:
        if uow.session.scalar(day_id_query(), {"patient_id": patient.id, "infusion_number": n}):
            raise ConflictError("infusion", f"{patient.study_id} #{n}", "already started")

    @staticmethod
    def _start_facts(
        uow: UnitOfWork, patient: Patient, protocol: Protocol, n: int
    ) -> WorkflowFacts:
        """What the start's guards read: the previous infusion, today, the schedule (§5, §6)."""
        today = uow.now.date()
        previous = (
            uow.session.scalar(day_query(), {"patient_id": patient.id, "infusion_number": n - 1})
            if n > 1
            else None
        )
        monday = today - dt.timedelta(days=today.weekday())
        this_week = uow.session.scalar(
            select(func.count(InfusionDay.id)).where(
                InfusionDay.patient_id == patient.id,
                InfusionDay.voided_at.is_(None),
                InfusionDay.infusion_date >= monday,
                InfusionDay.infusion_date <= today,
            )
        )
        schedule = protocol.schedule
        checks = uow.session.scalars(
            select(IdentityCheck).where(
                IdentityCheck.patient_id == patient.id, IdentityCheck.infusion_number == n
            )
        )
        confirmed = any(
            c.name_confirmed and c.date_of_birth_confirmed and c.recorded_at.date() == today
            for c in checks
        )
        time_point, _ = baseline_instruments(protocol)
        recorded = set(
            uow.session.scalars(
                select(Assessment.instrument).where(
                    Assessment.patient_id == patient.id,
                    Assessment.time_point == time_point,
                    Assessment.voided_at.is_(None),
                )
            )
        )
        return load_facts(
            uow,
            patient,
            ("consent", "allocation"),
            infusion_number=n,
            previous_day=previous.infusion_date if previous is not None else None,
            previous_discharged=previous is not None and previous.discharged_at is not None,
            today=today,
            min_days_between=schedule.min_days_between_infusions,
            per_week_max=schedule.infusions_per_week,
            started_this_week=int(this_week or 0),
            identity_confirmed=confirmed,
            baseline_missing=missing_baseline(protocol, recorded) if n == 1 else (),
            baseline_time_point=time_point,
        )

    def identity_to_check(
        self, actor: Actor, patient_id: int, infusion_number: int
    ) -> IdentityCheckView:
        """Name and date of birth for the nurse's two-identifier check (PROTOCOL.md §12):
        ``identity.confirm`` (the treating nurse and the care team), never a blinded rater or
        the pharmacy; with today's confirmation for this infusion, if any."""
        require(actor, Action.IDENTITY_CONFIRM)
        with self._ctx.uow(actor, write=False) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.IDENTITY_CONFIRM)
            self._check_number(protocol, infusion_number)
            return self._identity_view(uow, patient, infusion_number)

    @staticmethod
    def _identity_view(uow: UnitOfWork, patient: Patient, n: int) -> IdentityCheckView:
        record = uow.session.scalar(
            select(PatientIdentity).where(PatientIdentity.patient_id == patient.id)
        )
        today = uow.now.date()
        confirmed = [
            c
            for c in uow.session.scalars(
                select(IdentityCheck)
                .where(IdentityCheck.patient_id == patient.id, IdentityCheck.infusion_number == n)
                .order_by(IdentityCheck.id)
            )
            if c.recorded_at.date() == today and c.name_confirmed and c.date_of_birth_confirmed
        ]
        return IdentityCheckView(
            patient.id,
            n,
            None if record is None else f"{record.given_name} {record.family_name}",
            None if record is None else record.date_of_birth,
            confirmed[-1].recorded_at if confirmed else None,
        )

    def confirm_identity(
        self,
        actor: Actor,
        patient_id: int,
        infusion_number: int,
        *,
        name_confirmed: bool,
        date_of_birth_confirmed: bool,
    ) -> IdentityCheckView:
        """The nurse asked the patient's name and date of birth and they match the record
        (PROTOCOL.md §12); recorded and audited, and required by the start of the infusion."""
        require(actor, Action.IDENTITY_CONFIRM)
        for field, value in (
            ("name_confirmed", name_confirmed),
            ("date_of_birth_confirmed", date_of_birth_confirmed),
        ):
            if value is not True:
                raise ValidationFailed(
                    field,
                    "both identifiers must match the record; if one does not, stop and call the "
                    "physician (PROTOCOL.md §12)",
                    value,
                )
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.IDENTITY_CONFIRM)
            self._check_number(protocol, infusion_number)
            self._require_active(uow, patient)
            record = uow.session.scalar(
                select(PatientIdentity).where(PatientIdentity.patient_id == patient.id)
            )
            if record is None or record.date_of_birth is None:
                raise ConflictError(
                    "patient",
                    patient.study_id,
                    "no name and date of birth on the record to check against; an investigator "
                    "records them first (PROTOCOL.md §12)",
                )
            uow.session.add(
                IdentityCheck(
                    patient_id=patient.id,
                    infusion_number=infusion_number,
                    name_confirmed=True,
                    date_of_birth_confirmed=True,
                    recorded_by=actor.user_id,
                    recorded_at=uow.now,
                )
            )
            uow.flush()
            view = self._identity_view(uow, patient, infusion_number)
            uow.commit()
            return view

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
                dose_for(protocol, drug, float(weight_kg))
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
            # The workflow's guards: consent, allocation, the previous infusion discharged, the
            # schedule's minimum interval and weekly maximum (PROTOCOL.md §3, §5, §6).
            transition(
                uow,
                patient,
                Event.START_INFUSION,
                facts=self._start_facts(uow, patient, protocol, infusion_number),
            )
            check = self._require_passed_checklist(uow, patient, infusion_number)
            drug = patient_drug(uow, protocol, patient)
            if drug is None:
                raise ConflictError("patient", patient.study_id, "not allocated")
            dose = dose_for(protocol, drug, float(weight_kg))
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
            uow.flush()
            view = self._day_view(uow, actor, patient, protocol, day)
            uow.commit()
            return view

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
