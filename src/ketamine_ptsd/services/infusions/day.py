"""Starting and ending an infusion: allocation on the morning of infusion 1, the dose (§3, §4)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action, is_allowed
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
    InfusionDay,
    Patient,
)
from ..uow import UnitOfWork
from ..workflow import load_facts, transition
from .checklist import ChecklistUseCases
from .queries import (
    day_id_query,
    day_query,
)
from .views import (
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
