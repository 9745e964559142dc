"""The audit key ring and the checkpoint file, kept outside the database (docs/threat-model.md).

Where: the *instance folder* — ``$KETAMINE_PTSD_INSTANCE_DIR`` if set, else the folder of the
SQLite file, else (PostgreSQL) the user data directory. In it:

* ``audit-keys.json`` — the key ring (:class:`~ketamine_ptsd.services.audit.AuditKeyring`),
  mode 0600; created with one fresh 256-bit key the first time a database there is opened.
  A ring readable by group or others is refused. ``$KETAMINE_PTSD_AUDIT_KEYS`` (the same JSON,
  e.g. from a secrets manager) takes its place and is never written.
* ``<database>.audit-checkpoints.jsonl`` — one signed checkpoint per line, appended (0600).

Rotation (``ketamine-ptsd audit rotate-key``) adds a key and makes it active; the old keys stay,
so the rows and checkpoints they signed still verify.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from ketamine_ptsd.services.audit import (
    AuditAnchor,
    AuditKey,
    AuditKeyring,
    Checkpoint,
    KeyringError,
)

from .settings import default_database_path

__all__ = [
    "AUDIT_KEYS_ENV",
    "INSTANCE_DIR_ENV",
    "KEY_FILE_NAME",
    "CheckpointFile",
    "audit_anchor",
    "checkpoint_path",
    "instance_dir",
    "load_keyring",
    "rotate_key",
]

AUDIT_KEYS_ENV = "KETAMINE_PTSD_AUDIT_KEYS"
INSTANCE_DIR_ENV = "KETAMINE_PTSD_INSTANCE_DIR"
KEY_FILE_NAME = "audit-keys.json"
_PRIVATE = 0o600


def instance_dir(url: str, environ: Mapping[str, str] | None = None) -> Path:
    """The folder that holds the key ring and the checkpoints of the database at ``url``."""
    environ = os.environ if environ is None else environ
    configured = environ.get(INSTANCE_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(parsed.database or "").expanduser().resolve().parent
    return default_database_path().parent


def checkpoint_path(url: str, environ: Mapping[str, str] | None = None) -> Path:
    """``<instance>/<database>.audit-checkpoints.jsonl``: one file per database."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        name = Path(parsed.database or "memory").name
    else:
        name = f"pg-{parsed.host or 'local'}-{parsed.port or 5432}-{parsed.database or ''}"
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return instance_dir(url, environ) / f"{safe}.audit-checkpoints.jsonl"


def _new_key(now: dt.datetime) -> AuditKey:
    return AuditKey(
        f"k{now:%Y%m%d}{secrets.token_hex(3)}",
        secrets.token_bytes(32),
        now.isoformat(timespec="seconds"),
    )


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600 (never readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _read_private(path: Path) -> str:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise KeyringError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    return path.read_text(encoding="utf-8")


def load_keyring(
    url: str, environ: Mapping[str, str] | None = None, *, create: bool = True
) -> AuditKeyring:
    """The key ring from the environment secret, else the instance's key file (made with one
    fresh key when absent and ``create``). KeyringError naming the problem."""
    environ = os.environ if environ is None else environ
    secret = environ.get(AUDIT_KEYS_ENV, "").strip()
    if secret:
        return AuditKeyring.from_json(secret)
    path = instance_dir(url, environ) / KEY_FILE_NAME
    if path.exists():
        return AuditKeyring.from_json(_read_private(path))
    if not create:
        raise KeyringError(f"no audit key ring at {path}")
    key = _new_key(dt.datetime.now(dt.UTC))
    ring = AuditKeyring((key,), key.key_id)
    _write_private(path, ring.to_json())
    return ring


def rotate_key(url: str, environ: Mapping[str, str] | None = None) -> AuditKey:
    """Add a fresh key to the instance's key file and make it active; return it."""
    environ = os.environ if environ is None else environ
    if environ.get(AUDIT_KEYS_ENV, "").strip():
        raise KeyringError(
            f"the key ring comes from ${AUDIT_KEYS_ENV}: rotate it where that secret is kept"
        )
    ring = load_keyring(url, environ, create=False)
    key = _new_key(dt.datetime.now(dt.UTC))
    _write_private(instance_dir(url, environ) / KEY_FILE_NAME, ring.rotated(key).to_json())
    return key


@dataclass(frozen=True)
class CheckpointFile:
    """The checkpoint store as a JSON-lines file (each line appended with one ``write``)."""

    path: Path

    def append(self, checkpoint: Checkpoint) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, _PRIVATE)
        try:
            os.write(descriptor, (checkpoint.to_json() + "\n").encode("utf-8"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def read(self) -> list[Checkpoint]:
        if not self.path.exists():
            return []
        checkpoints = []
        with self.path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    checkpoints.append(Checkpoint.from_json(line))
                except ValueError as exc:
                    raise ValueError(f"{self.path.name} line {number}: {exc}") from exc
        return checkpoints


def audit_anchor(url: str, environ: Mapping[str, str] | None = None) -> AuditAnchor:
    """The key ring and the checkpoint file of the database at ``url`` (entry points)."""
    return AuditAnchor(load_keyring(url, environ), CheckpointFile(checkpoint_path(url, environ)))
