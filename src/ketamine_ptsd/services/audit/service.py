"""Audit use cases: views redacted by role, verification, checkpoints, export events.

The blind: each audit row keeps the sensitivity of its field; :class:`AuditService` redacts
values a role may not see (:func:`ketamine_ptsd.core.roles.can_see`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from ketamine_ptsd.core.roles import Action, can_see

from ..access import Actor, require, require_patient
from ..errors import NotFound, ValidationFailed
from ..records import AuditEntry, AuditHead, Patient
from .chain import AuditEvent, decode_value, encode_value, read_head, table_of, utc_text
from .checkpoint import Checkpoint
from .scope import of_patients, visible_to_sites
from .verify import ChainReport, verify_chain

__all__ = ["REDACTED", "AuditService", "AuditView"]

REDACTED = "[redacted]"


@dataclass(frozen=True)
class AuditView:
    """One audit row as a given actor may see it (values decoded or :data:`REDACTED`)."""

    seq: int
    occurred_at: dt.datetime
    actor_username: str
    actor_role: str
    event: str
    table_name: str | None
    record_id: str | None
    field: str | None
    old_value: Any
    new_value: Any
    reason: str | None
    redacted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class AuditService:
    """Audit views (redacted by role), chain verification, and events for adapters (exports)."""

    def __init__(self, context: Any) -> None:
        self._ctx = context

    def entries(
        self,
        actor: Actor,
        *,
        table_name: str | None = None,
        record_id: str | None = None,
        study_id: str | None = None,
        username: str | None = None,
        occurred_from: dt.datetime | None = None,
        occurred_before: dt.datetime | None = None,
        since_seq: int = 0,
        limit: int = 500,
        offset: int = 0,
        newest_first: bool = False,
    ) -> list[AuditView]:
        """Audit rows, oldest first (or newest first); values the actor's role may not see are
        redacted.

        Filters: a form (``table_name``, ``record_id``), a patient (``study_id``: the rows of
        every record of theirs, :mod:`.scope`), the acting user, ``occurred_from`` ≤ time <
        ``occurred_before``. A member of sites sees only rows naming no patient and their sites'
        patients' rows (issue 17); another site's study id is "not found", as everywhere.

        Investigators are treated as blinded here even for an emergency-unblinded patient: an
        audit listing spans patients, and the unblinding itself is shown to them elsewhere.
        """
        require(actor, Action.AUDIT_READ)
        with self._ctx.uow(actor, write=False) as uow:
            query = select(AuditEntry).where(AuditEntry.seq > since_seq)
            if actor.sites is not None:
                query = query.where(visible_to_sites(actor.sites))
            if study_id is not None:
                patient = uow.session.scalar(select(Patient).where(Patient.study_id == study_id))
                if patient is None:
                    raise NotFound("patient", study_id)
                require_patient(actor, Action.AUDIT_READ, patient)
                query = query.where(of_patients(select(Patient.id).where(Patient.id == patient.id)))
            if table_name is not None:
                query = query.where(AuditEntry.table_name == table_name)
            if record_id is not None:
                query = query.where(AuditEntry.record_id == record_id)
            if username is not None:
                query = query.where(AuditEntry.actor_username == username)
            if occurred_from is not None:
                query = query.where(AuditEntry.occurred_at >= occurred_from)
            if occurred_before is not None:
                query = query.where(AuditEntry.occurred_at < occurred_before)
            order = AuditEntry.seq.desc() if newest_first else AuditEntry.seq  # type: ignore[attr-defined]
            rows = uow.session.scalars(query.order_by(order).offset(offset).limit(limit)).all()
            return [self._view(actor, row) for row in rows]

    @staticmethod
    def _view(actor: Actor, row: AuditEntry) -> AuditView:
        visible = can_see(actor.role, row.sensitivity)
        return AuditView(
            seq=row.seq,
            occurred_at=row.occurred_at,
            actor_username=row.actor_username,
            actor_role=row.actor_role,
            event=row.event,
            table_name=row.table_name,
            record_id=row.record_id,
            field=row.field,
            old_value=decode_value(row.old_value) if visible else REDACTED,
            new_value=decode_value(row.new_value) if visible else REDACTED,
            reason=row.reason if visible else (None if row.reason is None else REDACTED),
            redacted=not visible,
        )

    def verify(self, actor: Actor, *, checkpoint: bool = False) -> ChainReport:
        """Verify the chain, the signed checkpoints and the live tables (administrators; the
        CLI runs it as the operator). With ``checkpoint``, a verified head is checkpointed."""
        require(actor, Action.AUDIT_VERIFY)
        anchor = self._ctx.audit_anchor
        keyring = None if anchor is None else anchor.keyring
        checkpoints: list[Checkpoint] = []
        if anchor is not None and anchor.store is not None:
            try:
                checkpoints = list(anchor.store.read())
            except ValueError as exc:
                return ChainReport(False, 0, None, f"the checkpoint file is damaged: {exc}")
        with self._ctx.uow(actor, write=False) as uow:
            if uow.session.get_bind().dialect.name == "postgresql":
                # One snapshot for the head, the trail and the tables: a writer committing
                # while this runs must not look like a removed tail or an unaudited row.
                # (SQLite's read transaction is already one snapshot in WAL mode.)
                uow.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            report = verify_chain(uow.session, keyring, checkpoints)
        if report.ok and checkpoint and anchor is not None and report.head_hash is not None:
            # The head that was verified, not one a writer may have committed since.
            anchor.checkpoint(
                "verify", report.rows_checked, report.head_hash, utc_text(self._ctx.clock.now())
            )
        return report

    def checkpoint(self, actor: Actor, kind: str) -> Checkpoint | None:
        """Sign the chain's head as it is now into the checkpoint store (backup, restore, demo);
        None when this instance keeps no checkpoints."""
        require(actor, Action.AUDIT_VERIFY)
        anchor = self._ctx.audit_anchor
        if anchor is None:
            return None
        with self._ctx.uow(actor, write=False) as uow:
            seq, hash_ = read_head(uow.session)
        try:
            return anchor.checkpoint(kind, seq, hash_, utc_text(self._ctx.clock.now()))
        except ValueError as exc:
            raise ValidationFailed("kind", str(exc), kind) from exc

    def record_export(self, actor: Actor, what: str, rows: int) -> None:
        """Audit an export (SYSTEM.md §Data: exports are audit events)."""
        require(actor, Action.EXPORT_DATA)
        with self._ctx.uow(actor, write=True) as uow:
            uow.events(
                [
                    AuditEvent(
                        "export", None, None, None, None, encode_value({"what": what, "rows": rows})
                    )
                ]
            )
            uow.commit()

    def record_version(self, actor: Actor) -> int:
        """The audit chain's last sequence number: it changes with every write to the record,
        so an adapter may key a read-only summary on it (a cache that can never be stale).
        It reveals only how many changes there have been, so any signed-in actor may read it."""
        with self._ctx.uow(actor, write=False) as uow:
            head = uow.session.scalars(select(AuditHead)).first()
            return int(head.last_seq) if head is not None else 0

    def count(self, actor: Actor) -> int:
        require(actor, Action.AUDIT_READ)
        with self._ctx.uow(actor, write=False) as uow:
            return int(
                uow.session.scalar(select(func.count()).select_from(table_of(AuditEntry))) or 0
            )
