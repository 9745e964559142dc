"""Reconciliation: the live clinical tables against a replay of the audit trail.

Every change the application makes to an audited record writes the field's new value to the
trail (:mod:`.hooks`), so replaying the trail in ``seq`` order rebuilds every audited record's
current values. A value written around the application — ``UPDATE vital_signs SET
systolic_mmhg = 250`` by anyone holding the database — changes the table but not the trail; the
chain still verifies, and only this comparison finds it. Each difference is named by table,
record id and field.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import AuditEntry, Record
from .chain import decode_value, table_of
from .hooks import audited_columns, stored_value

__all__ = ["REPLAYED_EVENTS", "Discrepancy", "reconcile", "replay"]

#: The events whose ``new_value`` is a field's value from then on.
REPLAYED_EVENTS = ("insert", "update", "void", "signature_invalidated")


@dataclass(frozen=True)
class Discrepancy:
    """One live record or field whose content the audit trail does not account for."""

    table: str
    record_id: str
    field: str | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.table} {self.record_id}" + (f" {self.field}" if self.field else "")
        return f"{where}: {self.problem}"


def replay(entries: Iterable[AuditEntry]) -> dict[tuple[str, str], dict[str, Any]]:
    """Rebuild every audited record's current values from its audit rows (in ``seq`` order)."""
    state: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in sorted(entries, key=lambda e: e.seq):
        if entry.table_name is None or entry.record_id is None or entry.field is None:
            continue
        if entry.event not in REPLAYED_EVENTS:
            continue
        state.setdefault((entry.table_name, entry.record_id), {})[entry.field] = decode_value(
            entry.new_value
        )
    return state


def _replayed_text(session: Session) -> dict[tuple[str, str], dict[str, str | None]]:
    """Like :func:`replay`, but keeping each value as stored (canonical JSON text)."""
    log = table_of(AuditEntry)
    query = (
        select(log.c.table_name, log.c.record_id, log.c.field, log.c.new_value)
        .where(log.c.event.in_(REPLAYED_EVENTS), log.c.field.is_not(None))
        .order_by(log.c.seq)
    )
    state: dict[tuple[str, str], dict[str, str | None]] = {}
    for table_name, record_id, field_name, new_value in session.connection().execute(query):
        state.setdefault((table_name, record_id), {})[field_name] = new_value
    return state


def _audited_classes() -> list[type[Record]]:
    found: list[type[Record]] = []
    pending = list(Record.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if getattr(cls, "__audited__", False):
            found.append(cls)
    return sorted(found, key=lambda c: table_of(c).name)


def _compare(
    cls: type[Record], session: Session, state: dict[tuple[str, str], dict[str, str | None]]
) -> Iterator[Discrepancy]:
    table = table_of(cls)
    key_columns = list(table.primary_key.columns)
    columns = [c for c in audited_columns(cls) if c.audited]
    seen: set[str] = set()
    for row in session.connection().execute(select(table)):
        data = row._mapping
        record_id = ",".join(str(data[c.name]) for c in key_columns)
        seen.add(record_id)
        history = state.get((table.name, record_id))
        if history is None:
            yield Discrepancy(table.name, record_id, None, "the record has no audit history")
            continue
        for column in columns:
            live = stored_value(data[column.key], column.sensitivity)
            if live != history.get(column.key):
                yield Discrepancy(
                    table.name, record_id, column.key, "the value differs from its audit history"
                )
    for name, record_id in state:
        if name == table.name and record_id not in seen:
            yield Discrepancy(name, record_id, None, "in the audit trail but not in the table")


def reconcile(session: Session) -> list[Discrepancy]:
    """Every audited record and field whose live content differs from the replayed trail."""
    state = _replayed_text(session)
    found: list[Discrepancy] = []
    for cls in _audited_classes():
        found.extend(_compare(cls, session, state))
    return found
