"""The transition table, exhaustively: every (state, event, role), every guard at its boundary."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import replace

import pytest

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.roles import Role, is_allowed
from ketamine_ptsd.core.rules import DischargeFindings, EligibilityStatus, VitalSigns
from ketamine_ptsd.core.workflow import (
    RESPONSE_STATES,
    TRANSITIONS,
    Event,
    PatientState,
    TransitionRefused,
    WorkflowFacts,
    allowed_events,
    apply,
    decide,
    pre_response_state,
    response_event,
)

S = PatientState
E = EligibilityStatus

#: Facts under which every guard of the event passes (the state and the role aside).
PASSING: dict[Event, WorkflowFacts] = {
    event: WorkflowFacts(
        randomized_protocol=event is not Event.RECORD_PRIMARY_OUTCOME,
        consent_recorded=True,
        eligibility=E.INELIGIBLE if event is Event.OVERRIDE_ELIGIBILITY else E.ELIGIBLE,
        open_criteria=("caps5_total_min",) if event is Event.OVERRIDE_ELIGIBILITY else (),
        named_criteria=("caps5_total_min",) if event is Event.OVERRIDE_ELIGIBILITY else (),
        reasons=("CAPS-5 of 29 with clear functional impairment",),
        allocated=True,
        infusions_started=1,
        identity_confirmed=True,
        response=S.LOST_RESPONSE
        if event in (Event.LOSE_RESPONSE, Event.RECORD_PRIMARY_OUTCOME)
        else None,
    )
    for event in Event
}
PASSING[Event.DISCHARGE] = replace(
    PASSING[Event.DISCHARGE],
    discharge=DischargeFindings(
        infusion_start=dt.datetime(2026, 3, 2, 9, 0),
        infusion_end=dt.datetime(2026, 3, 2, 9, 40),
        now=dt.datetime(2026, 3, 2, 11, 5),
        dissociation_baseline=1,
        dissociation_latest=2,
        ambulatory_unaided=True,
        delayed_effects_checked=True,
        physician_signoff=True,
        latest_vitals=VitalSigns(126, 80, 72, 98, 14, 5),
        vitals_missing=(),
        rating_changes={"bprs_positive": (4, 4), "ymrs_item1": (0, 0)},
    ),
    discharge_protocol=load_protocol("rct"),
    signed_off_by="Dr Signing Physician",
)
PASSING[Event.COMPLETE_SERIES] = replace(
    PASSING[Event.COMPLETE_SERIES], acute_infusion_count=6, acute_infusions_discharged=6
)
PASSING[Event.START_MAINTENANCE] = replace(
    PASSING[Event.START_MAINTENANCE],
    randomized_protocol=False,
    maintenance_intervals=(7, 14),
    maintenance_interval_days=7,
    # from in_treatment: after a retreatment series, all of it discharged (issue 13)
    acute_infusion_count=6,
    retreatment_open=True,
    retreatment_infusions_discharged=6,
)
PASSING[Event.START_RETREATMENT] = replace(
    PASSING[Event.START_RETREATMENT],
    randomized_protocol=False,
    retreatment_from=(S.LOST_RESPONSE, S.NON_RESPONDER),
    retreatment_max_courses=1,
)

PASSING[Event.RECORD_BLINDING_GUESS] = replace(
    PASSING[Event.RECORD_BLINDING_GUESS],
    blinded_protocol=True,
    acute_infusion_count=6,
    acute_infusions_discharged=6,
)


def test_every_event_has_one_row_and_every_row_cites_its_source() -> None:
    assert set(TRANSITIONS) == set(Event)
    for transition in TRANSITIONS.values():
        assert transition.sources, transition.event
        assert "§" in transition.source or "SYSTEM.md" in transition.source
        assert transition.targets <= set(PatientState)


@pytest.mark.parametrize(
    ("state", "event", "role"), list(itertools.product(PatientState, Event, Role))
)
def test_every_state_event_role_triple(state: S, event: Event, role: Role) -> None:
    transition = TRANSITIONS[event]
    decision = apply(state, event, role, PASSING[event])
    role_ok = is_allowed(role, transition.action)
    state_ok = state in transition.sources
    assert decision.allowed == (role_ok and state_ok), decision.refusals
    rules = {r.rule for r in decision.refusals}
    assert ("role" in rules) == (not role_ok)
    assert ("state" in rules) == (not state_ok)
    for refusal in decision.refusals:
        assert "§" in refusal.source or "SYSTEM.md" in refusal.source
        assert refusal.rule in str(refusal) and refusal.source in str(refusal)
    if decision.allowed:
        assert decision.new_state is not None
        assert decision.new_state in (transition.targets or {state})
        assert event in allowed_events(state, role)
        assert event in allowed_events(state, role, PASSING[event])
    else:
        assert decision.new_state is None
        assert event not in allowed_events(state, role, PASSING[event])
        with pytest.raises(TransitionRefused) as refused:
            decide(state, event, role, PASSING[event])
        assert refused.value.refusals == decision.refusals


def test_the_state_refusal_names_the_state_and_where_the_event_is_allowed() -> None:
    decision = apply(S.WITHDRAWN, Event.START_INFUSION, Role.NURSE, PASSING[Event.START_INFUSION])
    (refusal,) = decision.refusals
    assert refusal.rule == "state" and refusal.field is None
    assert "withdrawn" in refusal.message and "in_treatment" in refusal.message
    assert "PROTOCOL.md §5, §6" in str(refusal)


# --- eligibility: only from the rules, or an investigator's override ------------------------


@pytest.mark.parametrize(
    ("state", "verdict", "expected"),
    [
        (S.REGISTERED, E.ELIGIBLE, S.ELIGIBLE),
        (S.REGISTERED, E.INELIGIBLE, S.SCREEN_FAILED),
        (S.REGISTERED, E.INCOMPLETE, S.REGISTERED),
        (S.REGISTERED, E.PENDING, S.REGISTERED),
        (S.ELIGIBLE, E.INCOMPLETE, S.REGISTERED),  # a corrected visit no longer decides
        (S.ELIGIBLE, E.INELIGIBLE, S.SCREEN_FAILED),
    ],
)
def test_the_rules_decide_eligibility(state: S, verdict: E, expected: S) -> None:
    decision = decide(
        state, Event.DECIDE_ELIGIBILITY, Role.INVESTIGATOR, WorkflowFacts(eligibility=verdict)
    )
    assert decision.new_state is expected


def test_no_decision_no_eligibility() -> None:
    decision = apply(S.REGISTERED, Event.DECIDE_ELIGIBILITY, Role.INVESTIGATOR, WorkflowFacts())
    (refusal,) = decision.refusals
    assert refusal.rule == "eligibility_from_rules" and "screening visit" in refusal.message


def _override(**changes: object) -> WorkflowFacts:
    base = {
        "consent_recorded": True,
        "eligibility": E.INELIGIBLE,
        "open_criteria": ("caps5_total_min", "age_range"),
        "named_criteria": ("caps5_total_min", "age_range"),
        "reasons": ("age 71, otherwise well; benefit outweighs",),
    }
    base.update(changes)
    return WorkflowFacts(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "rule", "field"),
    [
        ({"eligibility": None}, "eligibility_from_rules", "outcome"),
        ({"consent_recorded": False}, "consent_first", None),
        ({"eligibility": E.ELIGIBLE, "open_criteria": ()}, "override_not_needed", None),
        ({"named_criteria": ("caps5_total_min",)}, "override_names_open_criteria", "criteria"),
        (
            {"named_criteria": ("caps5_total_min", "age_range", "consent")},
            "override_names_open_criteria",
            "criteria",
        ),
        ({"reasons": ("too short",)}, "override_reason", "reason"),
        ({"reasons": ()}, "override_reason", "reason"),
    ],
)
def test_an_override_is_refused_unless_it_names_every_open_criterion_with_a_reason(
    changes: dict[str, object], rule: str, field: str | None
) -> None:
    decision = apply(
        S.REGISTERED, Event.OVERRIDE_ELIGIBILITY, Role.INVESTIGATOR, _override(**changes)
    )
    assert rule in {r.rule for r in decision.refusals}
    assert next(r for r in decision.refusals if r.rule == rule).field == field


def test_an_override_by_the_investigator_makes_a_screen_failure_eligible() -> None:
    assert (
        decide(
            S.SCREEN_FAILED, Event.OVERRIDE_ELIGIBILITY, Role.INVESTIGATOR, _override()
        ).new_state
        is S.ELIGIBLE
    )
    reasons = _override(reasons=("x" * 10,))  # the boundary: ten characters are enough
    assert apply(S.REGISTERED, Event.OVERRIDE_ELIGIBILITY, Role.CLINICIAN, reasons).allowed
    short = _override(reasons=("x" * 9,))
    assert not apply(S.REGISTERED, Event.OVERRIDE_ELIGIBILITY, Role.INVESTIGATOR, short).allowed
    for role in (Role.NURSE, Role.OUTCOME_RATER, Role.PHARMACIST, Role.ADMINISTRATOR):
        assert not apply(S.REGISTERED, Event.OVERRIDE_ELIGIBILITY, role, _override()).allowed


# --- allocation, infusion, outcome -----------------------------------------------------------


def test_allocation_needs_a_trial_and_consent() -> None:
    ok = WorkflowFacts(randomized_protocol=True, consent_recorded=True)
    assert decide(S.ELIGIBLE, Event.ALLOCATE, Role.PHARMACIST, ok).new_state is S.RANDOMIZED
    clinic = apply(
        S.ELIGIBLE, Event.ALLOCATE, Role.INVESTIGATOR, WorkflowFacts(consent_recorded=True)
    )
    assert [r.rule for r in clinic.refusals] == ["allocation_in_trials"]
    no_consent = apply(
        S.ELIGIBLE, Event.ALLOCATE, Role.PHARMACIST, WorkflowFacts(randomized_protocol=True)
    )
    assert [r.rule for r in no_consent.refusals] == ["consent_first"]
    for state in set(PatientState) - {S.ELIGIBLE}:
        assert not apply(state, Event.ALLOCATE, Role.PHARMACIST, ok).allowed


def test_a_trial_infusion_needs_the_allocation_a_clinic_one_does_not() -> None:
    trial = WorkflowFacts(randomized_protocol=True, consent_recorded=True, identity_confirmed=True)
    refused = apply(S.ELIGIBLE, Event.START_INFUSION, Role.NURSE, trial)
    assert [r.rule for r in refused.refusals] == ["allocation_before_infusion"]
    clinic = WorkflowFacts(consent_recorded=True, identity_confirmed=True)
    assert (
        decide(S.ELIGIBLE, Event.START_INFUSION, Role.CLINICIAN, clinic).new_state is S.IN_TREATMENT
    )
    allocated = WorkflowFacts(
        randomized_protocol=True, consent_recorded=True, allocated=True, identity_confirmed=True
    )
    assert (
        decide(S.RANDOMIZED, Event.START_INFUSION, Role.NURSE, allocated).new_state
        is S.IN_TREATMENT
    )
    assert decide(S.IN_TREATMENT, Event.START_INFUSION, Role.NURSE, allocated).changed is False


def test_a_trial_primary_outcome_counts_only_after_allocation() -> None:
    facts = WorkflowFacts(randomized_protocol=True, response=S.RESPONDER)
    refused = apply(S.ELIGIBLE, Event.RECORD_PRIMARY_OUTCOME, Role.OUTCOME_RATER, facts)
    assert [r.rule for r in refused.refusals] == ["primary_outcome_after_allocation"]
    assert (
        decide(S.RANDOMIZED, Event.RECORD_PRIMARY_OUTCOME, Role.OUTCOME_RATER, facts).new_state
        is S.RESPONDER
    )
    unknown = apply(
        S.IN_TREATMENT, Event.RECORD_PRIMARY_OUTCOME, Role.OUTCOME_RATER, WorkflowFacts()
    )
    assert [r.rule for r in unknown.refusals] == ["response_scored"]


@pytest.mark.parametrize(
    ("state", "response", "allocated", "infusions", "event", "target"),
    [
        (S.IN_TREATMENT, None, True, 6, None, None),
        (S.IN_TREATMENT, S.RESPONDER, True, 6, Event.RECORD_PRIMARY_OUTCOME, S.RESPONDER),
        (S.IN_TREATMENT, S.NON_RESPONDER, True, 6, Event.RECORD_PRIMARY_OUTCOME, S.NON_RESPONDER),
        (S.RESPONDER, S.RESPONDER, True, 6, None, None),
        (S.RESPONDER, S.LOST_RESPONSE, True, 6, Event.LOSE_RESPONSE, S.LOST_RESPONSE),
        (S.LOST_RESPONSE, S.RESPONDER, True, 6, Event.REVISE_RESPONSE, S.RESPONDER),
        (S.RESPONDER, S.NON_RESPONDER, True, 6, Event.REVISE_RESPONSE, S.NON_RESPONDER),
        (S.RESPONDER, None, True, 6, Event.REVISE_RESPONSE, S.IN_TREATMENT),
        (S.NON_RESPONDER, None, True, 0, Event.REVISE_RESPONSE, S.RANDOMIZED),
        (S.NON_RESPONDER, None, False, 0, Event.REVISE_RESPONSE, S.ELIGIBLE),
        (S.WITHDRAWN, S.RESPONDER, True, 6, None, None),
        (S.REGISTERED, S.RESPONDER, False, 0, None, None),
    ],
)
def test_a_rescored_response_is_one_event_of_the_table(
    state: S,
    response: S | None,
    allocated: bool,
    infusions: int,
    event: Event | None,
    target: S | None,
) -> None:
    facts = WorkflowFacts(
        randomized_protocol=True,
        allocated=allocated,
        infusions_started=infusions,
        response=response,
    )
    assert response_event(state, facts) is event
    if event is not None:
        assert decide(state, event, Role.OUTCOME_RATER, facts).new_state is target


def test_loss_of_response_needs_the_follow_up_to_show_it() -> None:
    facts = WorkflowFacts(response=S.RESPONDER)
    assert [
        r.rule for r in apply(S.RESPONDER, Event.LOSE_RESPONSE, Role.OUTCOME_RATER, facts).refusals
    ] == ["loss_of_response"]
    assert {S.RESPONDER, S.NON_RESPONDER, S.LOST_RESPONSE} == RESPONSE_STATES


def test_screen_failures_and_refusals_keep_their_reasons() -> None:
    for event, target in ((Event.SCREEN_FAIL, S.SCREEN_FAILED), (Event.DECLINE, S.DECLINED)):
        refused = apply(S.REGISTERED, event, Role.INVESTIGATOR, WorkflowFacts(reasons=(" ",)))
        assert [(r.rule, r.field) for r in refused.refusals] == [("reason_required", "reasons")]
        facts = WorkflowFacts(reasons=("did not want infusions",))
        assert decide(S.ELIGIBLE, event, Role.INVESTIGATOR, facts).new_state is target


def test_a_randomized_or_treated_patient_is_never_voided_or_restratified() -> None:
    for state in (S.RANDOMIZED, S.IN_TREATMENT, S.RESPONDER, S.WITHDRAWN):
        for event in (Event.VOID_REGISTRATION, Event.EDIT_STRATUM):
            assert not apply(state, event, Role.ADMINISTRATOR, WorkflowFacts()).allowed
    assert apply(S.ELIGIBLE, Event.VOID_REGISTRATION, Role.ADMINISTRATOR, WorkflowFacts()).allowed


# --- the series' order and pace (issue 12 item 1: two infusions one morning) ----------------

MONDAY = __import__("datetime").date(2026, 3, 2)


def _next(**changes: object) -> WorkflowFacts:
    base: dict[str, object] = {
        "randomized_protocol": True,
        "consent_recorded": True,
        "allocated": True,
        "infusion_number": 2,
        "previous_day": MONDAY,
        "previous_discharged": True,
        "today": MONDAY + __import__("datetime").timedelta(days=2),
        "min_days_between": 2,
        "per_week_max": 3,
        "started_this_week": 1,
        "identity_confirmed": True,
        "pump_checked_by_other": True,
        "supervising_physician_named": True,
    }
    base.update(changes)
    return WorkflowFacts(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"previous_day": None}, "previous_infusion_given"),
        ({"previous_discharged": False}, "previous_infusion_discharged"),
        ({"today": MONDAY}, "minimum_interval"),  # the same morning
        ({"today": MONDAY + __import__("datetime").timedelta(days=1)}, "minimum_interval"),
        ({"started_this_week": 3}, "weekly_maximum"),
        ({"pump_checked_by_other": False}, "pump_double_check"),
        ({"supervising_physician_named": False}, "supervising_physician"),
    ],
)
def test_an_infusion_waits_for_the_previous_one_and_the_schedule(
    changes: dict[str, object], rule: str
) -> None:
    decision = apply(S.IN_TREATMENT, Event.START_INFUSION, Role.NURSE, _next(**changes))
    assert [r.rule for r in decision.refusals] == [rule]
    assert "§5" in str(decision.refusals[0]) or "§6" in str(decision.refusals[0])


def test_the_interval_boundary_and_the_weekly_count_allow_the_next_infusion() -> None:
    assert apply(S.IN_TREATMENT, Event.START_INFUSION, Role.NURSE, _next()).allowed  # 2 days
    assert apply(
        S.IN_TREATMENT, Event.START_INFUSION, Role.NURSE, _next(started_this_week=2)
    ).allowed
    first = _next(infusion_number=1, previous_day=None, previous_discharged=False)
    assert apply(S.RANDOMIZED, Event.START_INFUSION, Role.NURSE, first).allowed


@pytest.mark.parametrize(
    ("change", "rule", "source"),
    [
        ({"infusion_end": None}, "discharge_infusion_end", "PROTOCOL.md §6, §12"),
        ({"now": dt.datetime(2026, 3, 2, 10, 59)}, "discharge_observation", "PROTOCOL.md §6"),
        ({"vitals_missing": (70,)}, "discharge_vitals_missing", "PROTOCOL.md §6"),
        ({"dissociation_latest": 6}, "discharge_dissociation", "PROTOCOL.md §6"),
        (
            {"rating_changes": {"bprs_positive": (4, 8), "ymrs_item1": (0, 0)}},
            "discharge_psychiatric",
            "PROTOCOL.md §6",
        ),
        ({"ambulatory_unaided": False}, "discharge_ambulatory", "PROTOCOL.md §6"),
        ({"delayed_effects_checked": None}, "discharge_delayed_effects", "PROTOCOL.md §6"),
        (
            {"latest_vitals": VitalSigns(126, 80, 72, 98, 7, 5)},
            "discharge_vital_signs",
            "PROTOCOL.md §6",
        ),
    ],
)
def test_each_discharge_guard_refuses_alone_at_its_boundary(
    change: dict[str, object], rule: str, source: str
) -> None:
    """Issue 12 item 4: one guard per discharge criterion; one failing finding is one refusal
    naming its rule and §, and the day stays (the physician may not sign it off)."""
    facts = PASSING[Event.DISCHARGE]
    assert facts.discharge is not None
    decision = apply(
        S.IN_TREATMENT,
        Event.DISCHARGE,
        Role.INVESTIGATOR,
        replace(facts, discharge=replace(facts.discharge, **change)),  # type: ignore[arg-type]
    )
    assert [(r.rule, r.source) for r in decision.refusals] == [(rule, source)]


@pytest.mark.parametrize("signer", [None, "", "  "])
def test_discharge_needs_a_named_physician(signer: str | None) -> None:
    decision = apply(
        S.IN_TREATMENT,
        Event.DISCHARGE,
        Role.CLINICIAN,
        replace(PASSING[Event.DISCHARGE], signed_off_by=signer),
    )
    assert [r.rule for r in decision.refusals] == ["discharge_physician_signoff"]


def test_discharge_without_findings_is_refused_not_passed() -> None:
    decision = apply(S.IN_TREATMENT, Event.DISCHARGE, Role.INVESTIGATOR, WorkflowFacts())
    assert not decision.allowed
    assert "discharge_findings" in {r.rule for r in decision.refusals}


def test_an_infusion_needs_the_nurses_two_identifier_check() -> None:
    """Issue 12 item 11: two identifiers (name, date of birth) before the drug (PROTOCOL.md §12)."""
    decision = apply(
        S.IN_TREATMENT, Event.START_INFUSION, Role.NURSE, _next(identity_confirmed=False)
    )
    assert [(r.rule, r.source) for r in decision.refusals] == [
        ("two_identifiers", "PROTOCOL.md §12")
    ]


def test_infusion_1_needs_the_primary_outcomes_baseline_later_ones_do_not() -> None:
    """Issue 12 item 12 (PROTOCOL.md §5, §8, §9)."""
    first = _next(
        infusion_number=1, previous_day=None, previous_discharged=False, baseline_missing=("madrs",)
    )
    refused = apply(S.RANDOMIZED, Event.START_INFUSION, Role.NURSE, first)
    assert [r.rule for r in refused.refusals] == ["baseline_before_infusion_1"]
    assert "madrs" in refused.refusals[0].message
    assert apply(
        S.IN_TREATMENT, Event.START_INFUSION, Role.NURSE, _next(baseline_missing=("madrs",))
    ).allowed


def test_a_weight_that_needs_confirmation_starts_once_a_second_staff_member_confirms() -> None:
    """PROTOCOL.md §4 (issue 12): the refusal names the weight field and cites §4."""
    reasons = ("looks like the last weight in pounds",)
    refused = apply(
        S.IN_TREATMENT, Event.START_INFUSION, Role.NURSE, _next(weight_change_reasons=reasons)
    )
    assert [(r.rule, r.field) for r in refused.refusals] == [("weight_confirmed", "weight_kg")]
    assert "§4" in str(refused.refusals[0]) and "pounds" in refused.refusals[0].message
    confirmed = _next(weight_change_reasons=reasons, weight_confirmed_by_other=True)
    assert apply(S.IN_TREATMENT, Event.START_INFUSION, Role.NURSE, confirmed).allowed


# --- the schedule's weekdays, a held morning, suicide risk, owned alerts (issue 12) ------------

MON_WED_FRI = (0, 2, 4)


@pytest.mark.parametrize(
    ("days_after_monday", "allowed"), [(0, True), (1, False), (2, True), (5, False), (6, False)]
)
def test_an_infusion_is_given_on_the_schedules_weekdays(
    days_after_monday: int, allowed: bool
) -> None:
    """PROTOCOL.md §5: Monday, Wednesday, Friday; a Tuesday or a weekend is refused."""
    today = MONDAY + dt.timedelta(days=days_after_monday)
    facts = _next(
        infusion_number=1, previous_day=None, previous_discharged=False, today=today,
        allowed_weekdays=MON_WED_FRI,
    )  # fmt: skip
    decision = apply(S.RANDOMIZED, Event.START_INFUSION, Role.NURSE, facts)
    assert decision.allowed is allowed
    if not allowed:
        [refusal] = decision.refusals
        assert (refusal.rule, refusal.source) == ("allowed_weekday", "PROTOCOL.md §5")
        assert "Monday, Wednesday, Friday" in refusal.message and "physician" in refusal.message


@pytest.mark.parametrize(
    "changes",
    [
        {"today": MONDAY + dt.timedelta(days=1)},  # one day short of the interval, a Tuesday
        {"started_this_week": 3, "today": MONDAY + dt.timedelta(days=4)},
        {"today": MONDAY + dt.timedelta(days=5)},  # a Saturday
    ],
)
def test_a_physicians_moved_day_lifts_the_schedules_guards_not_the_previous_discharge(
    changes: dict[str, object],
) -> None:
    held = _next(allowed_weekdays=MON_WED_FRI, **changes)
    assert not apply(S.IN_TREATMENT, Event.START_INFUSION, Role.NURSE, held).allowed
    moved = replace(held, day_moved_by_physician=True)
    assert apply(S.IN_TREATMENT, Event.START_INFUSION, Role.NURSE, moved).allowed
    open_previous = replace(moved, previous_discharged=False)
    refused = apply(S.IN_TREATMENT, Event.START_INFUSION, Role.NURSE, open_previous)
    assert [r.rule for r in refused.refusals] == ["previous_infusion_discharged"]


def test_a_held_morning_starts_only_when_every_hold_is_released() -> None:
    """PROTOCOL.md §6 (issue 12 item 2): the release names what it releases; one hold left
    unreleased still refuses, with its reason in the message."""
    reasons = ("blood_pressure", "baseline_vitals_alerts")
    held = _next(hold_reasons=reasons)
    refused = apply(S.IN_TREATMENT, Event.START_INFUSION, Role.NURSE, held)
    assert [(r.rule, r.source) for r in refused.refusals] == [
        ("pre_infusion_hold", "PROTOCOL.md §6")
    ]
    assert "blood_pressure" in refused.refusals[0].message
    part = replace(held, released_holds=("blood_pressure",))
    [still] = apply(S.IN_TREATMENT, Event.START_INFUSION, Role.NURSE, part).refusals
    assert "baseline_vitals_alerts" in still.message and "blood_pressure" not in still.message
    released = replace(held, released_holds=reasons)
    assert apply(S.IN_TREATMENT, Event.START_INFUSION, Role.NURSE, released).allowed


def test_an_unreviewed_suicide_risk_holds_the_next_infusion() -> None:
    """PROTOCOL.md §7 (issue 12 item 8)."""
    text = "C-SSRS high suicide risk at week_1 on 2026-03-09"
    refused = apply(
        S.IN_TREATMENT, Event.START_INFUSION, Role.NURSE, _next(suicide_risk_unreviewed=(text,))
    )
    assert [(r.rule, r.source) for r in refused.refusals] == [
        ("suicide_risk_review", "PROTOCOL.md §7")
    ]
    assert text in refused.refusals[0].message


def test_discharge_waits_for_every_alert_to_be_acknowledged() -> None:
    """PROTOCOL.md §6, §12 (issue 12 item 10)."""
    facts = PASSING[Event.DISCHARGE]
    assert facts.discharge is not None
    alerts = ("minute 20: systolic mmHg 186 > 180: call the physician",)
    decision = apply(
        S.IN_TREATMENT,
        Event.DISCHARGE,
        Role.INVESTIGATOR,
        replace(facts, discharge=replace(facts.discharge, unacknowledged_alerts=alerts)),
    )
    assert [(r.rule, r.source) for r in decision.refusals] == [
        ("discharge_alerts_unacknowledged", "PROTOCOL.md §6, §12")
    ]
    assert "systolic mmHg 186" in decision.refusals[0].message


# --- maintenance after the series (issue 13; PROTOCOL.md §8, §11) ------------------------------


def _maintenance(**changes: object) -> WorkflowFacts:
    return replace(PASSING[Event.START_MAINTENANCE], **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "changes", "rule"),
    [
        (S.RESPONDER, {"randomized_protocol": True}, "maintenance_clinic_only"),
        (S.RESPONDER, {"maintenance_intervals": ()}, "maintenance_option"),
        (S.RESPONDER, {"maintenance_interval_days": None}, "maintenance_interval_days"),
        (
            S.RESPONDER,
            {"maintenance_interval_days": 10, "reasons": ()},
            "maintenance_interval_days",
        ),
        (S.RESPONDER, {"last_infusion_open": True}, "series_closed"),
        (S.NON_RESPONDER, {"reasons": ("too short",)}, "maintenance_decision"),
        (S.LOST_RESPONSE, {"reasons": ()}, "maintenance_decision"),
    ],
)
def test_maintenance_starts_only_as_the_protocol_and_the_physician_say(
    state: S, changes: dict[str, object], rule: str
) -> None:
    decision = apply(state, Event.START_MAINTENANCE, Role.CLINICIAN, _maintenance(**changes))
    assert [r.rule for r in decision.refusals] == [rule]
    assert "§8" in decision.refusals[0].source or rule == "series_closed"  # §6: discharged


def test_a_responder_starts_maintenance_another_patient_with_the_physicians_reason() -> None:
    plain = _maintenance(reasons=())
    assert apply(S.RESPONDER, Event.START_MAINTENANCE, Role.CLINICIAN, plain).new_state is (
        S.IN_MAINTENANCE
    )
    other = _maintenance(reasons=("partial response; symptoms returning",))
    assert apply(S.NON_RESPONDER, Event.START_MAINTENANCE, Role.CLINICIAN, other).allowed
    odd = _maintenance(maintenance_interval_days=10, reasons=("works shifts every ten days",))
    assert apply(S.RESPONDER, Event.START_MAINTENANCE, Role.CLINICIAN, odd).allowed
    assert not apply(S.RESPONDER, Event.START_MAINTENANCE, Role.NURSE, plain).allowed


@pytest.mark.parametrize(
    ("state", "number", "rule"),
    [
        (S.IN_TREATMENT, 7, "series_length"),  # after the series only in maintenance
        (S.IN_MAINTENANCE, 6, "maintenance_numbering"),  # maintenance is numbered after it
    ],
)
def test_maintenance_infusions_are_numbered_after_the_series(
    state: S, number: int, rule: str
) -> None:
    facts = _next(infusion_number=number, acute_infusion_count=6, randomized_protocol=False)
    decision = apply(state, Event.START_INFUSION, Role.NURSE, facts)
    assert [(r.rule, r.field) for r in decision.refusals] == [(rule, "infusion_number")]


@pytest.mark.parametrize(("gap", "allowed"), [(4, False), (5, True), (7, True)])
def test_a_maintenance_infusion_comes_at_the_interval_within_its_window(
    gap: int, allowed: bool
) -> None:
    """Weekly, with a two-day window: five days after the last at the earliest (§8)."""
    facts = _next(
        infusion_number=8, acute_infusion_count=6, randomized_protocol=False,
        previous_day=MONDAY, today=MONDAY + dt.timedelta(days=gap), started_this_week=0,
        maintenance_interval_days=7, maintenance_window_days=2, min_days_between=2,
    )  # fmt: skip
    decision = apply(S.IN_MAINTENANCE, Event.START_INFUSION, Role.NURSE, facts)
    assert decision.allowed is allowed, decision.refusals
    if allowed:
        assert decision.new_state is S.IN_MAINTENANCE  # an infusion keeps maintenance
    else:
        assert [r.rule for r in decision.refusals] == ["maintenance_interval"]
        moved = replace(facts, day_moved_by_physician=True)
        assert apply(S.IN_MAINTENANCE, Event.START_INFUSION, Role.NURSE, moved).allowed


def test_stopping_maintenance_returns_to_what_the_scores_say() -> None:
    stop = replace(PASSING[Event.STOP_MAINTENANCE], reasons=("patient moves abroad",))
    # treated on the physician's decision before any score: the series is complete, the
    # response still unknown
    assert apply(S.IN_MAINTENANCE, Event.STOP_MAINTENANCE, Role.CLINICIAN, stop).new_state is (
        S.COMPLETED_SERIES
    )
    responder = replace(stop, response=S.RESPONDER)
    assert apply(S.IN_MAINTENANCE, Event.STOP_MAINTENANCE, Role.CLINICIAN, responder).new_state is (
        S.RESPONDER
    )
    scored = replace(stop, response=S.NON_RESPONDER)
    assert apply(S.IN_MAINTENANCE, Event.STOP_MAINTENANCE, Role.CLINICIAN, scored).new_state is (
        S.NON_RESPONDER
    )
    refused = apply(
        S.IN_MAINTENANCE, Event.STOP_MAINTENANCE, Role.CLINICIAN, replace(stop, reasons=("no",))
    )
    assert [r.rule for r in refused.refusals] == ["reason_required"]
    lost = replace(stop, response=S.LOST_RESPONSE)
    assert response_event(S.IN_MAINTENANCE, lost) is Event.LOSE_RESPONSE
    assert response_event(S.IN_MAINTENANCE, replace(stop, response=S.RESPONDER)) is None


# --- the states the series and screening add (issue 11) --------------------------------------


def test_the_first_consent_begins_screening_and_a_later_one_renews_it() -> None:
    facts = WorkflowFacts()
    assert apply(S.REGISTERED, Event.CONSENT, Role.INVESTIGATOR, facts).new_state is (S.SCREENING)
    again = apply(S.SCREENING, Event.CONSENT, Role.INVESTIGATOR, facts)
    assert [r.rule for r in again.refusals] == ["state"]
    renewed = apply(S.IN_TREATMENT, Event.RENEW_CONSENT, Role.INVESTIGATOR, facts)
    assert renewed.allowed and not renewed.changed
    assert not apply(S.REGISTERED, Event.RENEW_CONSENT, Role.INVESTIGATOR, facts).allowed


@pytest.mark.parametrize(("consented", "expected"), [(True, S.SCREENING), (False, S.REGISTERED)])
def test_an_incomplete_screening_visit_leaves_the_patient_in_screening(
    consented: bool, expected: PatientState
) -> None:
    facts = WorkflowFacts(consent_recorded=consented, eligibility=E.INCOMPLETE)
    for state in (S.REGISTERED, S.SCREENING, S.ELIGIBLE):
        if state is S.REGISTERED and consented:
            continue  # a consented patient is never registered only
        decision = apply(state, Event.DECIDE_ELIGIBILITY, Role.INVESTIGATOR, facts)
        assert decision.new_state is expected


@pytest.mark.parametrize(("discharged", "allowed"), [(5, False), (6, True), (7, True)])
def test_the_series_is_complete_when_its_last_infusion_is_discharged(
    discharged: int, allowed: bool
) -> None:
    facts = WorkflowFacts(acute_infusion_count=6, acute_infusions_discharged=discharged)
    decision = apply(S.IN_TREATMENT, Event.COMPLETE_SERIES, Role.INVESTIGATOR, facts)
    assert decision.allowed is allowed
    if allowed:
        assert decision.new_state is S.COMPLETED_SERIES
    else:
        assert [r.rule for r in decision.refusals] == ["series_not_complete"]
        assert "5 of 6" in decision.refusals[0].message


def test_no_infusion_of_the_series_starts_after_it_is_complete() -> None:
    decision = apply(
        S.COMPLETED_SERIES, Event.START_INFUSION, Role.NURSE, PASSING[Event.START_INFUSION]
    )
    assert [r.rule for r in decision.refusals] == ["state"]


def test_a_voided_deciding_score_returns_a_complete_series_to_completed_series() -> None:
    facts = WorkflowFacts(
        allocated=True, infusions_started=6, acute_infusion_count=6, acute_infusions_discharged=6
    )
    assert pre_response_state(facts) is S.COMPLETED_SERIES
    assert pre_response_state(replace(facts, acute_infusions_discharged=5)) is S.IN_TREATMENT
    decision = apply(S.RESPONDER, Event.REVISE_RESPONSE, Role.OUTCOME_RATER, facts)
    assert decision.new_state is S.COMPLETED_SERIES


def test_the_primary_outcome_decides_from_a_completed_series() -> None:
    facts = replace(PASSING[Event.RECORD_PRIMARY_OUTCOME], response=S.RESPONDER)
    decision = apply(S.COMPLETED_SERIES, Event.RECORD_PRIMARY_OUTCOME, Role.OUTCOME_RATER, facts)
    assert decision.new_state is S.RESPONDER
