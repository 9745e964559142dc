"""The database schema: tables, constraints, sensitivities, and the mapping of the entities.

One schema for SQLite and PostgreSQL (SYSTEM.md §Data); Alembic migrations in ``migrations/``
create exactly this (a test compares them). Column ``info`` carries what the audit trail needs:
``sensitivity`` (a :class:`~ketamine_ptsd.core.roles.Sensitivity` value, for field-level
redaction of the blind) and ``audit=False`` for bookkeeping columns that are not clinical data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import column_property, registry
from sqlalchemy.types import TypeDecorator

from ketamine_ptsd.core.workflow import PatientState
from ketamine_ptsd.services import records as r

__all__ = ["AUDITED_TABLES", "UTCDateTime", "map_entities", "metadata"]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: The patient states the database accepts, generated from the workflow's enum.
STATUS_CHECK = "status IN ({})".format(", ".join(f"'{s.value}'" for s in PatientState))


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on both databases (SQLite stores no zone; we store UTC, naive)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass an aware UTC datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
        return value.astimezone(dt.UTC)  # type: ignore[no-any-return]


ALLOCATION = {"sensitivity": "allocation"}
IDENTITY = {"sensitivity": "identity"}
SECRET = {"sensitivity": "secret"}
NOT_AUDITED = {"audit": False}


def _pk() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _version() -> Column[int]:
    return Column("version", Integer, nullable=False, info=NOT_AUDITED)


def _void_columns() -> list[Column[Any]]:
    return [
        Column("voided_at", UTCDateTime, nullable=True),
        Column("voided_by", Integer, ForeignKey("users.id"), nullable=True),
        Column("void_reason", Text, nullable=True),
    ]


users = Table(
    "users",
    metadata,
    _pk(),
    Column("username", String(64), nullable=False, unique=True),
    Column("full_name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("password_hash", String(255), nullable=False, info=SECRET),
    Column("active", Boolean, nullable=False),
    Column("failed_logins", Integer, nullable=False, info=NOT_AUDITED),
    Column("locked_until", UTCDateTime, nullable=True, info=NOT_AUDITED),
    Column("created_at", UTCDateTime, nullable=False),
    _version(),
)

user_sessions = Table(
    "user_sessions",
    metadata,
    _pk(),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True, info=SECRET),
    Column("kind", String(8), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    # the site the session works at, for a user whose sites give different roles (migration 0017)
    Column("site", String(16), nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("actor_user_id", Integer, nullable=True),
    Column("actor_username", String(64), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("event", String(32), nullable=False),
    Column("table_name", String(64), nullable=True),
    Column("record_id", String(64), nullable=True),
    Column("field", String(64), nullable=True),
    Column("old_value", Text, nullable=True),
    Column("new_value", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("sensitivity", String(32), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("row_hash", String(64), nullable=False, unique=True),
    Column("key_id", String(16), nullable=True),
)

audit_head = Table(
    "audit_head",
    metadata,
    _pk(),
    Column("last_seq", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

study_id_sequences = Table(
    "study_id_sequences",
    metadata,
    Column("prefix", String(16), primary_key=True),
    Column("last_value", Integer, nullable=False),
)

patients = Table(
    "patients",
    metadata,
    _pk(),
    Column("study_id", String(32), nullable=False, unique=True),
    Column("protocol_name", String(64), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("blinded", Boolean, nullable=False),
    Column("site", String(16), nullable=False),
    Column("stratum", String(64), nullable=True),
    Column("status", String(32), nullable=False),
    Column("protocol_version", String(32), nullable=True),  # bound at consent (0003)
    Column("registered_at", UTCDateTime, nullable=False),
    Column("registered_by", Integer, ForeignKey("users.id"), nullable=True),
    *_void_columns(),
    _version(),
    # Only the workflow's states (core.workflow.PatientState). PostgreSQL checks it as a CHECK
    # constraint; SQLite by the triggers of migration 0003 (a CHECK cannot be added there
    # without rebuilding a table other tables refer to).
    CheckConstraint(STATUS_CHECK, name="status").ddl_if(dialect="postgresql"),
)

protocol_versions = Table(
    "protocol_versions",
    metadata,
    _pk(),
    Column("name", String(64), nullable=False),
    Column("protocol_version", String(32), nullable=False),
    Column("digest", String(64), nullable=False),
    # The digest is audited; the content (the whole protocol) is checked against it.
    Column("content", Text, nullable=False, info=NOT_AUDITED),
    Column("published_at", UTCDateTime, nullable=False),
    Column("published_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("reason", Text, nullable=False),
    UniqueConstraint("name", "protocol_version"),
)

patient_identities = Table(
    "patient_identities",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, unique=True),
    Column("family_name", String(200), nullable=False, info=IDENTITY),
    Column("given_name", String(200), nullable=False, info=IDENTITY),
    Column("date_of_birth", Date, nullable=True, info=IDENTITY),
    Column("contact", Text, nullable=True, info=IDENTITY),
    _version(),
)

consents = Table(
    "consents",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("consent_version", String(32), nullable=False),
    Column("consent_date", Date, nullable=False),
    Column("capacity_assessed", Boolean, nullable=False),
    Column("capacity_assessor", String(200), nullable=True),
    Column("capacity_note", Text, nullable=True),
    Column("topics", JSON, nullable=False),
    Column("recorded_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    *_void_columns(),
    _version(),
)

screening_outcomes = Table(
    "screening_outcomes",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("outcome", String(32), nullable=False),
    Column("decided_on", Date, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("override_criteria", JSON, nullable=True),  # an investigator's override (0003)
    Column("recorded_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    *_void_columns(),
    _version(),
)

randomization_lists = Table(
    "randomization_lists",
    metadata,
    _pk(),
    Column("protocol_name", String(64), nullable=False),
    Column("list_version", String(64), nullable=False, unique=True),
    Column("seed", String(40), nullable=False, info=ALLOCATION),
    Column("arms", JSON, nullable=False, info=ALLOCATION),
    Column("ratio", JSON, nullable=False),
    Column("block_sizes", JSON, nullable=False, info=ALLOCATION),
    Column("strata", JSON, nullable=False),
    Column("slots_per_stratum", Integer, nullable=False),
    Column("digest", String(64), nullable=False, info=ALLOCATION),
    Column("generated_at", UTCDateTime, nullable=False),
    Column("generated_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("retired_at", UTCDateTime, nullable=True),
    _version(),
)

randomization_slots = Table(
    "randomization_slots",
    metadata,
    _pk(),
    Column("list_id", Integer, ForeignKey("randomization_lists.id"), nullable=False),
    Column("stratum", String(64), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("block_number", Integer, nullable=False, info=ALLOCATION),
    Column("block_size", Integer, nullable=False, info=ALLOCATION),
    Column("arm", String(64), nullable=False, info=ALLOCATION),
    UniqueConstraint("list_id", "stratum", "sequence"),
)

allocations = Table(
    "allocations",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, unique=True),
    Column(
        "slot_id",
        Integer,
        ForeignKey("randomization_slots.id"),
        nullable=False,
        unique=True,
        info=ALLOCATION,
    ),
    Column("list_id", Integer, ForeignKey("randomization_lists.id"), nullable=False),
    Column("allocated_at", UTCDateTime, nullable=False),
    Column("allocated_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("infusion_date", Date, nullable=False),
    _version(),
)

unblindings = Table(
    "unblindings",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("reason", Text, nullable=False, info=ALLOCATION),
    Column("unblinded_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("unblinded_at", UTCDateTime, nullable=False),
)

analysis_sanctions = Table(
    "analysis_sanctions",
    metadata,
    _pk(),
    Column("statistician_user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("level", String(16), nullable=False),
    Column("purpose", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("granted_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("granted_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    _version(),
)

database_locks = Table(
    "database_locks",
    metadata,
    _pk(),
    # None: the whole record; else one patient's record (a patient lock after the last visit).
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=True),
    # With table_name and record_id: one form of that patient (a form lock after verification).
    Column("table_name", String(64), nullable=True),
    Column("record_id", String(64), nullable=True),
    Column("locked_at", UTCDateTime, nullable=False),
    Column("locked_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("digest", String(96), nullable=False),
    Column("unlocked_at", UTCDateTime, nullable=True),
    Column("unlocked_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("unlock_reason", Text, nullable=True),
    _version(),
)

data_queries = Table(
    "data_queries",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("table_name", String(64), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("field", String(64), nullable=False),
    # The value the query was raised on, as the audit trail encodes it; redacted by sensitivity.
    Column("value_raised", Text, nullable=True),
    Column("sensitivity", String(32), nullable=False),
    Column("question", Text, nullable=False),
    Column("origin", String(64), nullable=False),  # "manual" or "rule:<id>"
    Column("state", String(16), nullable=False, index=True),
    Column("raised_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("raised_at", UTCDateTime, nullable=False),
    Column("answer", Text, nullable=True),
    Column("corrected", Boolean, nullable=True),
    Column("answered_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("answered_at", UTCDateTime, nullable=True),
    Column("closed_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("reopen_count", Integer, nullable=False),
    _version(),
    CheckConstraint("state IN ('open', 'answered', 'closed')", name="state"),
)

sdv_marks = Table(
    "sdv_marks",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("table_name", String(64), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("verified_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("verified_at", UTCDateTime, nullable=False),
    Column("audit_seq", Integer, nullable=False),  # the audit head the verification saw
    Column("note", Text, nullable=True),
)

sites = Table(
    "sites",
    metadata,
    _pk(),
    Column("code", String(16), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("active_from", Date, nullable=True),
    Column("active_to", Date, nullable=True),
    _version(),
)

user_sites = Table(
    "user_sites",
    metadata,
    _pk(),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("site", String(16), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    # the user's role at this site; NULL: the account's own role (migration 0017)
    Column("role", String(32), nullable=True),
    UniqueConstraint("user_id", "site"),
)

data_freezes = Table(
    "data_freezes",
    metadata,
    _pk(),
    Column("protocol_name", String(64), nullable=False),
    Column("level", String(16), nullable=False),
    Column("generated_on", Date, nullable=False),
    Column("planned_patients", Integer, nullable=True),
    Column("arms", Text, nullable=False, info=ALLOCATION),  # JSON: the coded arms (A, B)
    Column("ongoing", Text, nullable=False),  # JSON: study ids still within their window
    Column("digest", String(64), nullable=False),  # SHA-256 of the frames, in name order
    Column("created_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

data_freeze_frames = Table(
    "data_freeze_frames",
    metadata,
    _pk(),
    Column("freeze_id", Integer, ForeignKey("data_freezes.id"), nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),  # Parquet; sealed by the freeze's digest
)

signatures = Table(
    "signatures",
    metadata,
    _pk(),
    Column("table_name", String(64), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("record_version", Integer, nullable=False),
    Column("signer_user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("signer_name", String(200), nullable=False),
    Column("meaning", String(200), nullable=False),
    Column("signed_at", UTCDateTime, nullable=False),
    Column("invalidated_at", UTCDateTime, nullable=True),
    Column("invalidated_reason", Text, nullable=True),
    _version(),
)

INFUSION_RATING = {"sensitivity": "infusion_rating"}

# --- phase 2: the workflows of the protocol (services/screening.py … followup.py) -------------
# Clinical records keyed by (patient, infusion number) or (patient, time point); every one is
# editable with optimistic locking and voided, never deleted. Sensitivities carry the blind:
# the drug, its mg dose and its concentration reveal the arm (PROTOCOL.md §4: 0.5 vs 0.045 mg/kg;
# 1 vs 0.09 mg/mL); infusion-day ratings and PRISE are hidden from outcome raters (§3).


def _recorded() -> list[Column[Any]]:
    return [
        Column("recorded_by", Integer, ForeignKey("users.id"), nullable=True),
        Column("recorded_at", UTCDateTime, nullable=False),
    ]


screening_visits = Table(
    "screening_visits",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("visit_date", Date, nullable=False),
    Column("protocol_version", String(32), nullable=False),
    Column("facts", JSON, nullable=False),
    Column("measures", JSON, nullable=False),
    *_recorded(),
    *_void_columns(),
    _version(),
)

eligibility_decisions = Table(
    "eligibility_decisions",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("visit_id", Integer, ForeignKey("screening_visits.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("criteria", JSON, nullable=False),
    Column("facts_used", JSON, nullable=False),
    Column("evaluated_at", UTCDateTime, nullable=False),
    Column("evaluated_by", Integer, ForeignKey("users.id"), nullable=True),
    _version(),
)

risk_benefit_decisions = Table(
    "risk_benefit_decisions",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("criterion_id", String(64), nullable=False),
    Column("proceed", Boolean, nullable=False),
    Column("decided_by_name", String(200), nullable=False),
    Column("decided_on", Date, nullable=False),
    Column("rationale", Text, nullable=False),
    *_recorded(),
    *_void_columns(),
    _version(),
)

safety_plans = Table(
    "safety_plans",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("documented_on", Date, nullable=False),
    Column("warning_signs", Text, nullable=False),
    Column("coping_strategies", Text, nullable=False),
    Column("contacts", Text, nullable=False),
    Column("means_restriction", Text, nullable=False),
    *_recorded(),
    *_void_columns(),
    _version(),
)

treatment_resistance = Table(
    "treatment_resistance",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("psychotherapy_trials", JSON, nullable=False),
    Column("medication_trials", JSON, nullable=False),
    Column("documented_on", Date, nullable=False),
    *_recorded(),
    *_void_columns(),
    _version(),
)

maintenance_plans = Table(
    "maintenance_plans",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("option_ids", JSON, nullable=False),
    Column("site_facts", JSON, nullable=False),
    Column("interval_days", Integer, nullable=True),
    Column("notes", Text, nullable=True),
    Column("planned_on", Date, nullable=False),
    *_recorded(),
    *_void_columns(),
    _version(),
)

#: The periodic IV maintenance a physician started after the series (PROTOCOL.md §8, §11;
#: issue 13): the option, the interval (a change is an audited edit with its reason), when it
#: started and why, and its stop. One open row per patient at most (stopped_on NULL).
maintenance_schedules = Table(
    "maintenance_schedules",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("option_id", String(64), nullable=False),
    Column("interval_days", Integer, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("reason", Text, nullable=True),
    *_recorded(),
    Column("stopped_on", Date, nullable=True),
    Column("stopped_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("stop_reason", Text, nullable=True),
    _version(),
)

demographics = Table(
    "demographics",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, unique=True),
    Column("age_years", Integer, nullable=True),
    Column("sex", String(16), nullable=True),
    Column("race", String(64), nullable=True),
    Column("hispanic", Boolean, nullable=True),
    Column("bmi_kg_m2", Float, nullable=True),
    Column("ptsd_duration_years", Float, nullable=True),
    Column("comorbid_mdd", Boolean, nullable=True),
    Column("concomitant_psychotherapy", Boolean, nullable=True),
    Column("stable_psychotropics", Boolean, nullable=True),
    Column("primary_trauma", String(64), nullable=True),
    *_recorded(),
    _version(),
)

pre_infusion_checks = Table(
    "pre_infusion_checks",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("checked_on", Date, nullable=False),
    Column("findings", JSON, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("items", JSON, nullable=False),
    Column("hold_reasons", JSON, nullable=False),
    *_recorded(),
    _version(),
)

infusion_days = Table(
    "infusion_days",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("infusion_date", Date, nullable=False),
    Column("check_id", Integer, ForeignKey("pre_infusion_checks.id"), nullable=False),
    Column("weight_kg", Float, nullable=False),
    Column("drug", String(64), nullable=False, info=ALLOCATION),
    Column("dose_mg", Float, nullable=False, info=ALLOCATION),
    Column("concentration_mg_per_ml", Float, nullable=False, info=ALLOCATION),
    Column("dose_arithmetic", Text, nullable=False, info=ALLOCATION),
    Column("volume_ml", Float, nullable=False),
    Column("rate_ml_per_h", Float, nullable=False),
    Column("infusion_minutes", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("ambulatory_unaided", Boolean, nullable=True),
    Column("delayed_effects_checked", Boolean, nullable=True),
    Column("physician_signoff_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("discharged_at", UTCDateTime, nullable=True),
    Column("discharge_reasons", JSON, nullable=True),
    # §6: a physician's recorded decision to discharge although BPRS positive or YMRS item 1 is
    # worse than the protocol allows (migration 0009).
    Column("worsening_decision_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("worsening_decision_reason", Text, nullable=True),
    *_recorded(),
    *_void_columns(),
    _version(),
    UniqueConstraint("patient_id", "infusion_number"),
)

#: The drug given at one infusion (issue 12 items 2, 4, 5, 7; PROTOCOL.md §4, §6): the bag (lot,
#: expiry, concentration, volume), who prepared it and who double-checked the pump, the
#: supervising physician, the weight's confirmation, what was given and what was wasted.
drug_administrations = Table(
    "drug_administrations",
    metadata,
    _pk(),
    Column("infusion_day_id", Integer, ForeignKey("infusion_days.id"), nullable=False, unique=True),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("bag_lot", String(64), nullable=False),
    Column("bag_expiry", Date, nullable=False),
    Column("bag_concentration_mg_per_ml", Float, nullable=False, info=ALLOCATION),
    Column("bag_volume_ml", Float, nullable=False),
    Column("prepared_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("checked_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("pump_rate_ml_per_h", Float, nullable=False),
    Column("supervising_physician_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("weight_previous_kg", Float, nullable=True),
    Column("weight_confirmed_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("weight_confirmation_reasons", JSON, nullable=False),
    Column("stopped_early", Boolean, nullable=True),
    Column("early_stop_reason", Text, nullable=True),
    Column("volume_given_ml", Float, nullable=True),
    Column("dose_given_mg", Float, nullable=True, info=ALLOCATION),
    Column("volume_wasted_ml", Float, nullable=True),
    Column("waste_witnessed_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("waste_recorded_at", UTCDateTime, nullable=True),
    *_recorded(),
    _version(),
)

vital_signs = Table(
    "vital_signs",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("minute", Integer, nullable=False),
    Column("measured_at", UTCDateTime, nullable=False),
    Column("systolic_mmhg", Integer, nullable=True),
    Column("diastolic_mmhg", Integer, nullable=True),
    Column("heart_rate_bpm", Integer, nullable=True),
    Column("spo2_percent", Integer, nullable=True),
    Column("respiratory_rate_per_min", Integer, nullable=True),  # §12 (migration 0009)
    Column("moaas", Integer, nullable=True),  # sedation, MOAA/S 0-5 (§11, §12; migration 0009)
    Column("alerts", JSON, nullable=False),
    *_recorded(),
    *_void_columns(),
    _version(),
)

#: A concomitant medication of the patient (PROTOCOL.md §1, §11: the classes that change
#: sedation or blood pressure are flagged on the checklist; migration 0009).
concomitant_medications = Table(
    "concomitant_medications",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("drug", String(200), nullable=False),
    Column("drug_class", String(32), nullable=False),
    Column("dose", String(200), nullable=False),
    Column("started_on", Date, nullable=False),
    Column("stopped_on", Date, nullable=True),
    *_recorded(),
    *_void_columns(),
    _version(),
)

#: The nurse's two-identifier check before infusion ``infusion_number`` (PROTOCOL.md §12):
#: name and date of birth confirmed with the patient, by whom and when (migration 0009).
identity_checks = Table(
    "identity_checks",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("name_confirmed", Boolean, nullable=False),
    Column("date_of_birth_confirmed", Boolean, nullable=False),
    *_recorded(),
    _version(),
)

#: A scheduled vitals reading not taken, with the reason (§6: discharge needs every reading of
#: the timetable present or explained; migration 0009).
vitals_missed = Table(
    "vitals_missed",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("minute", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    *_recorded(),
    *_void_columns(),
    _version(),
)

#: An alert the record raised (issue 12 items 8, 10; PROTOCOL.md §6, §7, §12): a vital sign
#: beyond its threshold (source ``vital_signs``) or a C-SSRS screener at the protocol's review
#: level (source ``assessments``), with its acknowledgement: who acknowledged it, which
#: physician was called and when, and what was done (migration 0007). Never deleted.
safety_alerts = Table(
    "safety_alerts",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=True),
    Column("kind", String(32), nullable=False),
    Column("source_table", String(64), nullable=False),
    Column("source_id", Integer, nullable=False),
    Column("messages", JSON, nullable=False),
    Column("raised_at", UTCDateTime, nullable=False),
    Column("raised_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("acknowledged_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("physician_called", String(200), nullable=True),
    Column("physician_called_at", UTCDateTime, nullable=True),
    Column("action_taken", Text, nullable=True),
    _version(),
)

#: A physician's recorded decision on an infusion day (issue 12 items 1, 2, 6; PROTOCOL.md §5,
#: §6): ``release_hold`` lets a held morning start (the hold reasons it releases, the reason,
#: re-authenticated), ``move_day`` lets infusion ``infusion_number`` be given on ``day`` outside
#: the schedule's interval, weekly maximum or weekdays (migration 0007).
physician_decisions = Table(
    "physician_decisions",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("day", Date, nullable=False),
    Column("released", JSON, nullable=False),
    Column("reason", Text, nullable=False),
    Column("decided_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
    *_void_columns(),
    _version(),
)

interventions = Table(
    "interventions",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("given_at", UTCDateTime, nullable=False),
    Column("minute", Integer, nullable=True),
    Column("drug", String(100), nullable=False),
    Column("dose_mg", Float, nullable=False),
    Column("route", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    *_recorded(),
    *_void_columns(),
    _version(),
)

infusion_ratings = Table(
    "infusion_ratings",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("minute", Integer, nullable=False),
    Column("instrument", String(32), nullable=False),
    Column("rated_at", UTCDateTime, nullable=False),
    Column("items", JSON, nullable=False, info=INFUSION_RATING),
    Column("total", Float, nullable=True, info=INFUSION_RATING),
    Column("subscales", JSON, nullable=False, info=INFUSION_RATING),
    Column("derived", JSON, nullable=False, info=INFUSION_RATING),
    *_recorded(),
    *_void_columns(),
    _version(),
)

adverse_events = Table(
    "adverse_events",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=True),
    Column("term", String(200), nullable=False),
    Column("onset_date", Date, nullable=False),
    Column("serious", Boolean, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("relatedness", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("resolved_on", Date, nullable=True),
    *_recorded(),
    *_void_columns(),
    _version(),
)

assessments = Table(
    "assessments",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("time_point", String(64), nullable=False),
    Column("instrument", String(32), nullable=False),
    Column("assessed_on", Date, nullable=False),
    Column("target_date", Date, nullable=True),
    Column("window_start", Date, nullable=True),
    Column("window_end", Date, nullable=True),
    Column("in_window", Boolean, nullable=False),
    Column("items", JSON, nullable=False),
    Column("total", Float, nullable=True),
    Column("subscales", JSON, nullable=False),
    Column("derived", JSON, nullable=False),
    *_recorded(),
    *_void_columns(),
    _version(),
)

withdrawals = Table(
    "withdrawals",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, unique=True),
    Column("withdrawn_on", Date, nullable=False),
    Column("decided_by", String(32), nullable=False),
    Column("decided_by_name", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("infusions_received", Integer, nullable=False),
    *_recorded(),
    _version(),
)


def _meddra_path() -> list[Column[Any]]:
    return [
        Column("llt_code", Integer, nullable=False),
        Column("llt_name", String(100), nullable=False),
        Column("pt_code", Integer, nullable=False),
        Column("pt_name", String(100), nullable=False),
        Column("hlt_code", Integer, nullable=False),
        Column("hlt_name", String(100), nullable=False),
        Column("hlgt_code", Integer, nullable=False),
        Column("hlgt_name", String(100), nullable=False),
        Column("soc_code", Integer, nullable=False),
        Column("soc_name", String(100), nullable=False),
    ]


#: A site's MedDRA release (issue 14): reference data loaded by an administrator, one audit
#: event per load (not field by field: a release has about 80,000 LLTs).
meddra_terms = Table(
    "meddra_terms",
    metadata,
    _pk(),
    Column("release", String(32), nullable=False),
    *_meddra_path(),
    Column("current", Boolean, nullable=False),
    Column("loaded_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("loaded_at", UTCDateTime, nullable=False),
    UniqueConstraint("release", "llt_code"),
)

#: The coding of an adverse event (one per event; a recoding is an audited update).
adverse_event_codings = Table(
    "adverse_event_codings",
    metadata,
    _pk(),
    Column(
        "adverse_event_id",
        Integer,
        ForeignKey("adverse_events.id"),
        nullable=False,
        unique=True,
    ),
    Column("release", String(32), nullable=False),
    *_meddra_path(),
    Column("coded_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("coded_at", UTCDateTime, nullable=False),
    _version(),
)

# Issue 15: each blinded person's guess of the arm at the end of treatment, one per patient and
# respondent (a correction changes the row, with a reason, audited). The guess is kept like the
# allocation (Sensitivity.ALLOCATION): set beside the arm it measures the blind, so the audit
# views, queries and exports hide it from every blinded reader (docs/blinding.md).
blinding_guesses = Table(
    "blinding_guesses",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("respondent", String(32), nullable=False),
    Column("guess", String(64), nullable=False, info=ALLOCATION),
    *_recorded(),
    _version(),
    UniqueConstraint("patient_id", "respondent"),
    CheckConstraint(
        "respondent IN ('patient', 'outcome_rater', 'infusion_nurse')", name="respondent"
    ),
)

# Issue 13, the clinic's long game. A self-report link: a single-use, expiring link a staff
# member issues for one patient (the token itself is never stored: its SHA-256 only, as a
# secret); ``used_at`` once the patient has submitted, ``revoked_at`` when a newer link replaced
# it. A self-report: the patient's own PCL-5 and C-SSRS screener, as scored, with the PCL-5 it
# was compared with and the findings it raised (alerts, relapse watch). The retreatment series a
# physician started after a lost response (PROTOCOL.md §5, §8), numbered after the last infusion.
self_report_links = Table(
    "self_report_links",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True, info=SECRET),
    Column("issued_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    _version(),
)

self_reports = Table(
    "self_reports",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("link_id", Integer, ForeignKey("self_report_links.id"), nullable=False, unique=True),
    Column("reported_on", Date, nullable=False),
    Column("submitted_at", UTCDateTime, nullable=False),
    Column("pcl5_items", JSON, nullable=False),
    Column("pcl5_total", Integer, nullable=False),
    Column("pcl5_subscales", JSON, nullable=False),
    Column("cssrs_items", JSON, nullable=False),
    Column("cssrs_derived", JSON, nullable=False),
    Column("risk_level", String(16), nullable=False),
    Column("previous_pcl5_total", Integer, nullable=True),
    Column("baseline_pcl5_total", Integer, nullable=True),
    Column("findings", JSON, nullable=False),
    _version(),
)

retreatment_courses = Table(
    "retreatment_courses",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("course_number", Integer, nullable=False),
    Column("first_infusion_number", Integer, nullable=False),
    Column("infusion_count", Integer, nullable=False),
    Column("from_state", String(32), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("reason", Text, nullable=False),
    *_recorded(),
    _version(),
    UniqueConstraint("patient_id", "course_number"),
)

# Issue 13 (PROTOCOL.md §8, §11): intranasal esketamine sessions of the clinic pathway under the
# REMS, one row per session with the monitoring form's fields (enrolment, certified setting,
# concomitant classes, dose and lot, blood pressure before dosing, monitoring provider, the end,
# "ready to leave", the prescriber's discharge, the form's submission); the readings after dosing
# and the sedation, dissociation and respiratory-depression events; the prescriber's decisions
# (a released blood-pressure hold, a moved session). Open label: nothing here is blinded.
esketamine_sessions = Table(
    "esketamine_sessions",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("session_number", Integer, nullable=False),
    Column("session_date", Date, nullable=False),
    Column("rems_patient_enrolled", Boolean, nullable=False),
    Column("rems_patient_id", String(64), nullable=True),
    Column("setting_name", String(200), nullable=False),
    Column("setting_certified", Boolean, nullable=False),
    Column("monitoring_provider", String(200), nullable=False),
    Column("prescriber", String(200), nullable=False),
    Column("concomitant_classes", JSON, nullable=False),
    Column("concomitant_notes", Text, nullable=True),
    Column("dose_choice", String(8), nullable=False),
    Column("dose_mg", Integer, nullable=False),
    Column("other_dose_reason", Text, nullable=True),
    Column("device_lot", String(64), nullable=False),
    Column("bp_before_systolic", Integer, nullable=False),
    Column("bp_before_diastolic", Integer, nullable=False),
    Column("pulse_before", Integer, nullable=True),
    Column("spo2_before", Integer, nullable=True),
    Column("first_device_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("ready_to_leave_at", UTCDateTime, nullable=True),
    Column("discharged_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("discharged_at", UTCDateTime, nullable=True),
    Column("form_submitted_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("form_submitted_at", UTCDateTime, nullable=True),
    *_recorded(),
    _version(),
    UniqueConstraint("patient_id", "session_number"),
    CheckConstraint("dose_choice IN ('56', '84', 'other')", name="dose_choice"),
)

esketamine_readings = Table(
    "esketamine_readings",
    metadata,
    _pk(),
    Column("session_id", Integer, ForeignKey("esketamine_sessions.id"), nullable=False, index=True),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("taken_at", UTCDateTime, nullable=False),
    Column("systolic", Integer, nullable=True),
    Column("diastolic", Integer, nullable=True),
    Column("pulse", Integer, nullable=True),
    Column("spo2_percent", Integer, nullable=True),
    Column("moaas", Integer, nullable=True),
    *_recorded(),
    _version(),
)

esketamine_events = Table(
    "esketamine_events",
    metadata,
    _pk(),
    Column("session_id", Integer, ForeignKey("esketamine_sessions.id"), nullable=False, index=True),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("onset_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("notes", Text, nullable=True),
    *_recorded(),
    _version(),
    CheckConstraint("kind IN ('sedation', 'dissociation', 'respiratory_depression')", name="kind"),
)

esketamine_decisions = Table(
    "esketamine_decisions",
    metadata,
    _pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("session_number", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("day", Date, nullable=False),
    Column("released", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("decided_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
    _version(),
    CheckConstraint("kind IN ('release_bp_hold', 'move_session')", name="kind"),
)

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
