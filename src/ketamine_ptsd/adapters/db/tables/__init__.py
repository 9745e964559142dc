"""The database schema: tables, constraints, sensitivities, and the mapping of the entities.

One schema for SQLite and PostgreSQL (SYSTEM.md §Data); Alembic migrations in ``migrations/``
create exactly this (a test compares them). Column ``info`` carries what the audit trail needs:
``sensitivity`` (a :class:`~ketamine_ptsd.core.roles.Sensitivity` value, for field-level
redaction of the blind) and ``audit=False`` for bookkeeping columns that are not clinical data.
The tables live in one module per part of the record (``record``, ``conduct``, ``screening``,
``infusion``, ``outcomes``, ``clinic``); this module lists which are audited and maps the
entities onto them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import column_property, registry

from ketamine_ptsd.services import records as r

from ._schema import STATUS_CHECK, UTCDateTime, metadata
from .clinic import (
    bookings,
    esketamine_decisions,
    esketamine_events,
    esketamine_readings,
    esketamine_sessions,
    retreatment_courses,
    self_report_links,
    self_reports,
)
from .conduct import (
    data_freeze_frames,
    data_freezes,
    data_queries,
    database_locks,
    sdv_marks,
    sites,
    user_sites,
)
from .infusion import (
    adverse_events,
    concomitant_medications,
    demographics,
    drug_administrations,
    identity_checks,
    infusion_days,
    infusion_ratings,
    interventions,
    physician_decisions,
    pre_infusion_checks,
    safety_alerts,
    vital_signs,
    vitals_missed,
)
from .outcomes import (
    adverse_event_codings,
    assessments,
    blinding_guesses,
    meddra_terms,
    withdrawals,
)
from .record import (
    allocations,
    analysis_sanctions,
    audit_head,
    audit_log,
    consents,
    patient_identities,
    patients,
    protocol_versions,
    randomization_lists,
    randomization_slots,
    screening_outcomes,
    signatures,
    study_id_sequences,
    unblindings,
    user_sessions,
    users,
)
from .screening import (
    eligibility_decisions,
    maintenance_plans,
    maintenance_schedules,
    risk_benefit_decisions,
    safety_plans,
    screening_visits,
    treatment_resistance,
)

__all__ = [
    "AUDITED_TABLES",
    "STATUS_CHECK",
    "WORKFLOW_TABLES",
    "UTCDateTime",
    "adverse_event_codings",
    "adverse_events",
    "allocations",
    "analysis_sanctions",
    "assessments",
    "audit_head",
    "audit_log",
    "blinding_guesses",
    "bookings",
    "concomitant_medications",
    "consents",
    "data_freeze_frames",
    "data_freezes",
    "data_queries",
    "database_locks",
    "demographics",
    "drug_administrations",
    "eligibility_decisions",
    "esketamine_decisions",
    "esketamine_events",
    "esketamine_readings",
    "esketamine_sessions",
    "identity_checks",
    "infusion_days",
    "infusion_ratings",
    "interventions",
    "maintenance_plans",
    "maintenance_schedules",
    "map_entities",
    "meddra_terms",
    "metadata",
    "patient_identities",
    "patients",
    "physician_decisions",
    "pre_infusion_checks",
    "protocol_versions",
    "randomization_lists",
    "randomization_slots",
    "retreatment_courses",
    "risk_benefit_decisions",
    "safety_alerts",
    "safety_plans",
    "screening_outcomes",
    "screening_visits",
    "sdv_marks",
    "self_report_links",
    "self_reports",
    "signatures",
    "sites",
    "study_id_sequences",
    "treatment_resistance",
    "unblindings",
    "user_sessions",
    "user_sites",
    "users",
    "vital_signs",
    "vitals_missed",
    "withdrawals",
]

#: Tables added by the workflows (phase 2); audited field by field like the rest.
WORKFLOW_TABLES = frozenset(
    {
        "screening_visits",
        "eligibility_decisions",
        "risk_benefit_decisions",
        "safety_plans",
        "treatment_resistance",
        "maintenance_plans",
        "maintenance_schedules",
        "demographics",
        "pre_infusion_checks",
        "infusion_days",
        "drug_administrations",
        "vital_signs",
        "vitals_missed",
        "identity_checks",
        "safety_alerts",
        "physician_decisions",
        "concomitant_medications",
        "interventions",
        "infusion_ratings",
        "adverse_events",
        "assessments",
        "withdrawals",
        "blinding_guesses",
        "self_report_links",
        "self_reports",
        "retreatment_courses",
        "esketamine_sessions",
        "esketamine_readings",
        "esketamine_events",
        "esketamine_decisions",
        "bookings",
    }
)


#: Tables whose changes the audit hook writes field by field (the rest write events).
AUDITED_TABLES = frozenset(
    {
        "users",
        "patients",
        "protocol_versions",
        "patient_identities",
        "consents",
        "screening_outcomes",
        "randomization_lists",
        "allocations",
        "unblindings",
        "analysis_sanctions",
        "signatures",
        "adverse_event_codings",
        "database_locks",
        "data_queries",
        "sdv_marks",
        "sites",
        "user_sites",
        "data_freezes",
        *WORKFLOW_TABLES,
    }
)

_MAPPING: dict[type[r.Record], Table] = {
    r.User: users,
    r.UserSession: user_sessions,
    r.AuditEntry: audit_log,
    r.AuditHead: audit_head,
    r.StudyIdSequence: study_id_sequences,
    r.Patient: patients,
    r.DatabaseLock: database_locks,
    r.DataQuery: data_queries,
    r.SdvMark: sdv_marks,
    r.Site: sites,
    r.UserSite: user_sites,
    r.DataFreeze: data_freezes,
    r.DataFreezeFrame: data_freeze_frames,
    r.ProtocolVersion: protocol_versions,
    r.PatientIdentity: patient_identities,
    r.Consent: consents,
    r.ScreeningOutcome: screening_outcomes,
    r.RandomizationList: randomization_lists,
    r.RandomizationSlot: randomization_slots,
    r.Allocation: allocations,
    r.Unblinding: unblindings,
    r.AnalysisSanction: analysis_sanctions,
    r.Signature: signatures,
    r.ScreeningVisit: screening_visits,
    r.EligibilityDecisionRecord: eligibility_decisions,
    r.RiskBenefitDecisionRecord: risk_benefit_decisions,
    r.SafetyPlan: safety_plans,
    r.TreatmentResistance: treatment_resistance,
    r.MaintenancePlan: maintenance_plans,
    r.MaintenanceSchedule: maintenance_schedules,
    r.Demographics: demographics,
    r.PreInfusionCheck: pre_infusion_checks,
    r.InfusionDay: infusion_days,
    r.DrugAdministration: drug_administrations,
    r.VitalSignsRecord: vital_signs,
    r.VitalsMissed: vitals_missed,
    r.IdentityCheck: identity_checks,
    r.SafetyAlert: safety_alerts,
    r.PhysicianDecision: physician_decisions,
    r.ConcomitantMedication: concomitant_medications,
    r.Intervention: interventions,
    r.InfusionRating: infusion_ratings,
    r.AdverseEvent: adverse_events,
    r.Assessment: assessments,
    r.Withdrawal: withdrawals,
    r.BlindingGuess: blinding_guesses,
    r.MeddraTerm: meddra_terms,
    r.AdverseEventCoding: adverse_event_codings,
    r.SelfReportLink: self_report_links,
    r.SelfReport: self_reports,
    r.RetreatmentCourse: retreatment_courses,
    r.EsketamineSession: esketamine_sessions,
    r.EsketamineReading: esketamine_readings,
    r.EsketamineEvent: esketamine_events,
    r.EsketamineDecision: esketamine_decisions,
    r.Booking: bookings,
}

_registry = registry(metadata=metadata)
_mapped = False


def map_entities() -> None:
    """Map the service entities onto the tables (idempotent; done when a database is opened)."""
    global _mapped
    if _mapped:
        return
    for cls, table in _MAPPING.items():
        # active_history: the audit trail needs the old value even when it was not loaded.
        properties = {c.key: column_property(c, active_history=True) for c in table.c}
        options: dict[str, Any] = {"properties": properties}
        if "version" in table.c:
            options["version_id_col"] = table.c.version
        cls.__audited__ = table.name in AUDITED_TABLES  # type: ignore[attr-defined]
        _registry.map_imperatively(cls, table, **options)
    _registry.configure()
    _mapped = True
