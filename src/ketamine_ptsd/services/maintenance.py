"""Periodic IV maintenance after the series (PROTOCOL.md §8, §11; issue 13).

A physician starts maintenance for a responder, or for another patient with the reason for
treating (the workflow's ``start_maintenance``): one of the protocol's IV options
(``route: iv_infusion``), its interval (another interval needs the reason), the first day.
Maintenance infusions are numbered after the series (7, 8, … after six) and are infusion days
like the series' own: the same checklist, blood-pressure series, dose, vitals, ratings and
discharge (services/infusions), with the schedule's interval and window as one more guard of
the start. The interval is changed by an audited edit with its reason; stopping takes a reason
and returns the patient to what the scores say (a lost response ends maintenance by itself).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ketamine_ptsd.core.protocol import MaintenanceOption, Protocol
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.workflow import Event, PatientState

from ._workflow import check_editable, not_in_future, require_open
from .access import Actor, require_patient
from .context import ServiceContext
from .errors import ConflictError, NotFound, ValidationFailed
from .followup import response_facts
from .patients import load_patient
from .protocol_versions import patient_protocol
from .records import InfusionDay, MaintenanceSchedule, Patient
from .retreatment import retreatment_facts
from .uow import UnitOfWork
from .workflow import load_facts, state_of, transition

__all__ = [
    "MaintenanceService",
    "MaintenanceView",
    "iv_options",
    "open_schedule",
]

MIN_REASON = 10


def iv_options(protocol: Protocol) -> tuple[MaintenanceOption, ...]:
    """The protocol's maintenance options given as IV infusions in the record."""
    if protocol.maintenance is None:
        return ()
    return tuple(o for o in protocol.maintenance.options if o.route == "iv_infusion")


def open_schedule(uow: UnitOfWork, patient: Patient) -> MaintenanceSchedule | None:
    return uow.session.scalars(
        select(MaintenanceSchedule)
        .where(
            MaintenanceSchedule.patient_id == patient.id,
            MaintenanceSchedule.stopped_on.is_(None),
        )
        .order_by(MaintenanceSchedule.id.desc())
    ).first()


@dataclass(frozen=True)
class MaintenanceView:
    id: int
    patient_id: int
    option_id: str
    option_label: str
    interval_days: int
    window_days: int
    starts_on: dt.date
    reason: str | None
    stopped_on: dt.date | None
    stop_reason: str | None
    version: int
    #: the series' length: maintenance infusions are numbered from ``acute_count + 1``
    acute_count: int
    #: the infusions given in maintenance so far (number, date)
    given: tuple[tuple[int, dt.date], ...]
    #: the next infusion's number and the day it is due (None once stopped)
    next_number: int | None
    next_due: dt.date | None

    @property
    def active(self) -> bool:
        return self.stopped_on is None


def _reason(value: str | None, field: str = "reason") -> str:
    text = value.strip() if isinstance(value, str) else ""
    if len(text) < MIN_REASON:
        raise ValidationFailed(field, f"at least {MIN_REASON} characters", value)
    return text


