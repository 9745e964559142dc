"""Retreatment: a new acute series for a patient who lost response (issue 13; PROTOCOL.md §5,
§8).

The clinic's physician starts it (the workflow's ``start_retreatment``: from ``lost_response``,
or ``non_responder`` only where the protocol's ``retreatment.allowed_from`` names it; the
protocol's limit of series; the last infusion discharged; the reason). The patient is in
treatment again, and the series is given under the protocol's schedule like the first: its
infusions are numbered after the last one given (7–12 after a series of six; after maintenance
infusions, on from the last of them), and each is an infusion day with the whole of the day's
safety (checklist, blood-pressure cutoff, identifiers, pump double-check, supervising physician,
vitals, ratings, alerts, discharge: services/infusions), with the schedule's interval, weekly
maximum and weekdays. While it runs, the first series' response no longer decides the patient's
state, and a maintenance schedule left open by the lost response is closed with the
retreatment's reason; after the series, the physician starts maintenance (``start_maintenance`` from treatment once the
series is given) or the patient is withdrawn. The decision is audited with its reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.workflow import Event, PatientState

from ._workflow import require_open
from .access import Actor, require_patient
from .context import ServiceContext
from .errors import NotFound, ValidationFailed
from .patients import load_patient
from .protocol_versions import patient_protocol
from .records import InfusionDay, MaintenanceSchedule, Patient, RetreatmentCourse
from .uow import UnitOfWork
from .workflow import load_facts, state_of, transition

__all__ = [
    "RetreatmentService",
    "RetreatmentView",
    "current_course",
    "retreatment_facts",
]


@dataclass(frozen=True)
class RetreatmentView:
    id: int
    patient_id: int
    course_number: int
    first_infusion_number: int
    last_infusion_number: int
    from_state: str
    starts_on: dt.date
    reason: str
    #: the series' infusions given so far (number, date)
    given: tuple[tuple[int, dt.date], ...]

    @property
    def next_number(self) -> int | None:
        """The series' next infusion (None once every one is given)."""
        n = self.first_infusion_number + len(self.given)
        return n if n <= self.last_infusion_number else None


def current_course(uow: UnitOfWork, patient: Patient) -> RetreatmentCourse | None:
    """The patient's latest retreatment series (None: never retreated)."""
    return uow.session.scalars(
        select(RetreatmentCourse)
        .where(RetreatmentCourse.patient_id == patient.id)
        .order_by(RetreatmentCourse.course_number.desc())
    ).first()


def _days(
    uow: UnitOfWork, patient: Patient, first: int, last: int
) -> list[tuple[int, dt.date, bool]]:
    rows = uow.session.execute(
        select(InfusionDay.infusion_number, InfusionDay.infusion_date, InfusionDay.discharged_at)
        .where(
            InfusionDay.patient_id == patient.id,
            InfusionDay.voided_at.is_(None),
            InfusionDay.infusion_number >= first,
            InfusionDay.infusion_number <= last,
        )
        .order_by(InfusionDay.infusion_number)
    ).all()
    return [(int(n), d, discharged is not None) for n, d, discharged in rows]


def retreatment_facts(uow: UnitOfWork, patient: Patient) -> dict[str, object]:
    """The workflow facts of a running retreatment series: where its numbering starts, that it
    is under way, and how many of its infusions are discharged (core.workflow)."""
    course = current_course(uow, patient)
    if course is None or state_of(patient) is not PatientState.IN_TREATMENT:
        return {}
    last = course.first_infusion_number + course.infusion_count - 1
    days = _days(uow, patient, course.first_infusion_number, last)
    return {
        "series_first_infusion": course.first_infusion_number,
        "retreatment_open": True,
        "retreatment_infusions_discharged": sum(discharged for _, _, discharged in days),
    }


class RetreatmentService:
    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def _view(self, uow: UnitOfWork, patient: Patient, row: RetreatmentCourse) -> RetreatmentView:
        last = row.first_infusion_number + row.infusion_count - 1
        given = tuple((n, d) for n, d, _ in _days(uow, patient, row.first_infusion_number, last))
        return RetreatmentView(
            row.id,
            patient.id,
            row.course_number,
            row.first_infusion_number,
            last,
            row.from_state,
            row.starts_on,
            row.reason,
            given,
        )

    def courses(self, actor: Actor, patient_id: int) -> list[RetreatmentView]:
        """The patient's retreatment series, first first."""
        with self._ctx.uow(actor, write=False) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.INFUSION_READ, patient)
            rows = uow.session.scalars(
                select(RetreatmentCourse)
                .where(RetreatmentCourse.patient_id == patient.id)
                .order_by(RetreatmentCourse.course_number)
            )
            return [self._view(uow, patient, r) for r in rows]

    def start(
        self, actor: Actor, patient_id: int, *, starts_on: dt.date, reason: str
    ) -> RetreatmentView:
        """Start a new acute series (the workflow's guards decide; PROTOCOL.md §5, §8)."""
        if not isinstance(starts_on, dt.date) or isinstance(starts_on, dt.datetime):
            raise ValidationFailed("starts_on", "a date", starts_on)
        text = reason.strip() if isinstance(reason, str) else ""
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id, lock=True)
            require_patient(actor, Action.CLINIC_PLAN_RECORD, patient)
            require_open(patient)
            protocol: Protocol = patient_protocol(self._ctx, uow, patient)
            if starts_on < uow.now.date():
                raise ValidationFailed("starts_on", "today or later", starts_on.isoformat())
            last = uow.session.scalars(
                select(InfusionDay)
                .where(InfusionDay.patient_id == patient.id, InfusionDay.voided_at.is_(None))
                .order_by(InfusionDay.infusion_number.desc())
            ).first()
            if last is None:
                raise NotFound("infusion of patient", patient.study_id)
            courses = int(
                uow.session.scalar(
                    select(func.count(RetreatmentCourse.id)).where(
                        RetreatmentCourse.patient_id == patient.id
                    )
                )
                or 0
            )
            plan = protocol.retreatment
            from_state = state_of(patient)
            transition(
                uow,
                patient,
                Event.START_RETREATMENT,
                facts=load_facts(
                    uow,
                    patient,
                    (),
                    reasons=(text,) if text else (),
                    retreatment_from=tuple(PatientState(s) for s in plan.allowed_from)
                    if plan is not None
                    else (),
                    retreatment_max_courses=plan.max_courses if plan is not None else 0,
                    retreatment_courses=courses,
                    last_infusion_open=last.discharged_at is None,
                ),
            )
            row = RetreatmentCourse(
                patient_id=patient.id,
                course_number=courses + 1,
                first_infusion_number=last.infusion_number + 1,
                infusion_count=protocol.schedule.infusion_count,
                from_state=from_state.value,
                starts_on=starts_on,
                reason=text,
                recorded_by=actor.user_id,
                recorded_at=uow.now,
            )
            uow.reason = f"retreatment started: {text}"
            for schedule in uow.session.scalars(  # maintenance ended with the lost response
                select(MaintenanceSchedule).where(
                    MaintenanceSchedule.patient_id == patient.id,
                    MaintenanceSchedule.stopped_on.is_(None),
                )
            ):
                schedule.stopped_on = uow.now.date()
                schedule.stopped_by = actor.user_id
                schedule.stop_reason = f"retreatment started: {text}"
            uow.session.add(row)
            uow.flush()
            view = self._view(uow, patient, row)
            uow.commit()
            return view
