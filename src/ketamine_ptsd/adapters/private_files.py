"""Files that may hold patient data are created mode 0600 and folders 0700, whatever the
process's umask (issue 16 §6): the SQLite database (SQLite gives its ``-wal`` and ``-shm``
files the database file's mode), backups, exports, reports, the web app's analysis folders.

The file is created here with the mode set explicitly (``fchmod``, so a permissive umask
cannot widen it) *before* anything is written, and a library then writes into it (Python's
``open(path, "w")``, matplotlib, pandas, ``sqlite3`` and ``pg_dump`` keep an existing file's
mode): there is no moment at which the data sits in a world-readable file.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "create_private",
    "ensure_private",
    "private_dir",
    "write_private",
]

FILE_MODE = 0o600
DIR_MODE = 0o700


def _open(path: Path, flags: int) -> None:
    fd = os.open(path, flags | os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def create_private(path: str | Path) -> Path:
    """Create ``path`` empty with mode 0600 (truncating and tightening an existing file), for
    a writer that follows; returns the path."""
    target = Path(path)
    _open(target, os.O_TRUNC)
    return target


def ensure_private(path: str | Path) -> Path:
    """Create ``path`` empty with mode 0600 unless it exists (an existing file is left as the
    operator set it up); returns the path."""
    target = Path(path)
    with contextlib.suppress(FileExistsError):
        _open(target, os.O_EXCL)
    return target


def write_private(path: str | Path, data: bytes | str, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` (mode 0600)."""
    target = create_private(path)
    payload = data.encode(encoding) if isinstance(data, str) else data
    target.write_bytes(payload)
    return target


def private_dir(path: str | Path) -> Path:
    """Make the folder ``path`` (and its parents) if missing; a folder made here is 0700."""
    target = Path(path)
    if not target.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        os.chmod(target, DIR_MODE)
    return target
