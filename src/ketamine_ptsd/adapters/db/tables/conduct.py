"""Trial conduct (issue 17): database, patient and form locks, data queries, source-data verification marks, sites and their members, and the DSMB's data freezes."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ._schema import (
    ALLOCATION,
    UTCDateTime,
    metadata,
    pk,
    row_version,
)

__all__ = [
    "data_freeze_frames",
    "data_freezes",
    "data_queries",
    "database_locks",
    "sdv_marks",
    "sites",
    "user_sites",
]

database_locks = Table(
    "database_locks",
    metadata,
    pk(),
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
    row_version(),
)

data_queries = Table(
    "data_queries",
    metadata,
    pk(),
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
    row_version(),
    CheckConstraint("state IN ('open', 'answered', 'closed')", name="state"),
)

sdv_marks = Table(
    "sdv_marks",
    metadata,
    pk(),
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
    pk(),
    Column("code", String(16), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("active_from", Date, nullable=True),
    Column("active_to", Date, nullable=True),
    row_version(),
)

user_sites = Table(
    "user_sites",
    metadata,
    pk(),
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
    pk(),
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
    pk(),
    Column("freeze_id", Integer, ForeignKey("data_freezes.id"), nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),  # Parquet; sealed by the freeze's digest
)
