"""Screening decisions no other test pinned (issue 12, mutation testing of `core/rules/eligibility`).

Each test kills mutants that `tests/core` let live: the reason a screen failure keeps for CONSORT
(PROTOCOL.md §10) and its stated requirement, an ``is_false`` criterion, a ``between`` criterion
with one bound, the safety-plan fact of §2 when a protocol names its own or none, and the fields of
the decision and of each criterion's result (docs/benchmarks.md, "Mutation testing").
"""

from __future__ import annotations

from typing import Any

import pytest

from ketamine_ptsd.core.errors import InvalidInput, ProtocolInvalid
from ketamine_ptsd.core.protocol import Criterion, Protocol
from ketamine_ptsd.core.rules import (
    CriterionStatus,
    EligibilityStatus,
    RiskBenefitDecision,
    evaluate_criterion,
    evaluate_eligibility,
)


def _criterion(**changes: Any) -> Criterion:
    base: dict[str, Any] = {
        "id": "c",
        "kind": "inclusion",
        "section": "PROTOCOL.md §1",
        "text": "Criterion",
        "fact": "f",
        "op": "ge",
        "value": 30.0,
    }
    return Criterion(**{**base, **changes})


def test_rct_screen_failure_reasons_state_value_requirement_and_kind_section_1(
    rct: Protocol, rct_eligible_facts: dict[str, Any]
) -> None:
    """§1, §10: every screen-failure reason says what was recorded and what §1 requires."""
    facts = {
        **rct_eligible_facts,
        "age_years": 17,
        "primary_chronic_ptsd_scid5": False,
        "serious_unstable_medical_illness": True,
        "recreational_ketamine_pcp_uses_lifetime": 2,
    }
    decision = evaluate_eligibility(rct, facts)
    assert decision.protocol == "rct"
    assert decision.status is EligibilityStatus.INELIGIBLE
    assert decision.reasons == (
        "Age 18–70 years: not met (age_years = 17; required 18–70 years) (PROTOCOL.md §1)",
        "Current primary diagnosis of chronic PTSD (DSM-5) on the SCID-5: not met "
        "(primary_chronic_ptsd_scid5 = no; required yes) (PROTOCOL.md §1)",
        "Serious, unstable medical illness: present (serious_unstable_medical_illness = yes), "
        "an exclusion (PROTOCOL.md §1)",
        "Recreational ketamine or phencyclidine use more than once in life: present "
        "(recreational_ketamine_pcp_uses_lifetime = 2), an exclusion (PROTOCOL.md §1)",
    )
    by_id = {r.criterion_id: r for r in decision.results}
    assert by_id["age"].kind == "inclusion"
    assert by_id["unstable_medical_illness"].kind == "exclusion"
    assert by_id["capacity"].reason == (
        "Capacity to consent confirmed by an independent assessor: met "
        "(independent_capacity_confirmed = yes)"
    )
    assert by_id["opioid"].reason == "Current opioid: absent (current_opioid = no)"


def test_clinical_absolute_contraindication_reason_names_its_kind_section_2(
    clinical: Protocol, clinical_eligible_facts: dict[str, Any]
) -> None:
    decision = evaluate_eligibility(clinical, {**clinical_eligible_facts, "acute_mania": True})
    assert decision.protocol == "clinical"
    assert decision.reasons == (
        "Acute mania: present (acute_mania = yes), an absolute contraindication (PROTOCOL.md §2)",
    )
    assert next(r for r in decision.results if r.criterion_id == "acute_mania").kind == (
        "absolute_contraindication"
    )


@pytest.mark.parametrize(
    ("proceed", "verdict", "status"),
    [(True, "to proceed", CriterionStatus.PASS), (False, "to not proceed", CriterionStatus.FAIL)],
)
def test_risk_benefit_reason_records_who_decided_which_way_section_2(
    clinical: Protocol,
    clinical_eligible_facts: dict[str, Any],
    proceed: bool,
    verdict: str,
    status: CriterionStatus,
) -> None:
    """§2: the record says whether the documented decision was to proceed or not."""
    decision = RiskBenefitDecision(proceed=proceed, decided_by="Dr A", rationale="reasons")
    result = evaluate_eligibility(
        clinical, {**clinical_eligible_facts, "pregnant": True}, {"pregnancy": decision}
    )
    pregnancy = next(r for r in result.results if r.criterion_id == "pregnancy")
    assert pregnancy.status is status
    assert pregnancy.reason == (
        f"Pregnancy: present; risk-benefit decision by Dr A {verdict}: reasons"
    )


