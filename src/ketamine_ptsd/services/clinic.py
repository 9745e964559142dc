"""Clinic mode (the clinical pathway, open label): treatment resistance, contraindication
decisions, the safety plan, the maintenance plan and the relapse-watch dates.

PROTOCOL.md §2: treatment resistance must be documented (≥ 1 adequate trial of trauma-focused
psychotherapy, ≥ 2 SSRI/SNRI trials at therapeutic dose and duration); relative contraindications
need a documented risk-benefit decision; active suicidal intent needs a documented safety plan.
§8: maintenance is planned before the series (periodic IV ketamine, intranasal esketamine under
REMS, trauma-focused psychotherapy); response lasted a median 27.5 days (quartiles 23, 32) in the
RCT, which gives the relapse-watch dates after the patient's own primary outcome day.

These documents feed the eligibility decision (services/screening.py derives
``adequate_*_trials``, ``safety_plan_documented`` and ``maintenance_plan_documented`` from them),
so a clinician records them and then asks screening to re-evaluate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.rules import (
    MaintenanceOptionStatus,
    RelapseWatch,
    maintenance_options,
    relapse_watch_dates,
)

from ._workflow import core_call, entered, not_in_future, require_open
from .access import Actor, require_patient
from .context import ServiceContext
from .errors import NotFound, ValidationFailed
from .followup import response_facts
from .patients import load_patient
from .protocol_versions import patient_protocol
from .records import MaintenancePlan, Patient, SafetyPlan, TreatmentResistance
from .screening import RiskBenefitView, ScreeningService
from .uow import UnitOfWork

__all__ = [
    "ClinicService",
    "MaintenancePlanView",
    "MedicationTrial",
    "PsychotherapyTrial",
    "SafetyPlanInput",
    "SafetyPlanView",
    "TreatmentResistanceView",
]

TRAUMA_FOCUSED_THERAPIES = ("prolonged_exposure", "cognitive_processing_therapy", "emdr", "other")


@dataclass(frozen=True)
class PsychotherapyTrial:
    """One course of trauma-focused psychotherapy (PE, CPT, EMDR, …)."""

    therapy: str
    sessions: int
    adequate: bool
    ended_on: dt.date | None = None


@dataclass(frozen=True)
class MedicationTrial:
    """One SSRI/SNRI trial; ``adequate``: therapeutic dose and duration (§2)."""

    drug: str
    dose_mg: float
    weeks: int
    adequate: bool


@dataclass(frozen=True)
class TreatmentResistanceView:
    id: int
    patient_id: int
    adequate_psychotherapy_trials: int
    adequate_ssri_snri_trials: int
    documented: bool  # meets §2 (≥ 1 and ≥ 2)
    version: int


@dataclass(frozen=True)
class SafetyPlanInput:
    documented_on: dt.date
    warning_signs: str
    coping_strategies: str
    contacts: str
    means_restriction: str


@dataclass(frozen=True)
class SafetyPlanView:
    id: int
    patient_id: int
    documented_on: dt.date
    version: int


@dataclass(frozen=True)
class MaintenancePlanView:
    id: int
    patient_id: int
    option_ids: tuple[str, ...]
    interval_days: int | None
    planned_on: dt.date
    version: int


class ClinicService:
    """The clinic's documents (see the module docstring); clinic-mode patients only."""

    def __init__(self, ctx: ServiceContext, screening: ScreeningService) -> None:
        self._ctx = ctx
        self._screening = screening

    def _clinic_patient(
        self, uow: UnitOfWork, actor: Actor, patient_id: int, action: Action
    ) -> Patient:
        patient = load_patient(uow, patient_id)
        require_patient(actor, action, patient)
        if patient.mode != "clinic":
            raise ValidationFailed("patient_id", "clinic-mode patients only", patient_id)
        if action is Action.CLINIC_PLAN_RECORD:
            require_open(patient)
        return patient

    # --- treatment resistance ----------------------------------------------------------------

    def record_treatment_resistance(
        self,
        actor: Actor,
        patient_id: int,
        *,
        psychotherapy_trials: Sequence[PsychotherapyTrial],
        medication_trials: Sequence[MedicationTrial],
        documented_on: dt.date,
    ) -> TreatmentResistanceView:
        """Document earlier treatments (§2); the counts of adequate trials feed eligibility."""
        for i, t in enumerate(psychotherapy_trials, start=1):
            if t.therapy not in TRAUMA_FOCUSED_THERAPIES:
                raise ValidationFailed(
                    f"psychotherapy_trials.{i}.therapy",
                    f"one of {', '.join(TRAUMA_FOCUSED_THERAPIES)}",
                    t.therapy,
                )
            if t.sessions < 1:
                raise ValidationFailed(
                    f"psychotherapy_trials.{i}.sessions", "at least 1", t.sessions
                )
        for i, m in enumerate(medication_trials, start=1):
            if not m.drug.strip():
                raise ValidationFailed(f"medication_trials.{i}.drug", "must not be blank", m.drug)
            if not 0 < m.dose_mg <= 1000 or not 0 < m.weeks <= 520:
                raise ValidationFailed(
                    f"medication_trials.{i}", "dose_mg 0-1000 and weeks 1-520", m.dose_mg
                )
        with self._ctx.uow(actor, write=True) as uow:
            patient = self._clinic_patient(uow, actor, patient_id, Action.CLINIC_PLAN_RECORD)
            not_in_future("documented_on", documented_on, uow.now.date())
            record = TreatmentResistance(
                patient_id=patient.id,
                psychotherapy_trials=[t.__dict__ for t in psychotherapy_trials],
                medication_trials=[m.__dict__ for m in medication_trials],
                documented_on=documented_on,
                **entered(actor, uow.now),
            )
            record.psychotherapy_trials = [
                {**t, "ended_on": t["ended_on"].isoformat() if t["ended_on"] else None}
                for t in record.psychotherapy_trials
            ]
            uow.session.add(record)
            uow.flush()
            therapy = sum(1 for t in psychotherapy_trials if t.adequate)
            ssri = sum(1 for m in medication_trials if m.adequate)
            view = TreatmentResistanceView(
                record.id, patient.id, therapy, ssri, therapy >= 1 and ssri >= 2, record.version
            )
            uow.commit()
            return view

    # --- contraindication decisions ------------------------------------------------------------

    def record_contraindication_decision(
        self,
        actor: Actor,
        patient_id: int,
        *,
        criterion_id: str,
        proceed: bool,
        decided_on: dt.date,
        rationale: str,
        decided_by_name: str | None = None,
    ) -> RiskBenefitView:
        """A risk-benefit decision on a relative contraindication (§2; who, when, why)."""
        return self._screening.record_risk_benefit_decision(
            actor,
            patient_id,
            criterion_id=criterion_id,
            proceed=proceed,
            decided_on=decided_on,
            rationale=rationale,
            decided_by_name=decided_by_name,
        )

    # --- safety plan -------------------------------------------------------------------------

    def record_safety_plan(
        self, actor: Actor, patient_id: int, plan: SafetyPlanInput
    ) -> SafetyPlanView:
        """Document a safety plan (§2: treatment with active suicidal intent needs one)."""
        for name in ("warning_signs", "coping_strategies", "contacts", "means_restriction"):
            if not getattr(plan, name).strip():
                raise ValidationFailed(name, "must not be blank", getattr(plan, name))
        with self._ctx.uow(actor, write=True) as uow:
            patient = self._clinic_patient(uow, actor, patient_id, Action.CLINIC_PLAN_RECORD)
            not_in_future("documented_on", plan.documented_on, uow.now.date())
            record = SafetyPlan(
                patient_id=patient.id,
                documented_on=plan.documented_on,
                warning_signs=plan.warning_signs.strip(),
                coping_strategies=plan.coping_strategies.strip(),
                contacts=plan.contacts.strip(),
                means_restriction=plan.means_restriction.strip(),
                **entered(actor, uow.now),
            )
            uow.session.add(record)
            uow.flush()
            view = SafetyPlanView(record.id, patient.id, record.documented_on, record.version)
            uow.commit()
            return view

    # --- maintenance ---------------------------------------------------------------------------

    def maintenance_options(
        self, actor: Actor, patient_id: int, site_facts: Mapping[str, bool]
    ) -> tuple[MaintenanceOptionStatus, ...]:
        """The protocol's maintenance options with what the site still lacks (§8)."""
        with self._ctx.uow(actor, write=False) as uow:
            patient = self._clinic_patient(uow, actor, patient_id, Action.CLINIC_PLAN_READ)
            protocol = patient_protocol(self._ctx, uow, patient)
            return core_call(maintenance_options, protocol, dict(site_facts))

    def record_maintenance_plan(
        self,
        actor: Actor,
        patient_id: int,
        *,
        option_ids: Sequence[str],
        site_facts: Mapping[str, bool],
        planned_on: dt.date,
        interval_days: int | None = None,
        notes: str | None = None,
    ) -> MaintenancePlanView:
        """Plan maintenance before the series (§8); an option whose needs are unmet is refused."""
        if not option_ids:
            raise ValidationFailed("option_ids", "choose at least one option", list(option_ids))
        with self._ctx.uow(actor, write=True) as uow:
            patient = self._clinic_patient(uow, actor, patient_id, Action.CLINIC_PLAN_RECORD)
            not_in_future("planned_on", planned_on, uow.now.date())
            protocol = patient_protocol(self._ctx, uow, patient)
            options = {o.id: o for o in core_call(maintenance_options, protocol, dict(site_facts))}
            for option_id in option_ids:
                option = options.get(option_id)
                if option is None:
                    raise ValidationFailed(
                        "option_ids", f"options are {', '.join(options)}", option_id
                    )
                if not option.available:
                    raise ValidationFailed(
                        "option_ids",
                        f"{option.label} needs {'; '.join(option.unmet)} ({option.section})",
                        option_id,
                    )
                if interval_days is not None and interval_days not in option.interval_days:
                    raise ValidationFailed(
                        "interval_days",
                        f"{option.label}: every {' or '.join(map(str, option.interval_days))} days",
                        interval_days,
                    )
            record = MaintenancePlan(
                patient_id=patient.id,
                option_ids=list(option_ids),
                site_facts={k: bool(v) for k, v in site_facts.items()},
                interval_days=interval_days,
                notes=notes,
                planned_on=planned_on,
                **entered(actor, uow.now),
            )
            uow.session.add(record)
            uow.flush()
            view = MaintenancePlanView(
                record.id,
                patient.id,
                tuple(record.option_ids),
                record.interval_days,
                record.planned_on,
                record.version,
            )
            uow.commit()
            return view

    def maintenance_plan(self, actor: Actor, patient_id: int) -> MaintenancePlanView:
        with self._ctx.uow(actor, write=False) as uow:
            patient = self._clinic_patient(uow, actor, patient_id, Action.CLINIC_PLAN_READ)
            record = uow.session.scalars(
                select(MaintenancePlan)
                .where(
                    MaintenancePlan.patient_id == patient.id, MaintenancePlan.voided_at.is_(None)
                )
                .order_by(MaintenancePlan.id.desc())
            ).first()
            if record is None:
                raise NotFound("maintenance plan of patient", patient.study_id)
            return MaintenancePlanView(
                record.id,
                patient.id,
                tuple(record.option_ids),
                record.interval_days,
                record.planned_on,
                record.version,
            )

    def relapse_watch(self, actor: Actor, patient_id: int) -> tuple[RelapseWatch, ...]:
        """Dates by which a quarter, half and three quarters of RCT responders had relapsed,
        counted from this patient's primary outcome day (§8); responders only."""
        with self._ctx.uow(actor, write=False) as uow:
            patient = self._clinic_patient(uow, actor, patient_id, Action.CLINIC_PLAN_READ)
            protocol = patient_protocol(self._ctx, uow, patient)
            response, _ = response_facts(uow, protocol, patient)
            if response is None:
                raise NotFound("week-2 response of patient", patient.study_id)
            if not response.responder:
                raise ValidationFailed(
                    "patient_id", "relapse watch applies to responders (§8)", patient_id
                )
            return core_call(relapse_watch_dates, protocol, response.primary_day)
