"""Administration of the record: ``db upgrade``, ``users add|unlock``, ``audit verify``, ``backup``,
``restore``.

SYSTEM.md §Main commands. The operator at the terminal already holds the database file or URL,
so these commands act as the system actor ``cli:<os user>`` (audited under that name) without a
login. Backups of SQLite use SQLite's online backup API, which copies a consistent snapshot
while the web app keeps writing; PostgreSQL uses ``pg_dump``/``psql``.
"""

from __future__ import annotations

import getpass
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url

from ketamine_ptsd.adapters.cli.output import fail, print_json
from ketamine_ptsd.adapters.private_files import create_private, ensure_private
from ketamine_ptsd.adapters.settings import display_url, ensure_sqlite_parent, resolve_database_url

__all__ = ["register"]

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL or SQLite file (default: $KETAMINE_PTSD_DATABASE_URL, then the user data dir).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _url(db: str | None) -> str:
    try:
        return resolve_database_url(db)
    except ValueError as exc:
        fail(str(exc))


def _operator() -> Any:
    from ketamine_ptsd.services import Actor

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Actor.system(f"cli:{name}"[:64])


def _protocols(name: str) -> Any:
    from ketamine_ptsd.adapters.cli.calculators import protocols

    return protocols(name)


def _services(url: str) -> tuple[Any, Any]:
    from ketamine_ptsd.adapters.db.engine import open_database
    from ketamine_ptsd.adapters.db.migrate import current_revision, head_revision
    from ketamine_ptsd.services import ServiceContext, Services

    try:
        revision = current_revision(url)
    except Exception as exc:
        fail(f"cannot open the database at {display_url(url)}: {type(exc).__name__}")
    if revision != head_revision():
        fail(f"the database at {display_url(url)} is not migrated; run `ketamine-ptsd db upgrade`")
    database = open_database(url)
    return Services(ServiceContext(database.session_factory, protocols=_protocols)), database


def _db_upgrade(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Create or migrate the database to the newest schema."""
    from ketamine_ptsd.adapters.db.migrate import upgrade

    url = _url(db)
    ensure_sqlite_parent(url)
    try:
        revision = upgrade(url)
    except Exception as exc:
        fail(
            f"migration failed on {display_url(url)}: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        )
    if as_json:
        print_json({"database": display_url(url), "revision": revision})
    else:
        typer.echo(f"database {display_url(url)} is at revision {revision}")


def _users_add(
    username: Annotated[str, typer.Argument(help="Login name (lower case).")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="administrator, investigator, nurse, safety_rater, outcome_rater, pharmacist, statistician, monitor or clinician.",
        ),
    ],
    full_name: Annotated[str, typer.Option("--full-name", help="Name shown on signatures.")] = "",
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a user account (the password is prompted for, or read with --password-stdin)."""
    from ketamine_ptsd.services import ServiceError

    url = _url(db)
    services, database = _services(url)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        view = services.users.add(
            _operator(),
            username=username,
            role=role,
            password=password,
            full_name=full_name or username,
        )
    except ServiceError as exc:
        fail(str(exc))
    finally:
        database.dispose()
    if as_json:
        print_json({"id": view.id, "username": view.username, "role": view.role})
    else:
        typer.echo(f"user {view.username} ({view.role}) added")


def _users_unlock(
    username: Annotated[str, typer.Argument(help="Login name of the account.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why (audited).")
    ] = "unlocked by the operator",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Clear an account's failed logins and back-off (the web app's own per-address throttle
    lives in the server's memory: it clears with an unlock from the Users page, or a restart)."""
    from ketamine_ptsd.services import ServiceError

    url = _url(db)
    services, database = _services(url)
    try:
        view = services.users.unlock_by_username(_operator(), username, reason=reason)
    except ServiceError as exc:
        fail(str(exc))
    finally:
        database.dispose()
    if as_json:
        print_json({"id": view.id, "username": view.username, "unlocked": True})
    else:
        typer.echo(f"user {view.username} unlocked")


def _audit_verify(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Recompute the audit trail's hash chain; exit 1 naming the first bad row."""
    url = _url(db)
    services, database = _services(url)
    try:
        report = services.audit.verify(_operator())
    finally:
        database.dispose()
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "rows_checked": report.rows_checked,
                "first_bad_seq": report.first_bad_seq,
                "problem": report.problem,
            }
        )
        if not report.ok:
            raise typer.Exit(1)
        return
    if not report.ok:
        fail(f"audit trail broken at row {report.first_bad_seq}: {report.problem}", code=1)
    typer.echo(f"audit trail intact: {report.rows_checked} rows")


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


def _backup(
    out: Annotated[Path, typer.Option("--out", help="Backup file to write.")],
    db: DbOption = None,
) -> None:
    """Write a consistent copy of the database (safe while the record is in use)."""
    url = _url(db)
    parsed = make_url(url)
    if out.exists():
        fail(f"{out} exists; choose a new file")
    if parsed.get_backend_name() == "sqlite":
        source_path = parsed.database or ""
        if not Path(source_path).is_file():
            fail(f"no SQLite database at {source_path}")
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
        target = sqlite3.connect(create_private(out))
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
    typer.echo(f"backup of {display_url(url)} written to {out}")


def _restore(
    source: Annotated[
        Path, typer.Option("--from", help="Backup file made by `ketamine-ptsd backup`.")
    ],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm that the database will be replaced.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Replace the database with a backup, then verify its audit trail."""
    url = _url(db)
    parsed = make_url(url)
    if not source.is_file():
        fail(f"no backup file at {source}")
    if not yes:
        fail("restore replaces the database; add --yes to confirm")
    if parsed.get_backend_name() == "sqlite":
        ensure_sqlite_parent(url)
        backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        target = sqlite3.connect(ensure_private(parsed.database or ""))
        try:
            backup.backup(target)
        finally:
            target.close()
            backup.close()
    else:
        _run_pg_tool(
            "psql", "--quiet", "-v", "ON_ERROR_STOP=1", "--file", str(source), _pg_cli_url(url)
        )
    typer.echo(f"restored {display_url(url)} from {source}")
    _audit_verify(db=url, as_json=False)


def register(app: typer.Typer) -> None:
    """Add the ``db``, ``users`` and ``audit`` groups and ``backup``/``restore`` to ``app``."""
    db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
    db_app.command("upgrade")(_db_upgrade)
    users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
    users_app.command("add")(_users_add)
    users_app.command("unlock")(_users_unlock)
    audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
    audit_app.command("verify")(_audit_verify)
    app.add_typer(db_app, name="db")
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.command("backup")(_backup)
    app.command("restore")(_restore)
