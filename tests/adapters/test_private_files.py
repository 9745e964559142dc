"""Files that may hold patient data are 0600 and folders 0700 whatever the umask (issue 16 §6):
the SQLite database with its -wal and -shm, backups, and the helpers every writer uses."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app
from ketamine_ptsd.adapters.db.engine import open_database
from ketamine_ptsd.adapters.private_files import (
    create_private,
    ensure_private,
    private_dir,
    write_private,
)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask: whatever is private below is so by our doing, not the umask."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_sqlite_database_and_its_wal_and_shm_are_0600(tmp_path: Path, open_umask) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "record.sqlite"
    database = open_database(f"sqlite:///{path}")
    try:
        with database.engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT x FROM t")).scalar() == 1
            wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
            assert wal.exists() and shm.exists()
            assert (_mode(path), _mode(wal), _mode(shm)) == (0o600, 0o600, 0o600)
    finally:
        database.dispose()


def test_backup_is_0600(tmp_path: Path, open_umask) -> None:  # type: ignore[no-untyped-def]
    db, out = tmp_path / "record.sqlite", tmp_path / "backup.sqlite"
    runner = CliRunner()
    assert runner.invoke(build_app(), ["db", "upgrade", "--db", str(db)]).exit_code == 0
    result = runner.invoke(build_app(), ["backup", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert _mode(db) == 0o600 and _mode(out) == 0o600


def test_helpers_create_private_files_and_folders(tmp_path: Path, open_umask) -> None:  # type: ignore[no-untyped-def]
    folder = private_dir(tmp_path / "export" / "run")
    assert _mode(folder) == 0o700
    written = write_private(folder / "a.csv", "id\n1\n")
    assert _mode(written) == 0o600 and written.read_text() == "id\n1\n"
    loose = folder / "b.png"
    loose.write_bytes(b"x")
    os.chmod(loose, 0o644)
    assert _mode(create_private(loose)) == 0o600 and loose.read_bytes() == b""  # tightened
    kept = folder / "c.sqlite"
    kept.write_bytes(b"data")
    os.chmod(kept, 0o640)
    assert _mode(ensure_private(kept)) == 0o640 and kept.read_bytes() == b"data"  # left alone
    assert _mode(ensure_private(folder / "new.sqlite")) == 0o600
