"""Screening visits and eligibility decisions (PROTOCOL.md §1, §2; SYSTEM.md capability 3)."""

from __future__ import annotations

import datetime as dt

import pytest
from service_support import PASSWORD  # type: ignore[import-not-found]
from workflow_support import (  # type: ignore[import-not-found]
    CLINIC_FACTS,
    RCT_FACTS,
    caps5_past_month,
    consent,
    screen_rct,
    workflow_services,
)

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import ConflictError, PermissionDenied, ValidationFailed
from ketamine_ptsd.services.clinic import MedicationTrial, PsychotherapyTrial, SafetyPlanInput
from ketamine_ptsd.services.screening import DemographicsInput, ScreeningVisitInput


@pytest.fixture
def wf(db, clock):  # type: ignore[no-untyped-def]
    return workflow_services(db, clock)


def test_an_eligible_rct_patient_gets_every_criterion_with_its_reason_and_section(
    wf, actors
) -> None:  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    pid = screen_rct(wf, investigator)
    [decision] = wf.screening.decisions(investigator, pid)
    assert decision.status == "eligible"
    assert {c.criterion_id for c in decision.criteria} >= {"age", "caps5_severity", "consent"}
    assert all(c.section == "PROTOCOL.md §1" for c in decision.criteria)
    caps = next(c for c in decision.criteria if c.criterion_id == "caps5_severity")
    assert "caps5_past_month_total = 42" in caps.reason  # scored from the items
    assert wf.patients.get(investigator, pid).status == "eligible"
    [outcome] = wf.patients.screening_outcomes(investigator, pid)
    assert outcome.outcome == "eligible"
    signature = wf.signatures.sign(
        investigator,
        password=PASSWORD,
        table_name="eligibility_decisions",
        record_id=decision.id,
        meaning="eligibility confirmed",
    )
    assert signature.valid


def test_a_caps5_below_30_is_a_screen_failure_kept_for_consort_with_its_reason(wf, actors) -> None:  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    pid = screen_rct(wf, investigator, caps5=29)
    [outcome] = wf.patients.screening_outcomes(investigator, pid)
    assert outcome.outcome == "screen_failed"
    assert any("CAPS-5" in r and "§1" in r for r in outcome.reasons)
    assert wf.patients.get(investigator, pid).status == "screen_failed"
    with pytest.raises(ConflictError, match="screening is closed"):
        wf.screening.reevaluate(investigator, pid)


def test_consent_is_derived_from_the_record_and_cannot_be_typed(wf, actors) -> None:  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    patient = wf.patients.register(investigator, protocol_name="rct", site="YAL")
    with pytest.raises(ValidationFailed) as refused:
        wf.screening.record_visit(
            investigator,
            patient.id,
            ScreeningVisitInput(
                dt.date(2026, 3, 1), facts={**RCT_FACTS, "written_informed_consent": True}
            ),
        )
    assert refused.value.field == "facts.written_informed_consent"
    view = wf.screening.record_visit(
        investigator,
        patient.id,
        ScreeningVisitInput(
            dt.date(2026, 3, 1), facts=RCT_FACTS, caps5_past_month=caps5_past_month(40)
        ),
    )
    assert view.decision.status == "incomplete"  # no consent record yet: missing, not false
    assert any("written_informed_consent not recorded" in r for r in view.decision.reasons)
    consent(wf, investigator, patient.id)
    assert wf.screening.reevaluate(investigator, patient.id).status == "eligible"


def test_an_invalid_caps5_item_is_refused_by_name_and_nothing_is_stored(wf, actors) -> None:  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    patient = wf.patients.register(investigator, protocol_name="rct", site="YAL")
    bad = {**caps5_past_month(40), "7": 5}
    with pytest.raises(ValidationFailed) as refused:
        wf.screening.record_visit(
            investigator,
            patient.id,
            ScreeningVisitInput(dt.date(2026, 3, 1), facts=RCT_FACTS, caps5_past_month=bad),
        )
    assert refused.value.field == "caps5.item_7"
    assert wf.screening.visits(investigator, patient.id) == []


