"""Outcomes and coding: assessments, withdrawals, the site's MedDRA release and the coding of adverse events (issue 14), and the blinding guesses (issue 15)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ._schema import (
    ALLOCATION,
    UTCDateTime,
    meddra_path,
    metadata,
    pk,
    recorded,
    row_version,
    void_columns,
)

__all__ = [
    "adverse_event_codings",
    "assessments",
    "blinding_guesses",
    "meddra_terms",
    "withdrawals",
]

assessments = Table(
    "assessments",
    metadata,
    pk(),
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
    *recorded(),
    *void_columns(),
    row_version(),
)

withdrawals = Table(
    "withdrawals",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, unique=True),
    Column("withdrawn_on", Date, nullable=False),
    Column("decided_by", String(32), nullable=False),
    Column("decided_by_name", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("infusions_received", Integer, nullable=False),
    *recorded(),
    row_version(),
)


#: A site's MedDRA release (issue 14): reference data loaded by an administrator, one audit
#: event per load (not field by field: a release has about 80,000 LLTs).
meddra_terms = Table(
    "meddra_terms",
    metadata,
    pk(),
    Column("release", String(32), nullable=False),
    *meddra_path(),
    Column("current", Boolean, nullable=False),
    Column("loaded_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("loaded_at", UTCDateTime, nullable=False),
    UniqueConstraint("release", "llt_code"),
)

#: The coding of an adverse event (one per event; a recoding is an audited update).
adverse_event_codings = Table(
    "adverse_event_codings",
    metadata,
    pk(),
    Column(
        "adverse_event_id",
        Integer,
        ForeignKey("adverse_events.id"),
        nullable=False,
        unique=True,
    ),
    Column("release", String(32), nullable=False),
    *meddra_path(),
    Column("coded_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("coded_at", UTCDateTime, nullable=False),
    row_version(),
)

# Issue 15: each blinded person's guess of the arm at the end of treatment, one per patient and
# respondent (a correction changes the row, with a reason, audited). The guess is kept like the
# allocation (Sensitivity.ALLOCATION): set beside the arm it measures the blind, so the audit
# views, queries and exports hide it from every blinded reader (docs/blinding.md).
blinding_guesses = Table(
    "blinding_guesses",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("respondent", String(32), nullable=False),
    Column("guess", String(64), nullable=False, info=ALLOCATION),
    *recorded(),
    row_version(),
    UniqueConstraint("patient_id", "respondent"),
    CheckConstraint(
        "respondent IN ('patient', 'outcome_rater', 'infusion_nurse')", name="respondent"
    ),
)
