"""``db lock`` and ``db unlock`` (issue 17): the record locked before the blind is broken.

``ketamine-ptsd db lock --db URL --user NAME --reason TEXT [--password-stdin] [--json]`` logs the
investigator in through the auth service (password prompted, or the first line of stdin) and
locks the record as that user, who re-enters nothing more: the password given is the
re-authentication (services/locks.py). ``db unlock`` takes the same flags. With
``--patient STUDY_ID`` either locks or unlocks one patient's record instead (after the last visit,
with every query on it closed). Each prints one line, or the lock as JSON; a refusal is one line
and exit status 2.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ketamine_ptsd.adapters.cli.admin_cmds import DbOption, JsonOption, open_services, resolve_url
from ketamine_ptsd.adapters.cli.output import fail, print_json

__all__ = ["register"]

UserOption = Annotated[
    str, typer.Option("--user", help="The investigator who locks or unlocks the record.")
]
ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why (at least 10 characters; kept in the audit trail).")
]
PatientOption = Annotated[
    str | None,
    typer.Option(
        "--patient",
        metavar="STUDY_ID",
        help="Lock or unlock this patient's record only (e.g. YAL-0001), not the database.",
    ),
]
PasswordStdinOption = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]


def _act(
    unlock: bool,
    db: str | None,
    user: str,
    reason: str,
    password_stdin: bool,
    as_json: bool,
    patient: str | None = None,
) -> None:
    from ketamine_ptsd.services import (
        AccountLocked,
        AuthenticationFailed,
        NotFound,
        PermissionDenied,
        ServiceError,
    )

    url = resolve_url(db)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True)
    services, database = open_services(url)
    verb = "unlock" if unlock else "lock"
    try:
        try:
            session = services.auth.login(user, password)
        except (AuthenticationFailed, AccountLocked):
            fail(f"login failed for {user!r}")
        try:
            act = services.locks.unlock if unlock else services.locks.lock
            if patient is None:
                view = act(session.actor, reason=reason, password=password)
            else:
                patient_id = services.patients.find(session.actor, patient).id
                view = act(session.actor, reason=reason, password=password, patient_id=patient_id)
        except PermissionDenied:
            what = "the database" if patient is None else f"patient {patient}'s record"
            fail(f"{user!r} may not {verb} {what} (an investigator does: database.lock)")
        except NotFound:
            fail(f"{verb} refused: no patient {patient!r}")
        except ServiceError as exc:
            fail(f"{verb} refused: {exc}")
        finally:
            services.auth.logout(session.token)
    finally:
        database.dispose()
    if as_json:
        print_json(
            {
                **({} if patient is None else {"patient": view.patient}),
                "locked": view.open,
                "locked_at": view.locked_at.isoformat(),
                "locked_by": view.locked_by,
                "reason": view.reason,
                "digest": view.digest,
                "unlocked_at": view.unlocked_at.isoformat() if view.unlocked_at else None,
                "unlocked_by": view.unlocked_by,
                "unlock_reason": view.unlock_reason,
            }
        )
    elif patient is not None:
        if unlock:
            typer.echo(
                f"patient {view.patient} unlocked by {view.unlocked_by} ({view.unlock_reason}); "
                f"it was {view.describe()}"
            )
        else:
            typer.echo(view.describe())
    elif unlock:
        typer.echo(
            f"database unlocked by {view.unlocked_by} ({view.unlock_reason}); it was {view.describe()}"
        )
    else:
        typer.echo(f"database {view.describe()}")


def _lock(
    user: UserOption,
    reason: ReasonOption,
    password_stdin: PasswordStdinOption = False,
    db: DbOption = None,
    as_json: JsonOption = False,
    patient: PatientOption = None,
) -> None:
    """Lock the record: every write of patient data is refused until an audited unlock."""
    _act(False, db, user, reason, password_stdin, as_json, patient)


def _unlock(
    user: UserOption,
    reason: ReasonOption,
    password_stdin: PasswordStdinOption = False,
    db: DbOption = None,
    as_json: JsonOption = False,
    patient: PatientOption = None,
) -> None:
    """Lift the lock in force (audited, with the reason)."""
    _act(True, db, user, reason, password_stdin, as_json, patient)


def register(db_app: typer.Typer) -> None:
    db_app.command("lock")(_lock)
    db_app.command("unlock")(_unlock)
