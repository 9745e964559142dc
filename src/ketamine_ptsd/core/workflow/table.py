"""The transition table: every event, the states it may happen in, who may do it, its guards.

One row per :class:`~.states.Event`. A row names the role action of
:mod:`ketamine_ptsd.core.roles` the event needs, the states it may start from, the guards that must
all pass (pure functions of the state and the :class:`~.facts.WorkflowFacts`, each citing its
§), the state it leads to, and the source it comes from. :mod:`.machine` applies it;
``docs/workflow.md`` is drawn from it (:mod:`.diagram`), and a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..roles import Action
from ..rules.discharge import DischargeCriterion, discharge_readiness
from ..rules.eligibility import EligibilityStatus
from .facts import Refusal, WorkflowFacts
from .states import (
    ENROLLED,
    MAINTENANCE,
    PRE_RESPONSE,
    RESPONSE_STATES,
    SCREENING_OPEN,
    SERIES_OPEN,
    Event,
    PatientState,
)

__all__ = ["TRANSITIONS", "Guard", "Transition", "pre_response_state"]

Guard = Callable[[PatientState, WorkflowFacts], Refusal | None]
Target = Callable[[PatientState, WorkflowFacts], PatientState]

S = PatientState
MIN_REASON_CHARS = 10


@dataclass(frozen=True, slots=True)
class Transition:
    event: Event
    summary: str
    action: Action
    sources: frozenset[PatientState]
    targets: frozenset[PatientState]  # every state it can lead to; empty: it changes no state
    target: Target
    guards: tuple[Guard, ...]
    source: str  # where the rule comes from


def _stay(state: PatientState, _facts: WorkflowFacts) -> PatientState:
    return state


def _to(target: PatientState) -> Target:
    return lambda _state, _facts: target


# --- guards ----------------------------------------------------------------------------------


def _consent(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.consent_recorded:
        return None
    return Refusal(
        "consent_first",
        "PROTOCOL.md §1, §2",
        "written informed consent (with the capacity assessment) must be recorded first",
    )


def _has_reasons(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if any(r.strip() for r in facts.reasons):
        return None
    return Refusal(
        "reason_required",
        "SYSTEM.md capability 3",
        "give at least one reason (kept for the CONSORT flow)",
        "reasons",
    )


def _decided_by_rules(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.eligibility is not None:
        return None
    return Refusal(
        "eligibility_from_rules",
        "PROTOCOL.md §1, §2",
        "eligibility is decided by the protocol's rules from a recorded screening visit; "
        "record the screening visit first",
        "outcome",
    )


def _override_names_open_criteria(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.eligibility is None:
        return None  # nothing decided: _decided_by_rules says so
    if facts.eligibility is EligibilityStatus.ELIGIBLE:
        return Refusal(
            "override_not_needed",
            "PROTOCOL.md §1, §2",
            "the rules already found the patient eligible; nothing to override",
        )
    named = {c.strip() for c in facts.named_criteria if c.strip()}
    open_ = set(facts.open_criteria)
    unknown = sorted(named - open_)
    if unknown:
        return Refusal(
            "override_names_open_criteria",
            "PROTOCOL.md §1, §2",
            f"not a failed or missing criterion of the latest decision: {', '.join(unknown)} "
            f"(open: {', '.join(sorted(open_)) or 'none'})",
            "criteria",
        )
    unnamed = sorted(open_ - named)
    if unnamed:
        return Refusal(
            "override_names_open_criteria",
            "PROTOCOL.md §1, §2",
            f"an override names every failed or missing criterion; not named: {', '.join(unnamed)}",
            "criteria",
        )
    return None


def _override_reason(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if len(" ".join(facts.reasons).strip()) >= MIN_REASON_CHARS:
        return None
    return Refusal(
        "override_reason",
        "SYSTEM.md capability 12",
        f"an override needs the investigator's reason (at least {MIN_REASON_CHARS} characters)",
        "reason",
    )


def _randomized_protocol(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.randomized_protocol:
        return None
    return Refusal(
        "allocation_in_trials",
        "PROTOCOL.md §3",
        "this protocol has one open-label arm: there is nothing to allocate",
    )


def _allocated_before_infusion(state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if not facts.randomized_protocol or facts.allocated:
        return None
    return Refusal(
        "allocation_before_infusion",
        "PROTOCOL.md §3",
        "not allocated: allocation happens on the morning of infusion 1",
    )


def _previous_infusion_closed(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    n = facts.infusion_number
    if n <= 1:
        return None
    if facts.previous_day is None:
        return Refusal(
            "previous_infusion_given",
            "PROTOCOL.md §5",
            f"infusion {n - 1} has not been given; the series is given in order",
        )
    if not facts.previous_discharged:
        return Refusal(
            "previous_infusion_discharged",
            "PROTOCOL.md §6",
            f"infusion {n - 1} of {facts.previous_day.isoformat()} is not ended and discharged "
            "(physician's sign-off)",
        )
    return None


_MOVE_HINT = "; a physician may move the day (a recorded decision, with the reason)"


def _minimum_interval(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.infusion_number <= 1 or facts.previous_day is None or facts.today is None:
        return None
    gap = (facts.today - facts.previous_day).days
    if gap < 1:
        # never two infusions on one day, whoever moved it (issue 12 item 1): not movable
        return Refusal(
            "minimum_interval",
            "PROTOCOL.md §5",
            f"infusion {facts.infusion_number} comes on a later day than infusion "
            f"{facts.infusion_number - 1} ({facts.previous_day.isoformat()}); never two "
            "infusions on one day",
        )
    if facts.day_moved_by_physician:
        return None
    if gap >= max(facts.min_days_between, 1):
        return None
    return Refusal(
        "minimum_interval",
        "PROTOCOL.md §5",
        f"infusion {facts.infusion_number} comes at least "
        f"{max(facts.min_days_between, 1)} days after infusion {facts.infusion_number - 1} "
        f"({facts.previous_day.isoformat()}); today is {gap} day(s) after it" + _MOVE_HINT,
    )


def _weekly_maximum(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.per_week_max <= 0 or facts.started_this_week < facts.per_week_max:
        return None
    if facts.day_moved_by_physician:
        return None
    return Refusal(
        "weekly_maximum",
        "PROTOCOL.md §5",
        f"{facts.started_this_week} infusions already started this week; the schedule gives at "
        f"most {facts.per_week_max} a week" + _MOVE_HINT,
    )


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _allowed_weekday(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.infusion_number < 1 or not facts.allowed_weekdays or facts.today is None:
        return None
    if facts.today.weekday() in facts.allowed_weekdays or facts.day_moved_by_physician:
        return None
    days = ", ".join(_WEEKDAYS[d] for d in sorted(facts.allowed_weekdays))
    return Refusal(
        "allowed_weekday",
        "PROTOCOL.md §5",
        f"{facts.today.isoformat()} is a {_WEEKDAYS[facts.today.weekday()]}; the schedule gives "
        f"infusions on {days}" + _MOVE_HINT,
    )


def _no_unreleased_hold(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    released = set(facts.released_holds)
    held = [r for r in facts.hold_reasons if r not in released]
    if not held:
        return None
    return Refusal(
        "pre_infusion_hold",
        "PROTOCOL.md §6",
        "held: "
        + "; ".join(held)
        + ". Every reading of the morning counts; a re-check adds readings, it does not replace "
        "them. Only a physician's recorded release (reason, password) lets a held day start",
    )


def _suicide_risk_reviewed(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.infusion_number < 1 or not facts.suicide_risk_unreviewed:
        return None
    return Refusal(
        "suicide_risk_review",
        "PROTOCOL.md §7",
        "; ".join(facts.suicide_risk_unreviewed)
        + ": a physician reviews the suicide risk (acknowledges the alert with the action "
        "taken) before the next infusion",
    )


def _two_identifiers_confirmed(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.identity_confirmed:
        return None
    return Refusal(
        "two_identifiers",
        "PROTOCOL.md §12",
        "the nurse confirms the patient's name and date of birth (two identifiers) on the day, "
        "before the drug is given",
    )


def _baseline_before_infusion_one(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.infusion_number != 1 or not facts.baseline_missing:
        return None
    return Refusal(
        "baseline_before_infusion_1",
        "PROTOCOL.md §5, §8, §9",
        f"the primary outcome's baseline ({facts.baseline_time_point}) is not recorded: "
        f"{', '.join(facts.baseline_missing)}; without it the patient leaves the "
        "intent-to-treat analysis and no response can be judged",
    )


def _weight_confirmed(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.infusion_number < 1 or not facts.weight_change_reasons:
        return None
    if facts.weight_confirmed_by_other:
        return None
    return Refusal(
        "weight_confirmed",
        "PROTOCOL.md §4",
        "; ".join(facts.weight_change_reasons)
        + ": weigh again, or a second staff member confirms this weight",
        field="weight_kg",
    )


def _pump_double_checked(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.infusion_number < 1 or facts.pump_checked_by_other:
        return None
    return Refusal(
        "pump_double_check",
        "PROTOCOL.md §4, §6",
        "a second staff member, not the one starting, must check the pump setting against the "
        "dose (independent double-check of a high-alert drug)",
        field="witness_username",
    )


def _supervised(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.infusion_number < 1 or facts.supervising_physician_named:
        return None
    return Refusal(
        "supervising_physician",
        "PROTOCOL.md §6",
        "name the physician supervising this infusion",
        field="supervising_physician_id",
    )


def _trial_outcome_after_allocation(state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if state is not S.ELIGIBLE or not facts.randomized_protocol:
        return None
    return Refusal(
        "primary_outcome_after_allocation",
        "PROTOCOL.md §9",
        "a trial patient's primary outcome counts from allocation (intent to treat); "
        "this patient is not allocated",
    )


def _response_known(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.response is not None:
        return None
    return Refusal(
        "response_scored",
        "PROTOCOL.md §8",
        "the response at the primary time point is not scored (baseline and week 2 needed)",
    )


def _response_lost(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.response is S.LOST_RESPONSE:
        return None
    return Refusal(
        "loss_of_response",
        "PROTOCOL.md §8",
        "no follow-up visit shows the reduction from baseline below the response threshold",
    )


def _discharge_refusal(facts: WorkflowFacts, code: DischargeCriterion) -> Refusal | None:
    """The discharge rule's reasons for one criterion (PROTOCOL.md §6, §12), as one refusal."""
    if facts.discharge is None or facts.discharge_protocol is None:
        return Refusal(
            "discharge_findings",
            "PROTOCOL.md §6",
            "the day's discharge findings were not loaded; nothing can be judged",
        )
    result = discharge_readiness(facts.discharge_protocol, facts.discharge)
    reasons = [
        r.removesuffix(" (PROTOCOL.md §6)").removesuffix(" (PROTOCOL.md §12)")
        for r, c in zip(result.reasons, result.codes, strict=True)
        if c is code
    ]
    if not reasons:
        return None
    twelve = (DischargeCriterion.INFUSION_END, DischargeCriterion.ALERTS_UNACKNOWLEDGED)
    source = "PROTOCOL.md §6, §12" if code in twelve else "PROTOCOL.md §6"
    return Refusal(f"discharge_{code.value}", source, "; ".join(reasons))


