"""``sites add|member|list`` (issue 17): the trial's sites and who works at which.

As the other administration commands, these act as the operator at the terminal (``cli:<os
user>``, audited). ``sites add CODE --name NAME --time-zone TZ [--active-from D] [--active-to D]``
declares a site; ``sites member USERNAME SITE`` makes a user a member (from then on they see that
site's patients only, with their other sites'); ``sites list [--json]`` shows them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from ketamine_ptsd.adapters.cli.admin_cmds import (
    DbOption,
    JsonOption,
    open_services,
    operator,
    resolve_url,
)
from ketamine_ptsd.adapters.cli.output import fail, print_json

__all__ = ["register"]


def _date(value: str | None, flag: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{flag} {value!r}: a date as YYYY-MM-DD")


def _add(
    code: Annotated[str, typer.Argument(help="Site code: the study ids' prefix (e.g. YAL).")],
    name: Annotated[str, typer.Option("--name", help="The site's name.")],
    time_zone: Annotated[str, typer.Option("--time-zone", help="IANA time zone.")],
    active_from: Annotated[str | None, typer.Option("--active-from", help="YYYY-MM-DD")] = None,
    active_to: Annotated[str | None, typer.Option("--active-to", help="YYYY-MM-DD")] = None,
    db: DbOption = None,
) -> None:
    """Declare a site."""
    from ketamine_ptsd.services import ServiceError

    services, database = open_services(resolve_url(db))
    try:
        view = services.sites.add(
            operator(),
            code=code,
            name=name,
            time_zone=time_zone,
            active_from=_date(active_from, "--active-from"),
            active_to=_date(active_to, "--active-to"),
        )
    except ServiceError as exc:
        fail(str(exc))
    finally:
        database.dispose()
    typer.echo(f"site {view.code} ({view.name}, {view.time_zone}) added")


def _member(
    username: Annotated[str, typer.Argument(help="The user.")],
    site: Annotated[str, typer.Argument(help="The site code.")],
    db: DbOption = None,
    role: Annotated[
        str | None,
        typer.Option("--role", help="Their role at this site (default: their account's role)."),
    ] = None,
) -> None:
    """Make a user a member of a site (they then see its patients only, with their others'),
    with a role there."""
    from ketamine_ptsd.services import ServiceError

    services, database = open_services(resolve_url(db))
    try:
        view = services.sites.add_member(operator(), username=username, site=site, role=role)
    except ServiceError as exc:
        fail(str(exc))
    finally:
        database.dispose()
    typer.echo(
        f"{username} is a member of {view.code} as {view.roles[username]} "
        f"({', '.join(view.members)})"
    )


def _role(
    username: Annotated[str, typer.Argument(help="The user.")],
    site: Annotated[str, typer.Argument(help="The site code.")],
    role: Annotated[str, typer.Argument(help="Their role at this site.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")],
    db: DbOption = None,
) -> None:
    """Change a member's role at a site (audited)."""
    from ketamine_ptsd.services import ServiceError

    services, database = open_services(resolve_url(db))
    try:
        view = services.sites.set_member_role(
            operator(), username=username, site=site, role=role, reason=reason
        )
    except ServiceError as exc:
        fail(str(exc))
    finally:
        database.dispose()
    typer.echo(f"{username} is {view.roles[username]} at {view.code}")


def _list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """The sites and their members."""
    services, database = open_services(resolve_url(db))
    try:
        views = services.sites.list(operator())
    finally:
        database.dispose()
    rows = [
        {
            "code": v.code,
            "name": v.name,
            "time_zone": v.time_zone,
            "active_from": v.active_from.isoformat() if v.active_from else None,
            "active_to": v.active_to.isoformat() if v.active_to else None,
            "members": list(v.members),
            "roles": dict(v.roles),
        }
        for v in views
    ]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        typer.echo(
            f"{r['code']}  {r['name']}  {r['time_zone']}  members: {', '.join(r['members']) or '-'}"
        )


def register(app: typer.Typer) -> None:
    sites_app = typer.Typer(help="Trial sites and their members.", no_args_is_help=True)
    sites_app.command("add")(_add)
    sites_app.command("member")(_member)
    sites_app.command("role")(_role)
    sites_app.command("list")(_list)
    app.add_typer(sites_app, name="sites")
