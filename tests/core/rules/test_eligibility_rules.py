"""Eligibility: every criterion evaluated with its reason and § (PROTOCOL.md §1, §2)."""

from __future__ import annotations

from typing import Any

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import (
    CriterionStatus,
    EligibilityStatus,
    RiskBenefitDecision,
    evaluate_eligibility,
)


def _status_of(decision: Any, criterion_id: str) -> CriterionStatus:
    return next(r.status for r in decision.results if r.criterion_id == criterion_id)


def test_rct_patient_meeting_every_criterion_is_eligible(
    rct: Protocol, rct_eligible_facts: dict[str, Any]
) -> None:
    decision = evaluate_eligibility(rct, rct_eligible_facts)
    assert decision.status is EligibilityStatus.ELIGIBLE
    assert decision.eligible
    assert len(decision.results) == len(rct.eligibility)
    assert all(r.section == "PROTOCOL.md §1" for r in decision.results)
    assert decision.reasons == ()


@pytest.mark.parametrize(("age", "eligible"), [(17, False), (18, True), (70, True), (71, False)])
def test_rct_age_boundaries_18_to_70_inclusive(
    rct: Protocol, rct_eligible_facts: dict[str, Any], age: int, eligible: bool
) -> None:
    decision = evaluate_eligibility(rct, {**rct_eligible_facts, "age_years": age})
    assert decision.eligible is eligible
    if not eligible:
        assert _status_of(decision, "age") is CriterionStatus.FAIL
        assert any("Age 18–70" in r and "§1" in r for r in decision.reasons)


@pytest.mark.parametrize(("caps5", "eligible"), [(29, False), (30, True)])
def test_rct_caps5_past_month_must_be_at_least_30(
    rct: Protocol, rct_eligible_facts: dict[str, Any], caps5: int, eligible: bool
) -> None:
    decision = evaluate_eligibility(rct, {**rct_eligible_facts, "caps5_past_month_total": caps5})
    assert decision.eligible is eligible
    if not eligible:
        reason = next(r for r in decision.results if r.criterion_id == "caps5_severity").reason
        assert "caps5_past_month_total = 29" in reason and "≥ 30" in reason


@pytest.mark.parametrize(
    "fact",
    [
        "serious_unstable_medical_illness",
        "active_suicidal_or_homicidal_ideation",
        "lifetime_psychotic_or_bipolar_disorder",
        "current_anorexia_or_bulimia",
        "substance_use_disorder_past_3_months",
        "recreational_ketamine_pcp_use_past_2_years",
        "current_long_acting_benzodiazepine",
        "current_opioid",
        "psychotropic_dose_changed_past_3_months",
    ],
)
def test_rct_each_exclusion_makes_the_patient_ineligible(
    rct: Protocol, rct_eligible_facts: dict[str, Any], fact: str
) -> None:
    decision = evaluate_eligibility(rct, {**rct_eligible_facts, fact: True})
    assert decision.status is EligibilityStatus.INELIGIBLE
    assert len(decision.reasons) == 1 and "exclusion" in decision.reasons[0]


@pytest.mark.parametrize(("uses", "eligible"), [(0, True), (1, True), (2, False)])
def test_rct_recreational_ketamine_more_than_once_in_life_excludes(
    rct: Protocol, rct_eligible_facts: dict[str, Any], uses: int, eligible: bool
) -> None:
    facts = {**rct_eligible_facts, "recreational_ketamine_pcp_uses_lifetime": uses}
    assert evaluate_eligibility(rct, facts).eligible is eligible


def test_missing_fact_leaves_the_decision_incomplete_not_guessed(
    rct: Protocol, rct_eligible_facts: dict[str, Any]
) -> None:
    del rct_eligible_facts["current_opioid"]
    decision = evaluate_eligibility(rct, rct_eligible_facts)
    assert decision.status is EligibilityStatus.INCOMPLETE
    assert _status_of(decision, "opioid") is CriterionStatus.MISSING
    assert "current_opioid not recorded" in decision.reasons[0]


def test_a_failure_outranks_a_missing_fact(
    rct: Protocol, rct_eligible_facts: dict[str, Any]
) -> None:
    del rct_eligible_facts["current_opioid"]
    rct_eligible_facts["age_years"] = 75
    assert evaluate_eligibility(rct, rct_eligible_facts).status is EligibilityStatus.INELIGIBLE


def test_wrong_fact_type_is_refused_naming_the_fact(
    rct: Protocol, rct_eligible_facts: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInput) as info:
        evaluate_eligibility(rct, {**rct_eligible_facts, "age_years": True})
    assert info.value.field == "age_years"
    with pytest.raises(InvalidInput) as info:
        evaluate_eligibility(rct, {**rct_eligible_facts, "current_opioid": 1})
    assert info.value.field == "current_opioid"


