"""The workflow's guards: the rule, the § and the field of every refusal, and the boundaries of
infusion 1 (issue 12, mutation testing).

Each test here kills mutants of `make mutation` in ``core/workflow/table.py`` that changed a
decision — the § a refusal cites, the field it names for the screen, a guard lifted for the
first infusion, the interval and weekly bounds of a schedule of one — and that `tests/core` let
pass (docs/benchmarks.md, "Mutation testing").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.core.rules import DischargeFindings, EligibilityStatus, VitalSigns
from ketamine_ptsd.core.workflow import (
    Event,
    PatientState,
    WorkflowFacts,
    apply,
    pre_response_state,
)
from ketamine_ptsd.core.workflow.facts import Refusal

S = PatientState
E = EligibilityStatus
MONDAY = dt.date(2026, 3, 2)


def _next(**changes: object) -> WorkflowFacts:
    """Infusion 2 of a trial series on the Wednesday after infusion 1; every guard passes."""
    base: dict[str, object] = {
        "randomized_protocol": True,
        "consent_recorded": True,
        "allocated": True,
        "infusion_number": 2,
        "previous_day": MONDAY,
        "previous_discharged": True,
        "today": MONDAY + dt.timedelta(days=2),
        "min_days_between": 2,
        "per_week_max": 3,
        "started_this_week": 1,
        "identity_confirmed": True,
        "pump_checked_by_other": True,
        "supervising_physician_named": True,
    }
    base.update(changes)
    return WorkflowFacts(**base)  # type: ignore[arg-type]


def _first(**changes: object) -> WorkflowFacts:
    """Infusion 1 of the series (no previous infusion)."""
    first: dict[str, object] = {
        "infusion_number": 1,
        "previous_day": None,
        "previous_discharged": False,
    }
    return _next(**{**first, **changes})


def _override(**changes: object) -> WorkflowFacts:
    base: dict[str, object] = {
        "consent_recorded": True,
        "eligibility": E.INELIGIBLE,
        "open_criteria": ("caps5_total_min",),
        "named_criteria": ("caps5_total_min",),
        "reasons": ("CAPS-5 of 29 with clear functional impairment",),
    }
    base.update(changes)
    return WorkflowFacts(**base)  # type: ignore[arg-type]


def _discharge_facts(**changes: object) -> WorkflowFacts:
    findings = DischargeFindings(
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
    )
    base: dict[str, object] = {
        "consent_recorded": True,
        "discharge": findings,
        "discharge_protocol": load_protocol("rct"),
        "signed_off_by": "Dr Signing Physician",
    }
    base.update(changes)
    return WorkflowFacts(**base)  # type: ignore[arg-type]


_START = (S.IN_TREATMENT, Event.START_INFUSION, Role.NURSE)

#: One case per refusal of the table: (state, event, role, facts) → (rule, source, field, says).
CASES: list[tuple[tuple[S, Event, Role], WorkflowFacts, tuple[str, str, str | None, str]]] = [
    (
        (S.ELIGIBLE, Event.ALLOCATE, Role.PHARMACIST),
        WorkflowFacts(randomized_protocol=True),
        ("consent_first", "PROTOCOL.md §1, §2", None, "consent"),
    ),
    (
        (S.REGISTERED, Event.SCREEN_FAIL, Role.INVESTIGATOR),
        WorkflowFacts(reasons=(" ",)),
        ("reason_required", "SYSTEM.md capability 3", "reasons", "reason"),
    ),
    (
        (S.REGISTERED, Event.DECIDE_ELIGIBILITY, Role.INVESTIGATOR),
        WorkflowFacts(),
        ("eligibility_from_rules", "PROTOCOL.md §1, §2", "outcome", "screening visit"),
    ),
    (
        (S.REGISTERED, Event.OVERRIDE_ELIGIBILITY, Role.INVESTIGATOR),
        _override(eligibility=E.ELIGIBLE, open_criteria=(), named_criteria=()),
        ("override_not_needed", "PROTOCOL.md §1, §2", None, "eligible"),
    ),
    (
        (S.REGISTERED, Event.OVERRIDE_ELIGIBILITY, Role.INVESTIGATOR),
        _override(named_criteria=("caps5_total_min", "age_range")),
        ("override_names_open_criteria", "PROTOCOL.md §1, §2", "criteria", "age_range"),
    ),
    (
        (S.REGISTERED, Event.OVERRIDE_ELIGIBILITY, Role.INVESTIGATOR),
        _override(named_criteria=()),
        ("override_names_open_criteria", "PROTOCOL.md §1, §2", "criteria", "caps5_total_min"),
    ),
    (
        (S.REGISTERED, Event.OVERRIDE_ELIGIBILITY, Role.INVESTIGATOR),
        _override(reasons=("too short",)),
        ("override_reason", "SYSTEM.md capability 12", "reason", "10 characters"),
    ),
    (
        (S.ELIGIBLE, Event.ALLOCATE, Role.PHARMACIST),
        WorkflowFacts(consent_recorded=True),
        ("allocation_in_trials", "PROTOCOL.md §3", None, "open-label"),
    ),
    (
        (S.ELIGIBLE, Event.START_INFUSION, Role.NURSE),
        _first(allocated=False),
        ("allocation_before_infusion", "PROTOCOL.md §3", None, "not allocated"),
    ),
    (
        _START,
        _next(infusion_number=3, previous_day=None),
        ("previous_infusion_given", "PROTOCOL.md §5", None, "infusion 2 has not been given"),
    ),
    (
        _START,
        _next(infusion_number=3, previous_discharged=False),
        ("previous_infusion_discharged", "PROTOCOL.md §6", None, "infusion 2 of 2026-03-02"),
    ),
    (
        _START,
        _next(infusion_number=3, today=MONDAY + dt.timedelta(days=1)),
        ("minimum_interval", "PROTOCOL.md §5", None, "2 days after infusion 2"),
    ),
    (
        _START,
        _next(started_this_week=3),
        ("weekly_maximum", "PROTOCOL.md §5", None, "at most 3 a week"),
    ),
    (
        _START,
        _next(allowed_weekdays=(0, 4)),
        ("allowed_weekday", "PROTOCOL.md §5", None, "Monday, Friday"),
    ),
    (
        _START,
        _next(hold_reasons=("bp_cutoff",)),
        ("pre_infusion_hold", "PROTOCOL.md §6", None, "bp_cutoff"),
    ),
    (
        _START,
        _next(suicide_risk_unreviewed=("C-SSRS high suicide risk at week_1",)),
        ("suicide_risk_review", "PROTOCOL.md §7", None, "C-SSRS high"),
    ),
    (
        _START,
        _next(identity_confirmed=False),
        ("two_identifiers", "PROTOCOL.md §12", None, "date of birth"),
    ),
    (
        (S.RANDOMIZED, Event.START_INFUSION, Role.NURSE),
        _first(baseline_missing=("caps5",)),
        ("baseline_before_infusion_1", "PROTOCOL.md §5, §8, §9", None, "caps5"),
    ),
    (
        _START,
        _next(weight_change_reasons=("10 % above the last weight",)),
        ("weight_confirmed", "PROTOCOL.md §4", "weight_kg", "10 % above"),
    ),
    (
        _START,
        _next(pump_checked_by_other=False),
        ("pump_double_check", "PROTOCOL.md §4, §6", "witness_username", "pump"),
    ),
    (
        _START,
        _next(supervising_physician_named=False),
        ("supervising_physician", "PROTOCOL.md §6", "supervising_physician_id", "physician"),
    ),
    (
        (S.ELIGIBLE, Event.RECORD_PRIMARY_OUTCOME, Role.OUTCOME_RATER),
        WorkflowFacts(randomized_protocol=True, response=S.RESPONDER),
        ("primary_outcome_after_allocation", "PROTOCOL.md §9", None, "not allocated"),
    ),
    (
        (S.IN_TREATMENT, Event.RECORD_PRIMARY_OUTCOME, Role.OUTCOME_RATER),
        WorkflowFacts(),
        ("response_scored", "PROTOCOL.md §8", None, "not scored"),
    ),
    (
        (S.RESPONDER, Event.LOSE_RESPONSE, Role.OUTCOME_RATER),
        WorkflowFacts(response=S.RESPONDER),
        ("loss_of_response", "PROTOCOL.md §8", None, "follow-up"),
    ),
    (
        (S.IN_TREATMENT, Event.DISCHARGE, Role.INVESTIGATOR),
        _discharge_facts(signed_off_by=None),
        ("discharge_physician_signoff", "PROTOCOL.md §6", None, "sign-off"),
    ),
]


@pytest.mark.parametrize(("where", "facts", "expected"), CASES)
def test_each_refusal_names_its_rule_its_source_and_its_field(
    where: tuple[S, Event, Role], facts: WorkflowFacts, expected: tuple[str, str, str | None, str]
) -> None:
    """Every guard alone: one refusal, citing the § (or SYSTEM.md capability) the rule comes
    from, naming the input at fault where the user gave it (the screen shows it there), and
    saying why in words that name what is missing."""
    rule, source, field, says = expected
    decision = apply(*where, facts)
    [refusal] = decision.refusals
    assert (refusal.rule, refusal.source, refusal.field) == (rule, source, field)
    assert isinstance(refusal.message, str) and says in refusal.message


# --- infusion 1 is guarded like every other (§4, §6, §7) ---------------------------------------


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (
            {"suicide_risk_unreviewed": ("C-SSRS moderate suicide risk at screening",)},
            "suicide_risk_review",
        ),
        ({"weight_change_reasons": ("weight differs from screening by 12 %",)}, "weight_confirmed"),
        ({"pump_checked_by_other": False}, "pump_double_check"),
        ({"supervising_physician_named": False}, "supervising_physician"),
    ],
)
def test_the_first_infusion_is_held_like_any_other(change: dict[str, object], rule: str) -> None:
    """The screening C-SSRS review (§7), the weight check (§4), the pump double-check and the
    supervising physician (§6) apply from infusion 1, not from infusion 2."""
    decision = apply(S.RANDOMIZED, Event.START_INFUSION, Role.NURSE, _first(**change))
    assert [r.rule for r in decision.refusals] == [rule]


def test_the_first_infusion_has_no_previous_one_to_wait_for() -> None:
    """§5: the interval counts from the previous infusion of the series; infusion 1 has none,
    whatever day is on record before it."""
    facts = _first(previous_day=MONDAY, today=MONDAY + dt.timedelta(days=1))
    assert apply(S.RANDOMIZED, Event.START_INFUSION, Role.NURSE, facts).allowed


# --- the schedule's bounds (§5) ---------------------------------------------------------------


def test_a_daily_schedule_allows_the_next_day_never_the_same_day() -> None:
    """§5: with at least one day between infusions, the next day is allowed; no schedule
    allows two infusions the same day (the interval is at least one day)."""
    daily = _next(min_days_between=1, today=MONDAY + dt.timedelta(days=1))
    assert apply(*_START, daily).allowed
    for min_days in (0, 1):
        same_day = _next(min_days_between=min_days, today=MONDAY)
        assert [r.rule for r in apply(*_START, same_day).refusals] == ["minimum_interval"]


def test_a_weekly_schedule_allows_one_infusion_a_week() -> None:
    """§5 (maintenance: at most one a week): the second start of the week is refused; a
    schedule without a weekly maximum (0) refuses none."""
    weekly = _next(per_week_max=1, started_this_week=1)
    assert [r.rule for r in apply(*_START, weekly).refusals] == ["weekly_maximum"]
    assert apply(*_START, _next(per_week_max=1, started_this_week=0)).allowed
    assert apply(*_START, _next(per_week_max=0, started_this_week=5)).allowed


# --- discharge: findings, sign-off (§6, §12) --------------------------------------------------


@pytest.mark.parametrize("loaded", ["discharge", "discharge_protocol"])
def test_discharge_with_half_its_findings_is_refused_not_judged(loaded: str) -> None:
    """§6: the findings and the protocol that judges them are both needed; either alone is a
    refusal ("not loaded"), never a crash or a pass."""
    facts = _discharge_facts()
    if loaded == "discharge":
        facts = replace(facts, discharge_protocol=None)
    else:
        facts = replace(facts, discharge=None)
    decision = apply(S.IN_TREATMENT, Event.DISCHARGE, Role.INVESTIGATOR, facts)
    refusals: list[Refusal] = [r for r in decision.refusals if r.rule == "discharge_findings"]
    assert refusals
    assert all(r.source == "PROTOCOL.md §6" and "not loaded" in r.message for r in refusals)


def test_a_named_signer_does_not_replace_the_physicians_assessment() -> None:
    """§6: a signer is named, but the findings do not record the physician's assessment and
    sign-off: the discharge is refused by the rule's own sign-off criterion."""
    facts = _discharge_facts()
    assert facts.discharge is not None
    unsigned = replace(facts, discharge=replace(facts.discharge, physician_signoff=False))
    decision = apply(S.IN_TREATMENT, Event.DISCHARGE, Role.INVESTIGATOR, unsigned)
    assert [(r.rule, r.source) for r in decision.refusals] == [
        ("discharge_physician_signoff", "PROTOCOL.md §6")
    ]
    assert apply(S.IN_TREATMENT, Event.DISCHARGE, Role.INVESTIGATOR, facts).allowed


