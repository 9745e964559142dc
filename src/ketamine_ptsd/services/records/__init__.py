"""The record's entities: plain typed classes the database adapter maps onto its tables.

Why plain classes: the layers point inward (adapters → services → core, enforced by
import-linter), so the service layer cannot import the database adapter. The adapter's
``adapters/db/tables/`` declares the tables (types, constraints, the optimistic-locking
``version`` column, each column's sensitivity) and maps these classes onto them imperatively
(SQLAlchemy's ``registry.map_imperatively``), so services query and change entities without
knowing about tables — the pattern of "Architecture Patterns with Python", ch. 2.

Conventions: every editable record has ``version`` (optimistic lock); clinical records are never
deleted, they are voided (``voided_at``, ``voided_by``, ``void_reason``).

One module per part of the record, as the tables are; this module exports them all.
"""

from __future__ import annotations

from .base import Record
from .clinic import (
    Booking,
    EsketamineDecision,
    EsketamineEvent,
    EsketamineReading,
    EsketamineSession,
    RetreatmentCourse,
    SelfReport,
    SelfReportLink,
)
from .conduct import (
    DatabaseLock,
    DataFreeze,
    DataFreezeFrame,
    DataQuery,
    SdvMark,
    Site,
    UserSite,
)
from .infusion import (
    AdverseEvent,
    ConcomitantMedication,
    Demographics,
    DrugAdministration,
    IdentityCheck,
    InfusionDay,
    InfusionRating,
    Intervention,
    PhysicianDecision,
    PreInfusionCheck,
    SafetyAlert,
    VitalSignsRecord,
    VitalsMissed,
)
from .outcomes import (
    AdverseEventCoding,
    Assessment,
    BlindingGuess,
    MeddraTerm,
    Withdrawal,
)
from .record import (
    Allocation,
    AnalysisSanction,
    AuditEntry,
    AuditHead,
    Consent,
    Patient,
    PatientIdentity,
    ProtocolVersion,
    RandomizationList,
    RandomizationSlot,
    ScreeningOutcome,
    Signature,
    StudyIdSequence,
    Unblinding,
    User,
    UserSession,
)
from .screening import (
    EligibilityDecisionRecord,
    MaintenancePlan,
    MaintenanceSchedule,
    RiskBenefitDecisionRecord,
    SafetyPlan,
    ScreeningVisit,
    TreatmentResistance,
)

__all__ = [
    "AdverseEvent",
    "AdverseEventCoding",
    "Allocation",
    "AnalysisSanction",
    "Assessment",
    "AuditEntry",
    "AuditHead",
    "BlindingGuess",
    "Booking",
    "ConcomitantMedication",
    "Consent",
    "DataFreeze",
    "DataFreezeFrame",
    "DataQuery",
    "DatabaseLock",
    "Demographics",
    "DrugAdministration",
    "EligibilityDecisionRecord",
    "EsketamineDecision",
    "EsketamineEvent",
    "EsketamineReading",
    "EsketamineSession",
    "IdentityCheck",
    "InfusionDay",
    "InfusionRating",
    "Intervention",
    "MaintenancePlan",
    "MaintenanceSchedule",
    "MeddraTerm",
    "Patient",
    "PatientIdentity",
    "PhysicianDecision",
    "PreInfusionCheck",
    "ProtocolVersion",
    "RandomizationList",
    "RandomizationSlot",
    "Record",
    "RetreatmentCourse",
    "RiskBenefitDecisionRecord",
    "SafetyAlert",
    "SafetyPlan",
    "ScreeningOutcome",
    "ScreeningVisit",
    "SdvMark",
    "SelfReport",
    "SelfReportLink",
    "Signature",
    "Site",
    "StudyIdSequence",
    "TreatmentResistance",
    "Unblinding",
    "User",
    "UserSession",
    "UserSite",
    "VitalSignsRecord",
    "VitalsMissed",
    "Withdrawal",
]
