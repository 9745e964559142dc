"""``queries sweep`` (issue 17): the protocol's edit checks over the whole record.

``ketamine-ptsd queries sweep --db URL --user NAME [--password-stdin] [--json]`` logs the user in
through the auth service (password prompted, or the first line of stdin, as ``db lock`` does) and
runs :class:`~ketamine_ptsd.services.edit_checks.EditCheckService` as that user: a monitor or a
statistician (``query.raise``), over the patients of their sites. It raises an automatic query for
each finding not raised already — data entered before a check existed, or changed since — and
prints one line (records checked, queries raised by check), or JSON
``{records_checked, raised: {check: n}, total_raised}``. A refusal is one line and exit 2.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ketamine_ptsd.adapters.cli.admin_cmds import DbOption, JsonOption, open_services, resolve_url
from ketamine_ptsd.adapters.cli.output import fail, print_json

__all__ = ["register"]

UserOption = Annotated[
    str, typer.Option("--user", help="The monitor or statistician who runs the checks.")
]
PasswordStdinOption = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]


def _sweep(
    user: UserOption,
    password_stdin: PasswordStdinOption = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the protocol's edit checks over the record; raise what they find, once."""
    from ketamine_ptsd.services import (
        AccountLocked,
        AuthenticationFailed,
        PermissionDenied,
        ServiceError,
    )

    url = resolve_url(db)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True)
    services, database = open_services(url)
    try:
        try:
            session = services.auth.login(user, password)
        except (AuthenticationFailed, AccountLocked):
            fail(f"login failed for {user!r}")
        try:
            run = services.edit_checks.run(session.actor)
        except PermissionDenied:
            fail(f"{user!r} may not sweep the record (a monitor or statistician does: query.raise)")
        except ServiceError as exc:
            fail(f"sweep refused: {exc}")
        finally:
            services.auth.logout(session.token)
    finally:
        database.dispose()
    raised = dict(sorted(run.raised.items()))
    if as_json:
        print_json(
            {
                "records_checked": run.records_checked,
                "raised": raised,
                "total_raised": run.total_raised,
            }
        )
        return
    by_check = ", ".join(f"{n} {check}" for check, n in raised.items())
    typer.echo(
        f"checked {run.records_checked} records; raised {run.total_raised} "
        f"{'query' if run.total_raised == 1 else 'queries'}"
        + (f" ({by_check})" if by_check else "")
    )


def register(app: typer.Typer) -> None:
    """Add the ``queries`` group to ``app``."""
    queries_app = typer.Typer(help="Data queries (trial conduct).", no_args_is_help=True)
    queries_app.command("sweep")(_sweep)
    app.add_typer(queries_app, name="queries")
