"""Signed checkpoints of the chain, kept outside the database.

A keyed chain stops a database writer from *rewriting* rows, but not from *removing* the newest
ones and pointing ``audit_head`` at an older row: every remaining row is still genuine. So the
chain's head is also written, signed with the active audit key, to a store outside the database
(``adapters/audit_keystore.py``: a JSON-lines file in the instance folder): the head ``seq``, its
hash, the row count and the time. :func:`~.verify.verify_chain` checks every signed checkpoint
against the rows. Checkpoints are written when the chain has grown by :attr:`AuditAnchor.every_rows`
since the last one (after the commit: the unit of work), on every backup, by the demo when it has
loaded the record, and after each successful ``audit verify``. A ``restore`` checkpoint starts a
new history (the restored backup's): the checkpoints before it describe the replaced database.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .keys import AuditKeyring

__all__ = [
    "CHECKPOINT_KINDS",
    "AuditAnchor",
    "Checkpoint",
    "CheckpointStore",
    "current_history",
    "sign_checkpoint",
]

log = logging.getLogger("ketamine_ptsd.audit")

CHECKPOINT_KINDS = frozenset({"interval", "backup", "verify", "restore", "demo"})
_FIELDS = ("kind", "head_seq", "head_hash", "rows", "at", "key_id")


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at one moment, HMAC-signed (``mac``) under key ``key_id``."""

    kind: str
    head_seq: int
    head_hash: str
    rows: int
    at: str
    key_id: str
    mac: str = ""

    def message(self) -> bytes:
        """What the MAC covers: every field but the MAC, as canonical JSON."""
        values = [1, *(getattr(self, name) for name in _FIELDS)]
        return json.dumps(values, separators=(",", ":")).encode("utf-8")

    def signed_by(self, keyring: AuditKeyring | None) -> bool:
        """True when ``keyring`` holds the key and the MAC is right."""
        if keyring is None or not keyring.holds(self.key_id):
            return False
        return keyring.mac(self.key_id, self.message()) == self.mac

    def to_json(self) -> str:
        return json.dumps({name: getattr(self, name) for name in (*_FIELDS, "mac")})

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        """Parse one stored line; ValueError when it is not a checkpoint."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        try:
            checkpoint = cls(
                kind=str(data["kind"]),
                head_seq=int(data["head_seq"]),
                head_hash=str(data["head_hash"]),
                rows=int(data["rows"]),
                at=str(data["at"]),
                key_id=str(data["key_id"]),
                mac=str(data["mac"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"missing or malformed field: {exc}") from exc
        if checkpoint.kind not in CHECKPOINT_KINDS:
            raise ValueError(f"unknown checkpoint kind {checkpoint.kind!r}")
        return checkpoint


def sign_checkpoint(
    keyring: AuditKeyring, *, kind: str, head_seq: int, head_hash: str, rows: int, at: str
) -> Checkpoint:
    """A checkpoint of the given head, signed with the active key."""
    if kind not in CHECKPOINT_KINDS:
        raise ValueError(f"unknown checkpoint kind {kind!r}")
    unsigned = Checkpoint(kind, int(head_seq), str(head_hash), int(rows), at, keyring.active_id)
    return Checkpoint(
        **{**unsigned.__dict__, "mac": keyring.mac(keyring.active_id, unsigned.message())}
    )


def current_history(checkpoints: Sequence[Checkpoint]) -> list[Checkpoint]:
    """The checkpoints of the database as it is now: from the last ``restore`` one on."""
    start = 0
    for index, checkpoint in enumerate(checkpoints):
        if checkpoint.kind == "restore":
            start = index
    return list(checkpoints[start:])


class CheckpointStore(Protocol):
    """Where checkpoints are kept, outside the database (a port; the adapter writes a file)."""

    def append(self, checkpoint: Checkpoint) -> None: ...

    def read(self) -> Sequence[Checkpoint]:
        """Every checkpoint, oldest first; ValueError naming a line that is not one."""
        ...


@dataclass
class AuditAnchor:
    """The keys and the checkpoint store of one instance (built by the entry points)."""

    keyring: AuditKeyring
    store: CheckpointStore | None = None
    every_rows: int = 1000
    _last_seq: int | None = field(default=None, init=False, repr=False)
    _lock: Any = field(default_factory=threading.Lock, init=False, repr=False)

    def checkpoint(self, kind: str, head_seq: int, head_hash: str, at: str) -> Checkpoint | None:
        """Sign the head and append it to the store (None when there is no store)."""
        if self.store is None:
            return None
        checkpoint = sign_checkpoint(
            self.keyring, kind=kind, head_seq=head_seq, head_hash=head_hash, rows=head_seq, at=at
        )
        with self._lock:
            self.store.append(checkpoint)
            self._last_seq = max(self._last_seq or 0, head_seq)
        return checkpoint

    def after_commit(self, head_seq: int, head_hash: str, at: str) -> None:
        """Write an ``interval`` checkpoint when the chain grew ``every_rows`` since the last.

        The change is already committed: a store that cannot be written is logged, not raised
        (the user's change did succeed), and the next commit tries again."""
        if self.store is None:
            return
        try:
            if self._last_seq is None:
                try:
                    self._last_seq = max((c.head_seq for c in self.store.read()), default=0)
                except ValueError:
                    self._last_seq = 0
            if head_seq - self._last_seq >= self.every_rows:
                self.checkpoint("interval", head_seq, head_hash, at)
        except OSError as exc:
            log.error("audit checkpoint at row %s not written: %s", head_seq, exc)
