"""The audit chain: values, row hashes (keyed), and writing rows in the unit of work.

SYSTEM.md §Data: an append-only audit trail (who, what, when, why, old and new values,
tamper-evident); 21 CFR 11.10(e). How the rows are written:

* **Every change.** The flush hooks (:mod:`.hooks`) turn each changed field into an
  :class:`AuditEvent`; :func:`append_events` chains and inserts them through the same connection,
  so the change and its audit commit or roll back together. The rows of one call go to the
  driver's ``executemany`` through an INSERT compiled once per dialect (:class:`_EntryInsert`):
  tens of rows per use case, and SQLAlchemy's per-row parameter handling cost more than hashing.
* **Keyed chain.** Each row's ``row_hash`` is an HMAC-SHA-256 (:mod:`.keys`) over its content,
  the previous row's hash and the id of the key (``key_id``), under a key kept outside the
  database; a database writer cannot recompute it. Rows written before keys existed (or by a
  context without a key ring) carry ``key_id`` NULL and the plain SHA-256 of the same content
  without the key id: the *legacy segment*, which may only precede the keyed rows.
* **The head.** ``audit_head`` keeps the last ``seq`` and hash, so a removed tail is detected
  when the head is intact; the signed checkpoints outside the database (:mod:`.checkpoint`)
  detect it when it was rewritten too. The unit of work reads the head under its write lock
  (:meth:`AuditContext.take_head`), chains the transaction's rows in memory, and writes the head
  once before the commit (:func:`write_head`). The database refuses UPDATE and DELETE on
  ``audit_log`` (triggers, migration 0001); :mod:`.verify` recomputes everything.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, insert, inspect, select, update
from sqlalchemy.orm import Session

from ketamine_ptsd.core.roles import Sensitivity

from ..access import Actor
from ..clock import Clock
from ..records import AuditEntry, AuditHead, Record
from .keys import AuditKeyring

__all__ = [
    "GENESIS_HASH",
    "AuditContext",
    "AuditEvent",
    "append_events",
    "decode_value",
    "encode_value",
    "entry_hash",
    "read_head",
    "table_of",
    "utc_text",
    "write_head",
]

GENESIS_HASH = "0" * 64


@dataclass
class AuditContext:
    """What the hooks need to know about the unit of work: who, the clock, and why."""

    actor: Actor
    clock: Clock
    reason: str | None = None
    #: The keys of the chain (None: rows are written unkeyed, as the legacy segment was).
    keyring: AuditKeyring | None = None
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


def utc_text(moment: dt.datetime) -> str:
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
    key_id: str | None = None,
    keyring: AuditKeyring | None = None,
) -> str:
    """A row's hash: HMAC-SHA-256 under ``key_id`` over its content, the previous row's hash
    and the key id; for a legacy row (``key_id`` None) SHA-256 over the content and the previous
    hash (canonical JSON). KeyError when ``keyring`` lacks ``key_id``."""
    return _hash_payload(
        [
            seq,
            utc_text(occurred_at),
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
        ],
        key_id,
        keyring,
    )


def _hash_payload(payload: list[Any], key_id: str | None, keyring: AuditKeyring | None) -> str:
    if key_id is None:
        return hashlib.sha256(_PAYLOAD_ENCODER.encode(payload).encode("utf-8")).hexdigest()
    if keyring is None:
        raise KeyError(key_id)
    payload.append(key_id)
    return keyring.mac(key_id, _PAYLOAD_ENCODER.encode(payload).encode("utf-8"))


def table_of(cls: type[Record]) -> Table:
    return inspect(cls).local_table  # type: ignore[return-value]


# --- writing ----------------------------------------------------------------------------------


@functools.cache
def _head_query() -> Any:
    """The head row, locked (``FOR UPDATE`` on PostgreSQL; SQLite's writer holds its lock)."""
    head = table_of(AuditHead)
    return select(head.c.last_seq, head.c.last_hash).where(head.c.id == 1).with_for_update()


def read_head(session: Session) -> tuple[int, str]:
    """The chain's last ``seq`` and hash, read ``FOR UPDATE`` (the unit of work's first read)."""
    row = session.connection().execute(_head_query()).one()
    return int(row.last_seq), str(row.last_hash)


@functools.cache
def _head_update() -> Any:
    head = table_of(AuditHead)
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
    "key_id",
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
        table = table_of(AuditEntry)
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
    now_text = utc_text(now)  # every row of one call shares the moment: format it once
    now_value = statement.moment_value(now)
    actor = context.actor
    user_id, username = actor.user_id, actor.username
    role = getattr(actor, "audit_role", None) or str(getattr(actor.role, "value", actor.role))
    keyring = context.keyring
    key_id = None if keyring is None else keyring.active_id
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
        row_hash = _hash_payload([seq, now_text, *content, prev_hash], key_id, keyring)
        rows.append((seq, now_value, *content, prev_hash, row_hash, key_id))
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
