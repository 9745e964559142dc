"""The audit trail (SYSTEM.md §Data; 21 CFR 11.10(e)), one module per concept.

* :mod:`.chain` — values, keyed row hashes, writing rows and the head in the unit of work;
* :mod:`.hooks` — the flush hooks that turn every change into audit rows;
* :mod:`.keys` — the key ring kept outside the database (HMAC-SHA-256, rotation);
* :mod:`.checkpoint` — signed checkpoints of the head, kept outside the database;
* :mod:`.reconcile` — the live tables against a replay of the trail;
* :mod:`.verify` — chain + checkpoints + reconciliation;
* :mod:`.service` — the use cases (views redacted by role, verify, checkpoints, exports).
"""

from __future__ import annotations

from .chain import (
    GENESIS_HASH,
    AuditContext,
    AuditEvent,
    append_events,
    decode_value,
    encode_value,
    entry_hash,
    read_head,
    utc_text,
    write_head,
)
from .checkpoint import AuditAnchor, Checkpoint, CheckpointStore, sign_checkpoint
from .hooks import install
from .keys import AuditKey, AuditKeyring, KeyringError
from .reconcile import Discrepancy, reconcile, replay
from .service import REDACTED, AuditService, AuditView
from .verify import ChainReport, verify_chain

__all__ = [
    "GENESIS_HASH",
    "REDACTED",
    "AuditAnchor",
    "AuditContext",
    "AuditEvent",
    "AuditKey",
    "AuditKeyring",
    "AuditService",
    "AuditView",
    "ChainReport",
    "Checkpoint",
    "CheckpointStore",
    "Discrepancy",
    "KeyringError",
    "append_events",
    "decode_value",
    "encode_value",
    "entry_hash",
    "install",
    "read_head",
    "reconcile",
    "replay",
    "sign_checkpoint",
    "utc_text",
    "verify_chain",
    "write_head",
]
