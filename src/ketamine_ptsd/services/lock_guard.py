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
from .records import DatabaseLock

__all__ = ["LOCK_KEY", "UNLOCKED_TABLES", "ActiveLock", "active_lock", "remember_lock"]

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

    def describe(self) -> str:
        """One line for a report's cover: the data's identity."""
        return (
            f"database locked {self.locked_at:%Y-%m-%d %H:%M} UTC ({self.reason}); "
            f"audit head {self.digest}"
        )


def active_lock(session: Session) -> ActiveLock | None:
    """The lock in force, or None (at most one is open at a time: locks.py keeps it so)."""
    row = session.scalar(
        select(DatabaseLock)
        .where(DatabaseLock.unlocked_at.is_(None))  # type: ignore[attr-defined]
        .order_by(DatabaseLock.id.desc())  # type: ignore[attr-defined]
        .limit(1)
    )
    if row is None:
        return None
    return ActiveLock(row.id, row.locked_at, row.locked_by, row.reason, row.digest)


def remember_lock(session: Session) -> ActiveLock | None:
    """Read the lock once for this write transaction and keep it for the flush hook."""
    lock = active_lock(session)
    session.info[LOCK_KEY] = lock
    return lock


def _table(obj: object) -> str:
    return str(inspect(type(obj)).local_table.name)


def _refuse_locked_writes(session: Session, _flush_context: Any, _instances: Any) -> None:
    lock: ActiveLock | None = session.info.get(LOCK_KEY)
    if lock is None:
        return
    changed = [
        *session.new,
        *session.deleted,
        *(o for o in session.dirty if session.is_modified(o)),
    ]
    for obj in changed:
        table = _table(obj)
        if table not in UNLOCKED_TABLES:
            raise DatabaseLocked(
                table,
                f"the record is locked since {lock.locked_at:%Y-%m-%d %H:%M} UTC ({lock.reason}); "
                f"nothing in {table} can be changed until an investigator unlocks it with a "
                "reason (database lock before unblinding, ICH E6(R3))",
            )


if not event.contains(Session, "before_flush", _refuse_locked_writes):
    event.listen(Session, "before_flush", _refuse_locked_writes)
