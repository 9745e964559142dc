"""Administration of the record: ``db upgrade``, ``users add|unlock``, ``audit verify``,
``audit rotate-key``.

SYSTEM.md §Main commands. The operator at the terminal already holds the database file or URL,
so these commands act as the system actor ``cli:<os user>`` (audited under that name) without a
login. Every command that opens the record opens it with the instance's audit key ring and
checkpoint file (adapters/audit_keystore.py); ``backup`` and ``restore`` are in backup_cmds.py.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Any

import typer

from ketamine_ptsd.adapters.cli.output import fail, print_json
from ketamine_ptsd.adapters.settings import display_url, ensure_sqlite_parent, resolve_database_url

__all__ = ["DbOption", "JsonOption", "open_services", "operator", "register", "resolve_url"]

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL or SQLite file (default: $KETAMINE_PTSD_DATABASE_URL, then the user data dir).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def resolve_url(db: str | None) -> str:
    try:
        return resolve_database_url(db)
    except ValueError as exc:
        fail(str(exc))


def operator() -> Any:
    from ketamine_ptsd.services import Actor

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Actor.system(f"cli:{name}"[:64])


def _protocols(name: str) -> Any:
    from ketamine_ptsd.adapters.cli.calculators import protocols

    return protocols(name)


def open_services(url: str) -> tuple[Any, Any]:
    """(services, database) for the migrated record at ``url``, with its audit keys; exits 2
    with one line when it is not migrated or the key ring cannot be used."""
    from ketamine_ptsd.adapters.audit_keystore import audit_anchor
    from ketamine_ptsd.adapters.db.engine import open_database
    from ketamine_ptsd.adapters.db.migrate import current_revision, head_revision
    from ketamine_ptsd.services import ServiceContext, Services
    from ketamine_ptsd.services.audit import KeyringError

    try:
        revision = current_revision(url)
    except Exception as exc:
        fail(f"cannot open the database at {display_url(url)}: {type(exc).__name__}")
    if revision != head_revision():
        fail(f"the database at {display_url(url)} is not migrated; run `ketamine-ptsd db upgrade`")
    try:
        anchor = audit_anchor(url)
    except (KeyringError, OSError) as exc:
        fail(f"audit key ring: {exc}")
    database = open_database(url)
    context = ServiceContext(database.session_factory, protocols=_protocols, audit_anchor=anchor)
    return Services(context), database


def _db_upgrade(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Create or migrate the database to the newest schema."""
    from ketamine_ptsd.adapters.db.migrate import upgrade

    url = resolve_url(db)
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

    url = resolve_url(db)
    services, database = open_services(url)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        view = services.users.add(
            operator(),
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

    url = resolve_url(db)
    services, database = open_services(url)
    try:
        view = services.users.unlock_by_username(operator(), username, reason=reason)
    except ServiceError as exc:
        fail(str(exc))
    finally:
        database.dispose()
    if as_json:
        print_json({"id": view.id, "username": view.username, "unlocked": True})
    else:
        typer.echo(f"user {view.username} unlocked")


def _audit_verify(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Verify the audit trail: the keyed chain, the signed checkpoints, and the live tables
    against a replay of the trail; exit 1 naming the first bad row or unaudited value."""
    url = resolve_url(db)
    services, database = open_services(url)
    try:
        report = services.audit.verify(operator(), checkpoint=True)
    except OSError as exc:
        fail(f"cannot write the audit checkpoint: {exc}")
    finally:
        database.dispose()
    unaudited = [str(item) for item in report.unaudited]
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "rows_checked": report.rows_checked,
                "legacy_rows": report.legacy_rows,
                "checkpoints_checked": report.checkpoints_checked,
                "first_bad_seq": report.first_bad_seq,
                "problem": report.problem,
                "unaudited": unaudited,
            }
        )
        if not report.ok:
            raise typer.Exit(1)
        return
    if not report.ok:
        for line in unaudited[:50]:
            typer.echo(f"no audit history: {line}", err=True)
        where = f"at row {report.first_bad_seq}" if report.first_bad_seq else "in the tables"
        fail(f"audit trail broken {where}: {report.problem}", code=1)
    legacy = (
        f", of which {report.legacy_rows} in the legacy unkeyed segment"
        if report.legacy_rows
        else ""
    )
    typer.echo(
        f"audit trail intact: {report.rows_checked} rows{legacy}; "
        f"{report.checkpoints_checked} signed checkpoints matched; tables reconciled"
    )


def _audit_rotate_key(db: DbOption = None) -> None:
    """Add a fresh audit key and make it the active one (older keys stay, for verification)."""
    from ketamine_ptsd.adapters.audit_keystore import rotate_key
    from ketamine_ptsd.services.audit import KeyringError

    url = resolve_url(db)
    try:
        key = rotate_key(url)
    except (KeyringError, OSError) as exc:
        fail(f"audit key ring: {exc}")
    typer.echo(f"audit key {key.key_id} is now active; older keys are kept for verification")


def register(app: typer.Typer) -> None:
    """Add the ``db``, ``users`` and ``audit`` groups to ``app``."""
    db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
    db_app.command("upgrade")(_db_upgrade)
    from ketamine_ptsd.adapters.cli import lock_cmds

    lock_cmds.register(db_app)
    users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
    users_app.command("add")(_users_add)
    users_app.command("unlock")(_users_unlock)
    audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
    audit_app.command("verify")(_audit_verify)
    audit_app.command("rotate-key")(_audit_rotate_key)
    app.add_typer(db_app, name="db")
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    from ketamine_ptsd.adapters.cli import query_cmds, site_cmds

    site_cmds.register(app)
    query_cmds.register(app)
