"""Starting and ending an infusion: allocation on the morning of infusion 1, the dose (§3, §4)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import func, select

from ketamine_ptsd.core.protocol import Protocol, weekday_index
from ketamine_ptsd.core.roles import Action, is_allowed
from ketamine_ptsd.core.rules import (
    baseline_instruments,
    check_bag,
    check_end_time,
    check_weight,
    dose_given_mg,
    missing_baseline,
    weight_change,
)
from ketamine_ptsd.core.workflow import Event, WorkflowFacts, apply

from .._workflow import (
    check_editable,
    core_call,
    entered,
    patient_drug,
)
from ..access import Actor, allocation_visibility, require
from ..alerts import unreviewed_suicide_risk
from ..errors import ConflictError, ValidationFailed
from ..maintenance import iv_options, open_schedule
from ..records import (
    Allocation,
    Assessment,
    DrugAdministration,
    IdentityCheck,
    InfusionDay,
    Patient,
    PatientIdentity,
)
from ..retreatment import retreatment_facts
from ..uow import UnitOfWork
from ..workflow import load_facts, state_of, transition
from .administration import (
    AdministrationSupport,
    active_user,
    last_recorded_weight,
    supervising_physician,
)
from .base import previous_number
from .checklist import ChecklistUseCases
from .queries import (
    day_id_query,
    day_query,
    todays_checklist_query,
)
from .safety import day_moved, released_holds
from .views import (
    BagInput,
    Countersign,
    Dose,
    EarlyStop,
    IdentityCheckView,
    InfusionDayView,
    PumpCheck,
    dose_for,
)

#: The start's guards of giving the drug (core/workflow/table.py; PROTOCOL.md §4, §6).
GIVING_RULES = frozenset({"weight_confirmed", "pump_double_check", "supervising_physician"})


class DayUseCases(ChecklistUseCases, AdministrationSupport):
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
        before = previous_number(uow, patient, protocol, n)
        previous = (
            uow.session.scalar(day_query(), {"patient_id": patient.id, "infusion_number": before})
            if before is not None
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
        check = uow.session.scalars(
            todays_checklist_query(),
            {"patient_id": patient.id, "infusion_number": n, "checked_on": today},
        ).first()
        return load_facts(
            uow,
            patient,
            ("consent", "allocation"),
            allowed_weekdays=tuple(sorted({weekday_index(d) for d in schedule.allowed_weekdays})),
            day_moved_by_physician=day_moved(uow, patient, n, today),
            hold_reasons=() if check is None else tuple(check.hold_reasons),
            released_holds=released_holds(uow, patient, n, today),
            suicide_risk_unreviewed=unreviewed_suicide_risk(uow, patient),
            **_maintenance_facts(uow, patient, protocol),
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
        self,
        actor: Actor,
        patient_id: int,
        infusion_number: int,
        *,
        weight_kg: float,
        bag: BagInput,
        pump_check: PumpCheck,
        supervising_physician_id: int,
    ) -> InfusionDayView:
        """Start an infusion: refused while held; dose and pump rate from today's weight.

        Refused, each naming its field and §: a weight beyond the protocol's change tolerance
        from the last recorded weight, or one that looks like pounds, unless the second staff
        member confirms it (§4); a dose above the protocol's maximum mg (§4); a bag that has
        expired, whose concentration is not the protocol's or whose volume is not the dose's
        (§4, §6); a pump rate the second staff member read that is not the dose's; no
        supervising physician (§6). Blinded staff confirm the bag's volume, never its
        concentration (docs/blinding.md).
        """
        require(actor, Action.INFUSION_RECORD)
        weight = core_call(check_weight, weight_kg)
        lot = bag.lot.strip() if isinstance(bag.lot, str) else ""
        if not lot or len(lot) > 64:
            raise ValidationFailed(
                "bag_lot", "the lot number on the bag (1-64 characters)", bag.lot
            )
        if not isinstance(bag.expiry, dt.date) or isinstance(bag.expiry, dt.datetime):
            raise ValidationFailed("bag_expiry", "the expiry date on the bag", bag.expiry)
        rate = pump_check.pump_rate_ml_per_h
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate == rate:
            raise ValidationFailed("pump_rate_ml_per_h", "the rate (mL/h) set on the pump", rate)
        needs_allocation = False
        with self._ctx.uow(actor, write=False) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_RECORD)
            self._check_number(protocol, infusion_number)
            self._require_active(uow, patient)
            self._require_not_started(uow, patient, infusion_number)
            self._require_passed_checklist(uow, patient, infusion_number)
            previous = last_recorded_weight(uow, patient, infusion_number)
            tolerance = protocol.pre_infusion.weight_change_tolerance_percent
            if tolerance is None:
                raise ValidationFailed(
                    "protocol", "states no weight_change_tolerance_percent (§4)", protocol.name
                )
            change = core_call(weight_change, weight, previous, tolerance)
            # the start's guards of giving the drug, before anything is allocated (the same
            # guards run again with the verified witness below; core.workflow.table)
            self._refuse_giving(
                patient,
                actor,
                WorkflowFacts(
                    infusion_number=infusion_number,
                    weight_change_reasons=change.reasons,
                    weight_confirmed_by_other=pump_check.confirms_weight,
                    pump_checked_by_other=True,
                    supervising_physician_named=True,
                ),
                weight_kg,
            )
            for drug in sorted({a.drug for a in protocol.arms}):  # before allocating: the
                dose_for(protocol, drug, weight)  # weight range and the maximum mg (§4)
            visible = allocation_visibility(uow.session, actor, patient)
            self._check_bag_fields(bag, visible=visible)
            supervising_physician(uow, supervising_physician_id)
            active_user(uow, bag.prepared_by, "bag_prepared_by")
            drug_now = patient_drug(uow, protocol, patient)
            if drug_now is not None or not visible:
                self._check_bag_and_pump(
                    protocol, drug_now or protocol.arms[0].drug, weight, bag, rate, visible, uow
                )
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
            study_id = patient.study_id
        witness_id, _ = self._countersign(
            actor,
            pump_check.witness,
            purpose="pump setting double-check"
            + (" and weight confirmation" if change.needs_confirmation else "")
            + " (PROTOCOL.md §4)",
            record=f"{study_id} infusion {infusion_number}",
        )
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
            checked_by_other = witness_id != actor.user_id
            physician = supervising_physician(uow, supervising_physician_id)
            transition(
                uow,
                patient,
                Event.START_INFUSION,
                facts=dataclasses.replace(
                    self._start_facts(uow, patient, protocol, infusion_number),
                    weight_change_reasons=change.reasons,
                    weight_confirmed_by_other=pump_check.confirms_weight and checked_by_other,
                    pump_checked_by_other=checked_by_other,
                    supervising_physician_named=True,
                ),
            )
            check = self._require_passed_checklist(uow, patient, infusion_number)
            drug = patient_drug(uow, protocol, patient)
            if drug is None:
                raise ConflictError("patient", patient.study_id, "not allocated")
            visible = allocation_visibility(uow.session, actor, patient)
            dose = self._check_bag_and_pump(protocol, drug, weight, bag, rate, visible, uow)
            preparer = active_user(uow, bag.prepared_by, "bag_prepared_by")
            day = InfusionDay(
                patient_id=patient.id,
                infusion_number=infusion_number,
                infusion_date=uow.now.date(),
                check_id=check.id,
                weight_kg=weight,
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
            uow.session.add(
                DrugAdministration(
                    infusion_day_id=day.id,
                    patient_id=patient.id,
                    infusion_number=infusion_number,
                    bag_lot=lot,
                    bag_expiry=bag.expiry,
                    bag_concentration_mg_per_ml=dose.concentration_mg_per_ml,
                    bag_volume_ml=float(bag.volume_ml),
                    prepared_by=preparer.id,
                    checked_by=witness_id,
                    pump_rate_ml_per_h=float(rate),
                    supervising_physician_id=physician.id,
                    weight_previous_kg=change.previous_kg,
                    weight_confirmed_by=witness_id if change.needs_confirmation else None,
                    weight_confirmation_reasons=list(change.reasons),
                    stopped_early=None,
                    early_stop_reason=None,
                    volume_given_ml=None,
                    dose_given_mg=None,
                    volume_wasted_ml=None,
                    waste_witnessed_by=None,
                    waste_recorded_at=None,
                    recorded_by=actor.user_id,
                    recorded_at=uow.now,
                )
            )
            uow.flush()
            view = self._day_view(uow, actor, patient, protocol, day)
            uow.commit()
            return view

    @staticmethod
    def _refuse_giving(
        patient: Patient, actor: Actor, facts: WorkflowFacts, weight_kg: object
    ) -> None:
        """Ask the start's guards of giving the drug (weight confirmed, pump double-checked,
        physician named) before the allocation and the countersignature happen."""
        decision = apply(state_of(patient), Event.START_INFUSION, actor.role, facts)
        mine = [r for r in decision.refusals if r.rule in GIVING_RULES]
        if mine:
            value = weight_kg if mine[0].field == "weight_kg" else None
            raise ValidationFailed(
                mine[0].field or "start",
                "; ".join(f"{r.message} ({r.source})" for r in mine),
                value,
            )

    @staticmethod
    def _check_bag_fields(bag: BagInput, *, visible: bool) -> None:
        """Who enters what: staff who see the drug enter the label's concentration; blinded
        staff never do (the concentration tells the arm, docs/blinding.md)."""
        given = bag.concentration_mg_per_ml
        if not visible and given is not None:
            raise ValidationFailed(
                "bag_concentration_mg_per_ml",
                "blinded staff confirm the bag's volume, not its concentration (the pharmacy "
                "confirmed it; PROTOCOL.md §3)",
                None,
            )
        if visible and given is None:
            raise ValidationFailed(
                "bag_concentration_mg_per_ml", "the concentration on the bag's label (mg/mL)", None
            )
        volume = bag.volume_ml
        if isinstance(volume, bool) or not isinstance(volume, int | float) or not volume > 0:
            raise ValidationFailed("bag_volume_ml", "the volume on the bag's label (mL)", volume)

    @staticmethod
    def _check_bag_and_pump(
        protocol: Protocol,
        drug: str,
        weight_kg: float,
        bag: BagInput,
        rate: float,
        visible: bool,
        uow: UnitOfWork,
    ) -> Dose:
        """The bag against the dose, the pump against the rate (§4, §6); the dose."""
        dose = dose_for(protocol, drug, weight_kg)
        core_call(
            check_bag,
            expiry=bag.expiry,
            today=uow.now.date(),
            concentration_mg_per_ml=bag.concentration_mg_per_ml if visible else None,
            protocol_concentration_mg_per_ml=dose.concentration_mg_per_ml,
            volume_ml=bag.volume_ml,
            dose_volume_ml=dose.volume_ml,
            volume_step_ml=protocol.dose_for(drug).volume_rounding_ml,
        )
        step = protocol.dose_for(drug).rate_rounding_ml_per_h
        if not abs(float(rate) - dose.rate_ml_per_h) <= step / 2:
            raise ValidationFailed(
                "pump_rate_ml_per_h",
                f"the pump is set to {float(rate):g} mL/h but the dose runs at "
                f"{dose.rate_ml_per_h:g} mL/h: set the pump again (§4)",
                rate,
            )
        return dose

    def end(
        self,
        actor: Actor,
        patient_id: int,
        infusion_number: int,
        *,
        expected_version: int,
        ended_at: dt.datetime | None = None,
        early_stop: EarlyStop | None = None,
    ) -> InfusionDayView:
        """Record the end of the infusion (the clinic's observation counts from it, §6).

        ``ended_at``: when it ended (None: now), not before the start nor in the future. An
        ``early_stop`` records the volume actually given and why; the mg given is recomputed
        from that volume and the bag's concentration (otherwise the whole bag was given).
        """
        reason = None
        if early_stop is not None:
            reason = early_stop.reason.strip() if isinstance(early_stop.reason, str) else ""
            if not reason:
                raise ValidationFailed(
                    "early_stop_reason", "say why the infusion was stopped early", early_stop.reason
                )
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_RECORD)
            day = self._day(uow, patient, infusion_number)
            check_editable("infusion", day, expected_version)
            if day.ended_at is not None:
                raise ConflictError("infusion", day.id, "already ended")
            when = core_call(
                check_end_time,
                ended_at or uow.now,
                day.started_at,
                uow.now,
                infusion_minutes=day.infusion_minutes,
                stopped_early=early_stop is not None,
            )
            given = day.volume_ml if early_stop is None else early_stop.volume_given_ml
            if early_stop is not None and given == day.volume_ml:
                raise ValidationFailed(
                    "volume_given_ml",
                    f"the whole {day.volume_ml:g} mL was given: not an early stop",
                    given,
                )
            administration = self._administration(uow, day)
            concentration = (
                administration.bag_concentration_mg_per_ml
                if administration is not None
                else day.concentration_mg_per_ml
            )
            mg = core_call(dose_given_mg, given, day.volume_ml, concentration)
            day.ended_at = when
            if administration is not None:
                administration.stopped_early = early_stop is not None
                administration.early_stop_reason = reason
                administration.volume_given_ml = float(given)
                administration.dose_given_mg = day.dose_mg if early_stop is None else mg
            uow.flush()
            view = self._day_view(uow, actor, patient, protocol, day)
            uow.commit()
            return view

    def record_waste(
        self,
        actor: Actor,
        patient_id: int,
        infusion_number: int,
        *,
        volume_wasted_ml: float,
        witness: Countersign,
    ) -> InfusionDayView:
        """The volume left in the bag and discarded, witnessed by a second staff member
        (drug accountability of a Schedule III/IV drug). At most the bag's volume less the
        volume given; recorded once the infusion has ended."""
        v = volume_wasted_ml
        if isinstance(v, bool) or not isinstance(v, int | float) or not v >= 0:
            raise ValidationFailed("volume_wasted_ml", "mL discarded, 0 or more", v)
        with self._ctx.uow(actor, write=False) as uow:
            patient, _ = self._patient(uow, actor, patient_id, Action.INFUSION_RECORD)
            day = self._day(uow, patient, infusion_number)
            administration = self._administration(uow, day)
            self._check_waste(day, administration, float(v))
            study_id = patient.study_id
        witness_id, _ = self._countersign(
            actor,
            witness,
            purpose="controlled-drug waste witnessed",
            record=f"{study_id} infusion {infusion_number}",
        )
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_RECORD)
            day = self._day(uow, patient, infusion_number)
            administration = self._check_waste(day, self._administration(uow, day), float(v))
            administration.volume_wasted_ml = float(v)
            administration.waste_witnessed_by = witness_id
            administration.waste_recorded_at = uow.now
            uow.flush()
            view = self._day_view(uow, actor, patient, protocol, day)
            uow.commit()
            return view

    @staticmethod
    def _check_waste(
        day: InfusionDay, administration: DrugAdministration | None, volume: float
    ) -> DrugAdministration:
        if administration is None or administration.volume_given_ml is None:
            raise ConflictError("infusion", day.id, "record the end (the volume given) first")
        if administration.volume_wasted_ml is not None:
            raise ConflictError("infusion", day.id, "the waste is already recorded")
        left = administration.bag_volume_ml - administration.volume_given_ml
        if volume > left + 1e-9:
            raise ValidationFailed(
                "volume_wasted_ml",
                f"at most {left:g} mL is left in the bag ({administration.bag_volume_ml:g} mL "
                f"less {administration.volume_given_ml:g} mL given)",
                volume,
            )
        return administration

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


def _maintenance_facts(uow: UnitOfWork, patient: Patient, protocol: Protocol) -> dict[str, Any]:
    """The series' length and the open maintenance schedule's interval and window (§8)."""
    facts: dict[str, Any] = {"acute_infusion_count": protocol.schedule.infusion_count}
    facts.update(retreatment_facts(uow, patient))  # a retreatment series' numbering (issue 13)
    schedule = open_schedule(uow, patient)
    if schedule is not None:
        option = next((o for o in iv_options(protocol) if o.id == schedule.option_id), None)
        facts["maintenance_interval_days"] = schedule.interval_days
        facts["maintenance_window_days"] = option.window_days if option is not None else 0
    return facts
