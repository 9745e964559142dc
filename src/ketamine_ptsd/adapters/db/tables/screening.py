"""Screening and the clinic's plans (PROTOCOL.md §1, §2, §8, §11): the screening visit and the eligibility decision, risk-benefit decisions, safety plans, treatment resistance, maintenance plans and schedules.

Clinical records keyed by (patient, infusion number) or (patient, time point); every one is
editable with optimistic locking and voided, never deleted. Sensitivities carry the blind:
the drug, its mg dose and its concentration reveal the arm (PROTOCOL.md §4: 0.5 vs 0.045 mg/kg;
1 vs 0.09 mg/mL); infusion-day ratings and PRISE are hidden from outcome raters (§3)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)

from ._schema import (
    UTCDateTime,
    metadata,
    pk,
    recorded,
    row_version,
    void_columns,
)

__all__ = [
    "eligibility_decisions",
    "maintenance_plans",
    "maintenance_schedules",
    "risk_benefit_decisions",
    "safety_plans",
    "screening_visits",
    "treatment_resistance",
]

screening_visits = Table(
    "screening_visits",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("visit_date", Date, nullable=False),
    Column("protocol_version", String(32), nullable=False),
    Column("facts", JSON, nullable=False),
    Column("measures", JSON, nullable=False),
    *recorded(),
    *void_columns(),
    row_version(),
)

eligibility_decisions = Table(
    "eligibility_decisions",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("visit_id", Integer, ForeignKey("screening_visits.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("criteria", JSON, nullable=False),
    Column("facts_used", JSON, nullable=False),
    Column("evaluated_at", UTCDateTime, nullable=False),
    Column("evaluated_by", Integer, ForeignKey("users.id"), nullable=True),
    row_version(),
)

risk_benefit_decisions = Table(
    "risk_benefit_decisions",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("criterion_id", String(64), nullable=False),
    Column("proceed", Boolean, nullable=False),
    Column("decided_by_name", String(200), nullable=False),
    Column("decided_on", Date, nullable=False),
    Column("rationale", Text, nullable=False),
    *recorded(),
    *void_columns(),
    row_version(),
)

safety_plans = Table(
    "safety_plans",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("documented_on", Date, nullable=False),
    Column("warning_signs", Text, nullable=False),
    Column("coping_strategies", Text, nullable=False),
    Column("contacts", Text, nullable=False),
    Column("means_restriction", Text, nullable=False),
    *recorded(),
    *void_columns(),
    row_version(),
)

treatment_resistance = Table(
    "treatment_resistance",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("psychotherapy_trials", JSON, nullable=False),
    Column("medication_trials", JSON, nullable=False),
    Column("documented_on", Date, nullable=False),
    *recorded(),
    *void_columns(),
    row_version(),
)

maintenance_plans = Table(
    "maintenance_plans",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("option_ids", JSON, nullable=False),
    Column("site_facts", JSON, nullable=False),
    Column("interval_days", Integer, nullable=True),
    Column("notes", Text, nullable=True),
    Column("planned_on", Date, nullable=False),
    *recorded(),
    *void_columns(),
    row_version(),
)

#: The periodic IV maintenance a physician started after the series (PROTOCOL.md §8, §11;
#: issue 13): the option, the interval (a change is an audited edit with its reason), when it
#: started and why, and its stop. One open row per patient at most (stopped_on NULL).
maintenance_schedules = Table(
    "maintenance_schedules",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("option_id", String(64), nullable=False),
    Column("interval_days", Integer, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("reason", Text, nullable=True),
    *recorded(),
    Column("stopped_on", Date, nullable=True),
    Column("stopped_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("stop_reason", Text, nullable=True),
    row_version(),
)
