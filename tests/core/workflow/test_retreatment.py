"""Retreatment in the transition table (issue 13; PROTOCOL.md §5, §8): from a lost response (a
non-responder only where the protocol allows), the clinic's only, within the protocol's limit of
series, after the last infusion is discharged, with the physician's reason; its infusions are
numbered after the last one given; maintenance may follow the whole series."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.core.workflow import Event, WorkflowFacts, apply, response_event
from ketamine_ptsd.core.workflow import PatientState as S

CLINIC = WorkflowFacts(
    consent_recorded=True,
    reasons=("relapse three weeks after the series",),
    retreatment_from=(S.LOST_RESPONSE,),
    retreatment_max_courses=2,
)


def _rules(state: S, facts: WorkflowFacts, event: Event = Event.START_RETREATMENT) -> set[str]:
    return {r.rule for r in apply(state, event, Role.CLINICIAN, facts).refusals}


def test_a_lost_response_is_retreated_into_treatment() -> None:
    decision = apply(S.LOST_RESPONSE, Event.START_RETREATMENT, Role.CLINICIAN, CLINIC)
    assert decision.allowed and decision.new_state is S.IN_TREATMENT


def test_a_non_responder_only_where_the_protocol_allows() -> None:
    assert _rules(S.NON_RESPONDER, CLINIC) == {"retreatment_from"}
    allowed = replace(CLINIC, retreatment_from=(S.LOST_RESPONSE, S.NON_RESPONDER))
    assert apply(S.NON_RESPONDER, Event.START_RETREATMENT, Role.CLINICIAN, allowed).allowed


@pytest.mark.parametrize("state", [S.RESPONDER, S.IN_MAINTENANCE, S.IN_TREATMENT, S.WITHDRAWN])
def test_no_retreatment_from_other_states(state: S) -> None:
    assert "state" in _rules(state, CLINIC)


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"randomized_protocol": True}, "retreatment_clinic_only"),
        ({"retreatment_from": ()}, "retreatment_offered"),
        ({"retreatment_courses": 2}, "retreatment_courses"),
        ({"last_infusion_open": True}, "series_closed"),
        ({"reasons": ("relapse",)}, "retreatment_decision"),
    ],
)
def test_each_guard_refuses_with_its_rule(change: dict[str, object], rule: str) -> None:
    assert rule in _rules(S.LOST_RESPONSE, replace(CLINIC, **change))  # type: ignore[arg-type]


def test_only_the_physician_retreats() -> None:
    for role in (Role.NURSE, Role.OUTCOME_RATER, Role.INVESTIGATOR):  # trial roles: no clinic plan
        assert not apply(S.LOST_RESPONSE, Event.START_RETREATMENT, role, CLINIC).allowed


def _infusion(number: int, first: int) -> WorkflowFacts:
    return WorkflowFacts(
        consent_recorded=True, infusion_number=number, acute_infusion_count=6,
        series_first_infusion=first, identity_confirmed=True, pump_checked_by_other=True,
        supervising_physician_named=True, previous_discharged=True,
    )  # fmt: skip


@pytest.mark.parametrize(("number", "ok"), [(7, False), (8, True), (13, True), (14, False)])
def test_retreatment_infusions_are_numbered_on_from_the_last_one_given(
    number: int, ok: bool
) -> None:
    rules = _rules(S.IN_TREATMENT, _infusion(number, 8), Event.START_INFUSION)
    assert ("retreatment_numbering" not in rules) is ok


def test_the_first_series_response_does_not_decide_a_running_retreatment() -> None:
    facts = WorkflowFacts(response=S.LOST_RESPONSE)
    assert response_event(S.IN_TREATMENT, facts) is Event.RECORD_PRIMARY_OUTCOME
    assert response_event(S.IN_TREATMENT, replace(facts, retreatment_open=True)) is None


def test_maintenance_follows_a_whole_retreatment_series() -> None:
    facts = WorkflowFacts(
        reasons=("maintenance after the retreatment series",), maintenance_intervals=(7, 14),
        maintenance_interval_days=7, acute_infusion_count=6, retreatment_open=True,
        retreatment_infusions_discharged=5,
    )  # fmt: skip
    assert "retreatment_series_given" in _rules(S.IN_TREATMENT, facts, Event.START_MAINTENANCE)
    done = replace(facts, retreatment_infusions_discharged=6)
    assert apply(S.IN_TREATMENT, Event.START_MAINTENANCE, Role.CLINICIAN, done).allowed
    first_series = replace(done, retreatment_open=False)
    assert "maintenance_after_series" in _rules(
        S.IN_TREATMENT, first_series, Event.START_MAINTENANCE
    )