def _infusion_end_recorded(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return _discharge_refusal(facts, DischargeCriterion.INFUSION_END)


def _observation_over(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return _discharge_refusal(facts, DischargeCriterion.OBSERVATION)


def _every_scheduled_vitals_reading(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return _discharge_refusal(facts, DischargeCriterion.VITALS_MISSING)


def _dissociation_resolved(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return _discharge_refusal(facts, DischargeCriterion.DISSOCIATION)


def _no_emergent_psychosis_or_mania(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return _discharge_refusal(facts, DischargeCriterion.PSYCHIATRIC)


def _walks_unaided(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return _discharge_refusal(facts, DischargeCriterion.AMBULATORY)


def _delayed_effects_checked(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return _discharge_refusal(facts, DischargeCriterion.DELAYED_EFFECTS)


def _vital_signs_within_alerts(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return _discharge_refusal(facts, DischargeCriterion.VITAL_SIGNS)


def _series_or_maintenance(state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    """An infusion after the acute series is a maintenance infusion: only in maintenance, and
    maintenance infusions are numbered after the series (§5, §8)."""
    count = facts.acute_infusion_count
    if count <= 0 or facts.infusion_number <= 0:
        return None
    if state is S.IN_MAINTENANCE and facts.infusion_number <= count:
        return Refusal(
            "maintenance_numbering",
            "PROTOCOL.md §8",
            f"maintenance infusions are numbered after the series of {count} "
            f"(infusion {count + 1} onwards)",
            "infusion_number",
        )
    first = max(facts.series_first_infusion, 1)
    if state is not S.IN_MAINTENANCE and first > 1:
        # a retreatment series: numbered on from the last infusion given (issue 13)
        last = first + count - 1
        if first <= facts.infusion_number <= last:
            return None
        return Refusal(
            "retreatment_numbering",
            "PROTOCOL.md §5, §8",
            f"the retreatment series is infusions {first} to {last} ({count} infusions, "
            "numbered after the last one given)",
            "infusion_number",
        )
    if state is not S.IN_MAINTENANCE and facts.infusion_number > count:
        return Refusal(
            "series_length",
            "PROTOCOL.md §5, §8",
            f"the series has {count} infusions; infusion {facts.infusion_number} is a "
            "maintenance infusion: a physician starts maintenance first",
            "infusion_number",
        )
    return None


def _maintenance_interval(state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    """A maintenance infusion comes at the schedule's interval, within its window (§8)."""
    if state is not S.IN_MAINTENANCE or facts.previous_day is None or facts.today is None:
        return None
    interval = facts.maintenance_interval_days
    if interval is None or facts.day_moved_by_physician:
        return None
    earliest = interval - max(facts.maintenance_window_days, 0)
    gap = (facts.today - facts.previous_day).days
    if gap >= earliest:
        return None
    return Refusal(
        "maintenance_interval",
        "PROTOCOL.md §8",
        f"the maintenance schedule gives an infusion every {interval} days (at the earliest "
        f"{earliest} days after the last, {facts.previous_day.isoformat()}); today is {gap} "
        "day(s) after it" + _MOVE_HINT,
    )


def _maintenance_offered(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.randomized_protocol:
        return Refusal(
            "maintenance_clinic_only",
            "PROTOCOL.md §8, §11",
            "the trial ends with its primary outcome; maintenance is the clinical pathway's",
        )
    if not facts.maintenance_intervals:
        return Refusal(
            "maintenance_option",
            "PROTOCOL.md §8",
            "the protocol offers no periodic IV maintenance (an option with its intervals)",
        )
    return None


def _maintenance_interval_chosen(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    """The protocol's interval, or another one with the physician's reason (issue 13)."""
    interval = facts.maintenance_interval_days
    if interval is None or interval < 1:
        return Refusal(
            "maintenance_interval_days",
            "PROTOCOL.md §8",
            "give the interval in days between maintenance infusions",
            "interval_days",
        )
    if interval in facts.maintenance_intervals:
        return None
    if any(len(r.strip()) >= MIN_REASON_CHARS for r in facts.reasons):
        return None
    every = " or ".join(map(str, facts.maintenance_intervals))
    return Refusal(
        "maintenance_interval_days",
        "PROTOCOL.md §8",
        f"the protocol gives every {every} days; another interval needs the physician's reason "
        f"(at least {MIN_REASON_CHARS} characters)",
        "interval_days",
    )


def _series_closed(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if not facts.last_infusion_open:
        return None
    return Refusal(
        "series_closed",
        "PROTOCOL.md §6",
        "the last infusion is not yet discharged; maintenance starts after it",
    )


def _reason_unless_responder(state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    """A responder enters maintenance by the protocol; anyone else by the physician's recorded
    decision to treat, with the reason (§8; issue 13)."""
    if state is S.RESPONDER or any(len(r.strip()) >= MIN_REASON_CHARS for r in facts.reasons):
        return None
    return Refusal(
        "maintenance_decision",
        "PROTOCOL.md §8",
        f"the patient is {state.value.replace('_', ' ')}: maintenance is the physician's "
        f"decision to treat, with the reason (at least {MIN_REASON_CHARS} characters)",
        "reason",
    )


def _stop_reason(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if any(len(r.strip()) >= MIN_REASON_CHARS for r in facts.reasons):
        return None
    return Refusal(
        "reason_required",
        "PROTOCOL.md §8",
        f"say why maintenance stops (at least {MIN_REASON_CHARS} characters)",
        "reason",
    )


def _retreatment_offered(state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    """Retreatment is the clinic's, from the states its protocol names (§8; issue 13)."""
    if facts.randomized_protocol:
        return Refusal(
            "retreatment_clinic_only",
            "PROTOCOL.md §8, §9",
            "the trial ends with its primary outcome; retreatment is the clinical pathway's",
        )
    if not facts.retreatment_from:
        return Refusal(
            "retreatment_offered", "PROTOCOL.md §8", "the protocol offers no retreatment"
        )
    if state not in facts.retreatment_from:
        allowed = " or ".join(s.value.replace("_", " ") for s in facts.retreatment_from)
        return Refusal(
            "retreatment_from",
            "PROTOCOL.md §8",
            f"the protocol retreats a patient whose state is {allowed}; this patient is "
            f"{state.value.replace('_', ' ')}",
        )
    return None


def _retreatment_courses_left(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.retreatment_courses < facts.retreatment_max_courses:
        return None
    return Refusal(
        "retreatment_courses",
        "PROTOCOL.md §8",
        f"the protocol allows {facts.retreatment_max_courses} retreatment series; "
        f"{facts.retreatment_courses} already started",
    )


def _retreatment_reason(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if any(len(r.strip()) >= MIN_REASON_CHARS for r in facts.reasons):
        return None
    return Refusal(
        "retreatment_decision",
        "PROTOCOL.md §8",
        f"retreatment is the physician's decision to treat, with the reason (at least "
        f"{MIN_REASON_CHARS} characters)",
        "reason",
    )


def _retreatment_series_given(state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    """From treatment, maintenance follows a retreatment series once it is given (§8)."""
    if state is not S.IN_TREATMENT:
        return None
    if not facts.retreatment_open:
        return Refusal(
            "maintenance_after_series",
            "PROTOCOL.md §8",
            "the series' response is not decided yet; maintenance follows it",
        )
    if facts.retreatment_infusions_discharged >= facts.acute_infusion_count > 0:
        return None
    return Refusal(
        "retreatment_series_given",
        "PROTOCOL.md §5, §8",
        f"{facts.retreatment_infusions_discharged} of the retreatment series' "
        f"{facts.acute_infusion_count} infusions discharged; maintenance follows the series",
    )


def _infusion_target(state: PatientState, _facts: WorkflowFacts) -> PatientState:
    return state if state is S.IN_MAINTENANCE else S.IN_TREATMENT


def _after_maintenance(_state: PatientState, facts: WorkflowFacts) -> PatientState:
    """Stopping maintenance returns the patient to what the scores say (§8)."""
    if facts.response in RESPONSE_STATES:
        assert facts.response is not None
        return facts.response
    return S.COMPLETED_SERIES  # treated on the physician's decision; the response still unknown


def _alerts_acknowledged(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return _discharge_refusal(facts, DischargeCriterion.ALERTS_UNACKNOWLEDGED)


def _physician_signed_off(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.signed_off_by is None or not facts.signed_off_by.strip():
        return Refusal(
            "discharge_physician_signoff",
            "PROTOCOL.md §6",
            "the physician's assessment and signed sign-off (a named, re-authenticated user) "
            "is outstanding",
        )
    return _discharge_refusal(facts, DischargeCriterion.PHYSICIAN_SIGNOFF)


# --- targets ---------------------------------------------------------------------------------


def _eligibility_target(_state: PatientState, facts: WorkflowFacts) -> PatientState:
    if facts.eligibility is EligibilityStatus.ELIGIBLE:
        return S.ELIGIBLE
    if facts.eligibility is EligibilityStatus.INELIGIBLE:
        return S.SCREEN_FAILED
    # incomplete, or a relative contraindication awaiting its decision: back to screening
    return S.SCREENING if facts.consent_recorded else S.REGISTERED


def _series_complete(facts: WorkflowFacts) -> bool:
    return facts.acute_infusions_discharged >= facts.acute_infusion_count > 0


def pre_response_state(facts: WorkflowFacts) -> PatientState:
    """Where a patient stands while the response is unknown: the series complete, treated,
    allocated, or eligible."""
    if facts.infusions_started > 0:
        return S.COMPLETED_SERIES if _series_complete(facts) else S.IN_TREATMENT
    if facts.allocated:
        return S.RANDOMIZED
    return S.ELIGIBLE


def _series_discharged(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if _series_complete(facts):
        return None
    return Refusal(
        "series_not_complete",
        "PROTOCOL.md §5, §6",
        f"the series is complete once infusion {facts.acute_infusion_count} is discharged "
        f"({facts.acute_infusions_discharged} of {facts.acute_infusion_count} discharged)",
    )


def _blinded_protocol(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.blinded_protocol:
        return None
    return Refusal(
        "guess_in_blinded_trials",
        "PROTOCOL.md §3",
        "this protocol is open-label: nobody is blinded, so there is no guess of the arm to record",
    )


def _allocated_for_guess(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.allocated:
        return None
    return Refusal(
        "guess_after_allocation",
        "PROTOCOL.md §3",
        "not allocated: a guess is set beside the arm the patient was allocated to",
    )


def _treatment_ended(state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    """The end of treatment: the acute series' last infusion discharged, or left early."""
    if state is S.WITHDRAWN or facts.acute_infusions_discharged >= facts.acute_infusion_count > 0:
        return None
    return Refusal(
        "guess_at_end_of_treatment",
        "PROTOCOL.md §3, §5, §6",
        "guesses are asked at the end of treatment: after infusion "
        f"{facts.acute_infusion_count} of the series is discharged "
        f"({facts.acute_infusions_discharged} discharged so far), or once the patient has "
        "left treatment early",
    )


def _response_target(_state: PatientState, facts: WorkflowFacts) -> PatientState:
    return facts.response if facts.response is not None else pre_response_state(facts)


def _row(
    event: Event,
    summary: str,
    action: Action,
    sources: frozenset[PatientState],
    targets: frozenset[PatientState] | PatientState | None,
    source: str,
    *guards: Guard,
    target: Target | None = None,
) -> Transition:
    if targets is None:
        return Transition(event, summary, action, sources, frozenset(), _stay, guards, source)
    if isinstance(targets, PatientState):
        return Transition(
            event, summary, action, sources, frozenset({targets}), _to(targets), guards, source
        )
    assert target is not None
    return Transition(event, summary, action, sources, targets, target, guards, source)


_BEFORE_ALLOCATION = SCREENING_OPEN | {S.SCREEN_FAILED, S.DECLINED}

#: The one declaration of the workflow. Rows without a target change no state (they say when
#: an activity may happen).
TRANSITIONS: Mapping[Event, Transition] = {
    t.event: t
    for t in (
        _row(
            Event.CONSENT,
            "record informed consent: screening begins",
            Action.CONSENT_RECORD,
            frozenset({S.REGISTERED}),
            S.SCREENING,
            "PROTOCOL.md §1, §2",
        ),
        _row(
            Event.RENEW_CONSENT,
            "record consent again (a corrected form, or re-consent after an amendment)",
            Action.CONSENT_RECORD,
            (SCREENING_OPEN - {S.REGISTERED}) | PRE_RESPONSE | RESPONSE_STATES | MAINTENANCE,
            None,
            "PROTOCOL.md §1, §2",
        ),
        _row(
            Event.DECIDE_ELIGIBILITY,
            "the rules decide eligibility from the screening visit",
            Action.SCREENING_RECORD,
            SCREENING_OPEN,
            frozenset({S.REGISTERED, S.SCREENING, S.ELIGIBLE, S.SCREEN_FAILED}),
            "PROTOCOL.md §1, §2",
            _decided_by_rules,
            target=_eligibility_target,
        ),
        _row(
            Event.OVERRIDE_ELIGIBILITY,
            "an investigator overrides named criteria, with a reason",
            Action.ELIGIBILITY_OVERRIDE,
            frozenset({S.REGISTERED, S.SCREENING, S.SCREEN_FAILED}),
            S.ELIGIBLE,
            "SYSTEM.md capability 12",
            _decided_by_rules,
            _consent,
            _override_names_open_criteria,
            _override_reason,
        ),
        _row(
            Event.SCREEN_FAIL,
            "record a screen failure, with reasons",
            Action.SCREENING_RECORD,
            SCREENING_OPEN,
            S.SCREEN_FAILED,
            "SYSTEM.md capability 3",
            _has_reasons,
        ),
        _row(
            Event.DECLINE,
            "the patient declines, with the reason",
            Action.SCREENING_RECORD,
            SCREENING_OPEN,
            S.DECLINED,
            "SYSTEM.md capability 3",
            _has_reasons,
        ),
        _row(
            Event.EDIT_STRATUM,
            "correct the stratum before allocation",
            Action.PATIENT_EDIT,
            _BEFORE_ALLOCATION,
            None,
            "PROTOCOL.md §3",
        ),
        _row(
            Event.VOID_REGISTRATION,
            "void a registration made in error (a randomized patient is withdrawn instead)",
            Action.PATIENT_VOID,
            _BEFORE_ALLOCATION,
            None,
            "PROTOCOL.md §9",
        ),
        _row(
            Event.ALLOCATE,
            "allocate from the sealed list on the morning of infusion 1",
            Action.ALLOCATE,
            frozenset({S.ELIGIBLE}),
            S.RANDOMIZED,
            "PROTOCOL.md §3",
            _randomized_protocol,
            _consent,
        ),
        _row(
            Event.START_INFUSION,
            "start an infusion of the series (or of maintenance)",
            Action.INFUSION_RECORD,
            SERIES_OPEN | MAINTENANCE,
            frozenset({S.IN_TREATMENT, S.IN_MAINTENANCE}),
            "PROTOCOL.md §5, §6, §8, §12",
            _consent,
            _allocated_before_infusion,
            _series_or_maintenance,
            _previous_infusion_closed,
            _minimum_interval,
            _maintenance_interval,
            _weekly_maximum,
            _allowed_weekday,
            _no_unreleased_hold,
            _suicide_risk_reviewed,
            _two_identifiers_confirmed,
            _baseline_before_infusion_one,
            _weight_confirmed,
            _pump_double_checked,
            _supervised,
            target=_infusion_target,
        ),
        _row(
            Event.DISCHARGE,
            "discharge the patient after an infusion (the physician signs)",
            Action.DISCHARGE_SIGNOFF,
            ENROLLED | {S.WITHDRAWN},
            None,
            "PROTOCOL.md §6, §12",
            _infusion_end_recorded,
            _observation_over,
            _every_scheduled_vitals_reading,
            _dissociation_resolved,
            _no_emergent_psychosis_or_mania,
            _walks_unaided,
            _delayed_effects_checked,
            _vital_signs_within_alerts,
            _alerts_acknowledged,
            _physician_signed_off,
        ),
        _row(
            Event.COMPLETE_SERIES,
            "the series' last infusion is discharged: the series is complete",
            Action.DISCHARGE_SIGNOFF,
            frozenset({S.IN_TREATMENT}),
            S.COMPLETED_SERIES,
            "PROTOCOL.md §5, §6",
            _series_discharged,
        ),
        _row(
            Event.RECORD_ASSESSMENT,
            "record an outcome assessment",
            Action.ASSESSMENT_RECORD,
            ENROLLED,
            None,
            "PROTOCOL.md §5, §7",
        ),
        _row(
            Event.RECORD_PRIMARY_OUTCOME,
            "the primary time point's score decides the response",
            Action.ASSESSMENT_RECORD,
            PRE_RESPONSE,
            RESPONSE_STATES,
            "PROTOCOL.md §8",
            _trial_outcome_after_allocation,
            _response_known,
            target=_response_target,
        ),
        _row(
            Event.LOSE_RESPONSE,
            "a follow-up visit shows the response lost",
            Action.ASSESSMENT_RECORD,
            frozenset({S.RESPONDER, S.IN_MAINTENANCE}),
            S.LOST_RESPONSE,
            "PROTOCOL.md §8",
            _response_lost,
        ),
        _row(
            Event.REVISE_RESPONSE,
            "a deciding score is corrected or voided: the response is decided again",
            Action.ASSESSMENT_RECORD,
            RESPONSE_STATES,
            RESPONSE_STATES | PRE_RESPONSE,
            "PROTOCOL.md §8",
            target=_response_target,
        ),
        _row(
            Event.START_MAINTENANCE,
            "a physician starts periodic IV maintenance after the series (or a retreatment)",
            Action.CLINIC_PLAN_RECORD,
            frozenset(
                {S.COMPLETED_SERIES, S.RESPONDER, S.NON_RESPONDER, S.LOST_RESPONSE, S.IN_TREATMENT}
            ),
            S.IN_MAINTENANCE,
            "PROTOCOL.md §8, §11",
            _maintenance_offered,
            _retreatment_series_given,
            _maintenance_interval_chosen,
            _series_closed,
            _reason_unless_responder,
        ),
        _row(
            Event.STOP_MAINTENANCE,
            "a physician stops maintenance, with the reason",
            Action.CLINIC_PLAN_RECORD,
            MAINTENANCE,
            RESPONSE_STATES | {S.COMPLETED_SERIES},
            "PROTOCOL.md §8",
            _stop_reason,
            target=_after_maintenance,
        ),
        _row(
            Event.START_RETREATMENT,
            "start a retreatment series (a new acute series) after the response was lost",
            Action.CLINIC_PLAN_RECORD,
            frozenset({S.LOST_RESPONSE, S.NON_RESPONDER}),
            S.IN_TREATMENT,
            "PROTOCOL.md §5, §8",
            _retreatment_offered,
            _retreatment_courses_left,
            _series_closed,
            _retreatment_reason,
        ),
        _row(
            Event.RECORD_BLINDING_GUESS,
            "record a blinded person's guess of the arm at the end of treatment",
            Action.BLINDING_GUESS_RECORD,
            ENROLLED | {S.WITHDRAWN},
            None,
            "PROTOCOL.md §3, §5",
            _blinded_protocol,
            _allocated_for_guess,
            _treatment_ended,
        ),
        _row(
            Event.WITHDRAW,
            "withdraw, with the reason and who decided",
            Action.WITHDRAWAL_RECORD,
            ENROLLED,
            S.WITHDRAWN,
            "PROTOCOL.md §10 (CONSORT)",
        ),
    )
}
