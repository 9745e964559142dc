"""Verification of the audit trail: the chain, the signed checkpoints, and the live tables.

``ketamine-ptsd audit verify`` (and ``restore``, before it replaces anything) runs
:func:`verify_chain`: it recomputes every row's hash from row 1 — SHA-256 for the legacy segment
(rows without a key id, written before migration 0004), HMAC-SHA-256 under the row's key after
it — checks each link and the head row, checks each signed checkpoint of the current history
against the rows (a removed tail is found even when ``audit_head`` was rewritten), and
reconciles the clinical tables with a replay of the trail (:mod:`.reconcile`): a value written
around the application has no audit history and is named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import AuditEntry, AuditHead
from .chain import GENESIS_HASH, entry_hash, table_of
from .checkpoint import Checkpoint, current_history
from .keys import AuditKeyring
from .reconcile import Discrepancy, reconcile

__all__ = ["ChainReport", "verify_chain"]


@dataclass(frozen=True)
class ChainReport:
    """Result of :func:`verify_chain`: ``ok``, rows checked, and the first problem if any.

    ``legacy_rows`` is the unkeyed prefix (before keys existed), ``checkpoints_checked`` the
    signed checkpoints matched, ``unaudited`` every live value without audit history.
    """

    ok: bool
    rows_checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    legacy_rows: int = 0
    checkpoints_checked: int = 0
    unaudited: tuple[Discrepancy, ...] = ()
    #: The head that was verified (the last row's hash), for a ``verify`` checkpoint.
    head_hash: str | None = None


def _checkpoint_pins(
    checkpoints: Sequence[Checkpoint], keyring: AuditKeyring | None
) -> tuple[dict[int, Checkpoint], str | None]:
    """The checkpoints of the current history by ``seq``, or the problem with one of them."""
    pins: dict[int, Checkpoint] = {}
    for checkpoint in current_history(checkpoints):
        if not checkpoint.signed_by(keyring):
            return pins, (
                f"checkpoint of {checkpoint.at} (row {checkpoint.head_seq}) is not signed by a "
                f"key of this instance (key {checkpoint.key_id})"
            )
        if checkpoint.rows != checkpoint.head_seq:
            return (
                pins,
                f"checkpoint of {checkpoint.at} counts {checkpoint.rows} rows at row {checkpoint.head_seq}",
            )
        pins.setdefault(checkpoint.head_seq, checkpoint)
    return pins, None


def _row_problem(
    data: Any, expected_prev: str, keyring: AuditKeyring | None, *, unkeyed_allowed: bool
) -> str | None:
    """What is wrong with one row (its link, its key, its hash), or None."""
    seq = int(data["seq"])
    if data["prev_hash"] != expected_prev:
        return f"row {seq} does not link to row {seq - 1}"
    key_id = data["key_id"]
    if key_id is None and not unkeyed_allowed:
        return f"row {seq} is unkeyed after the keyed rows began"
    if key_id is not None and (keyring is None or not keyring.holds(key_id)):
        return f"row {seq} was made with audit key {key_id}, which this instance lacks"
    content = {k: data[k] for k in data if k not in ("prev_hash", "row_hash", "key_id")}
    recomputed = entry_hash(**content, prev_hash=data["prev_hash"], key_id=key_id, keyring=keyring)
    return None if recomputed == data["row_hash"] else f"row {seq} was changed"


def verify_chain(
    session: Session,
    keyring: AuditKeyring | None = None,
    checkpoints: Sequence[Checkpoint] = (),
    *,
    reconcile_tables: bool = True,
) -> ChainReport:
    """Recompute the chain from row 1; report the first bad row, checkpoint or live value."""
    pins, problem = _checkpoint_pins(checkpoints, keyring)
    if problem is not None:
        return ChainReport(False, 0, None, problem)
    table = table_of(AuditEntry)
    head = session.connection().execute(select(table_of(AuditHead))).one()
    expected_prev = GENESIS_HASH
    checked = legacy = matched = 0
    result = session.connection().execute(select(table).order_by(table.c.seq))
    for row in result:
        data = row._mapping
        seq = int(data["seq"])
        if seq != checked + 1:
            return ChainReport(
                False, checked, checked + 1, f"row {checked + 1} is missing", legacy, matched
            )
        problem = _row_problem(data, expected_prev, keyring, unkeyed_allowed=legacy == checked)
        pin = pins.get(seq)
        if problem is None and pin is not None and pin.head_hash != data["row_hash"]:
            problem = f"row {seq} differs from the signed checkpoint of {pin.at}"
        if problem is not None:
            return ChainReport(False, checked, seq, problem, legacy, matched)
        legacy += data["key_id"] is None
        matched += pin is not None
        expected_prev = data["row_hash"]
        checked += 1
    if pins and max(pins) > checked:
        last = pins[max(pins)]
        return ChainReport(
            False,
            checked,
            checked + 1,
            f"rows after {checked} were removed (the signed checkpoint of {last.at} "
            f"saw {last.rows} rows)",
            legacy,
            matched,
        )
    if int(head.last_seq) != checked or head.last_hash != expected_prev:
        return ChainReport(
            False,
            checked,
            checked + 1,
            f"rows after {checked} were removed (head at {head.last_seq})",
            legacy,
            matched,
        )
    unaudited = tuple(reconcile(session)) if reconcile_tables else ()
    if unaudited:
        first = unaudited[0]
        return ChainReport(
            False,
            checked,
            None,
            f"{len(unaudited)} value(s) without audit history, first {first}",
            legacy,
            matched,
            unaudited,
        )
    return ChainReport(True, checked, None, None, legacy, matched, (), expected_prev)
