"""Blinding guesses at the end of treatment (issue 15): when, who records whose guess, what may be
answered, and the tallies the indices are computed from. Each refusal names its rule and §."""

from __future__ import annotations

import itertools

import pytest

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.core.stats.blinding import blinding_indices
from ketamine_ptsd.core.workflow import (
    DONT_KNOW,
    Event,
    PatientState,
    Respondent,
    WorkflowFacts,
    apply,
    check_correction,
    check_guess,
    check_recorder,
    guess_options,
    respondents_recorded_by,
    tally_guesses,
)

S = PatientState
ENDED = WorkflowFacts(
    randomized_protocol=True,
    blinded_protocol=True,
    allocated=True,
    acute_infusion_count=6,
    acute_infusions_discharged=6,
)


def _rules(state: S, facts: WorkflowFacts, role: Role = Role.OUTCOME_RATER) -> set[str]:
    return {r.rule for r in apply(state, Event.RECORD_BLINDING_GUESS, role, facts).refusals}


def test_a_guess_is_recorded_once_the_series_last_infusion_is_discharged() -> None:
    assert _rules(S.NON_RESPONDER, ENDED) == set()
    assert _rules(S.RESPONDER, ENDED) == set()
    assert _rules(S.IN_TREATMENT, ENDED) == set()


def test_a_guess_before_the_end_of_treatment_is_refused_naming_the_rule() -> None:
    facts = WorkflowFacts(
        randomized_protocol=True,
        blinded_protocol=True,
        allocated=True,
        acute_infusion_count=6,
        acute_infusions_discharged=5,
    )
    decision = apply(S.IN_TREATMENT, Event.RECORD_BLINDING_GUESS, Role.OUTCOME_RATER, facts)
    (refusal,) = decision.refusals
    assert refusal.rule == "guess_at_end_of_treatment"
    assert "§5" in refusal.source and "infusion 6" in refusal.message
    assert "5 discharged" in refusal.message


def test_a_patient_who_left_treatment_early_is_asked_at_withdrawal() -> None:
    early = WorkflowFacts(
        randomized_protocol=True,
        blinded_protocol=True,
        allocated=True,
        acute_infusion_count=6,
        acute_infusions_discharged=2,
    )
    assert _rules(S.WITHDRAWN, early) == set()
    assert _rules(S.IN_TREATMENT, early) == {"guess_at_end_of_treatment"}


def test_an_open_label_protocol_refuses_a_guess_with_a_clear_message() -> None:
    facts = WorkflowFacts(
        randomized_protocol=False,
        blinded_protocol=False,
        allocated=True,
        acute_infusion_count=6,
        acute_infusions_discharged=6,
    )
    decision = apply(S.RESPONDER, Event.RECORD_BLINDING_GUESS, Role.NURSE, facts)
    (refusal,) = decision.refusals
    assert refusal.rule == "guess_in_blinded_trials"
    assert refusal.source == "PROTOCOL.md §3"
    assert "open-label" in refusal.message


def test_a_patient_never_allocated_has_no_arm_to_guess() -> None:
    facts = WorkflowFacts(blinded_protocol=True, allocated=False, acute_infusion_count=6)
    assert _rules(S.WITHDRAWN, facts) == {"guess_after_allocation"}


@pytest.mark.parametrize("state", [S.REGISTERED, S.SCREEN_FAILED, S.DECLINED])
def test_no_guess_before_enrolment(state: S) -> None:
    assert "state" in _rules(state, ENDED)


@pytest.mark.parametrize(("role", "respondent"), list(itertools.product(Role, Respondent)))
def test_who_records_whose_guess(role: Role, respondent: Respondent) -> None:
    allowed = {
        (Role.OUTCOME_RATER, Respondent.PATIENT),
        (Role.OUTCOME_RATER, Respondent.OUTCOME_RATER),
        (Role.NURSE, Respondent.INFUSION_NURSE),
    }
    refusal = check_recorder(role, respondent.value)
    if (role, respondent) in allowed:
        assert refusal is None
    else:
        assert refusal is not None
        assert refusal.rule == "guess_recorder"
        assert refusal.source == "PROTOCOL.md §3"
        assert refusal.field == "respondent"


