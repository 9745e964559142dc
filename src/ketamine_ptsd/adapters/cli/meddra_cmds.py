"""``meddra load | uncoded | code``: a site's own MedDRA release and the coding of adverse events.

MedDRA is licensed (ICH MSSO), so nothing ships: ``meddra load DIR`` reads the release's ASCII
files (``llt.asc``, ``mdhier.asc``, and ``meddra_release.asc`` for the version; core/meddra.py)
as an administrator; ``meddra uncoded`` lists the adverse events still to code with the LLT whose
name is the verbatim term as a suggestion; ``meddra code AE_ID LLT_CODE`` codes one as the study
physician. Each logs in through the auth service (password prompted, or the first line of stdin
with ``--password-stdin``), so roles and audit rows are the services' own (services/meddra.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ketamine_ptsd.adapters.cli.output import fail, print_json

__all__ = ["register"]

_User = Annotated[str, typer.Option("--user", help="Username to log in as.")]
_Db = Annotated[
    str | None, typer.Option("--db", help="Database URL or SQLite file (default: as for serve).")
]
_Stdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]
_Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _login(user: str, password_stdin: bool, db: str | None) -> tuple[Any, Any, Any]:
    from ketamine_ptsd.adapters.cli.admin_cmds import open_services, resolve_url
    from ketamine_ptsd.services import AccountLocked, AuthenticationFailed

    url = resolve_url(db)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True)
    services, database = open_services(url)
    try:
        actor = services.auth.login(user, password).actor
    except (AuthenticationFailed, AccountLocked):
        database.dispose()
        fail(f"login failed for {user!r}")
    return services, database, actor


def _run(database: Any, action: Any) -> Any:
    from ketamine_ptsd.core.errors import InvalidInput
    from ketamine_ptsd.services import PermissionDenied, ServiceError

    try:
        return action()
    except PermissionDenied as exc:
        fail(f"refused: {exc}")
    except (ServiceError, InvalidInput) as exc:
        fail(f"refused: {exc}")
    finally:
        database.dispose()


def load(
    folder: Annotated[
        Path, typer.Argument(help="The release's ASCII folder (llt.asc, mdhier.asc).")
    ],
    user: _User,
    db: _Db = None,
    password_stdin: _Stdin = False,
    as_json: _Json = False,
) -> None:
    """Load the site's MedDRA release (administrator)."""
    from ketamine_ptsd.core.errors import InvalidInput
    from ketamine_ptsd.core.meddra import parse_release

    texts: dict[str, str | None] = {}
    for name in ("llt.asc", "mdhier.asc", "meddra_release.asc"):
        path = folder / name
        if not path.exists():
            if name == "meddra_release.asc":
                texts[name] = None
                continue
            fail(f"{folder}: no {name} (a MedDRA ASCII release has llt.asc and mdhier.asc)")
        texts[name] = path.read_text(encoding="utf-8", errors="replace")
    try:
        dictionary = parse_release(
            texts["llt.asc"] or "", texts["mdhier.asc"] or "", texts["meddra_release.asc"]
        )
    except InvalidInput as exc:
        fail(f"{folder}: {exc.field}: {exc.message}")
    services, database, actor = _login(user, password_stdin, db)
    count = _run(database, lambda: services.meddra.load(actor, dictionary))
    if as_json:
        print_json({"release": dictionary.version, "terms": count})
        return
    typer.echo(f"MedDRA {dictionary.version}: {count} lowest level terms loaded")


def uncoded(
    user: _User,
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol.")] = "rct",
    db: _Db = None,
    password_stdin: _Stdin = False,
    as_json: _Json = False,
) -> None:
    """List the adverse events still to code, with a suggested LLT where one matches."""
    services, database, actor = _login(user, password_stdin, db)
    rows = _run(database, lambda: services.meddra.uncoded(actor, protocol_name=protocol))
    items = [
        {
            "adverse_event_id": r.adverse_event_id,
            "subject": r.subject,
            "term": r.term,
            "onset": r.onset.isoformat() if r.onset else None,
            "suggested_llt": None if r.suggestion is None else r.suggestion.llt_code,
            "suggested_pt": None if r.suggestion is None else r.suggestion.pt_name,
        }
        for r in rows
    ]
    if as_json:
        print_json({"uncoded": items})
        return
    typer.echo(f"{len(items)} adverse events to code")
    for i in items:
        hint = (
            f"  (suggest LLT {i['suggested_llt']}: {i['suggested_pt']})"
            if i["suggested_llt"]
            else ""
        )
        typer.echo(f"  {i['adverse_event_id']}  {i['subject']}  {i['onset']}  {i['term']}{hint}")


def code(
    adverse_event_id: Annotated[int, typer.Argument(help="The adverse event's id.")],
    llt_code: Annotated[int, typer.Argument(help="The MedDRA LLT code.")],
    user: _User,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (needed to recode a coded event).")
    ] = None,
    db: _Db = None,
    password_stdin: _Stdin = False,
    as_json: _Json = False,
) -> None:
    """Code an adverse event to an LLT of the loaded release (study physician)."""
    services, database, actor = _login(user, password_stdin, db)
    coding = _run(
        database, lambda: services.meddra.code(actor, adverse_event_id, llt_code, reason=reason)
    )
    summary = {
        "adverse_event_id": adverse_event_id,
        "release": coding.release,
        "llt": [coding.llt_code, coding.llt_name],
        "pt": [coding.pt_code, coding.pt_name],
        "soc": [coding.soc_code, coding.soc_name],
        "coded_by": user,
    }
    if as_json:
        print_json(summary)
        return
    typer.echo(
        f"adverse event {adverse_event_id}: {coding.llt_name} → {coding.pt_name} "
        f"({coding.soc_name}), MedDRA {coding.release}"
    )


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="A site's own MedDRA release and adverse-event coding.", no_args_is_help=True
    )
    group.command("load")(load)
    group.command("uncoded")(uncoded)
    group.command("code")(code)
    app.add_typer(group, name="meddra")