# --- where a patient stands while the response is unknown (§8) ---------------------------------


def test_one_started_infusion_puts_the_patient_in_treatment() -> None:
    assert pre_response_state(WorkflowFacts(allocated=True, infusions_started=1)) is S.IN_TREATMENT
    assert pre_response_state(WorkflowFacts(allocated=True, infusions_started=0)) is S.RANDOMIZED
    assert pre_response_state(WorkflowFacts()) is S.ELIGIBLE


def test_a_physicians_move_never_puts_two_infusions_on_one_day() -> None:
    """Issue 12 item 1: moving a day lifts the interval, the weekly maximum and the weekday,
    never "on a later day"."""
    moved = _next(today=MONDAY, day_moved_by_physician=True)
    refusals = apply(*_START, moved).refusals
    assert [r.rule for r in refusals] == ["minimum_interval"]
    assert "never two infusions on one day" in refusals[0].message
    assert apply(*_START, _next(today=MONDAY + dt.timedelta(days=1), day_moved_by_physician=True))


_ATTEMPTS = st.lists(
    st.tuples(
        st.integers(0, 3),  # days after the previous attempt
        st.booleans(),  # the previous infusion discharged
        st.booleans(),  # a physician moved the day
        st.integers(0, 4),  # infusions already started this week
    ),
    min_size=2,
    max_size=12,
)


