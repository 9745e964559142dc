"""Guards of the response at the primary time point and its loss (PROTOCOL.md §8, §9)."""

from __future__ import annotations

from ..facts import Refusal, WorkflowFacts
from ..states import (
    PatientState,
)

__all__ = ["response_known", "response_lost", "trial_outcome_after_allocation"]

S = PatientState


def trial_outcome_after_allocation(state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if state is not S.ELIGIBLE or not facts.randomized_protocol:
        return None
    return Refusal(
        "primary_outcome_after_allocation",
        "PROTOCOL.md §9",
        "a trial patient's primary outcome counts from allocation (intent to treat); "
        "this patient is not allocated",
    )


def response_known(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.response is not None:
        return None
    return Refusal(
        "response_scored",
        "PROTOCOL.md §8",
        "the response at the primary time point is not scored (baseline and week 2 needed)",
    )


def response_lost(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.response is S.LOST_RESPONSE:
        return None
    return Refusal(
        "loss_of_response",
        "PROTOCOL.md §8",
        "no follow-up visit shows the reduction from baseline below the response threshold",
    )
