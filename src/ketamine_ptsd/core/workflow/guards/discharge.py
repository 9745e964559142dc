"""Guards of the discharge after an infusion and of the series' completion (PROTOCOL.md §5, §6, §12)."""

from __future__ import annotations

from ...rules.discharge import DischargeCriterion, discharge_readiness
from ..facts import Refusal, WorkflowFacts
from ..states import (
    PatientState,
)

__all__ = [
    "alerts_acknowledged",
    "delayed_effects_checked",
    "discharge_refusal",
    "dissociation_resolved",
    "every_scheduled_vitals_reading",
    "infusion_end_recorded",
    "no_emergent_psychosis_or_mania",
    "observation_over",
    "physician_signed_off",
    "series_complete",
    "series_discharged",
    "vital_signs_within_alerts",
    "walks_unaided",
]

S = PatientState


def discharge_refusal(facts: WorkflowFacts, code: DischargeCriterion) -> Refusal | None:
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


def infusion_end_recorded(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return discharge_refusal(facts, DischargeCriterion.INFUSION_END)


def observation_over(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return discharge_refusal(facts, DischargeCriterion.OBSERVATION)


def every_scheduled_vitals_reading(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return discharge_refusal(facts, DischargeCriterion.VITALS_MISSING)


def dissociation_resolved(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return discharge_refusal(facts, DischargeCriterion.DISSOCIATION)


def no_emergent_psychosis_or_mania(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return discharge_refusal(facts, DischargeCriterion.PSYCHIATRIC)


def walks_unaided(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return discharge_refusal(facts, DischargeCriterion.AMBULATORY)


def delayed_effects_checked(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return discharge_refusal(facts, DischargeCriterion.DELAYED_EFFECTS)


def vital_signs_within_alerts(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return discharge_refusal(facts, DischargeCriterion.VITAL_SIGNS)


def alerts_acknowledged(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    return discharge_refusal(facts, DischargeCriterion.ALERTS_UNACKNOWLEDGED)


def physician_signed_off(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if facts.signed_off_by is None or not facts.signed_off_by.strip():
        return Refusal(
            "discharge_physician_signoff",
            "PROTOCOL.md §6",
            "the physician's assessment and signed sign-off (a named, re-authenticated user) "
            "is outstanding",
        )
    return discharge_refusal(facts, DischargeCriterion.PHYSICIAN_SIGNOFF)


def series_complete(facts: WorkflowFacts) -> bool:
    return facts.acute_infusions_discharged >= facts.acute_infusion_count > 0


def series_discharged(_state: PatientState, facts: WorkflowFacts) -> Refusal | None:
    if series_complete(facts):
        return None
    return Refusal(
        "series_not_complete",
        "PROTOCOL.md §5, §6",
        f"the series is complete once infusion {facts.acute_infusion_count} is discharged "
        f"({facts.acute_infusions_discharged} of {facts.acute_infusion_count} discharged)",
    )
