"""Guards of the clinic's maintenance and retreatment (PROTOCOL.md §5, §8, §11; issue 13)."""

from __future__ import annotations

from ..facts import MIN_REASON_CHARS, Refusal, WorkflowFacts
from ..states import (
    PatientState,
)

__all__ = [
    "maintenance_interval_chosen",
    "maintenance_offered",
    "reason_unless_responder",
    "retreatment_courses_left",
    "retreatment_offered",
    "retreatment_reason",
    "retreatment_series_given",
    "series_closed",
    "stop_reason",
]

S = PatientState


def maintenance_offered(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
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


def maintenance_interval_chosen(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
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


def series_closed(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if not facts.last_infusion_open:
        return None
    return Refusal(
        "series_closed",
        "PROTOCOL.md §6",
        "the last infusion is not yet discharged; maintenance starts after it",
    )


def reason_unless_responder(state: PatientState, facts: WorkflowFacts) -> Refusal | None:
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


def stop_reason(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if any(len(r.strip()) >= MIN_REASON_CHARS for r in facts.reasons):
        return None
    return Refusal(
        "reason_required",
        "PROTOCOL.md §8",
        f"say why maintenance stops (at least {MIN_REASON_CHARS} characters)",
        "reason",
    )


def retreatment_offered(state: PatientState, facts: WorkflowFacts) -> Refusal | None:
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


def retreatment_courses_left(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.retreatment_courses < facts.retreatment_max_courses:
        return None
    return Refusal(
        "retreatment_courses",
        "PROTOCOL.md §8",
        f"the protocol allows {facts.retreatment_max_courses} retreatment series; "
        f"{facts.retreatment_courses} already started",
    )


def retreatment_reason(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if any(len(r.strip()) >= MIN_REASON_CHARS for r in facts.reasons):
        return None
    return Refusal(
        "retreatment_decision",
        "PROTOCOL.md §8",
        f"retreatment is the physician's decision to treat, with the reason (at least "
        f"{MIN_REASON_CHARS} characters)",
        "reason",
    )


def retreatment_series_given(state: PatientState, facts: WorkflowFacts) -> Refusal | None:
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
