"""The unit of work: one transaction per use case, and it owns the commit (STYLE.md §5).

A service opens ``with ctx.uow(actor, write=True) as uow:``, does its reads and changes through
``uow.session``, and calls ``uow.commit()`` last; leaving the block without committing rolls
everything back, so a refused request changes nothing. The session carries the audit context
(:func:`ketamine_ptsd.services.audit.install`), so each change's audit rows commit with it.

Writers are serialized: on SQLite by ``BEGIN IMMEDIATE`` (the db adapter), on PostgreSQL by
locking the audit chain's head row first thing. One writer at a time keeps the hash chain linear
and rules out deadlocks between writers; the record's write rate (a clinic, a trial site) is far
below what this allows. The head read under that lock is handed to the audit context, which
chains the transaction's rows from it; :meth:`UnitOfWork.commit` flushes, writes the head row
once (:func:`~ketamine_ptsd.services.audit.write_head`) and commits. With the instance's audit
anchor (keys and checkpoint store, ``ServiceContext.audit_anchor``) the rows are keyed, and once
the commit has happened the chain's head is checkpointed when it has grown enough
(:meth:`~ketamine_ptsd.services.audit.AuditAnchor.after_commit`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .access import Actor
from .audit import (
    AuditAnchor,
    AuditContext,
    AuditEvent,
    append_events,
    install,
    read_head,
    utc_text,
    write_head,
)
from .clock import Clock
from .errors import ConflictError
from .lock_guard import remember_lock

__all__ = ["UnitOfWork"]


class UnitOfWork:
    """One transaction on behalf of ``actor``; ``write=False`` for reads."""

    def __init__(
        self,
        session_factory: Callable[..., Session],
        clock: Clock,
        actor: Actor,
        *,
        write: bool,
        anchor: AuditAnchor | None = None,
    ) -> None:
        self._factory = session_factory
        self._anchor = anchor
        self.clock = clock
        self.actor = actor
        self.write = write
        self._committed = False
        self.session: Session
        self._context: AuditContext

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory(write=self.write)
        self._context = AuditContext(
            self.actor, self.clock, keyring=None if self._anchor is None else self._anchor.keyring
        )
        install(self.session, self._context)
        if self.write:
            self._context.take_head(*read_head(self.session))
            remember_lock(self.session)  # under the writers' lock: the lock cannot change now
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                self.session.rollback()
        finally:
            self.session.close()
        if isinstance(exc, StaleDataError):
            raise ConflictError(
                "record", None, "changed by someone else; reload and retry"
            ) from exc

    def act_as(self, actor: Actor) -> None:
        """Switch the actor (login: the user becomes known inside the unit of work)."""
        self.actor = actor
        self._context.actor = actor

    @property
    def reason(self) -> str | None:
        """Why the current edits are made (required for an edit of a saved value)."""
        return self._context.reason

    @reason.setter
    def reason(self, value: str | None) -> None:
        self._context.reason = value

    @property
    def now(self) -> Any:
        return self.clock.now()

    def events(self, events: Sequence[AuditEvent]) -> None:
        """Write audit events (login, export, …) in this transaction."""
        self.session.flush()
        append_events(self.session, self._context, events)

    def flush(self) -> None:
        try:
            self.session.flush()
        except StaleDataError as exc:
            raise ConflictError(
                "record", None, "changed by someone else; reload and retry"
            ) from exc

    def commit(self) -> None:
        """Commit everything done in this unit of work (audit rows included)."""
        if not self.write:
            raise RuntimeError("a read-only unit of work cannot commit")
        try:
            self.session.flush()
            write_head(self.session, self._context)
            self.session.commit()
        except StaleDataError as exc:
            raise ConflictError(
                "record", None, "changed by someone else; reload and retry"
            ) from exc
        except IntegrityError as exc:
            raise ConflictError("record", None, "conflicts with a stored record") from exc
        self._committed = True
        context = self._context
        if self._anchor is not None and context.head_seq is not None and context.head_hash:
            # After the commit: a checkpoint never describes a head that was rolled back.
            self._anchor.after_commit(
                context.head_seq, context.head_hash, utc_text(self.clock.now())
            )
