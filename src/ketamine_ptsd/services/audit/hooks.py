"""The flush hooks: every change to an audited record becomes audit rows in its transaction.

:func:`install` attaches the unit of work's :class:`~.chain.AuditContext` to its session. Before
a flush the hooks refuse hard deletes of audited records and an edit of a saved value without a
reason; after the flush they write one row per changed field (table, record id, field, old ->
new, reason, actor, UTC time from the injected clock) through :func:`~.chain.append_events`. A
later edit of a signed record invalidates the signature (21 CFR 11.70 spirit: a signature
belongs to the version that was signed). What is stored for a field here is what
:mod:`.reconcile` compares the live rows with.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, event, inspect, select, update
from sqlalchemy.orm import Session

from ketamine_ptsd.core.roles import Sensitivity

from ..errors import ValidationFailed
from ..records import Record, Signature
from .chain import AuditContext, AuditEvent, append_events, encode_value, table_of

__all__ = [
    "SECRET_PLACEHOLDER",
    "AuditedColumn",
    "audited_columns",
    "install",
    "is_audited",
    "record_id_of",
    "stored_value",
]

SECRET_PLACEHOLDER = "[secret]"
CONTEXT_KEY = "ketamine_ptsd.audit"


@dataclass(frozen=True)
class AuditedColumn:
    key: str
    audited: bool
    sensitivity: str


_COLUMNS: dict[type[Any], tuple[AuditedColumn, ...]] = {}


def audited_columns(cls: type[Record]) -> tuple[AuditedColumn, ...]:
    """Each mapped column's key, whether it is audited and its sensitivity (cached per class:
    the mapping does not change while the process runs)."""
    cached = _COLUMNS.get(cls)
    if cached is None:
        mapper = inspect(cls)
        cached = tuple(
            AuditedColumn(
                attr.key,
                mapper.columns[attr.key].info.get("audit", True) is not False,
                mapper.columns[attr.key].info.get("sensitivity", Sensitivity.NONE.value),
            )
            for attr in mapper.column_attrs
        )
        _COLUMNS[cls] = cached
    return cached


def _audited_changes(obj: Record, *, new: bool) -> list[tuple[str, Any, Any, str]]:
    """(field, old, new, sensitivity) for every audited column that changed."""
    state = inspect(obj)
    changes = []
    for column in audited_columns(type(obj)):
        if not column.audited:
            continue
        key = column.key
        if new:
            value = getattr(obj, key)
            if value is None:
                continue
            changes.append((key, None, value, column.sensitivity))
            continue
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        value = history.added[0] if history.added else None
        if old == value:
            continue
        changes.append((key, old, value, column.sensitivity))
    return changes


def is_audited(obj: object) -> bool:
    return bool(getattr(type(obj), "__audited__", False))


def record_id_of(obj: Record) -> str:
    identity = inspect(obj).identity
    if identity is None:
        return str(getattr(obj, "id", ""))
    return ",".join(str(part) for part in identity)


def stored_value(value: Any, sensitivity: str) -> str | None:
    if sensitivity == Sensitivity.SECRET.value:
        return None if value is None else json.dumps(SECRET_PLACEHOLDER)
    return encode_value(value)


def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    context: AuditContext | None = session.info.get(CONTEXT_KEY)
    for obj in session.deleted:
        if is_audited(obj):
            raise ValidationFailed(
                "record", "clinical records are never deleted; void them with a reason", None
            )
    for obj in session.dirty:
        if not is_audited(obj) or not session.is_modified(obj):
            continue
        edits = [c for c in _audited_changes(obj, new=False) if c[1] is not None]
        if edits and (context is None or not (context.reason or "").strip()):
            raise ValidationFailed(
                "reason", f"an edit of a saved value needs a reason ({edits[0][0]})", None
            )
    if context is None and any(is_audited(o) for o in (*session.new, *session.dirty)):
        raise ValidationFailed("actor", "changes need an authenticated actor to be audited")


def _after_flush(session: Session, _flush_context: Any) -> None:
    context: AuditContext | None = session.info.get(CONTEXT_KEY)
    if context is None:
        return
    events: list[AuditEvent] = []
    invalidate: list[tuple[str, str]] = []
    for obj in session.new:
        if not is_audited(obj):
            continue
        table, record_id = inspect(obj).mapper.local_table.name, record_id_of(obj)  # type: ignore[union-attr]
        for key, _old, value, sensitivity in _audited_changes(obj, new=True):
            events.append(
                AuditEvent(
                    "insert",
                    table,
                    record_id,
                    key,
                    None,
                    stored_value(value, sensitivity),
                    None,
                    sensitivity,
                )
            )
    for obj in session.dirty:
        if not is_audited(obj):
            continue
        changes = _audited_changes(obj, new=False)
        if not changes:
            continue
        table, record_id = inspect(obj).mapper.local_table.name, record_id_of(obj)  # type: ignore[union-attr]
        kind = (
            "void" if any(c[0] == "voided_at" and c[2] is not None for c in changes) else "update"
        )
        for key, old, value, sensitivity in changes:
            events.append(
                AuditEvent(
                    kind,
                    table,
                    record_id,
                    key,
                    stored_value(old, sensitivity),
                    stored_value(value, sensitivity),
                    context.reason,
                    sensitivity,
                )
            )
        if not isinstance(obj, Signature):
            invalidate.append((table, record_id))
    events.extend(_invalidate_signatures(session, context, invalidate))
    append_events(session, context, events)


@functools.cache
def _live_signatures() -> Any:
    signatures = table_of(Signature)
    return select(signatures.c.id).where(
        signatures.c.table_name == bindparam("table_name"),
        signatures.c.record_id == bindparam("record_id"),
        signatures.c.invalidated_at.is_(None),
    )


def _invalidate_signatures(
    session: Session, context: AuditContext, records: Iterable[tuple[str, str]]
) -> list[AuditEvent]:
    """Mark live signatures of edited records invalid (same transaction); return their events."""
    signatures = table_of(Signature)
    connection = session.connection()
    events = []
    now = context.clock.now()
    reason = "record edited after signing"
    for table, record_id in records:
        ids = (
            connection.execute(_live_signatures(), {"table_name": table, "record_id": record_id})
            .scalars()
            .all()
        )
        for signature_id in ids:
            connection.execute(
                update(signatures)
                .where(signatures.c.id == signature_id)
                .values(
                    invalidated_at=now,
                    invalidated_reason=reason,
                    version=signatures.c.version + 1,
                )
            )
            for name, value in (("invalidated_at", now), ("invalidated_reason", reason)):
                events.append(
                    AuditEvent(
                        "signature_invalidated",
                        "signatures",
                        str(signature_id),
                        name,
                        None,
                        encode_value(value),
                        context.reason,
                    )
                )
    return events


def install(session: Session, context: AuditContext) -> None:
    """Attach the audit context to one session (the unit of work does this): the hooks below
    act on every session that carries one, and on no other."""
    session.info[CONTEXT_KEY] = context


def _before_flush_hook(session: Session, flush_context: Any, instances: Any) -> None:
    if CONTEXT_KEY in session.info:
        _before_flush(session, flush_context, instances)


def _after_flush_hook(session: Session, flush_context: Any) -> None:
    if CONTEXT_KEY in session.info:
        _after_flush(session, flush_context)


# Registered once for the Session class (per-session listeners cost a registry entry each time
# a unit of work opens); sessions without an audit context pass straight through.
if not event.contains(Session, "before_flush", _before_flush_hook):
    event.listen(Session, "before_flush", _before_flush_hook)
    event.listen(Session, "after_flush", _after_flush_hook)
