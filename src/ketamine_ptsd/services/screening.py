"""Screening: the visit's facts and measures, the eligibility decision, CONSORT outcomes.

SYSTEM.md capability 3; PROTOCOL.md §1 (RCT inclusion/exclusion and what screening records), §2
(clinical pathway: treatment resistance, absolute and relative contraindications, the safety plan
for active suicidal intent, the consent topics).

How a decision is made:

* the visit records the protocol's facts (its own vocabulary, e.g. ``age_years``,
  ``current_opioid``) and the screening measures — the CAPS-5 past-month items are scored by the
  instrument and give ``caps5_past_month_total`` (§1: ≥ 30), so the number cannot disagree with
  the items; C-SSRS and CGI-S are scored too;
* facts that other records already prove are *derived*, never typed: consent and the independent
  capacity assessment from the consent record (§1), the consent topics of §2, the clinic's
  treatment-resistance documentation, safety plan and maintenance plan (services/clinic.py). No
  record → the fact is missing (the decision is ``incomplete``), not false;
* relative contraindications are decided by a recorded risk-benefit decision (who, when,
  rationale — :meth:`ScreeningService.record_risk_benefit_decision`), then re-evaluated;
* :func:`ketamine_ptsd.core.rules.evaluate_eligibility` decides; every criterion's status, reason
  and § are stored with the decision (a signable record), and an eligible or ineligible decision
  writes the CONSORT outcome (``screening_outcomes``) and the patient's status in the same
  transaction. Refusals are recorded with :meth:`ScreeningService.record_refusal`.

Demographics for Table 1 (PROTOCOL.md §10) are recorded here too: they are collected at screening.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from ketamine_ptsd.core.instruments import score
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.rules import (
    CriterionStatus,
    EligibilityStatus,
    RiskBenefitDecision,
    bmi,
    check_height,
    check_weight,
    evaluate_eligibility,
)
from ketamine_ptsd.core.workflow import SCREENING_OPEN, Event

from ._workflow import (
    check_editable,
    core_call,
    entered,
    need_reason,
    not_in_future,
    require_open,
)
from .access import Actor, require_patient
from .alerts import raise_suicide_risk_alert
from .context import ServiceContext
from .errors import ConflictError, NotFound, ValidationFailed
from .patients import PatientService, ScreeningView, load_patient, screening_view
from .protocol_versions import patient_protocol
from .records import (
    Consent,
    Demographics,
    EligibilityDecisionRecord,
    MaintenancePlan,
    Patient,
    RiskBenefitDecisionRecord,
    SafetyPlan,
    ScreeningOutcome,
    ScreeningVisit,
    TreatmentResistance,
    User,
)
from .screening_views import (
    DERIVED_FACTS,
    CriterionView,
    DemographicsInput,
    DemographicsView,
    EligibilityView,
    RiskBenefitView,
    ScreeningVisitInput,
    ScreeningVisitView,
    Sex,
    check_demographics,
    check_facts,
    decision_view,
)
from .uow import UnitOfWork
from .workflow import load_facts, state_of, transition

__all__ = [
    "DERIVED_FACTS",
    "CriterionView",
    "DemographicsInput",
    "DemographicsView",
    "EligibilityView",
    "RiskBenefitView",
    "ScreeningService",
    "ScreeningVisitInput",
    "ScreeningVisitView",
    "Sex",
]


#: PROTOCOL.md §2 consent topics (patients.CLINIC_CONSENT_TOPICS) → the clinical protocol's facts.
_CONSENT_TOPIC_FACTS: Mapping[str, tuple[str, ...]] = {
    "consent_off_label_use": ("off_label_use",),
    "consent_expected_dissociation": ("dissociation",),
    "consent_post_infusion_monitoring": ("post_infusion_monitoring",),
    "consent_limited_durability_maintenance": ("limited_durability", "maintenance_plan"),
}


class ScreeningService:
    """Screening visits, eligibility decisions, risk-benefit decisions, refusals, demographics."""

    def __init__(self, ctx: ServiceContext, patients: PatientService) -> None:
        self._ctx = ctx
        self._patients = patients

    # --- facts the record already proves -----------------------------------------------------

    @staticmethod
    def _derived_facts(uow: UnitOfWork, patient: Patient) -> dict[str, bool | int]:
        """Facts from other records; a fact without a record is left out (→ missing)."""
        derived: dict[str, bool | int] = {}
        consents = list(
            uow.session.scalars(
                select(Consent).where(Consent.patient_id == patient.id, Consent.voided_at.is_(None))
            )
        )
        if consents:
            derived["written_informed_consent"] = True
            derived["independent_capacity_confirmed"] = any(
                c.capacity_assessed and bool((c.capacity_assessor or "").strip()) for c in consents
            )
            topics = {t for c in consents for t in c.topics}
            for fact, needed in _CONSENT_TOPIC_FACTS.items():
                derived[fact] = all(t in topics for t in needed)

        def live(cls: Any) -> Any:
            return uow.session.scalars(
                select(cls)
                .where(cls.patient_id == patient.id, cls.voided_at.is_(None))
                .order_by(cls.id.desc())
            ).first()

        resistance = live(TreatmentResistance)
        if resistance is not None:
            derived["adequate_trauma_focused_psychotherapy_trials"] = sum(
                1 for t in resistance.psychotherapy_trials if t.get("adequate")
            )
            derived["adequate_ssri_snri_trials"] = sum(
                1 for t in resistance.medication_trials if t.get("adequate")
            )
        if live(SafetyPlan) is not None:
            derived["safety_plan_documented"] = True
        if live(MaintenancePlan) is not None:
            derived["maintenance_plan_documented"] = True
        return derived

    @staticmethod
    def _decisions(uow: UnitOfWork, patient: Patient) -> dict[str, RiskBenefitDecision]:
        rows = uow.session.scalars(
            select(RiskBenefitDecisionRecord)
            .where(
                RiskBenefitDecisionRecord.patient_id == patient.id,
                RiskBenefitDecisionRecord.voided_at.is_(None),
            )
            .order_by(RiskBenefitDecisionRecord.id)
        )
        return {
            r.criterion_id: RiskBenefitDecision(
                r.proceed, f"{r.decided_by_name} on {r.decided_on.isoformat()}", r.rationale
            )
            for r in rows
        }

    def _evaluate(
        self, uow: UnitOfWork, protocol: Protocol, patient: Patient, visit: ScreeningVisit
    ) -> EligibilityView:
        """Evaluate, store the decision and (when final) the CONSORT outcome and status."""
        facts: dict[str, Any] = dict(visit.facts)
        facts.update(self._derived_facts(uow, patient))
        total = visit.measures.get("caps5_past_month", {}).get("total")
        if total is not None:
            facts["caps5_past_month_total"] = total
        decision = core_call(evaluate_eligibility, protocol, facts, self._decisions(uow, patient))
        record = EligibilityDecisionRecord(
            patient_id=patient.id,
            visit_id=visit.id,
            status=decision.status.value,
            criteria=[
                {
                    "criterion_id": r.criterion_id,
                    "kind": r.kind,
                    "section": r.section,
                    "status": r.status.value,
                    "reason": r.reason,
                }
                for r in decision.results
            ],
            facts_used=facts,
            evaluated_at=uow.now,
            evaluated_by=uow.actor.user_id,
        )
        uow.session.add(record)
        outcome: str | None = None
        if decision.status in (EligibilityStatus.ELIGIBLE, EligibilityStatus.INELIGIBLE):
            outcome = "eligible" if decision.eligible else "screen_failed"
            reasons = [
                f"{r.reason} ({r.section})"
                for r in decision.results
                if r.status is CriterionStatus.FAIL
            ]
            uow.session.add(
                ScreeningOutcome(
                    patient_id=patient.id,
                    outcome=outcome,
                    decided_on=visit.visit_date,
                    reasons=reasons,
                    recorded_by=uow.actor.user_id,
                    recorded_at=uow.now,
                    voided_at=None,
                    voided_by=None,
                    void_reason=None,
                )
            )
        transition(uow, patient, Event.DECIDE_ELIGIBILITY, eligibility=decision.status)
        uow.flush()
        return decision_view(record, outcome)

    # --- the visit -----------------------------------------------------------------------------

    def record_visit(
        self, actor: Actor, patient_id: int, visit: ScreeningVisitInput
    ) -> ScreeningVisitView:
        """Record the screening visit and decide eligibility with every criterion's reason."""
        facts = check_facts(visit.facts)
        measures = self._score_measures(visit)
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id, lock=True)
            require_patient(actor, Action.SCREENING_RECORD, patient)
            require_open(patient)
            self._require_screening_open(patient)
            not_in_future("visit_date", visit.visit_date, uow.now.date())
            protocol = patient_protocol(self._ctx, uow, patient)
            record = ScreeningVisit(
                patient_id=patient.id,
                visit_date=visit.visit_date,
                protocol_version=protocol.version,
                facts=facts,
                measures=measures,
                **entered(actor, uow.now),
            )
            uow.session.add(record)
            uow.flush()
            if "cssrs" in measures:
                raise_suicide_risk_alert(
                    uow,
                    protocol,
                    patient,
                    derived=measures["cssrs"]["derived"],
                    where=f"screening on {visit.visit_date:%Y-%m-%d}",
                    source_table="screening_visits",
                    source_id=record.id,
                    raised_by=actor.user_id,
                )
            decision = self._evaluate(uow, protocol, patient, record)
            view = self._visit_view(record, decision)
            uow.commit()
            return view

    def edit_visit(
        self,
        actor: Actor,
        visit_id: int,
        *,
        expected_version: int,
        reason: str,
        facts: Mapping[str, bool | int | float],
    ) -> ScreeningVisitView:
        """Correct the visit's facts (with a reason) and decide again."""
        reason = need_reason(reason)
        cleaned = check_facts(facts)
        with self._ctx.uow(actor, write=True) as uow:
            record = uow.session.get(ScreeningVisit, visit_id)
            if record is None:
                raise NotFound("screening visit", visit_id)
            patient = load_patient(uow, record.patient_id, lock=True)
            require_patient(actor, Action.SCREENING_RECORD, patient)
            self._require_screening_open(patient)
            check_editable("screening visit", record, expected_version)
            uow.reason = reason
            record.facts = cleaned
            uow.flush()
            decision = self._evaluate(
                uow, patient_protocol(self._ctx, uow, patient), patient, record
            )
            view = self._visit_view(record, decision)
            uow.commit()
            return view

    def reevaluate(self, actor: Actor, patient_id: int) -> EligibilityView:
        """Decide again on the latest visit (after a risk-benefit decision, a safety plan, …)."""
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id, lock=True)
            require_patient(actor, Action.SCREENING_RECORD, patient)
            self._require_screening_open(patient)
            visit = self._latest_visit(uow, patient)
            decision = self._evaluate(
                uow, patient_protocol(self._ctx, uow, patient), patient, visit
            )
            uow.commit()
            return decision

    def override_eligibility(
        self,
        actor: Actor,
        patient_id: int,
        *,
        criteria: Sequence[str],
        reason: str,
        decided_on: dt.date,
    ) -> ScreeningView:
        """An investigator's decision that the patient is eligible although the latest decision
        of the rules found ``criteria`` failed or missing: every such criterion is named, the
        reason given, consent recorded (never overridable); audited as
        ``workflow.override_eligibility`` and kept as a screening outcome that names the
        overridden criteria (shown on the patient page and counted in CONSORT)."""
        named = tuple(dict.fromkeys(c.strip() for c in criteria if c.strip()))
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id, lock=True)
            require_patient(actor, Action.ELIGIBILITY_OVERRIDE, patient)
            require_open(patient)
            not_in_future("decided_on", decided_on, uow.now.date())
            facts = load_facts(
                uow,
                patient,
                ("consent", "eligibility"),
                named_criteria=named,
                reasons=(reason.strip(),),
            )
            uow.reason = f"eligibility override: {reason.strip()}"
            transition(uow, patient, Event.OVERRIDE_ELIGIBILITY, facts=facts)
            latest = uow.session.scalars(
                select(EligibilityDecisionRecord)
                .where(EligibilityDecisionRecord.patient_id == patient.id)
                .order_by(EligibilityDecisionRecord.id.desc())
            ).first()
            assert latest is not None  # the guard refuses an override with no decision
            overridden = [
                f"overridden: {c['reason']} ({c['section']})"
                for c in latest.criteria
                if c["criterion_id"] in named
            ]
            record = ScreeningOutcome(
                patient_id=patient.id,
                outcome="eligible",
                decided_on=decided_on,
                reasons=[f"investigator override: {reason.strip()}", *overridden],
                override_criteria=list(named),
                **entered(actor, uow.now),
            )
            uow.session.add(record)
            uow.flush()
            view = screening_view(record)
            uow.commit()
            return view

    @staticmethod
    def _require_screening_open(patient: Patient) -> None:
        if state_of(patient) not in SCREENING_OPEN:
            raise ConflictError(
                "patient", patient.study_id, f"screening is closed (status {patient.status})"
            )

    @staticmethod
    def _latest_visit(uow: UnitOfWork, patient: Patient) -> ScreeningVisit:
        visit = uow.session.scalars(
            select(ScreeningVisit)
            .where(ScreeningVisit.patient_id == patient.id, ScreeningVisit.voided_at.is_(None))
            .order_by(ScreeningVisit.id.desc())
        ).first()
        if visit is None:
            raise NotFound("screening visit of patient", patient.study_id)
        return visit

    @staticmethod
    def _score_measures(visit: ScreeningVisitInput) -> dict[str, Any]:
        measures: dict[str, Any] = {"checks": dict(visit.checks)}
        if visit.weight_kg is not None or visit.height_cm is not None:
            weight = None if visit.weight_kg is None else core_call(check_weight, visit.weight_kg)
            height = None if visit.height_cm is None else core_call(check_height, visit.height_cm)
            measures["body"] = {
                "weight_kg": weight,
                "height_cm": height,
                "bmi_kg_m2": None if weight is None or height is None else bmi(weight, height),
            }
        for name, instrument, items in (
            ("caps5_past_month", "caps5_past_month", visit.caps5_past_month),
            ("cssrs", "cssrs", visit.cssrs),
            ("cgi_s", "cgi_s", None if visit.cgi_s is None else {"1": visit.cgi_s}),
        ):
            if items is None:
                continue
            scored = core_call(score, instrument, items)
            measures[name] = {
                "items": scored.items,
                "total": scored.total,
                "subscales": scored.subscales,
                "derived": scored.derived,
            }
        return measures

    @staticmethod
    def _visit_view(record: ScreeningVisit, decision: EligibilityView) -> ScreeningVisitView:
        return ScreeningVisitView(
            record.id,
            record.patient_id,
            record.visit_date,
            dict(record.facts),
            dict(record.measures),
            record.version,
            decision,
        )

    # --- decisions, refusals ------------------------------------------------------------------

    def record_risk_benefit_decision(
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
        """Document who decided, when and why on a relative contraindication (PROTOCOL.md §2)."""
        if len(rationale.strip()) < 10:
            raise ValidationFailed(
                "rationale", "state the risk-benefit rationale (at least 10 characters)", rationale
            )
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.SCREENING_RECORD, patient)
            require_open(patient)
            not_in_future("decided_on", decided_on, uow.now.date())
            protocol = patient_protocol(self._ctx, uow, patient)
            kinds = {c.id: c.kind for c in protocol.eligibility}
            if kinds.get(criterion_id) != "relative_contraindication":
                raise ValidationFailed(
                    "criterion_id",
                    f"not a relative contraindication of protocol {protocol.name!r}",
                    criterion_id,
                )
            name = (decided_by_name or "").strip()
            if not name:
                user = uow.session.get(User, actor.user_id) if actor.user_id else None
                name = user.full_name if user is not None else actor.username
            record = RiskBenefitDecisionRecord(
                patient_id=patient.id,
                criterion_id=criterion_id,
                proceed=proceed,
                decided_by_name=name,
                decided_on=decided_on,
                rationale=rationale.strip(),
                **entered(actor, uow.now),
            )
            uow.session.add(record)
            uow.flush()
            view = RiskBenefitView(
                record.id,
                record.patient_id,
                record.criterion_id,
                record.proceed,
                record.decided_by_name,
                record.decided_on,
                record.rationale,
                record.recorded_at,
                record.version,
            )
            uow.commit()
            return view

    def record_refusal(
        self, actor: Actor, patient_id: int, *, decided_on: dt.date, reason: str
    ) -> ScreeningView:
        """The patient declined (kept for CONSORT, PROTOCOL.md §10: 9 declined)."""
        return self._patients.record_screening_outcome(
            actor, patient_id, outcome="declined", decided_on=decided_on, reasons=[reason]
        )

    # --- reads ----------------------------------------------------------------------------------

    def decisions(self, actor: Actor, patient_id: int) -> list[EligibilityView]:
        """Every eligibility decision of the patient, oldest first."""
        with self._ctx.uow(actor, write=False) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.SCREENING_READ, patient)
            rows = uow.session.scalars(
                select(EligibilityDecisionRecord)
                .where(EligibilityDecisionRecord.patient_id == patient_id)
                .order_by(EligibilityDecisionRecord.id)
            )
            return [decision_view(r, None) for r in rows]

    def visits(self, actor: Actor, patient_id: int) -> list[ScreeningVisitView]:
        """Screening visits with their latest decision."""
        with self._ctx.uow(actor, write=False) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.SCREENING_READ, patient)
            out = []
            for visit in uow.session.scalars(
                select(ScreeningVisit)
                .where(ScreeningVisit.patient_id == patient_id)
                .order_by(ScreeningVisit.id)
            ):
                latest = uow.session.scalars(
                    select(EligibilityDecisionRecord)
                    .where(EligibilityDecisionRecord.visit_id == visit.id)
                    .order_by(EligibilityDecisionRecord.id.desc())
                ).first()
                assert latest is not None
                out.append(self._visit_view(visit, decision_view(latest, None)))
            return out

    # --- demographics (Table 1) ------------------------------------------------------------------

    def record_demographics(
        self,
        actor: Actor,
        patient_id: int,
        data: DemographicsInput,
        *,
        expected_version: int | None = None,
        reason: str | None = None,
    ) -> DemographicsView:
        """Create (``expected_version=None``) or correct (version + reason) Table 1 data."""
        check_demographics(data)
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.SCREENING_RECORD, patient)
            require_open(patient)
            record = uow.session.scalar(
                select(Demographics).where(Demographics.patient_id == patient_id)
            )
            values = dict(data.__dict__)
            if record is None:
                if expected_version is not None:
                    raise NotFound("demographics of patient", patient.study_id)
                record = Demographics(
                    patient_id=patient_id, recorded_by=actor.user_id, recorded_at=uow.now, **values
                )
                uow.session.add(record)
            else:
                if expected_version is None:
                    raise ConflictError(
                        "demographics of patient", patient.study_id, "already recorded; edit it"
                    )
                check_editable("demographics", record, expected_version)
                uow.reason = need_reason(reason)
                for name, value in values.items():
                    setattr(record, name, value)
            uow.flush()
            view = self._demographics_view(record)
            uow.commit()
            return view

    def demographics(self, actor: Actor, patient_id: int) -> DemographicsView:
        with self._ctx.uow(actor, write=False) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.SCREENING_READ, patient)
            record = uow.session.scalar(
                select(Demographics).where(Demographics.patient_id == patient_id)
            )
            if record is None:
                raise NotFound("demographics of patient", patient.study_id)
            return self._demographics_view(record)

    @staticmethod
    def _demographics_view(record: Demographics) -> DemographicsView:
        names: Sequence[str] = tuple(DemographicsInput.__dataclass_fields__)
        return DemographicsView(
            **{n: getattr(record, n) for n in names},
            patient_id=record.patient_id,
            version=record.version,
        )
