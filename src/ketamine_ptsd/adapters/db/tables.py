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
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import column_property, registry
from sqlalchemy.types import TypeDecorator

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
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
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
    Column("registered_at", UTCDateTime, nullable=False),
    Column("registered_by", Integer, ForeignKey("users.id"), nullable=True),
    *_void_columns(),
    _version(),
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

#: Tables whose changes the audit hook writes field by field (the rest write events).
AUDITED_TABLES = frozenset(
    {
        "users",
        "patients",
        "patient_identities",
        "consents",
        "screening_outcomes",
        "randomization_lists",
        "allocations",
        "unblindings",
        "analysis_sanctions",
        "signatures",
    }
)

_MAPPING: dict[type[r.Record], Table] = {
    r.User: users,
    r.UserSession: user_sessions,
    r.AuditEntry: audit_log,
    r.AuditHead: audit_head,
    r.StudyIdSequence: study_id_sequences,
    r.Patient: patients,
    r.PatientIdentity: patient_identities,
    r.Consent: consents,
    r.ScreeningOutcome: screening_outcomes,
    r.RandomizationList: randomization_lists,
    r.RandomizationSlot: randomization_slots,
    r.Allocation: allocations,
    r.Unblinding: unblindings,
    r.AnalysisSanction: analysis_sanctions,
    r.Signature: signatures,
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
