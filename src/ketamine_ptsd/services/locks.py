"""Locking the record before the blind is broken, and the audited unlock (issue 17).

An investigator locks the database with a reason and their password again (as for an electronic
signature). From then on :mod:`.lock_guard` refuses every write of patient data; the final
(unblinded) analysis runs only on a locked record and reports the lock's digest — the audit
chain's head when the lock was taken, which seals every change before it. Unlocking is the same
audited decision, with its own reason; the lock row keeps both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketamine_ptsd.core.roles import Action

from .access import Actor, require
from .audit import read_head
from .auth import AuthService
from .context import ServiceContext
from .errors import ConflictError, ValidationFailed
from .lock_guard import active_lock
from .records import DatabaseLock, User

__all__ = ["LockService", "LockView"]

MIN_REASON = 10


@dataclass(frozen=True)
class LockView:
    """A lock, open (``unlocked_at`` None) or lifted."""

    id: int
    locked_at: dt.datetime
    locked_by: str
    reason: str
    digest: str
    unlocked_at: dt.datetime | None
    unlocked_by: str | None
    unlock_reason: str | None

    @property
    def open(self) -> bool:
        return self.unlocked_at is None

    def describe(self) -> str:
        """One line for a report or a terminal."""
        return (
            f"locked {self.locked_at:%Y-%m-%d %H:%M} UTC by {self.locked_by} ({self.reason}); "
            f"audit head {self.digest}"
        )


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if len(text) < MIN_REASON:
        raise ValidationFailed("reason", f"state why (at least {MIN_REASON} characters)", reason)
    return text


class LockService:
    """``status`` (anyone signed in), ``lock`` and ``unlock`` (investigator, re-authenticated)."""

    def __init__(self, ctx: ServiceContext, auth: AuthService) -> None:
        self._ctx = ctx
        self._auth = auth

    def status(self, actor: Actor) -> LockView | None:
        """The lock in force, or None."""
        with self._ctx.uow(actor, write=False) as uow:
            lock = active_lock(uow.session)
            if lock is None:
                return None
            row = uow.session.get(DatabaseLock, lock.id)
            assert row is not None
            return self._view(uow.session, row)

    def history(self, actor: Actor) -> list[LockView]:
        """Every lock, newest first."""
        with self._ctx.uow(actor, write=False) as uow:
            rows = uow.session.scalars(
                select(DatabaseLock).order_by(DatabaseLock.id.desc())  # type: ignore[attr-defined]
            ).all()
            return [self._view(uow.session, r) for r in rows]

    def lock(self, actor: Actor, *, reason: str, password: str) -> LockView:
        """Lock the record; ConflictError when it is locked already."""
        require(actor, Action.DATABASE_LOCK)
        text = _reason(reason)
        with self._ctx.uow(actor, write=True) as uow:
            self._auth.reauthenticate(uow, password)  # nothing of ours is pending yet
            if active_lock(uow.session) is not None:
                raise ConflictError("database", None, "is locked already")
            seq, head = read_head(uow.session)
            row = DatabaseLock(
                locked_at=uow.now,
                locked_by=actor.user_id,
                reason=text,
                digest=f"#{seq} {head}",
                unlocked_at=None,
                unlocked_by=None,
                unlock_reason=None,
                version=1,
            )
            uow.session.add(row)
            uow.flush()
            view = self._view(uow.session, row)
            uow.commit()
            return view

    def unlock(self, actor: Actor, *, reason: str, password: str) -> LockView:
        """Lift the lock in force; ConflictError when the record is not locked."""
        require(actor, Action.DATABASE_LOCK)
        text = _reason(reason)
        with self._ctx.uow(actor, write=True) as uow:
            self._auth.reauthenticate(uow, password)
            lock = active_lock(uow.session)
            if lock is None:
                raise ConflictError("database", None, "is not locked")
            row = uow.session.get(DatabaseLock, lock.id)
            assert row is not None
            uow.reason = text
            row.unlocked_at = uow.now
            row.unlocked_by = actor.user_id
            row.unlock_reason = text
            uow.flush()
            view = self._view(uow.session, row)
            uow.commit()
            return view

    @staticmethod
    def _view(session: Session, row: DatabaseLock) -> LockView:
        def name(user_id: int | None) -> str | None:
            if user_id is None:
                return None
            user = session.get(User, user_id)
            return user.username if user is not None else f"user {user_id}"

        return LockView(
            id=row.id,
            locked_at=row.locked_at,
            locked_by=name(row.locked_by) or "",
            reason=row.reason,
            digest=row.digest,
            unlocked_at=row.unlocked_at,
            unlocked_by=name(row.unlocked_by),
            unlock_reason=row.unlock_reason,
        )