def test_clinical_patient_with_documented_treatment_resistance_is_eligible(
    clinical: Protocol, clinical_eligible_facts: dict[str, Any]
) -> None:
    decision = evaluate_eligibility(clinical, clinical_eligible_facts)
    assert decision.status is EligibilityStatus.ELIGIBLE


@pytest.mark.parametrize(
    ("fact", "value", "eligible"),
    [
        ("adequate_trauma_focused_psychotherapy_trials", 0, False),
        ("adequate_trauma_focused_psychotherapy_trials", 1, True),
        ("adequate_ssri_snri_trials", 1, False),
        ("adequate_ssri_snri_trials", 2, True),
    ],
)
def test_clinical_treatment_resistance_needs_one_psychotherapy_and_two_ssri_snri_trials(
    clinical: Protocol,
    clinical_eligible_facts: dict[str, Any],
    fact: str,
    value: int,
    eligible: bool,
) -> None:
    decision = evaluate_eligibility(clinical, {**clinical_eligible_facts, fact: value})
    assert decision.eligible is eligible
    if not eligible:
        assert "§2" in decision.reasons[0]


@pytest.mark.parametrize(
    "fact",
    [
        "uncontrolled_hypertension",
        "severe_cardiovascular_disease",
        "raised_intracranial_pressure",
        "active_psychosis",
        "acute_mania",
    ],
)
def test_clinical_absolute_contraindication_rules_out(
    clinical: Protocol, clinical_eligible_facts: dict[str, Any], fact: str
) -> None:
    decision = evaluate_eligibility(clinical, {**clinical_eligible_facts, fact: True})
    assert decision.status is EligibilityStatus.INELIGIBLE
    assert "absolute contraindication" in decision.reasons[0]


@pytest.mark.parametrize(
    ("fact", "criterion"),
    [
        ("history_substance_use_disorder", "substance_use_disorder_history"),
        ("severe_hepatic_impairment", "severe_hepatic_impairment"),
        ("pregnant", "pregnancy"),
    ],
)
def test_clinical_relative_contraindication_needs_documented_risk_benefit_decision(
    clinical: Protocol, clinical_eligible_facts: dict[str, Any], fact: str, criterion: str
) -> None:
    facts = {**clinical_eligible_facts, fact: True}
    pending = evaluate_eligibility(clinical, facts)
    assert pending.status is EligibilityStatus.PENDING
    assert _status_of(pending, criterion) is CriterionStatus.NEEDS_RISK_BENEFIT_DECISION
    assert "needs documented risk-benefit decision" in pending.reasons[0]

    go = RiskBenefitDecision(proceed=True, decided_by="Dr A", rationale="benefit outweighs risk")
    decided = evaluate_eligibility(clinical, facts, {criterion: go})
    assert decided.status is EligibilityStatus.ELIGIBLE
    reason = next(r.reason for r in decided.results if r.criterion_id == criterion)
    assert "Dr A" in reason and "benefit outweighs risk" in reason

    stop = RiskBenefitDecision(proceed=False, decided_by="Dr B", rationale="too risky")
    assert evaluate_eligibility(clinical, facts, {criterion: stop}).status is (
        EligibilityStatus.INELIGIBLE
    )


def test_clinical_active_suicidal_intent_requires_a_safety_plan(
    clinical: Protocol, clinical_eligible_facts: dict[str, Any]
) -> None:
    facts = {**clinical_eligible_facts, "active_suicidal_intent": True}
    pending = evaluate_eligibility(clinical, facts)
    assert pending.status is EligibilityStatus.PENDING
    assert _status_of(pending, "suicidal_intent") is CriterionStatus.NEEDS_SAFETY_PLAN
    assert "requires a documented safety plan" in pending.reasons[0]
    planned = evaluate_eligibility(clinical, {**facts, "safety_plan_documented": True})
    assert planned.status is EligibilityStatus.ELIGIBLE


def test_rct_active_suicidal_ideation_excludes_outright(
    rct: Protocol, rct_eligible_facts: dict[str, Any]
) -> None:
    """In contrast with the clinic, the RCT excluded active suicidal ideation (§1)."""
    facts = {**rct_eligible_facts, "active_suicidal_or_homicidal_ideation": True}
    assert evaluate_eligibility(rct, facts).status is EligibilityStatus.INELIGIBLE


def test_decision_for_an_unknown_criterion_is_refused(
    clinical: Protocol, clinical_eligible_facts: dict[str, Any]
) -> None:
    go = RiskBenefitDecision(proceed=True, decided_by="Dr A", rationale="x")
    with pytest.raises(InvalidInput) as info:
        evaluate_eligibility(clinical, clinical_eligible_facts, {"pregancy": go})
    assert info.value.field == "decisions"
