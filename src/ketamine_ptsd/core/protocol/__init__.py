"""Protocols as validated, typed, frozen data (SYSTEM.md capability 1; PROTOCOL.md §1–§9).

``parse_protocol(text)`` turns YAML or TOML into a :class:`Protocol`; ``validate(protocol)``
lists every clinical inconsistency. Reading files is the store adapter's job
(``ketamine_ptsd.adapters.protocol_store.load_protocol``).
"""

from __future__ import annotations

from ._base import WEEKDAYS, FrozenModel, Weekday, weekday_index
from ._dosing import DrugDose, WeightBasis
from ._eligibility import Criterion, CriterionKind, Operator
from ._esketamine import (
    REMS_CONCOMITANT_CLASSES,
    EsketamineBpHold,
    EsketaminePhase,
    EsketaminePlan,
)
from ._instruments import KNOWN_INSTRUMENT_IDS
from ._limits import (
    HEIGHT_CM_LIMITS,
    MAX_WEIGHT_CHANGE_TOLERANCE_PERCENT,
    VITAL_RANGES,
    WEIGHT_KG_LIMITS,
)
from ._monitoring import (
    AlertThresholds,
    BpLimit,
    DataChecks,
    DischargeCriteria,
    Monitoring,
    PlausibleRange,
    PreInfusionChecks,
    RatingTime,
    RescueDrug,
    VitalsWindow,
    WorseningLimit,
)
from ._outcomes import (
    AnalysisOutcome,
    AnalysisPlan,
    Durability,
    InterimPlan,
    MaintenanceOption,
    MaintenancePlan,
    Requirement,
    ResponseDefinition,
)
from ._parse import parse_protocol, protocol_from_mapping
from ._protocol import Arm, Protocol
from ._schedule import Anchor, AssessmentTimePoint, FollowUp, Schedule, frequency_per_week
from ._self_report import RetreatmentPlan, SelfReportPlan
from ._validate import max_infusions_per_calendar_week, validate

__all__ = [
    "HEIGHT_CM_LIMITS",
    "KNOWN_INSTRUMENT_IDS",
    "MAX_WEIGHT_CHANGE_TOLERANCE_PERCENT",
    "REMS_CONCOMITANT_CLASSES",
    "VITAL_RANGES",
    "WEEKDAYS",
    "WEIGHT_KG_LIMITS",
    "AlertThresholds",
    "AnalysisOutcome",
    "AnalysisPlan",
    "Anchor",
    "Arm",
    "AssessmentTimePoint",
    "BpLimit",
    "Criterion",
    "CriterionKind",
    "DataChecks",
    "DischargeCriteria",
    "DrugDose",
    "Durability",
    "EsketamineBpHold",
    "EsketaminePhase",
    "EsketaminePlan",
    "FollowUp",
    "FrozenModel",
    "InterimPlan",
    "MaintenanceOption",
    "MaintenancePlan",
    "Monitoring",
    "Operator",
    "PlausibleRange",
    "PreInfusionChecks",
    "Protocol",
    "RatingTime",
    "Requirement",
    "RescueDrug",
    "ResponseDefinition",
    "RetreatmentPlan",
    "Schedule",
    "SelfReportPlan",
    "VitalsWindow",
    "Weekday",
    "WeightBasis",
    "WorseningLimit",
    "frequency_per_week",
    "max_infusions_per_calendar_week",
    "parse_protocol",
    "protocol_from_mapping",
    "validate",
    "weekday_index",
]
