"""Trial conduct (issue 17): sites and their members, locks, data queries, source-data verification marks, data freezes."""

from __future__ import annotations

import datetime as dt

from .base import Record

__all__ = [
    "DataFreeze",
    "DataFreezeFrame",
    "DataQuery",
    "DatabaseLock",
    "SdvMark",
    "Site",
    "UserSite",
]


class Site(Record):
    """A trial site (issue 17): its code (the study ids' prefix), name, time zone, active dates."""

    code: str
    name: str
    time_zone: str
    active_from: dt.date | None
    active_to: dt.date | None
    version: int


class UserSite(Record):
    """A user's membership of a site: they see that site's patients (and only those)."""

    user_id: int
    site: str
    added_at: dt.datetime
    role: str | None  # the user's role at this site; None: the account's own role


class DatabaseLock(Record):
    """A lock of the record before the blind is broken (issue 17): while ``unlocked_at`` is
    None every write of patient data is refused (services/lock_guard.py). ``digest`` is the
    audit chain's head when the lock was taken — every change before it, hash-chained.
    With ``patient_id`` it locks one patient's record; with ``table_name`` and ``record_id``
    too, one form of that patient."""

    patient_id: int | None
    table_name: str | None
    record_id: str | None
    locked_at: dt.datetime
    locked_by: int
    reason: str
    digest: str
    unlocked_at: dt.datetime | None
    unlocked_by: int | None
    unlock_reason: str | None
    version: int


class DataQuery(Record):
    """A question on one field of one record (issue 17; core/conduct/queries.py)."""

    patient_id: int
    table_name: str
    record_id: str
    field: str
    value_raised: str | None  # JSON, as the audit trail encodes values
    sensitivity: str
    question: str
    origin: str
    state: str
    raised_by: int | None
    raised_at: dt.datetime
    answer: str | None
    corrected: bool | None
    answered_by: int | None
    answered_at: dt.datetime | None
    closed_by: int | None
    closed_at: dt.datetime | None
    reopen_count: int
    version: int


class SdvMark(Record):
    """A record verified against source by a monitor, at audit head ``audit_seq`` (issue 17)."""

    patient_id: int
    table_name: str
    record_id: str
    verified_by: int | None
    verified_at: dt.datetime
    audit_seq: int
    note: str | None


class DataFreeze(Record):
    """The analysis extract of one DSMB interim, frozen so its packet can be made again exactly
    (issue 17); the frames are :class:`DataFreezeFrame` rows sealed by ``digest``."""

    protocol_name: str
    level: str
    generated_on: dt.date
    planned_patients: int | None
    arms: str  # JSON
    ongoing: str  # JSON
    digest: str
    created_by: int | None
    created_at: dt.datetime


class DataFreezeFrame(Record):
    freeze_id: int
    name: str
    content: bytes  # Parquet