def test_clinic_relative_contraindication_needs_a_recorded_risk_benefit_decision(
    wf, actors
) -> None:  # type: ignore[no-untyped-def]
    clinician = actors[Role.CLINICIAN]
    patient = wf.patients.register(clinician, protocol_name="clinical", site="CLN")
    consent(wf, clinician, patient.id)
    wf.clinic.record_treatment_resistance(
        clinician,
        patient.id,
        psychotherapy_trials=[PsychotherapyTrial("prolonged_exposure", 12, True)],
        medication_trials=[
            MedicationTrial("sertraline", 200, 12, True),
            MedicationTrial("venlafaxine", 225, 10, True),
        ],
        documented_on=dt.date(2026, 3, 1),
    )
    wf.clinic.record_maintenance_plan(
        clinician,
        patient.id,
        option_ids=["iv_ketamine_periodic"],
        site_facts={"setting_continuous_monitoring": True},
        planned_on=dt.date(2026, 3, 1),
        interval_days=14,
    )
    facts = {**CLINIC_FACTS, "history_substance_use_disorder": True, "active_suicidal_intent": True}
    view = wf.screening.record_visit(
        clinician, patient.id, ScreeningVisitInput(dt.date(2026, 3, 1), facts=facts)
    )
    assert view.decision.status == "pending"
    statuses = {c.criterion_id: c.status for c in view.decision.criteria}
    assert statuses["substance_use_disorder_history"] == "needs_risk_benefit_decision"
    assert statuses["suicidal_intent"] == "needs_safety_plan"
    assert statuses["ssri_snri_trials"] == "pass"
    decision = wf.clinic.record_contraindication_decision(
        clinician,
        patient.id,
        criterion_id="substance_use_disorder_history",
        proceed=True,
        decided_on=dt.date(2026, 3, 1),
        rationale="in sustained remission for 6 years; benefit outweighs the risk",
    )
    assert decision.decided_by_name == "Test clinician"
    assert wf.screening.reevaluate(clinician, patient.id).status == "pending"  # safety plan
    wf.clinic.record_safety_plan(
        clinician,
        patient.id,
        SafetyPlanInput(
            dt.date(2026, 3, 1), "insomnia, isolation", "walk, call sister", "crisis line", "none"
        ),
    )
    final = wf.screening.reevaluate(clinician, patient.id)
    assert final.status == "eligible"
    reason = next(
        c.reason for c in final.criteria if c.criterion_id == "substance_use_disorder_history"
    )
    assert "Test clinician" in reason and "sustained remission" in reason


def test_a_risk_benefit_decision_only_for_a_relative_contraindication(wf, actors) -> None:  # type: ignore[no-untyped-def]
    clinician = actors[Role.CLINICIAN]
    patient = wf.patients.register(clinician, protocol_name="clinical", site="CLN")
    with pytest.raises(ValidationFailed) as refused:
        wf.clinic.record_contraindication_decision(
            clinician,
            patient.id,
            criterion_id="acute_mania",
            proceed=True,
            decided_on=dt.date(2026, 3, 1),
            rationale="an absolute contraindication cannot be weighed",
        )
    assert refused.value.field == "criterion_id"


def test_refusals_and_demographics_and_permissions(wf, actors) -> None:  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    patient = wf.patients.register(investigator, protocol_name="rct", site="YAL")
    with pytest.raises(PermissionDenied):
        wf.screening.record_visit(
            actors[Role.NURSE], patient.id, ScreeningVisitInput(dt.date(2026, 3, 1))
        )
    demo = wf.screening.record_demographics(
        investigator, patient.id, DemographicsInput(age_years=39, sex="female", bmi_kg_m2=25.2)
    )
    with pytest.raises(ValidationFailed, match="reason"):
        wf.screening.record_demographics(
            investigator,
            patient.id,
            DemographicsInput(age_years=40, sex="female"),
            expected_version=demo.version,
        )
    with pytest.raises(ConflictError):
        wf.screening.record_demographics(
            investigator,
            patient.id,
            DemographicsInput(age_years=40),
            expected_version=demo.version + 1,
            reason="typo",
        )
    assert wf.screening.demographics(investigator, patient.id).age_years == 39
    refusal = wf.screening.record_refusal(
        investigator, patient.id, decided_on=dt.date(2026, 3, 1), reason="declined infusions"
    )
    assert refusal.outcome == "declined"
    assert wf.patients.get(investigator, patient.id).status == "declined"
