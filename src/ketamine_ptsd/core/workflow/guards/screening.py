"""Guards of consent, eligibility and allocation (PROTOCOL.md §1, §2, §3)."""

from __future__ import annotations

from ...rules.eligibility import EligibilityStatus
from ..facts import MIN_REASON_CHARS, Refusal, WorkflowFacts
from ..states import (
    PatientState,
)

__all__ = [
    "consent",
    "decided_by_rules",
    "has_reasons",
    "override_names_open_criteria",
    "override_reason",
    "randomized_protocol",
]

S = PatientState


def consent(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.consent_recorded:
        return None
    return Refusal(
        "consent_first",
        "PROTOCOL.md §1, §2",
        "written informed consent (with the capacity assessment) must be recorded first",
    )


def has_reasons(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if any(r.strip() for r in facts.reasons):
        return None
    return Refusal(
        "reason_required",
        "SYSTEM.md capability 3",
        "give at least one reason (kept for the CONSORT flow)",
        "reasons",
    )


def decided_by_rules(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.eligibility is not None:
        return None
    return Refusal(
        "eligibility_from_rules",
        "PROTOCOL.md §1, §2",
        "eligibility is decided by the protocol's rules from a recorded screening visit; "
        "record the screening visit first",
        "outcome",
    )


def override_names_open_criteria(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.eligibility is None:
        return None  # nothing decided: decided_by_rules says so
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


def override_reason(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if len(" ".join(facts.reasons).strip()) >= MIN_REASON_CHARS:
        return None
    return Refusal(
        "override_reason",
        "SYSTEM.md capability 12",
        f"an override needs the investigator's reason (at least {MIN_REASON_CHARS} characters)",
        "reason",
    )


def randomized_protocol(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.randomized_protocol:
        return None
    return Refusal(
        "allocation_in_trials",
        "PROTOCOL.md §3",
        "this protocol has one open-label arm: there is nothing to allocate",
    )
