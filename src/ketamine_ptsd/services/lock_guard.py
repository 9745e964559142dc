"""The database lock, enforced at the flush (issue 17: "a lock blocks every write").

Every writing unit of work reads the active lock once, right after it has taken the writers'
lock (:class:`~ketamine_ptsd.services.uow.UnitOfWork`), and keeps it in the session. Before each
flush the hook below refuses any new, changed or deleted row of a table that is not on the short
list of what a locked record still needs — accounts and sign-ins, the audit trail, the lock
itself, protocol versions, analysis sanctions and emergency unblindings. The list is an
allow-list, so a table added later is locked by default. Nothing is stored when the hook
refuses: the unit of work rolls back. The only way round is an investigator's audited unlock
with a reason (:mod:`.locks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from .errors import DatabaseLocked
from .records import DatabaseLock, Patient

__all__ = [
    "LOCK_KEY",
    "UNLOCKED_TABLES",
    "ActiveLock",
    "Locks",
    "active_lock",
    "locked_forms",
    "locked_patients",
    "protocol_lock",
    "remember_lock",
]

LOCK_KEY = "ketamine_ptsd.database_lock"

#: What may still be written while the record is locked: none of it is patient data.
UNLOCKED_TABLES = frozenset(
    {
        "users",
        "user_sessions",
        "audit_log",
        "audit_head",
        "database_locks",
        "protocol_versions",
        "analysis_sanctions",
        "unblindings",  # an emergency unblinding is never refused (PROTOCOL.md §3)
        "sites",
        "user_sites",
        "data_freezes",  # a frozen extract is a copy, not the record
        "data_freeze_frames",
        "meddra_terms",  # a MedDRA release is reference data; coding an event stays locked
    }
)


@dataclass(frozen=True)
class ActiveLock:
    """The lock in force: when, by whom (user id), why, and the audit head it sealed."""

    id: int
    locked_at: Any
    locked_by: int
    reason: str
    digest: str
    #: "database" (one lock over the record) or "protocol" (every patient of one protocol
    #: locked on their own: :func:`protocol_lock`; the last of those locks is the one kept)
    scope: str = "database"

    def describe(self) -> str:
        """One line for a report's cover: the data's identity."""
        what = "database locked" if self.scope == "database" else "every patient's record locked"
        return (
            f"{what} {self.locked_at:%Y-%m-%d %H:%M} UTC ({self.reason}); audit head {self.digest}"
        )


@dataclass(frozen=True)
class Locks:
    """What a write transaction must respect: the database lock, and each locked patient."""

    database: ActiveLock | None
    patients: dict[int, ActiveLock]
    forms: dict[tuple[str, str], ActiveLock]


def _view(row: DatabaseLock) -> ActiveLock:
    return ActiveLock(row.id, row.locked_at, row.locked_by, row.reason, row.digest)


def active_lock(session: Session) -> ActiveLock | None:
    """The database lock in force, or None (at most one is open: locks.py keeps it so)."""
    row = session.scalar(
        select(DatabaseLock)
        .where(
            DatabaseLock.unlocked_at.is_(None),  # type: ignore[attr-defined]
            DatabaseLock.patient_id.is_(None),  # type: ignore[attr-defined]
        )
        .order_by(DatabaseLock.id.desc())  # type: ignore[attr-defined]
        .limit(1)
    )
    return None if row is None else _view(row)


def _open_rows(session: Session) -> list[DatabaseLock]:
    return list(
        session.scalars(
            select(DatabaseLock).where(
                DatabaseLock.unlocked_at.is_(None),  # type: ignore[attr-defined]
                DatabaseLock.patient_id.is_not(None),  # type: ignore[attr-defined]
            )
        ).all()
    )


def locked_patients(session: Session) -> dict[int, ActiveLock]:
    """Patient id → the patient lock in force (a whole patient's record)."""
    return {
        int(r.patient_id): _view(r)
        for r in _open_rows(session)
        if r.patient_id is not None and r.table_name is None
    }


def protocol_lock(session: Session, protocol_name: str) -> ActiveLock | None:
    """The trial's data locked patient by patient: when every patient of ``protocol_name``
    that is not voided (screen failures included) holds a patient lock, the latest of those
    locks (scope "protocol"); otherwise None. A site that keeps a clinic open in the same
    record locks the trial's patients one by one instead of the whole database; a patient
    registered later, or one lock lifted, makes this None again, and a lock lifted and taken
    again changes its id, so an analysis that compares the lock before and after its extract
    sees it (services/analysis_runs.py)."""
    ids = set(
        session.scalars(
            select(Patient.id).where(
                Patient.protocol_name == protocol_name,
                Patient.voided_at.is_(None),  # type: ignore[attr-defined]
            )
        ).all()
    )
    if not ids:
        return None
    locked = locked_patients(session)
    if not ids <= locked.keys():
        return None
    last = max((locked[i] for i in ids), key=lambda lock: lock.id)
    reason = f"all {len(ids)} patients of protocol {protocol_name}; the last: {last.reason}"
    return ActiveLock(last.id, last.locked_at, last.locked_by, reason, last.digest, "protocol")


def locked_forms(session: Session) -> dict[tuple[str, str], ActiveLock]:
    """(table, record id) → the form lock in force."""
    return {
        (r.table_name, r.record_id): _view(r)
        for r in _open_rows(session)
        if r.table_name is not None and r.record_id is not None
    }


def remember_lock(session: Session) -> Locks:
    """Read the locks once for this write transaction and keep them for the flush hook: one
    query for every open lock (every writing unit of work pays it), split here as
    :func:`active_lock`, :func:`locked_patients` and :func:`locked_forms` would."""
    rows = session.scalars(
        select(DatabaseLock)
        .where(DatabaseLock.unlocked_at.is_(None))  # type: ignore[attr-defined]
        .order_by(DatabaseLock.id.desc())  # type: ignore[attr-defined]
    ).all()
    database = next((_view(r) for r in rows if r.patient_id is None), None)
    patients = {
        int(r.patient_id): _view(r)
        for r in reversed(rows)
        if r.patient_id is not None and r.table_name is None
    }
    forms = {
        (r.table_name, r.record_id): _view(r)
        for r in reversed(rows)
        if r.patient_id is not None and r.table_name is not None and r.record_id is not None
    }
    locks = Locks(database, patients, forms)
    session.info[LOCK_KEY] = locks
    return locks


def _record_id(obj: object) -> str:
    return str(getattr(obj, "id", ""))


def _table(obj: object) -> str:
    return str(inspect(type(obj)).local_table.name)


def _patient_of(session: Session, obj: object) -> int | None:
    from .patient_records import patient_of

    return patient_of(session, obj)  # type: ignore[arg-type]


def _refuse_locked_writes(session: Session, _flush_context: Any, _instances: Any) -> None:
    locks: Locks | None = session.info.get(LOCK_KEY)
    if locks is None or (locks.database is None and not locks.patients and not locks.forms):
        return
    changed = [
        *session.new,
        *session.deleted,
        *(o for o in session.dirty if session.is_modified(o)),
    ]
    for obj in changed:
        table = _table(obj)
        if table in UNLOCKED_TABLES:
            continue
        lock = locks.database
        if lock is not None:
            raise DatabaseLocked(
                table,
                f"the record is locked since {lock.locked_at:%Y-%m-%d %H:%M} UTC ({lock.reason}); "
                f"nothing in {table} can be changed until an investigator unlocks it with a "
                "reason (database lock before unblinding, ICH E6(R3))",
            )
        form = locks.forms.get((table, _record_id(obj)))
        if form is not None:
            raise DatabaseLocked(
                table,
                f"this form is locked since {form.locked_at:%Y-%m-%d %H:%M} UTC ({form.reason}); "
                "it cannot be changed until it is unlocked with a reason (form lock after "
                "source-data verification, ICH E6(R3))",
            )
        with session.no_autoflush:
            patient = _patient_of(session, obj)
        held = None if patient is None else locks.patients.get(patient)
        if held is not None:
            raise DatabaseLocked(
                table,
                f"this patient's record is locked since {held.locked_at:%Y-%m-%d %H:%M} UTC "
                f"({held.reason}); nothing in {table} can be changed until an investigator "
                "unlocks it with a reason (patient lock, ICH E6(R3))",
            )


if not event.contains(Session, "before_flush", _refuse_locked_writes):
    event.listen(Session, "before_flush", _refuse_locked_writes)
