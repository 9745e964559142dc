"""Clinical rules: pure functions of a protocol and the facts of one patient (PROTOCOL.md §1–§8).

One module per concept — eligibility, dose, pre_infusion, vitals, discharge, schedule, response,
maintenance — each citing its §. No I/O, no clock: dates and times come in as arguments.
"""

from __future__ import annotations

from .discharge import (
    DischargeCriterion,
    DischargeFindings,
    DischargeReadiness,
    discharge_readiness,
)
from .dose import (
    BlindedDose,
    DoseResult,
    SharedVolume,
    blinded_dose,
    calculate_dose,
    dosing_weight_kg,
    round_to_step,
    shared_volume,
)
from .eligibility import (
    CriterionResult,
    CriterionStatus,
    EligibilityDecision,
    EligibilityStatus,
    FactValue,
    RiskBenefitDecision,
    evaluate_criterion,
    evaluate_eligibility,
)
from .maintenance import (
    MaintenanceOptionStatus,
    RelapseWatch,
    maintenance_options,
    relapse_watch_dates,
)
from .pre_infusion import (
    BpCheckResult,
    BpReading,
    ChecklistItem,
    PreInfusionFindings,
    PreInfusionResult,
    check_bp_cutoff,
    parse_bp_reading,
    parse_bp_readings,
    pre_infusion_checklist,
)
from .response import (
    DurabilityOutcome,
    FollowUpScore,
    ResponseResult,
    assess_response,
    reduction_fraction,
    time_to_loss_of_response,
)
from .schedule import (
    PlannedAssessment,
    PlannedVisit,
    SchedulePlan,
    add_months,
    assessment_target,
    follow_up_visits,
    infusion_dates,
    plan_schedule,
)
from .vitals import (
    VitalAlert,
    VitalSigns,
    observation_end_minute,
    vital_sign_alerts,
    vitals_due_minutes,
)

__all__ = [
    "BlindedDose",
    "BpCheckResult",
    "BpReading",
    "ChecklistItem",
    "CriterionResult",
    "CriterionStatus",
    "DischargeCriterion",
    "DischargeFindings",
    "DischargeReadiness",
    "DoseResult",
    "DurabilityOutcome",
    "EligibilityDecision",
    "EligibilityStatus",
    "FactValue",
    "FollowUpScore",
    "MaintenanceOptionStatus",
    "PlannedAssessment",
    "PlannedVisit",
    "PreInfusionFindings",
    "PreInfusionResult",
    "RelapseWatch",
    "ResponseResult",
    "RiskBenefitDecision",
    "SchedulePlan",
    "SharedVolume",
    "VitalAlert",
    "VitalSigns",
    "add_months",
    "assess_response",
    "assessment_target",
    "blinded_dose",
    "calculate_dose",
    "check_bp_cutoff",
    "discharge_readiness",
    "dosing_weight_kg",
    "evaluate_criterion",
    "evaluate_eligibility",
    "follow_up_visits",
    "infusion_dates",
    "maintenance_options",
    "observation_end_minute",
    "parse_bp_reading",
    "parse_bp_readings",
    "plan_schedule",
    "pre_infusion_checklist",
    "reduction_fraction",
    "relapse_watch_dates",
    "round_to_step",
    "shared_volume",
    "time_to_loss_of_response",
    "vital_sign_alerts",
    "vitals_due_minutes",
]
