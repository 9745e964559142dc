"""`db upgrade`, `users add`, `audit verify`, `backup`/`restore` on a SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app


def _run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(build_app(), list(args), input=stdin)


def test_upgrade_add_user_verify_backup_restore(tmp_path: Path) -> None:
    db = str(tmp_path / "record.sqlite")
    assert _run("db", "upgrade", "--db", db).exit_code == 0
    added = _run(
        "users",
        "add",
        "alice",
        "--role",
        "administrator",
        "--password-stdin",
        "--db",
        db,
        stdin="a long passphrase\n",
    )
    assert added.exit_code == 0, added.output
    verified = _run("audit", "verify", "--db", db, "--json")
    assert verified.exit_code == 0 and '"ok": true' in verified.output
    backup = tmp_path / "backup.sqlite"
    assert _run("backup", "--db", db, "--out", str(backup)).exit_code == 0
    restored = _run(
        "restore", "--db", str(tmp_path / "copy.sqlite"), "--from", str(backup), "--yes"
    )
    assert restored.exit_code == 0 and "intact" in restored.output


def test_a_bad_role_is_one_line_naming_the_field(tmp_path: Path) -> None:
    db = str(tmp_path / "record.sqlite")
    _run("db", "upgrade", "--db", db)
    result = _run(
        "users",
        "add",
        "bob",
        "--role",
        "wizard",
        "--password-stdin",
        "--db",
        db,
        stdin="a long passphrase\n",
    )
    assert result.exit_code == 2 and "role:" in result.output and "Traceback" not in result.output


def test_verify_exits_non_zero_naming_the_changed_row(tmp_path: Path) -> None:
    db = str(tmp_path / "record.sqlite")
    _run("db", "upgrade", "--db", db)
    _run(
        "users",
        "add",
        "alice",
        "--role",
        "administrator",
        "--password-stdin",
        "--db",
        db,
        stdin="a long passphrase\n",
    )
    with sqlite3.connect(db) as connection:
        connection.execute("DROP TRIGGER audit_log_no_update")
        connection.execute("UPDATE audit_log SET new_value = '\"mallory\"' WHERE seq = 2")
    result = _run("audit", "verify", "--db", db)
    assert result.exit_code == 1 and "row 2" in result.output


def test_an_unmigrated_database_is_reported(tmp_path: Path) -> None:
    result = _run("audit", "verify", "--db", str(tmp_path / "new.sqlite"))
    assert result.exit_code == 2 and "db upgrade" in result.output
