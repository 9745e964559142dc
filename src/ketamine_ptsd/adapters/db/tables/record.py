"""The record's spine: users and sessions, the audit trail, patients and their protocol versions, identities, consents, screening outcomes, randomization, unblinding, analysis sanctions and signatures."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ._schema import (
    ALLOCATION,
    IDENTITY,
    NOT_AUDITED,
    SECRET,
    STATUS_CHECK,
    UTCDateTime,
    metadata,
    pk,
    row_version,
    void_columns,
)

__all__ = [
    "allocations",
    "analysis_sanctions",
    "audit_head",
    "audit_log",
    "consents",
    "patient_identities",
    "patients",
    "protocol_versions",
    "randomization_lists",
    "randomization_slots",
    "screening_outcomes",
    "signatures",
    "study_id_sequences",
    "unblindings",
    "user_sessions",
    "users",
]

users = Table(
    "users",
    metadata,
    pk(),
    Column("username", String(64), nullable=False, unique=True),
    Column("full_name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("password_hash", String(255), nullable=False, info=SECRET),
    Column("active", Boolean, nullable=False),
    Column("failed_logins", Integer, nullable=False, info=NOT_AUDITED),
    Column("locked_until", UTCDateTime, nullable=True, info=NOT_AUDITED),
    Column("created_at", UTCDateTime, nullable=False),
    row_version(),
)

user_sessions = Table(
    "user_sessions",
    metadata,
    pk(),
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
    pk(),
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
    pk(),
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
    *void_columns(),
    row_version(),
    # Only the workflow's states (core.workflow.PatientState). PostgreSQL checks it as a CHECK
    # constraint; SQLite by the triggers of migration 0003 (a CHECK cannot be added there
    # without rebuilding a table other tables refer to).
    CheckConstraint(STATUS_CHECK, name="status").ddl_if(dialect="postgresql"),
)

protocol_versions = Table(
    "protocol_versions",
    metadata,
    pk(),
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
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, unique=True),
    Column("family_name", String(200), nullable=False, info=IDENTITY),
    Column("given_name", String(200), nullable=False, info=IDENTITY),
    Column("date_of_birth", Date, nullable=True, info=IDENTITY),
    Column("contact", Text, nullable=True, info=IDENTITY),
    row_version(),
)

consents = Table(
    "consents",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("consent_version", String(32), nullable=False),
    Column("consent_date", Date, nullable=False),
    Column("capacity_assessed", Boolean, nullable=False),
    Column("capacity_assessor", String(200), nullable=True),
    Column("capacity_note", Text, nullable=True),
    Column("topics", JSON, nullable=False),
    Column("recorded_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    *void_columns(),
    row_version(),
)

screening_outcomes = Table(
    "screening_outcomes",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("outcome", String(32), nullable=False),
    Column("decided_on", Date, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("override_criteria", JSON, nullable=True),  # an investigator's override (0003)
    Column("recorded_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    *void_columns(),
    row_version(),
)

randomization_lists = Table(
    "randomization_lists",
    metadata,
    pk(),
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
    row_version(),
)

randomization_slots = Table(
    "randomization_slots",
    metadata,
    pk(),
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
    pk(),
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
    row_version(),
)

unblindings = Table(
    "unblindings",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("reason", Text, nullable=False, info=ALLOCATION),
    Column("unblinded_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("unblinded_at", UTCDateTime, nullable=False),
)

analysis_sanctions = Table(
    "analysis_sanctions",
    metadata,
    pk(),
    Column("statistician_user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("level", String(16), nullable=False),
    Column("purpose", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("granted_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("granted_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    row_version(),
)


signatures = Table(
    "signatures",
    metadata,
    pk(),
    Column("table_name", String(64), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("record_version", Integer, nullable=False),
    Column("signer_user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("signer_name", String(200), nullable=False),
    Column("meaning", String(200), nullable=False),
    Column("signed_at", UTCDateTime, nullable=False),
    Column("invalidated_at", UTCDateTime, nullable=True),
    Column("invalidated_reason", Text, nullable=True),
    row_version(),
)