def test_the_recorder_rule_names_who_records_it() -> None:
    refusal = check_recorder(Role.NURSE, "patient")
    assert refusal is not None
    assert refusal.message == "the patient's guess is recorded by the outcome rater, not the nurse"


def test_an_unknown_respondent_is_refused_at_its_field() -> None:
    refusal = check_recorder(Role.OUTCOME_RATER, "investigator")
    assert refusal is not None and refusal.rule == "guess_respondent"
    assert refusal.field == "respondent"


def test_each_role_records_its_respondents_in_the_forms_order() -> None:
    assert respondents_recorded_by(Role.OUTCOME_RATER) == (
        Respondent.PATIENT,
        Respondent.OUTCOME_RATER,
    )
    assert respondents_recorded_by(Role.NURSE) == (Respondent.INFUSION_NURSE,)
    assert respondents_recorded_by(Role.PHARMACIST) == ()
    assert respondents_recorded_by("nobody") == ()


def test_the_form_offers_the_arms_alphabetically_then_dont_know() -> None:
    options = guess_options(load_protocol("rct"))
    assert [o.value for o in options] == ["ketamine", "midazolam", DONT_KNOW]
    assert [o.label for o in options] == ["Ketamine", "Midazolam", "Don't know"]


def test_the_options_do_not_follow_the_protocols_arm_order() -> None:
    rct = load_protocol("rct")
    swapped = rct.model_copy(update={"arms": tuple(reversed(rct.arms))})
    assert guess_options(swapped) == guess_options(rct)


def test_a_guess_outside_the_options_is_refused_without_naming_a_drug() -> None:
    rct = load_protocol("rct")
    assert check_guess(rct, "ketamine") is None
    assert check_guess(rct, DONT_KNOW) is None
    refusal = check_guess(rct, "placebo")
    assert refusal is not None and refusal.rule == "guess_value" and refusal.field == "guess"
    assert "ketamine" not in refusal.message and "midazolam" not in refusal.message


def test_a_correction_needs_a_reason_and_an_own_guess_its_author() -> None:
    no_reason = check_correction("patient", author_id=1, actor_id=2, reason="  ")
    assert no_reason is not None and no_reason.rule == "guess_correction_reason"
    assert no_reason.field == "reason"
    assert check_correction("patient", author_id=1, actor_id=2, reason="misheard") is None
    other = check_correction("outcome_rater", author_id=1, actor_id=2, reason="typo")
    assert other is not None and other.rule == "guess_own_author"
    assert check_correction("outcome_rater", author_id=1, actor_id=1, reason="typo") is None
    assert check_correction("infusion_nurse", author_id=3, actor_id=4, reason="typo") is not None


def test_tallies_are_the_indices_2_by_3_table_per_respondent() -> None:
    arms = ("ketamine", "midazolam")
    rows = (
        [("patient", "ketamine", "ketamine")] * 8
        + [("patient", "ketamine", "midazolam")] * 3
        + [("patient", "ketamine", DONT_KNOW)] * 4
        + [("patient", "midazolam", "ketamine")] * 5
        + [("patient", "midazolam", "midazolam")] * 6
        + [("patient", "midazolam", DONT_KNOW)] * 4
        + [("infusion_nurse", "midazolam", "midazolam")]
        + [("infusion_nurse", "other", "midazolam")]  # not one of the arms: not counted
    )
    patient, nurse = tally_guesses(rows, arms)
    assert patient.respondent is Respondent.PATIENT
    assert patient.counts == ((8, 3, 4), (5, 6, 4))
    assert patient.n == 30
    assert nurse.respondent is Respondent.INFUSION_NURSE
    assert nurse.counts == ((0, 0, 0), (0, 1, 0))
    # The same counts the CLI's `stats blinding --counts "ketamine:8,3,4;midazolam:5,6,4"` reads.
    indices = blinding_indices(arms, patient.counts)
    assert indices.bang[0].index == pytest.approx((8 - 3) / 15)
    assert indices.bang[1].index == pytest.approx((6 - 5) / 15)


def test_no_guesses_no_tallies() -> None:
    assert tally_guesses([], ("A", "B")) == ()
