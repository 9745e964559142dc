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
from ..rules.eligibility import EligibilityStatus
from .facts import Refusal, WorkflowFacts
from .guards.blinding import (
    allocated_for_guess,
    blinded_protocol,
    treatment_ended,
)
from .guards.clinic import (
    maintenance_interval_chosen,
    maintenance_offered,
    reason_unless_responder,
    retreatment_courses_left,
    retreatment_offered,
    retreatment_reason,
    retreatment_series_given,
    series_closed,
    stop_reason,
)
from .guards.discharge import (
    alerts_acknowledged,
    delayed_effects_checked,
    dissociation_resolved,
    every_scheduled_vitals_reading,
    infusion_end_recorded,
    no_emergent_psychosis_or_mania,
    observation_over,
    physician_signed_off,
    series_complete,
    series_discharged,
    vital_signs_within_alerts,
    walks_unaided,
)
from .guards.infusion import (
    allocated_before_infusion,
    allowed_weekday,
    baseline_before_infusion_one,
    maintenance_interval,
    minimum_interval,
    no_unreleased_hold,
    previous_infusion_closed,
    pump_double_checked,
    series_or_maintenance,
    suicide_risk_reviewed,
    supervised,
    two_identifiers_confirmed,
    weekly_maximum,
    weight_confirmed,
)
from .guards.response import (
    response_known,
    response_lost,
    trial_outcome_after_allocation,
)
from .guards.screening import (
    consent,
    decided_by_rules,
    has_reasons,
    override_names_open_criteria,
    override_reason,
    randomized_protocol,
)
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


def _infusion_target(state: PatientState, _facts: WorkflowFacts) -> PatientState:
    return state if state is S.IN_MAINTENANCE else S.IN_TREATMENT


def _after_maintenance(_state: PatientState, facts: WorkflowFacts) -> PatientState:
    """Stopping maintenance returns the patient to what the scores say (§8)."""
    if facts.response in RESPONSE_STATES:
        assert facts.response is not None
        return facts.response
    return S.COMPLETED_SERIES  # treated on the physician's decision; the response still unknown


# --- targets ---------------------------------------------------------------------------------


def _eligibility_target(_state: PatientState, facts: WorkflowFacts) -> PatientState:
    if facts.eligibility is EligibilityStatus.ELIGIBLE:
        return S.ELIGIBLE
    if facts.eligibility is EligibilityStatus.INELIGIBLE:
        return S.SCREEN_FAILED
    # incomplete, or a relative contraindication awaiting its decision: back to screening
    return S.SCREENING if facts.consent_recorded else S.REGISTERED


def pre_response_state(facts: WorkflowFacts) -> PatientState:
    """Where a patient stands while the response is unknown: the series complete, treated,
    allocated, or eligible."""
    if facts.infusions_started > 0:
        return S.COMPLETED_SERIES if series_complete(facts) else S.IN_TREATMENT
    if facts.allocated:
        return S.RANDOMIZED
    return S.ELIGIBLE


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
            decided_by_rules,
            target=_eligibility_target,
        ),
        _row(
            Event.OVERRIDE_ELIGIBILITY,
            "an investigator overrides named criteria, with a reason",
            Action.ELIGIBILITY_OVERRIDE,
            frozenset({S.REGISTERED, S.SCREENING, S.SCREEN_FAILED}),
            S.ELIGIBLE,
            "SYSTEM.md capability 12",
            decided_by_rules,
            consent,
            override_names_open_criteria,
            override_reason,
        ),
        _row(
            Event.SCREEN_FAIL,
            "record a screen failure, with reasons",
            Action.SCREENING_RECORD,
            SCREENING_OPEN,
            S.SCREEN_FAILED,
            "SYSTEM.md capability 3",
            has_reasons,
        ),
        _row(
            Event.DECLINE,
            "the patient declines, with the reason",
            Action.SCREENING_RECORD,
            SCREENING_OPEN,
            S.DECLINED,
            "SYSTEM.md capability 3",
            has_reasons,
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
            randomized_protocol,
            consent,
        ),
        _row(
            Event.START_INFUSION,
            "start an infusion of the series (or of maintenance)",
            Action.INFUSION_RECORD,
            SERIES_OPEN | MAINTENANCE,
            frozenset({S.IN_TREATMENT, S.IN_MAINTENANCE}),
            "PROTOCOL.md §5, §6, §8, §12",
            consent,
            allocated_before_infusion,
            series_or_maintenance,
            previous_infusion_closed,
            minimum_interval,
            maintenance_interval,
            weekly_maximum,
            allowed_weekday,
            no_unreleased_hold,
            suicide_risk_reviewed,
            two_identifiers_confirmed,
            baseline_before_infusion_one,
            weight_confirmed,
            pump_double_checked,
            supervised,
            target=_infusion_target,
        ),
        _row(
            Event.DISCHARGE,
            "discharge the patient after an infusion (the physician signs)",
            Action.DISCHARGE_SIGNOFF,
            ENROLLED | {S.WITHDRAWN},
            None,
            "PROTOCOL.md §6, §12",
            infusion_end_recorded,
            observation_over,
            every_scheduled_vitals_reading,
            dissociation_resolved,
            no_emergent_psychosis_or_mania,
            walks_unaided,
            delayed_effects_checked,
            vital_signs_within_alerts,
            alerts_acknowledged,
            physician_signed_off,
        ),
        _row(
            Event.COMPLETE_SERIES,
            "the series' last infusion is discharged: the series is complete",
            Action.DISCHARGE_SIGNOFF,
            frozenset({S.IN_TREATMENT}),
            S.COMPLETED_SERIES,
            "PROTOCOL.md §5, §6",
            series_discharged,
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
            trial_outcome_after_allocation,
            response_known,
            target=_response_target,
        ),
        _row(
            Event.LOSE_RESPONSE,
            "a follow-up visit shows the response lost",
            Action.ASSESSMENT_RECORD,
            frozenset({S.RESPONDER, S.IN_MAINTENANCE}),
            S.LOST_RESPONSE,
            "PROTOCOL.md §8",
            response_lost,
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
            maintenance_offered,
            retreatment_series_given,
            maintenance_interval_chosen,
            series_closed,
            reason_unless_responder,
        ),
        _row(
            Event.STOP_MAINTENANCE,
            "a physician stops maintenance, with the reason",
            Action.CLINIC_PLAN_RECORD,
            MAINTENANCE,
            RESPONSE_STATES | {S.COMPLETED_SERIES},
            "PROTOCOL.md §8",
            stop_reason,
            target=_after_maintenance,
        ),
        _row(
            Event.START_RETREATMENT,
            "start a retreatment series (a new acute series) after the response was lost",
            Action.CLINIC_PLAN_RECORD,
            frozenset({S.LOST_RESPONSE, S.NON_RESPONDER}),
            S.IN_TREATMENT,
            "PROTOCOL.md §5, §8",
            retreatment_offered,
            retreatment_courses_left,
            series_closed,
            retreatment_reason,
        ),
        _row(
            Event.RECORD_BLINDING_GUESS,
            "record a blinded person's guess of the arm at the end of treatment",
            Action.BLINDING_GUESS_RECORD,
            ENROLLED | {S.WITHDRAWN},
            None,
            "PROTOCOL.md §3, §5",
            blinded_protocol,
            allocated_for_guess,
            treatment_ended,
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
