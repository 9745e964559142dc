"""Guards of the blinding guesses at the end of treatment (PROTOCOL.md §3, §5, §6; issue 15)."""

from __future__ import annotations

from ..facts import Refusal, WorkflowFacts
from ..states import (
    PatientState,
)

__all__ = ["allocated_for_guess", "blinded_protocol", "treatment_ended"]

S = PatientState


def blinded_protocol(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.blinded_protocol:
        return None
    return Refusal(
        "guess_in_blinded_trials",
        "PROTOCOL.md §3",
        "this protocol is open-label: nobody is blinded, so there is no guess of the arm to record",
    )


def allocated_for_guess(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.allocated:
        return None
    return Refusal(
        "guess_after_allocation",
        "PROTOCOL.md §3",
        "not allocated: a guess is set beside the arm the patient was allocated to",
    )


def treatment_ended(state: PatientState, facts: WorkflowFacts) -> Refusal | None:
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
