"""`audit verify` on a copy of the demo record after a database writer's attacks (issue 16;
21 CFR 11.10(e)), and `restore` of a tampered backup (the live record is never touched)."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app
from ketamine_ptsd.adapters.db.tables import audit_log
from ketamine_ptsd.services.audit import entry_hash


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(build_app(), list(args))


@pytest.fixture(scope="module")
def demo_record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    made = _run("demo", "--no-serve", "--out", str(out), "--seed", "3", "--n-per-arm", "2")
    assert made.exit_code == 0, made.output
    return out


@pytest.fixture
def record(demo_record: Path, tmp_path: Path) -> Path:
    """A copy of the demo's folder (database, key ring, checkpoints); returns the database."""
    folder = tmp_path / "instance"
    shutil.copytree(demo_record, folder, ignore=shutil.ignore_patterns("report"))
    return folder / "demo.sqlite3"


def _sql(db: Path, *statements: str) -> None:
    connection = sqlite3.connect(db)
    try:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


def _verify(db: Path):  # type: ignore[no-untyped-def]
    return _run("audit", "verify", "--db", str(db))


def test_the_demo_record_verifies_keyed_checkpointed_and_reconciled(record: Path) -> None:
    result = _verify(record)
    assert result.exit_code == 0, result.output
    assert "intact" in result.output and "tables reconciled" in result.output
    assert re.search(r"; [1-9][0-9]* signed checkpoints matched", result.output)


def test_a_removed_tail_with_a_rewritten_head_is_found(record: Path) -> None:
    connection = sqlite3.connect(record)
    last = connection.execute("SELECT MAX(seq) FROM audit_log").fetchone()[0]
    connection.close()
    keep = last - 5
    _sql(
        record,
        "DROP TRIGGER audit_log_no_delete",
        f"DELETE FROM audit_log WHERE seq > {keep}",
        f"UPDATE audit_head SET last_seq = {keep}, "
        f"last_hash = (SELECT row_hash FROM audit_log WHERE seq = {keep})",
    )
    result = _verify(record)
    assert result.exit_code == 1
    assert f"rows after {keep} were removed" in result.output
    assert "Traceback" not in result.output


def test_a_changed_row_with_every_later_hash_recomputed_is_found(record: Path) -> None:
    _sql(record, "DROP TRIGGER audit_log_no_update")
    engine = create_engine(f"sqlite:///{record}")
    with engine.begin() as connection:
        rows = connection.execute(select(audit_log).order_by(audit_log.c.seq)).mappings().all()
        prev = rows[98]["row_hash"]
        for row in rows[99:]:
            content = {k: row[k] for k in row if k not in ("prev_hash", "row_hash", "key_id")}
            if row["seq"] == 100:
                content["new_value"] = '"forged"'
            # the project's own function, with the only key a database writer has: none
            row_hash = entry_hash(**content, prev_hash=prev)
            connection.execute(
                audit_log.update()
                .where(audit_log.c.seq == row["seq"])
                .values(
                    new_value=content["new_value"], prev_hash=prev, row_hash=row_hash, key_id=None
                )
            )
            prev = row_hash
        connection.exec_driver_sql("UPDATE audit_head SET last_hash = ?", (prev,))
    engine.dispose()
    result = _verify(record)
    assert result.exit_code == 1
    assert "broken at row 100" in result.output


def test_a_whole_chain_recomputed_unkeyed_disagrees_with_the_signed_checkpoints(
    record: Path,
) -> None:
    _sql(record, "DROP TRIGGER audit_log_no_update")
    engine = create_engine(f"sqlite:///{record}")
    with engine.begin() as connection:
        rows = connection.execute(select(audit_log).order_by(audit_log.c.seq)).mappings().all()
        prev = "0" * 64
        for row in rows:
            content = {k: row[k] for k in row if k not in ("prev_hash", "row_hash", "key_id")}
            row_hash = entry_hash(**content, prev_hash=prev)
            connection.execute(
                audit_log.update()
                .where(audit_log.c.seq == row["seq"])
                .values(prev_hash=prev, row_hash=row_hash, key_id=None)
            )
            prev = row_hash
        connection.exec_driver_sql("UPDATE audit_head SET last_hash = ?", (prev,))
    engine.dispose()
    result = _verify(record)
    assert result.exit_code == 1
    assert "differs from the signed checkpoint" in result.output


def test_a_vital_sign_changed_around_the_application_is_named(record: Path) -> None:
    connection = sqlite3.connect(record)
    vital_id = connection.execute("SELECT MIN(id) FROM vital_signs").fetchone()[0]
    connection.close()
    _sql(record, f"UPDATE vital_signs SET systolic_mmhg = 250 WHERE id = {vital_id}")
    result = _verify(record)
    assert result.exit_code == 1
    assert f"vital_signs {vital_id} systolic_mmhg" in result.output
    assert "Traceback" not in result.output


def test_restore_of_a_tampered_backup_leaves_the_live_file_byte_identical(
    record: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "backup.sqlite3"
    made = _run("backup", "--db", str(record), "--out", str(backup))
    assert made.exit_code == 0, made.output
    _sql(
        backup,
        "DROP TRIGGER audit_log_no_update",
        "UPDATE audit_log SET new_value = '\"forged\"' WHERE seq = 100",
    )
    before = record.read_bytes()
    restored = _run("restore", "--db", str(record), "--from", str(backup), "--yes")
    assert restored.exit_code == 1
    assert "row 100" in restored.output and "was not changed" in restored.output
    assert record.read_bytes() == before
    assert not [p for p in record.parent.iterdir() if ".restore-" in p.name]


def test_restore_of_a_good_backup_replaces_the_record_and_keeps_the_old_file(
    record: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "backup.sqlite3"
    assert _run("backup", "--db", str(record), "--out", str(backup)).exit_code == 0
    restored = _run("restore", "--db", str(record), "--from", str(backup), "--yes")
    assert restored.exit_code == 0, restored.output
    assert "intact" in restored.output
    assert [p for p in record.parent.iterdir() if ".before-restore-" in p.name]
    assert _verify(record).exit_code == 0


def _usernames(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(connection.exec_driver_sql("SELECT username FROM users").scalars())
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite: the test above
def test_restore_of_a_tampered_postgres_dump_refuses_before_touching_the_record(
    db_url: str, tmp_path: Path
) -> None:
    add = ("users", "add", "--role", "nurse", "--password-stdin", "--db", db_url)
    runner = CliRunner()
    assert (
        runner.invoke(
            build_app(), [*add[:2], "alice", *add[2:]], input="a long passphrase\n"
        ).exit_code
        == 0
    )
    backup = tmp_path / "backup.sql"
    assert _run("backup", "--db", db_url, "--out", str(backup)).exit_code == 0
    assert (
        runner.invoke(
            build_app(), [*add[:2], "bob", *add[2:]], input="a long passphrase\n"
        ).exit_code
        == 0
    )
    lines = backup.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("COPY public.audit_log"))
    row = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("2\t"))
    assert "alice" in lines[row]
    lines[row] = lines[row].replace("alice", "mallory")
    backup.write_text("".join(lines), encoding="utf-8")
    restored = _run("restore", "--db", db_url, "--from", str(backup), "--yes")
    assert restored.exit_code == 1, restored.output
    assert "row 2" in restored.output and "was not changed" in restored.output
    assert _usernames(db_url) == {"alice", "bob"}
