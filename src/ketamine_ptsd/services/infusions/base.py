"""The shared steps of every infusion-day use case: the patient, the day, the view."""

from __future__ import annotations

from sqlalchemy import func, select

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.rules import (
    vitals_due_minutes,
)
from ketamine_ptsd.core.workflow import BLINDED_LABEL

from .._workflow import (
    require_open,
)
from ..access import Actor, allocation_visibility, require_patient
from ..auth import AuthService
from ..context import ServiceContext
from ..errors import ConflictError, NotFound, ValidationFailed
from ..maintenance import iv_options
from ..patients import load_patient
from ..protocol_versions import patient_protocol
from ..randomization import RandomizationService
from ..records import (
    DrugAdministration,
    InfusionDay,
    Patient,
    User,
)
from ..uow import UnitOfWork
from ..workflow import state_of
from .queries import (
    day_query,
    withdrawal_query,
)
from .views import (
    ACTIVE_STATES,
    AdministrationView,
    InfusionDayView,
)

#: How many maintenance infusions a schedule may number after the series (a bound, not a
#: target: weekly for about four years).
MAX_MAINTENANCE_INFUSIONS = 200


class InfusionBase:
    """The shared steps of every infusion-day use case: the patient, the day, the view."""

    def __init__(
        self, ctx: ServiceContext, randomization: RandomizationService, auth: AuthService
    ) -> None:
        self._ctx = ctx
        self._randomization = randomization
        self._auth = auth

    def _patient(
        self, uow: UnitOfWork, actor: Actor, patient_id: int, action: Action, *, lock: bool = False
    ) -> tuple[Patient, Protocol]:
        patient = load_patient(uow, patient_id, lock=lock)
        require_patient(actor, action, patient)
        return patient, patient_protocol(self._ctx, uow, patient)

    @staticmethod
    def _check_number(protocol: Protocol, infusion_number: int) -> None:
        count = protocol.schedule.infusion_count
        # maintenance infusions follow the series (7, 8, …) where the protocol gives IV
        # maintenance; the workflow decides whether this patient is in maintenance (§8)
        top = count + MAX_MAINTENANCE_INFUSIONS if iv_options(protocol) else count
        if protocol.retreatment is not None:  # retreatment series are numbered on (issue 13)
            top += protocol.retreatment.max_courses * count
        if isinstance(infusion_number, bool) or not 1 <= infusion_number <= top:
            raise ValidationFailed(
                "infusion_number", f"must be 1-{top} (protocol {protocol.name})", infusion_number
            )

    @staticmethod
    def _require_active(uow: UnitOfWork, patient: Patient) -> None:
        require_open(patient)
        if uow.session.scalar(withdrawal_query(), {"patient_id": patient.id}):
            raise ConflictError("patient", patient.study_id, "withdrawn")
        if state_of(patient) not in ACTIVE_STATES:
            raise ConflictError(
                "patient", patient.study_id, f"not in the treatment phase (status {patient.status})"
            )

    @staticmethod
    def _day(uow: UnitOfWork, patient: Patient, infusion_number: int) -> InfusionDay:
        day = uow.session.scalar(
            day_query(), {"patient_id": patient.id, "infusion_number": infusion_number}
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
            drug=day.drug if visible else BLINDED_LABEL,
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
            administration=self._administration_view(uow, day, visible=visible),
        )

    @staticmethod
    def _administration(uow: UnitOfWork, day: InfusionDay) -> DrugAdministration | None:
        return uow.session.scalar(
            select(DrugAdministration).where(DrugAdministration.infusion_day_id == day.id)
        )

    @classmethod
    def _administration_view(
        cls, uow: UnitOfWork, day: InfusionDay, *, visible: bool
    ) -> AdministrationView | None:
        a = cls._administration(uow, day)
        if a is None:
            return None
        return administration_view(uow, a, visible=visible)


def user_names(uow: UnitOfWork, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = uow.session.execute(select(User.id, User.full_name).where(User.id.in_(wanted)))
    return {row[0]: row[1] for row in rows}


def administration_view(
    uow: UnitOfWork, a: DrugAdministration, *, visible: bool
) -> AdministrationView:
    """What the actor may see of one administration: the concentration and the mg given only
    when the drug is visible to them (PROTOCOL.md §3)."""
    names = user_names(
        uow,
        {
            a.prepared_by,
            a.recorded_by,
            a.checked_by,
            a.supervising_physician_id,
            a.weight_confirmed_by,
            a.waste_witnessed_by,
        },
    )
    return AdministrationView(
        bag_lot=a.bag_lot,
        bag_expiry=a.bag_expiry,
        bag_volume_ml=a.bag_volume_ml,
        bag_concentration_mg_per_ml=a.bag_concentration_mg_per_ml if visible else None,
        prepared_by=names.get(a.prepared_by, ""),
        started_by=names.get(a.recorded_by, "") if a.recorded_by is not None else "",
        checked_by=names.get(a.checked_by, ""),
        pump_rate_ml_per_h=a.pump_rate_ml_per_h,
        supervising_physician=names.get(a.supervising_physician_id, ""),
        weight_previous_kg=a.weight_previous_kg,
        weight_confirmed_by=None
        if a.weight_confirmed_by is None
        else names.get(a.weight_confirmed_by),
        weight_confirmation_reasons=tuple(a.weight_confirmation_reasons),
        stopped_early=a.stopped_early,
        early_stop_reason=a.early_stop_reason,
        volume_given_ml=a.volume_given_ml,
        dose_given_mg=a.dose_given_mg if visible else None,
        volume_wasted_ml=a.volume_wasted_ml,
        waste_witnessed_by=None
        if a.waste_witnessed_by is None
        else names.get(a.waste_witnessed_by),
    )


def previous_number(uow: UnitOfWork, patient: Patient, protocol: Protocol, n: int) -> int | None:
    """The infusion before infusion ``n``: n − 1, except for the first maintenance infusion
    (the series' count + 1), which follows the last infusion of the series given (a series
    may end early; maintenance is still numbered after it, §8). None before infusion 1."""
    if n <= 1:
        return None
    count = protocol.schedule.infusion_count
    if n != count + 1:
        return n - 1
    given = uow.session.scalar(
        select(func.max(InfusionDay.infusion_number)).where(
            InfusionDay.patient_id == patient.id,
            InfusionDay.voided_at.is_(None),
            InfusionDay.infusion_number <= count,
        )
    )
    return int(given) if given is not None else count
