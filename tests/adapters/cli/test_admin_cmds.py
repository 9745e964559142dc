"""`db upgrade`, `users add`, `audit verify`, `backup`/`restore` (SQLite, and PostgreSQL through
pg_dump and psql)."""

from __future__ import annotations

import contextlib
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


def _usernames(url: str) -> set[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(connection.execute(text("SELECT username FROM users")).scalars())
    finally:
        engine.dispose()


def test_restore_brings_back_the_record_as_backed_up_on_both_databases(
    db_url: str, tmp_path: Path
) -> None:
    """A backup taken, a user added afterwards, the backup restored over the same database:
    the later user is gone, the earlier one is there, and the audit chain verifies (on
    PostgreSQL through pg_dump and psql, on SQLite through the online-backup API)."""
    password = "a long passphrase\n"
    for name in ("alice", "bob"):
        if name == "bob":
            backup = tmp_path / ("backup.sql" if db_url.startswith("postgresql") else "b.sqlite")
            made = _run("backup", "--db", db_url, "--out", str(backup))
            assert made.exit_code == 0, made.output
        added = _run(
            "users", "add", name, "--role", "nurse", "--password-stdin", "--db", db_url,
            stdin=password,
        )  # fmt: skip
        assert added.exit_code == 0, added.output
    assert _usernames(db_url) == {"alice", "bob"}
    refused = _run("restore", "--db", db_url, "--from", str(backup))
    assert refused.exit_code != 0 and "--yes" in refused.output
    restored = _run("restore", "--db", db_url, "--from", str(backup), "--yes")
    assert restored.exit_code == 0, restored.output
    assert "intact" in restored.output
    assert _usernames(db_url) == {"alice"}
    verified = _run("audit", "verify", "--db", db_url, "--json")
    assert verified.exit_code == 0 and '"ok": true' in verified.output
    again = _run(
        "users", "add", "carol", "--role", "nurse", "--password-stdin", "--db", db_url,
        stdin=password,
    )  # fmt: skip
    assert again.exit_code == 0, again.output  # the restored record takes new writes
    assert _run("audit", "verify", "--db", db_url).exit_code == 0


def test_users_unlock_clears_a_back_off_and_names_an_unknown_user(tmp_path: Path) -> None:
    from ketamine_ptsd.adapters.db.engine import open_database
    from ketamine_ptsd.services import AuthenticationFailed, ServiceContext, Services

    db = str(tmp_path / "record.sqlite")
    _run("db", "upgrade", "--db", db)
    _run("users", "add", "bob", "--role", "nurse", "--password-stdin", "--db", db,
         stdin="a long passphrase\n")  # fmt: skip
    database = open_database(f"sqlite:///{db}")
    services = Services(ServiceContext(database.session_factory, protocols=lambda name: None))  # type: ignore[arg-type, return-value]
    try:
        for _ in range(services.context.security.max_failed_logins):
            with contextlib.suppress(AuthenticationFailed):
                services.auth.login("bob", "not the passphrase")
        with contextlib.suppress(AuthenticationFailed):
            services.auth.login("bob", "a long passphrase")
            raise AssertionError("the account should be backing off")
        unlocked = _run("users", "unlock", "bob", "--reason", "phoned in", "--db", db, "--json")
        assert unlocked.exit_code == 0, unlocked.output
        assert services.auth.login("bob", "a long passphrase").actor.username == "bob"
    finally:
        database.dispose()
    unknown = _run("users", "unlock", "nobody", "--db", db)
    assert unknown.exit_code != 0 and "user" in unknown.output


def test_serve_refuses_a_trusted_proxy_that_is_not_an_address(tmp_path: Path) -> None:
    db = str(tmp_path / "record.sqlite")
    _run("db", "upgrade", "--db", db)
    result = _run("serve", "--db", db, "--trusted-proxy", "proxy.example")
    assert result.exit_code != 0
    assert "trusted_proxies: 'proxy.example' is not an IP address or network" in result.output
