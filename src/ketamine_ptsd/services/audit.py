"""The audit trail: written in the same transaction as every change, hash-chained, redacted.

SYSTEM.md §Data: an append-only audit trail (who, what, when, why, old and new values,
tamper-evident). How:

* **Every change.** :func:`install` hooks the unit of work's session: before a flush it refuses
  hard deletes of audited records and an edit of a saved value without a reason; after the flush
  it writes one row per changed field (table, record id, field, old → new, reason, actor, UTC time
  from the injected clock) through the same connection, so the change and its audit commit or
  roll back together. The rows of one flush go to the driver's ``executemany`` through an INSERT
  compiled once per dialect (:class:`_EntryInsert`): tens of rows per use case, and SQLAlchemy's
  per-row parameter handling cost more than the hashing. A later edit of a signed record invalidates the signature (21 CFR 11.70
  spirit: a signature belongs to the version that was signed).
* **Events.** Logins, failed logins, exports, randomizations, unblindings and signatures are
  written with :func:`append_events`.
* **Tamper evidence.** Each row's ``row_hash`` is SHA-256 over its content and ``prev_hash``
  (the previous row's hash); ``audit_head`` keeps the last ``seq`` and hash, so a removed tail is
  detected too. The unit of work reads the head under its write lock when it opens
  (:meth:`AuditContext.take_head`), chains every row of the transaction in memory from there, and
  writes the head once, just before the commit (:func:`write_head`): the same chain and the same
  head as updating it per flush, one UPDATE per transaction instead of one per flush. The database refuses UPDATE and DELETE on ``audit_log`` (triggers, migration
  0001). :func:`verify_chain` names the first bad row.
* **The blind.** Each row keeps the sensitivity of its field; :class:`AuditService` redacts
  values a role may not see (:func:`ketamine_ptsd.core.roles.can_see`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, event, func, insert, inspect, select, update
from sqlalchemy.orm import Session

from ketamine_ptsd.core.roles import Action, Sensitivity, can_see

from .access import Actor, require
from .clock import Clock
from .errors import ValidationFailed
from .records import AuditEntry, AuditHead, Record, Signature

__all__ = [
    "GENESIS_HASH",
    "REDACTED",
    "AuditContext",
    "AuditEvent",
    "AuditService",
    "AuditView",
    "ChainReport",
    "append_events",
    "decode_value",
    "encode_value",
    "entry_hash",
    "install",
    "replay",
    "verify_chain",
    "write_head",
]

GENESIS_HASH = "0" * 64
REDACTED = "[redacted]"
SECRET_PLACEHOLDER = "[secret]"
CONTEXT_KEY = "ketamine_ptsd.audit"


@dataclass
class AuditContext:
    """What the hooks need to know about the unit of work: who, the clock, and why."""

    actor: Actor
    clock: Clock
    reason: str | None = None
    #: The chain's head as this transaction sees it (read under the write lock), and whether
    #: rows were chained since, so the head row must be written before the commit.
    head_seq: int | None = None
    head_hash: str | None = None
    head_dirty: bool = False

    def take_head(self, last_seq: int, last_hash: str) -> None:
        """Start chaining from the head row read (locked) at the start of the transaction."""
        self.head_seq, self.head_hash, self.head_dirty = int(last_seq), str(last_hash), False


@dataclass(frozen=True)
class AuditEvent:
    """An audit row before it is chained (values already JSON-encoded)."""

    event: str
    table_name: str | None = None
    record_id: str | None = None
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    reason: str | None = None
    sensitivity: str = Sensitivity.NONE.value


# --- values and hashes ----------------------------------------------------------------------


#: ``json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)``, built once:
#: ``json.dumps`` with options builds a new encoder on every call (one per audited field).
_VALUE_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def encode_value(value: Any) -> str | None:
    """Canonical JSON of a stored value (dates as ISO text); None stays None."""
    if value is None:
        return None
    if isinstance(value, dt.datetime | dt.date):
        return _VALUE_ENCODER.encode(value.isoformat())
    return _VALUE_ENCODER.encode(value)


def decode_value(text: str | None) -> Any:
    """Inverse of :func:`encode_value` (dates come back as ISO text)."""
    return None if text is None else json.loads(text)


def _utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


#: The canonical encoder of the hashed payload, built once (``json.dumps`` with these options
#: would build a new encoder for every row).
_PAYLOAD_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    *,
    seq: int,
    occurred_at: dt.datetime,
    actor_user_id: int | None,
    actor_username: str,
    actor_role: str,
    event: str,
    table_name: str | None,
    record_id: str | None,
    field: str | None,
    old_value: str | None,
    new_value: str | None,
    reason: str | None,
    sensitivity: str,
    prev_hash: str,
) -> str:
    """SHA-256 over a row's content and the previous row's hash (canonical JSON)."""
    return _hash_payload(
        [
            seq,
            _utc_text(occurred_at),
            actor_user_id,
            actor_username,
            actor_role,
            event,
            table_name,
            record_id,
            field,
            old_value,
            new_value,
            reason,
            sensitivity,
            prev_hash,
        ]
    )


def _hash_payload(payload: list[Any]) -> str:
    text = _PAYLOAD_ENCODER.encode(payload)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _table(cls: type[Record]) -> Table:
    return inspect(cls).local_table  # type: ignore[return-value]


# --- writing ----------------------------------------------------------------------------------


@functools.cache
def _head_query() -> Any:
    """The head row, locked (``FOR UPDATE`` on PostgreSQL; SQLite's writer holds its lock)."""
    head = _table(AuditHead)
    return select(head.c.last_seq, head.c.last_hash).where(head.c.id == 1).with_for_update()


def read_head(session: Session) -> tuple[int, str]:
    """The chain's last ``seq`` and hash, read ``FOR UPDATE`` (the unit of work's first read)."""
    row = session.connection().execute(_head_query()).one()
    return int(row.last_seq), str(row.last_hash)


@functools.cache
def _head_update() -> Any:
    head = _table(AuditHead)
    return (
        update(head)
        .where(head.c.id == 1)
        .values(last_seq=bindparam("head_seq"), last_hash=bindparam("head_hash"))
    )


#: The columns of ``audit_log`` in the order :func:`append_events` builds each row.
_ENTRY_KEYS = (
    "seq",
    "occurred_at",
    "actor_user_id",
    "actor_username",
    "actor_role",
    "event",
    "table_name",
    "record_id",
    "field",
    "old_value",
    "new_value",
    "reason",
    "sensitivity",
    "prev_hash",
    "row_hash",
)


@dataclass(frozen=True)
class _EntryInsert:
    """The ``audit_log`` INSERT compiled once per dialect, for the driver's ``executemany``.

    An audit row is plain text and integers plus one timestamp, and a transaction writes tens
    of them: handing the driver ready rows skips SQLAlchemy's per-row parameter processing,
    which cost more than the hash. The timestamp, shared by the rows of one call, goes through
    its column type's bind processor for the dialect once (:meth:`moment_value`), so the stored
    row is the one ``insert(audit_log)`` would store; :func:`_entry_insert` refuses a dialect
    that would need any other value processed.
    """

    sql: str
    #: Named-parameter drivers (psycopg) take dicts; positional ones (SQLite) take the tuples.
    named: bool
    #: The bind processor of ``occurred_at`` (None where the driver takes the value as is).
    moment: Any

    def moment_value(self, moment: dt.datetime) -> Any:
        return moment if self.moment is None else self.moment(moment)

    def rows(self, values: list[tuple[Any, ...]]) -> list[Any]:
        return (
            [dict(zip(_ENTRY_KEYS, row, strict=True)) for row in values] if self.named else values
        )


_ENTRY_INSERTS: dict[tuple[str, str, str], _EntryInsert] = {}


def _entry_insert(dialect: Any) -> _EntryInsert:
    key = (dialect.name, str(dialect.driver), str(dialect.paramstyle))
    cached = _ENTRY_INSERTS.get(key)
    if cached is None:
        table = _table(AuditEntry)
        compiled = insert(table).compile(dialect=dialect, column_keys=list(_ENTRY_KEYS))
        if compiled.positional and tuple(compiled.positiontup or ()) != _ENTRY_KEYS:
            raise RuntimeError(f"audit_log parameters out of order: {compiled.positiontup}")
        processors = {
            name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in _ENTRY_KEYS
        }
        others = [name for name, process in processors.items() if process and name != "occurred_at"]
        if others:
            raise RuntimeError(f"audit_log columns need bind processing on {key}: {others}")
        cached = _EntryInsert(compiled.string, not compiled.positional, processors["occurred_at"])
        _ENTRY_INSERTS[key] = cached
    return cached


def append_events(session: Session, context: AuditContext, events: Sequence[AuditEvent]) -> None:
    """Chain and insert ``events`` in the session's transaction.

    The chain continues from the head the unit of work read under its write lock (one writer at
    a time, uow.py), or, when nothing has read it yet, from the head row read now ``FOR UPDATE``.
    The head row itself is written by :func:`write_head` before the commit.
    """
    if not events:
        return
    connection = session.connection()
    if context.head_seq is None or context.head_hash is None:
        context.take_head(*read_head(session))
    assert context.head_seq is not None and context.head_hash is not None
    seq, prev_hash = context.head_seq, context.head_hash
    statement = _entry_insert(connection.dialect)
    now = context.clock.now()
    now_text = _utc_text(now)  # every row of one call shares the moment: format it once
    now_value = statement.moment_value(now)
    actor = context.actor
    user_id, username = actor.user_id, actor.username
    role = str(getattr(actor.role, "value", actor.role))
    rows: list[tuple[Any, ...]] = []
    for item in events:
        seq += 1
        content = (
            user_id,
            username,
            role,
            item.event,
            item.table_name,
            item.record_id,
            item.field,
            item.old_value,
            item.new_value,
            item.reason,
            item.sensitivity,
        )
        # The same payload, in the same order, as entry_hash() (which verify_chain uses); the
        # stored row has the columns in _ENTRY_KEYS order, the moment as the driver takes it.
        row_hash = _hash_payload([seq, now_text, *content, prev_hash])
        rows.append((seq, now_value, *content, prev_hash, row_hash))
        prev_hash = row_hash
    connection.exec_driver_sql(statement.sql, statement.rows(rows))
    context.head_seq, context.head_hash, context.head_dirty = seq, prev_hash, True


def write_head(session: Session, context: AuditContext) -> None:
    """Write the chain's last ``seq`` and hash to ``audit_head`` (once, before the commit)."""
    if not context.head_dirty:
        return
    session.connection().execute(
        _head_update(), {"head_seq": context.head_seq, "head_hash": context.head_hash}
    )
    context.head_dirty = False


@dataclass(frozen=True)
class _Column:
    key: str
    audited: bool
    sensitivity: str


_COLUMNS: dict[type[Any], tuple[_Column, ...]] = {}


def _columns(cls: type[Record]) -> tuple[_Column, ...]:
    """Each mapped column's key, whether it is audited and its sensitivity (cached per class:
    the mapping does not change while the process runs)."""
    cached = _COLUMNS.get(cls)
    if cached is None:
        mapper = inspect(cls)
        cached = tuple(
            _Column(
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
    for column in _columns(type(obj)):
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


def _is_audited(obj: object) -> bool:
    return bool(getattr(type(obj), "__audited__", False))


def _record_id(obj: Record) -> str:
    identity = inspect(obj).identity
    if identity is None:
        return str(getattr(obj, "id", ""))
    return ",".join(str(part) for part in identity)


def _store(value: Any, sensitivity: str) -> str | None:
    if sensitivity == Sensitivity.SECRET.value:
        return None if value is None else json.dumps(SECRET_PLACEHOLDER)
    return encode_value(value)


def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    context: AuditContext | None = session.info.get(CONTEXT_KEY)
    for obj in session.deleted:
        if _is_audited(obj):
            raise ValidationFailed(
                "record", "clinical records are never deleted; void them with a reason", None
            )
    for obj in session.dirty:
        if not _is_audited(obj) or not session.is_modified(obj):
            continue
        edits = [c for c in _audited_changes(obj, new=False) if c[1] is not None]
        if edits and (context is None or not (context.reason or "").strip()):
            raise ValidationFailed(
                "reason", f"an edit of a saved value needs a reason ({edits[0][0]})", None
            )
    if context is None and any(_is_audited(o) for o in (*session.new, *session.dirty)):
        raise ValidationFailed("actor", "changes need an authenticated actor to be audited")


def _after_flush(session: Session, _flush_context: Any) -> None:
    context: AuditContext | None = session.info.get(CONTEXT_KEY)
    if context is None:
        return
    events: list[AuditEvent] = []
    invalidate: list[tuple[str, str]] = []
    for obj in session.new:
        if not _is_audited(obj):
            continue
        table, record_id = inspect(obj).mapper.local_table.name, _record_id(obj)  # type: ignore[union-attr]
        for key, _old, value, sensitivity in _audited_changes(obj, new=True):
            events.append(
                AuditEvent(
                    "insert",
                    table,
                    record_id,
                    key,
                    None,
                    _store(value, sensitivity),
                    None,
                    sensitivity,
                )
            )
    for obj in session.dirty:
        if not _is_audited(obj):
            continue
        changes = _audited_changes(obj, new=False)
        if not changes:
            continue
        table, record_id = inspect(obj).mapper.local_table.name, _record_id(obj)  # type: ignore[union-attr]
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
                    _store(old, sensitivity),
                    _store(value, sensitivity),
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
    signatures = _table(Signature)
    return select(signatures.c.id).where(
        signatures.c.table_name == bindparam("table_name"),
        signatures.c.record_id == bindparam("record_id"),
        signatures.c.invalidated_at.is_(None),
    )


def _invalidate_signatures(
    session: Session, context: AuditContext, records: Iterable[tuple[str, str]]
) -> list[AuditEvent]:
    """Mark live signatures of edited records invalid (same transaction); return their events."""
    signatures = _table(Signature)
    connection = session.connection()
    events = []
    now = context.clock.now()
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
                    invalidated_reason="record edited after signing",
                    version=signatures.c.version + 1,
                )
            )
            events.append(
                AuditEvent(
                    "signature_invalidated",
                    "signatures",
                    str(signature_id),
                    "invalidated_at",
                    None,
                    encode_value(now),
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


# --- reading, verifying, replaying ---------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    """Result of :func:`verify_chain`: ``ok``, rows checked, and the first bad row if any."""

    ok: bool
    rows_checked: int
    first_bad_seq: int | None = None
    problem: str | None = None


def verify_chain(session: Session) -> ChainReport:
    """Recompute the chain from row 1; report the first row whose hash or link is wrong."""
    table = _table(AuditEntry)
    head = session.connection().execute(select(_table(AuditHead))).one()
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    result = session.connection().execute(select(table).order_by(table.c.seq))
    for row in result:
        data = row._mapping
        seq = int(data["seq"])
        if seq != expected_seq:
            return ChainReport(False, checked, expected_seq, f"row {expected_seq} is missing")
        if data["prev_hash"] != expected_prev:
            return ChainReport(False, checked, seq, f"row {seq} does not link to row {seq - 1}")
        content = {k: data[k] for k in data if k not in ("prev_hash", "row_hash")}
        if entry_hash(**content, prev_hash=data["prev_hash"]) != data["row_hash"]:
            return ChainReport(False, checked, seq, f"row {seq} was changed")
        expected_prev = data["row_hash"]
        expected_seq += 1
        checked += 1
    if int(head.last_seq) != checked or head.last_hash != expected_prev:
        missing = checked + 1
        return ChainReport(
            False, checked, missing, f"rows after {checked} were removed (head at {head.last_seq})"
        )
    return ChainReport(True, checked)


def replay(entries: Iterable[AuditEntry]) -> dict[tuple[str, str], dict[str, Any]]:
    """Rebuild every audited record's current values from its audit rows (in ``seq`` order)."""
    state: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in sorted(entries, key=lambda e: e.seq):
        if entry.table_name is None or entry.record_id is None or entry.field is None:
            continue
        if entry.event not in ("insert", "update", "void", "signature_invalidated"):
            continue
        state.setdefault((entry.table_name, entry.record_id), {})[entry.field] = decode_value(
            entry.new_value
        )
    return state


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
        since_seq: int = 0,
        limit: int = 500,
    ) -> list[AuditView]:
        """Audit rows, oldest first; values the actor's role may not see are redacted.

        Investigators are treated as blinded here even for an emergency-unblinded patient: an
        audit listing spans patients, and the unblinding itself is shown to them elsewhere.
        """
        require(actor, Action.AUDIT_READ)
        with self._ctx.uow(actor, write=False) as uow:
            query = select(AuditEntry).where(AuditEntry.seq > since_seq)
            if table_name is not None:
                query = query.where(AuditEntry.table_name == table_name)
            if record_id is not None:
                query = query.where(AuditEntry.record_id == record_id)
            rows = uow.session.scalars(query.order_by(AuditEntry.seq).limit(limit)).all()
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

    def verify(self, actor: Actor) -> ChainReport:
        """Verify the whole chain (administrators; the CLI runs it as the operator)."""
        require(actor, Action.AUDIT_VERIFY)
        with self._ctx.uow(actor, write=False) as uow:
            return verify_chain(uow.session)

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
                uow.session.scalar(select(func.count()).select_from(_table(AuditEntry))) or 0
            )
