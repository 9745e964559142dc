"""The audit key ring: the secrets that key the hash chain and sign the checkpoints.

21 CFR 11.10(e) asks for an audit trail that the people who can change the record cannot rewrite
unnoticed. An unkeyed SHA-256 chain does not give that: anyone who can write to the database can
recompute every hash after a change. So each row's hash is an HMAC-SHA-256 under a key that is
kept *outside* the database (a 0600 key file in the instance folder, or an environment secret;
``adapters/audit_keystore.py`` reads it), and each row names the key it was made with
(``audit_log.key_id``, migration 0004). Rotation adds a key and makes it the active one; the old
keys stay in the ring, so the rows they made still verify (docs/threat-model.md).

This module is pure: it holds keys and computes MACs; reading and writing the key file is the
adapter's job.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MIN_SECRET_BYTES", "AuditKey", "AuditKeyring", "KeyringError"]

#: 256-bit keys (RFC 2104 §3: a key shorter than the hash output weakens the MAC).
MIN_SECRET_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,16}$")


class KeyringError(ValueError):
    """A key ring that cannot be used (malformed, short key, unknown active key)."""


@dataclass(frozen=True)
class AuditKey:
    """One key: its id (stored with every row it makes), the secret, and when it was made."""

    key_id: str
    secret: bytes = field(repr=False)
    created: str = ""

    def __post_init__(self) -> None:
        if not _KEY_ID.match(self.key_id):
            raise KeyringError(f"audit key id {self.key_id!r}: 1-16 letters, digits, . _ -")
        if len(self.secret) < MIN_SECRET_BYTES:
            raise KeyringError(f"audit key {self.key_id}: at least {MIN_SECRET_BYTES} bytes")


@dataclass(frozen=True)
class AuditKeyring:
    """Every key this instance holds; ``active`` makes new rows and checkpoints."""

    keys: tuple[AuditKey, ...]
    active_id: str
    _macs: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = [key.key_id for key in self.keys]
        if len(set(ids)) != len(ids):
            raise KeyringError("audit key ids must be unique")
        if self.active_id not in ids:
            raise KeyringError(f"the active audit key {self.active_id!r} is not in the key ring")
        for key in self.keys:
            # The keyed inner/outer state, built once: each row copies it (cheaper than re-keying).
            self._macs[key.key_id] = hmac.new(key.secret, digestmod=hashlib.sha256)

    @property
    def active(self) -> AuditKey:
        return next(key for key in self.keys if key.key_id == self.active_id)

    def holds(self, key_id: str) -> bool:
        return key_id in self._macs

    def mac(self, key_id: str, message: bytes) -> str:
        """HMAC-SHA-256 of ``message`` under key ``key_id`` (hex); KeyError if not held."""
        state = self._macs[key_id].copy()
        state.update(message)
        return str(state.hexdigest())

    def rotated(self, key: AuditKey) -> AuditKeyring:
        """This ring with ``key`` added and made active (the old keys stay for verification)."""
        return AuditKeyring((*self.keys, key), key.key_id)

    # --- the stored form (the key file, or the environment secret) ---------------------------

    def to_json(self) -> str:
        return json.dumps(
            {
                "active": self.active_id,
                "keys": [
                    {"id": k.key_id, "secret": k.secret.hex(), "created": k.created}
                    for k in self.keys
                ],
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> AuditKeyring:
        """Parse the stored form; KeyringError naming what is wrong (never the secret)."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise KeyringError("the audit key ring is not valid JSON") from exc
        if not isinstance(data, Mapping) or not isinstance(data.get("keys"), Sequence):
            raise KeyringError('the audit key ring needs "active" and a list of "keys"')
        keys = []
        for item in data["keys"]:
            if not isinstance(item, Mapping):
                raise KeyringError("each audit key is an object with id, secret, created")
            try:
                secret = bytes.fromhex(str(item.get("secret", "")))
            except ValueError as exc:
                raise KeyringError(f"audit key {item.get('id')!r}: secret is not hex") from exc
            keys.append(AuditKey(str(item.get("id", "")), secret, str(item.get("created", ""))))
        return cls(tuple(keys), str(data.get("active", "")))
