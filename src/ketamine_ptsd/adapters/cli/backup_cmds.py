"""``backup`` and ``restore``: a restore never replaces the record with a backup that does not verify.

``backup`` first signs the chain's head into the instance's checkpoint file (a ``backup``
checkpoint: the copy holds at least that row), then copies — SQLite through its online backup
API (a consistent snapshot while the web app keeps writing), PostgreSQL through ``pg_dump`` —
and writes the same signed checkpoint beside the copy (``<backup>.checkpoint``).

``restore`` loads the backup into a temporary copy first (a new file next to the SQLite
database; a temporary PostgreSQL database), and checks it there: SQLite's integrity check, the
schema brought to this version, the keyed audit chain under the instance's key ring, the signed
checkpoint beside the backup, and the tables against the trail. Only a backup that passes
replaces the record: SQLite by an atomic rename over the live file (the old file is kept,
hard-linked as ``<name>.before-restore-<time>``, until the new one is in place and after), and
PostgreSQL by replaying the dump in one transaction. A backup that fails leaves the record as
it was, byte for byte. Stop the web app before a restore.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ketamine_ptsd.adapters.cli.admin_cmds import DbOption, open_services, operator, resolve_url
from ketamine_ptsd.adapters.cli.output import fail
from ketamine_ptsd.adapters.private_files import create_private
from ketamine_ptsd.adapters.settings import display_url, ensure_sqlite_parent

__all__ = ["register"]


def _pg_cli_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        fail(f"{tool} not found on PATH (install the PostgreSQL client tools)")
    return path


def _run_pg_tool(tool: str, *args: str) -> None:
    """Run a PostgreSQL client tool; on failure, one line with the tool's last error line."""
    result = subprocess.run([_need(tool), *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        fail(f"{tool} failed: {lines[-1] if lines else result.returncode}")


def _sidecar(backup: Path) -> Any:
    from ketamine_ptsd.adapters.audit_keystore import CheckpointFile

    return CheckpointFile(Path(f"{backup}.checkpoint"))


def _backup(
    out: Annotated[Path, typer.Option("--out", help="Backup file to write.")],
    db: DbOption = None,
) -> None:
    """Write a consistent copy of the database (safe while the record is in use), with a
    signed checkpoint of its audit trail beside it."""
    url = resolve_url(db)
    parsed = make_url(url)
    if out.exists() or Path(f"{out}.checkpoint").exists():
        fail(f"{out} exists; choose a new file")
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        fail(f"no SQLite database at {parsed.database}")
    services, database = open_services(url)
    try:
        # Signed before the copy is taken: the copy holds this row (and maybe later ones).
        checkpoint = services.audit.checkpoint(operator(), "backup")
    except OSError as exc:
        fail(f"cannot write the audit checkpoint: {exc}")
    finally:
        database.dispose()
    if parsed.get_backend_name() == "sqlite":
        source = sqlite3.connect(f"file:{parsed.database}?mode=ro", uri=True)
        target = sqlite3.connect(create_private(out))  # 0600: the backup holds patient data
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        create_private(out)  # pg_dump writes into it and keeps the mode
        _run_pg_tool(
            "pg_dump", "--clean", "--if-exists", "--no-owner", "--file", str(out), _pg_cli_url(url)
        )
    if checkpoint is not None:
        _sidecar(out).append(checkpoint)
    typer.echo(f"backup of {display_url(url)} written to {out}")


def _verify_copy(copy_url: str, live_url: str, backup: Path) -> Any:
    """Bring the copy's schema to this version and verify it with the live instance's key ring
    and the checkpoint beside the backup; exit 2 with one line when it cannot be opened."""
    from ketamine_ptsd.adapters.audit_keystore import load_keyring
    from ketamine_ptsd.adapters.db.engine import open_database
    from ketamine_ptsd.adapters.db.migrate import upgrade
    from ketamine_ptsd.services import ServiceContext, Services
    from ketamine_ptsd.services.audit import AuditAnchor, KeyringError

    try:
        upgrade(copy_url)
    except Exception as exc:
        fail(f"{backup} is not a backup of this record: {type(exc).__name__}")
    try:
        anchor = AuditAnchor(load_keyring(live_url), _sidecar(backup))
    except (KeyringError, OSError) as exc:
        fail(f"audit key ring: {exc}")
    database = open_database(copy_url)
    try:
        services = Services(
            ServiceContext(database.session_factory, protocols=_no_protocols, audit_anchor=anchor)
        )
        return services.audit.verify(operator())
    finally:
        database.dispose()


def _no_protocols(name: str) -> Any:
    raise LookupError(name)


def _refuse(report: Any, live: str) -> None:
    if not report.ok:
        fail(f"the backup does not verify ({report.problem}); {live} was not changed", code=1)


def _settle_wal(path: Path) -> None:
    """Fold the live file's write-ahead log into it, so the file alone is the record."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def _restore_sqlite(source: Path, url: str) -> Path | None:
    """Verify a copy beside the live file, then rename it over the live file; the old file is
    kept under another name (returned)."""
    live = Path(make_url(url).database or "")
    ensure_sqlite_parent(url)
    temporary = live.with_name(f".{live.name}.restore-{secrets.token_hex(4)}")
    try:
        try:
            backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            target = sqlite3.connect(create_private(temporary))
            try:
                backup.backup(target)
                status = target.execute("PRAGMA integrity_check").fetchone()
            finally:
                target.close()
                backup.close()
        except sqlite3.DatabaseError as exc:
            fail(f"{source} is not a SQLite backup: {exc}")
        if status is None or status[0] != "ok":
            fail(f"{source} fails SQLite's integrity check: {status[0] if status else '?'}")
        _refuse(_verify_copy(f"sqlite:///{temporary}", url, source), str(live))
        kept = None
        if live.exists():
            _settle_wal(live)
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            kept = live.with_name(f"{live.name}.before-restore-{stamp}")
            try:
                os.link(live, kept)
            except OSError:
                shutil.copy2(live, kept)
        os.replace(temporary, live)
        return kept
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{temporary}{suffix}").unlink(missing_ok=True)


@contextmanager
def _temporary_postgres(url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the live one's server (dropped afterwards)."""
    parsed = make_url(url)
    name = f"ketamine_restore_{secrets.token_hex(6)}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        fail(f"cannot create a temporary database to check the backup: {type(exc).__name__}")
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _restore_postgres(source: Path, url: str) -> None:
    """Load and verify the dump in a temporary database, then replay it on the live one in one
    transaction (all of it or nothing)."""
    with _temporary_postgres(url) as copy_url:
        _run_pg_tool(
            "psql", "--quiet", "-v", "ON_ERROR_STOP=1", "--single-transaction",
            "--file", str(source), _pg_cli_url(copy_url),
        )  # fmt: skip
        _refuse(_verify_copy(copy_url, url, source), display_url(url))
    _run_pg_tool(
        "psql", "--quiet", "-v", "ON_ERROR_STOP=1", "--single-transaction",
        "--file", str(source), _pg_cli_url(url),
    )  # fmt: skip


def _restore(
    source: Annotated[
        Path, typer.Option("--from", help="Backup file made by `ketamine-ptsd backup`.")
    ],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm that the database will be replaced.")
    ] = False,
    allow_no_checkpoint: Annotated[
        bool,
        typer.Option(
            "--allow-no-checkpoint",
            help="Restore a backup that has no signed checkpoint beside it (older backups).",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Verify a backup in a temporary copy, then replace the database with it."""
    url = resolve_url(db)
    if not source.is_file():
        fail(f"no backup file at {source}")
    if not yes:
        fail("restore replaces the database; add --yes to confirm")
    try:
        has_checkpoint = bool(_sidecar(source).read())
    except ValueError as exc:
        fail(f"the checkpoint beside the backup is damaged: {exc}")
    if not has_checkpoint and not allow_no_checkpoint:
        fail(
            f"no signed checkpoint at {source}.checkpoint; add --allow-no-checkpoint to restore "
            "on the audit chain alone"
        )
    kept = None
    if make_url(url).get_backend_name() == "sqlite":
        kept = _restore_sqlite(source, url)
    else:
        _restore_postgres(source, url)
    services, database = open_services(url)
    try:
        services.audit.checkpoint(operator(), "restore")
        report = services.audit.verify(operator())
    finally:
        database.dispose()
    typer.echo(f"restored {display_url(url)} from {source}")
    if kept is not None:
        typer.echo(f"the replaced database is kept as {kept}")
    _refuse(report, display_url(url))
    typer.echo(f"audit trail intact: {report.rows_checked} rows")


def register(app: typer.Typer) -> None:
    """Add ``backup`` and ``restore`` to ``app``."""
    app.command("backup")(_backup)
    app.command("restore")(_restore)