class MaintenanceService:
    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def _patient(
        self, uow: UnitOfWork, actor: Actor, patient_id: int, action: Action
    ) -> tuple[Patient, Protocol]:
        patient = load_patient(uow, patient_id, lock=action is Action.CLINIC_PLAN_RECORD)
        require_patient(actor, action, patient)
        return patient, patient_protocol(self._ctx, uow, patient)

    @staticmethod
    def _given(uow: UnitOfWork, patient: Patient, after: int) -> list[tuple[int, dt.date]]:
        rows = uow.session.execute(
            select(InfusionDay.infusion_number, InfusionDay.infusion_date)
            .where(
                InfusionDay.patient_id == patient.id,
                InfusionDay.voided_at.is_(None),
                InfusionDay.infusion_number > after,
            )
            .order_by(InfusionDay.infusion_number)
        ).all()
        return [(int(n), d) for n, d in rows]

    def _view(
        self, uow: UnitOfWork, protocol: Protocol, patient: Patient, row: MaintenanceSchedule
    ) -> MaintenanceView:
        option = next((o for o in iv_options(protocol) if o.id == row.option_id), None)
        count = protocol.schedule.infusion_count
        given = self._given(uow, patient, count)
        next_number = next_due = None
        if row.stopped_on is None:
            next_number = (given[-1][0] if given else count) + 1  # numbered after the series
            next_due = (
                given[-1][1] + dt.timedelta(days=row.interval_days) if given else row.starts_on
            )
        return MaintenanceView(
            row.id,
            patient.id,
            row.option_id,
            option.label if option is not None else row.option_id,
            row.interval_days,
            option.window_days if option is not None else 0,
            row.starts_on,
            row.reason,
            row.stopped_on,
            row.stop_reason,
            row.version,
            count,
            tuple(given),
            next_number,
            next_due,
        )

    # --- reads --------------------------------------------------------------------------------

    def schedule(self, actor: Actor, patient_id: int) -> MaintenanceView:
        """The patient's latest maintenance schedule (open or stopped), or NotFound."""
        with self._ctx.uow(actor, write=False) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            row = uow.session.scalars(
                select(MaintenanceSchedule)
                .where(MaintenanceSchedule.patient_id == patient.id)
                .order_by(MaintenanceSchedule.id.desc())
            ).first()
            if row is None:
                raise NotFound("maintenance schedule of patient", patient.study_id)
            return self._view(uow, protocol, patient, row)

    # --- the physician's decisions -------------------------------------------------------------

    def start(
        self,
        actor: Actor,
        patient_id: int,
        *,
        option_id: str,
        interval_days: int,
        starts_on: dt.date,
        reason: str | None = None,
    ) -> MaintenanceView:
        """Start periodic IV maintenance (the workflow's guards decide; PROTOCOL.md §8)."""
        if isinstance(interval_days, bool) or not isinstance(interval_days, int):
            raise ValidationFailed("interval_days", "a whole number of days", interval_days)
        if not isinstance(starts_on, dt.date) or isinstance(starts_on, dt.datetime):
            raise ValidationFailed("starts_on", "a date", starts_on)
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.CLINIC_PLAN_RECORD)
            require_open(patient)
            options = {o.id: o for o in iv_options(protocol)}
            option = options.get(option_id)
            if option is None and options:
                raise ValidationFailed(
                    "option_id", f"the protocol's IV options are {', '.join(options)}", option_id
                )
            if starts_on < uow.now.date():
                raise ValidationFailed("starts_on", "today or later", starts_on.isoformat())
            if open_schedule(uow, patient) is not None:
                raise ConflictError("patient", patient.study_id, "maintenance already started")
            last = uow.session.scalars(
                select(InfusionDay)
                .where(InfusionDay.patient_id == patient.id, InfusionDay.voided_at.is_(None))
                .order_by(InfusionDay.infusion_number.desc())
            ).first()
            text = reason.strip() if isinstance(reason, str) else ""
            transition(
                uow,
                patient,
                Event.START_MAINTENANCE,
                facts=load_facts(
                    uow,
                    patient,
                    (),
                    reasons=(text,) if text else (),
                    maintenance_intervals=option.interval_days if option is not None else (),
                    maintenance_interval_days=interval_days,
                    last_infusion_open=last is not None and last.discharged_at is None,
                    acute_infusion_count=protocol.schedule.infusion_count,
                    **retreatment_facts(uow, patient),
                ),
            )
            row = MaintenanceSchedule(
                patient_id=patient.id,
                option_id=option_id,
                interval_days=interval_days,
                starts_on=starts_on,
                reason=text or None,
                recorded_by=actor.user_id,
                recorded_at=uow.now,
                stopped_on=None,
                stopped_by=None,
                stop_reason=None,
            )
            uow.reason = text or "maintenance started (responder, §8)"
            uow.session.add(row)
            uow.flush()
            view = self._view(uow, protocol, patient, row)
            uow.commit()
            return view

    def change_interval(
        self,
        actor: Actor,
        patient_id: int,
        *,
        interval_days: int,
        reason: str,
        expected_version: int,
    ) -> MaintenanceView:
        """The physician changes the interval, with the reason (an audited edit)."""
        why = _reason(reason)
        if (
            isinstance(interval_days, bool)
            or not isinstance(interval_days, int)
            or interval_days < 1
        ):
            raise ValidationFailed(
                "interval_days", "a whole number of days, 1 or more", interval_days
            )
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.CLINIC_PLAN_RECORD)
            row = open_schedule(uow, patient)
            if row is None:
                raise NotFound("open maintenance schedule of patient", patient.study_id)
            check_editable("maintenance schedule", row, expected_version)
            uow.reason = why
            row.interval_days = interval_days
            uow.flush()
            view = self._view(uow, protocol, patient, row)
            uow.commit()
            return view

    def stop(
        self,
        actor: Actor,
        patient_id: int,
        *,
        stopped_on: dt.date,
        reason: str,
        expected_version: int,
    ) -> MaintenanceView:
        """Stop maintenance with the reason; the patient returns to what the scores say."""
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.CLINIC_PLAN_RECORD)
            row = open_schedule(uow, patient)
            if row is None:
                raise NotFound("open maintenance schedule of patient", patient.study_id)
            check_editable("maintenance schedule", row, expected_version)
            not_in_future("stopped_on", stopped_on, uow.now.date())
            if stopped_on < row.starts_on:
                raise ValidationFailed(
                    "stopped_on", f"on or after the start ({row.starts_on.isoformat()})", stopped_on
                )
            text = reason.strip() if isinstance(reason, str) else ""
            response, _visits = response_facts(uow, protocol, patient)
            scored = (
                None
                if response is None
                else PatientState.RESPONDER
                if response.responder
                else PatientState.NON_RESPONDER
            )
            if state_of(patient) is PatientState.IN_MAINTENANCE:
                transition(
                    uow,
                    patient,
                    Event.STOP_MAINTENANCE,
                    facts=load_facts(uow, patient, (), reasons=(text,), response=scored),
                )
            else:
                _reason(reason)  # already out of maintenance (response lost): still say why
            uow.reason = text
            row.stopped_on = stopped_on
            row.stopped_by = actor.user_id
            row.stop_reason = text
            uow.flush()
            view = self._view(uow, protocol, patient, row)
            uow.commit()
            return view