def test_documented_safety_plan_passes_the_criterion_itself_section_2(
    clinical: Protocol, clinical_eligible_facts: dict[str, Any]
) -> None:
    facts = {**clinical_eligible_facts, "active_suicidal_intent": True}
    decision = evaluate_eligibility(clinical, {**facts, "safety_plan_documented": True})
    plan = next(r for r in decision.results if r.criterion_id == "suicidal_intent")
    assert plan.status is CriterionStatus.PASS
    assert plan.reason == (
        "Active suicidal intent: treat only with a documented safety plan: present "
        "(active_suicidal_intent = yes); safety plan documented"
    )


@pytest.mark.parametrize(
    ("satisfied_by", "plan_fact"),
    [("crisis_plan_signed", "crisis_plan_signed"), (None, "safety_plan_documented")],
)
def test_safety_plan_is_read_from_the_fact_the_protocol_names_section_2(
    satisfied_by: str | None, plan_fact: str
) -> None:
    """§2: active suicidal intent needs a documented plan; a protocol may name the fact that
    records it, and without one the plan is ``safety_plan_documented``."""
    c = _criterion(
        kind="safety_plan",
        section="PROTOCOL.md §2",
        fact="active_suicidal_intent",
        op="is_true",
        value=None,
        satisfied_by=satisfied_by,
    )
    intent = {"active_suicidal_intent": True}
    assert evaluate_criterion(c, {**intent, plan_fact: True}).status is CriterionStatus.PASS
    pending = evaluate_criterion(c, {**intent, plan_fact: False})
    assert pending.status is CriterionStatus.NEEDS_SAFETY_PLAN
    assert f"({plan_fact})" in pending.reason
    with pytest.raises(InvalidInput) as info:
        evaluate_criterion(c, {**intent, plan_fact: "yes"})
    assert info.value.field == plan_fact


@pytest.mark.parametrize(
    ("value", "status"), [(False, CriterionStatus.PASS), (True, CriterionStatus.FAIL)]
)
def test_is_false_inclusion_holds_only_on_a_recorded_no(
    value: bool, status: CriterionStatus
) -> None:
    c = _criterion(op="is_false", value=None, fact="prior_ect", text="No prior ECT")
    result = evaluate_criterion(c, {"prior_ect": value})
    assert result.status is status
    if status is CriterionStatus.FAIL:
        assert result.reason == "No prior ECT: not met (prior_ect = yes; required no)"


@pytest.mark.parametrize(("low", "high"), [(18.0, None), (None, 70.0)])
def test_between_with_one_bound_is_a_protocol_error_not_a_crash(
    low: float | None, high: float | None
) -> None:
    c = _criterion(op="between", value=None, low=low, high=high)
    with pytest.raises(ProtocolInvalid):
        evaluate_criterion(c, {"f": 40})


@pytest.mark.parametrize(
    ("changes", "required"),
    [
        ({"op": "gt", "value": 1.0, "unit": "uses"}, "required > 1 uses"),
        ({"op": "ge", "value": 30.0, "unit": None}, "required ≥ 30"),
    ],
)
def test_a_failed_inclusion_states_its_operator_and_unit(
    changes: dict[str, Any], required: str
) -> None:
    result = evaluate_criterion(_criterion(**changes), {"f": 0})
    assert result.status is CriterionStatus.FAIL
    assert result.reason == f"Criterion: not met (f = 0; {required})"


@pytest.mark.parametrize("op", ["ge", "gt", "le", "lt"])
def test_a_comparison_without_its_value_is_a_protocol_error_not_a_crash(op: str) -> None:
    with pytest.raises(ProtocolInvalid) as info:
        evaluate_criterion(_criterion(op=op, value=None), {"f": 40})
    assert info.value.problems == [f"eligibility (c): operator {op} needs a value"]
