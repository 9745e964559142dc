"""The record's spine: users and sessions, the audit trail, patients, protocol versions, identities, consents, screening outcomes, randomization, unblinding, analysis sanctions, signatures."""

from __future__ import annotations

import datetime as dt

from .base import Record

__all__ = [
    "Allocation",
    "AnalysisSanction",
    "AuditEntry",
    "AuditHead",
    "Consent",
    "Patient",
    "PatientIdentity",
    "ProtocolVersion",
    "RandomizationList",
    "RandomizationSlot",
    "ScreeningOutcome",
    "Signature",
    "StudyIdSequence",
    "Unblinding",
    "User",
    "UserSession",
]


class User(Record):
    username: str
    full_name: str
    role: str
    password_hash: str
    active: bool
    failed_logins: int
    locked_until: dt.datetime | None
    created_at: dt.datetime
    version: int


class UserSession(Record):
    """A login session; only the SHA-256 of the opaque token is stored."""

    user_id: int
    token_hash: str
    kind: str  # auth.SessionKind: "browser" (cookie) or "api" (bearer token)
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    site: str | None  # the site the session works at (a user with different roles per site)


class AuditEntry(Record):
    """One append-only, hash-chained line of the audit trail (``seq`` is the chain order)."""

    seq: int
    occurred_at: dt.datetime
    actor_user_id: int | None
    actor_username: str
    actor_role: str
    event: str
    table_name: str | None
    record_id: str | None
    field: str | None
    old_value: str | None  # JSON
    new_value: str | None  # JSON
    reason: str | None
    sensitivity: str
    prev_hash: str
    row_hash: str
    key_id: str | None  # the audit key of the HMAC; None in the legacy (SHA-256) segment


class AuditHead(Record):
    """The single row holding the chain's last ``seq`` and hash (detects a removed tail)."""

    last_seq: int
    last_hash: str


class StudyIdSequence(Record):
    prefix: str
    last_value: int


class Patient(Record):
    """A study participant under a pseudonymous ``study_id`` (no identifying data here)."""

    study_id: str
    protocol_name: str
    mode: str  # "trial" | "clinic", copied from the protocol at registration
    blinded: bool  # copied from the protocol at registration
    site: str
    stratum: str | None
    status: str
    protocol_version: str | None  # the version consented under (None: not consented yet)
    registered_at: dt.datetime
    registered_by: int | None
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class ProtocolVersion(Record):
    """A version of a protocol the record has used: its content (canonical JSON of the model)
    and digest. The first use stores the file's version; later ones are published by an
    administrator as amendments (services/protocol_versions.py)."""

    name: str
    protocol_version: str
    digest: str
    content: str
    published_at: dt.datetime
    published_by: int | None
    reason: str


class PatientIdentity(Record):
    """Identifying data, in its own restricted table (Sensitivity.IDENTITY)."""

    patient_id: int
    family_name: str
    given_name: str
    date_of_birth: dt.date | None
    contact: str | None
    version: int


class Consent(Record):
    """Informed consent (PROTOCOL.md §1 capacity assessment; §2 topics for the clinic)."""

    patient_id: int
    consent_version: str
    consent_date: dt.date
    capacity_assessed: bool
    capacity_assessor: str | None
    capacity_note: str | None
    topics: list[str]
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class ScreeningOutcome(Record):
    """Screen failure, refusal or eligibility, with reasons (kept for CONSORT)."""

    patient_id: int
    outcome: str  # "screen_failed" | "declined" | "eligible"
    decided_on: dt.date
    reasons: list[str]
    override_criteria: list[str] | None  # an investigator's override: the criteria it overrode
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class RandomizationList(Record):
    protocol_name: str
    list_version: str
    seed: str  # decimal text: seeds may exceed a signed 64-bit column
    arms: list[str]
    ratio: list[int]
    block_sizes: list[int]
    strata: list[str]
    slots_per_stratum: int
    digest: str
    generated_at: dt.datetime
    generated_by: int | None
    retired_at: dt.datetime | None
    version: int


class RandomizationSlot(Record):
    list_id: int
    stratum: str
    sequence: int
    block_number: int
    block_size: int
    arm: str


class Allocation(Record):
    """Use of exactly one slot by exactly one patient (unique on both)."""

    patient_id: int
    slot_id: int
    list_id: int
    allocated_at: dt.datetime
    allocated_by: int | None
    infusion_date: dt.date
    version: int


class Unblinding(Record):
    patient_id: int
    kind: str  # "emergency"
    reason: str
    unblinded_by: int | None
    unblinded_at: dt.datetime


class AnalysisSanction(Record):
    """Permission for a statistician to see arms for a sanctioned interim/final analysis."""

    statistician_user_id: int
    level: str  # AnalysisUnblinding value
    purpose: str
    reason: str
    granted_by: int | None
    granted_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    version: int


class Signature(Record):
    """Electronic signature of one record version; a later edit invalidates it."""

    table_name: str
    record_id: str
    record_version: int
    signer_user_id: int
    signer_name: str
    meaning: str
    signed_at: dt.datetime
    invalidated_at: dt.datetime | None
    invalidated_reason: str | None
    version: int