def _run(attempts: list[tuple[int, bool, bool, int]]) -> tuple[list[dt.date], int]:
    """The days the workflow lets infusions start, and how many same-day attempts it refused."""
    today = MONDAY
    started: list[dt.date] = []
    same_day_refused = 0
    for gap, discharged, moved, this_week in attempts:
        today += dt.timedelta(days=gap)
        facts = _next(
            infusion_number=len(started) + 1,
            previous_day=started[-1] if started else None,
            previous_discharged=discharged,
            today=today,
            day_moved_by_physician=moved,
            started_this_week=this_week,
            allowed_weekdays=(),
        )
        state = S.IN_TREATMENT if started else S.RANDOMIZED
        if apply(state, Event.START_INFUSION, Role.NURSE, facts).allowed:
            started.append(today)
        elif started and started[-1] == today:
            same_day_refused += 1
    return started, same_day_refused


@settings(max_examples=300, deadline=None)
@given(attempts=_ATTEMPTS)
def test_no_sequence_of_attempts_starts_two_infusions_on_one_day(
    attempts: list[tuple[int, bool, bool, int]],
) -> None:
    """Issue 12 (property): whatever the days, discharges, physicians' moves and weekly counts,
    the starts the workflow allows never fall two on one day."""
    started, _ = _run(attempts)
    assert len(set(started)) == len(started)


def test_the_two_infusion_property_is_not_vacuous() -> None:
    """The generator reaches both sides: series with several starts, and a second start on the
    same day (discharged, moved by a physician) that the workflow refuses."""
    several = find(
        _ATTEMPTS,
        lambda a: len(_run(a)[0]) >= 3,
        settings=settings(database=None, max_examples=5000),
    )
    assert len(_run(several)[0]) >= 3
    tempted = find(
        _ATTEMPTS,
        lambda a: (
            any(gap == 0 and discharged and moved for gap, discharged, moved, _ in a[1:])
            and _run(a)[1] > 0
        ),
        settings=settings(database=None, max_examples=5000),
    )
    assert _run(tempted)[1] > 0
