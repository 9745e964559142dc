"""Main commands: ``demo`` (the README's main job) and ``report`` (SYSTEM.md §Main commands).

``demo`` builds a fresh embedded SQLite record, replays the calibrated synthetic trial of
PROTOCOL.md §10 through the real services (adapters/demo_loader.py: every patient screened,
consented, randomized from the sealed list, infused, rated and followed up by the demo's staff
accounts), extracts the analysis dataset from the record as a sanctioned statistician, runs the
§9 analysis, writes the report (HTML + PDF) and the published-vs-this-run table, prints where
everything is and one login per role, then serves the web app (unless ``--no-serve``). It opens
with a short worked example (a 72 kg dose, a blood-pressure hold, a scored CAPS-5).

``report --db URL --out DIR [--interim]`` renders the report from any record. The analysis
dataset is read through the dataset service, so the blind holds: the final report needs a
statistician with a live *full* sanction, the DSMB interim packet one with a live *partial*
sanction (arms coded A/B, PROTOCOL.md §3) — granted by an administrator beforehand. The operator
at the terminal holds the database (as for ``users add``), so no login is asked for; the
extraction is audited under the sanctioned statistician.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from ketamine_ptsd.adapters.cli.calculators import ProtocolDirOption, use_protocol_dirs
from ketamine_ptsd.adapters.cli.output import fail
from ketamine_ptsd.adapters.settings import display_url, ensure_sqlite_parent, resolve_database_url

__all__ = ["register"]

DEFAULT_OUT = Path("demo-out")
DEMO_DB_NAME = "demo.sqlite3"

# The worked example: a heading, then the exact command-line arguments a user can copy.
WORKED_EXAMPLE: tuple[tuple[str, list[str]], ...] = (
    (
        "Dose and pump rate for a 72 kg patient (PROTOCOL.md §4)",
        ["dose", "--protocol", "rct", "--drug", "ketamine", "--weight-kg", "72"],
    ),
    (
        "Pre-infusion blood-pressure cutoff: the third reading above 140/90 holds the infusion (§6)",
        ["bp-check", "--protocol", "rct", "--readings", "150/85,145/92,142/88"],
    ),
    (
        "A CAPS-5 scored from its 20 symptom severities (§7)",
        ["score", "caps5", "--items", "3,3,2,2,3,3,2,2,3,2,2,3,2,2,3,2,3,2,2,2"],
    ),
)


def _worked_example(console: Console) -> None:
    from .app import build_app

    command = typer.main.get_command(build_app())
    console.print(Rule("Worked example"))
    for heading, args in WORKED_EXAMPLE:
        console.print(f"[bold]{heading}[/bold]")
        console.print(f"[dim]$ ketamine-ptsd {' '.join(args)}[/dim]")
        try:
            command.main(args, prog_name="ketamine-ptsd", standalone_mode=False)
        except SystemExit as exc:  # bp-check exits 0 with FAILS; anything else is a bug
            if exc.code not in (0, None):
                raise


def _fresh_sqlite(db: str | None, out: Path) -> str:
    """The demo's database URL: ``--db`` (a new SQLite file, or an empty PostgreSQL database),
    else ``OUT/demo.sqlite3``, replaced if a previous demo left one."""
    from sqlalchemy.engine import make_url

    if db is None:
        path = out / DEMO_DB_NAME
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return resolve_database_url(str(path))
    url = resolve_database_url(db)
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and Path(database).exists():
        fail(f"{parsed.database} already exists; the demo needs a new database file")
    return url


def _demo_services(url: str, *, fast_sqlite: bool) -> tuple[Any, Any, Any]:
    """(services, clock, database) for the replay: a movable clock, and cheap Argon2 parameters
    while it runs (1 MiB: each of the demo's ~200 re-authentications — discharge sign-offs —
    verifies a hash). The demo re-hashes its accounts with the production parameters at the
    end (``DemoLoader.rehash_passwords``), so the database it leaves holds no weak hash."""
    from argon2 import PasswordHasher
    from sqlalchemy import event

    from ketamine_ptsd.adapters.audit_keystore import audit_anchor, checkpoint_path
    from ketamine_ptsd.adapters.cli.calculators import protocols
    from ketamine_ptsd.adapters.db.engine import open_database
    from ketamine_ptsd.services import FixedClock, ServiceContext, Services

    # A fresh record: checkpoints a previous demo left for a database of this name are not its.
    checkpoint_path(url).unlink(missing_ok=True)
    database = open_database(url)
    if fast_sqlite and database.dialect == "sqlite":
        # A demo file rebuilt on every run: no fsync per transaction (a crash means re-running
        # the demo, not losing a patient's record). The served app reopens it with the
        # engine's durable settings.
        @event.listens_for(database.engine, "connect")
        def _no_sync(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.close()

    clock = FixedClock(dt.datetime(2015, 1, 1, tzinfo=dt.UTC))
    context = ServiceContext(
        database.session_factory,
        protocols=protocols,
        clock=clock,
        password_hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
        audit_anchor=audit_anchor(url),
    )
    return Services(context), clock, database


def _grant_sanctions(loader: Any, clock: Any) -> None:
    """The administrator records the steering committee's sanctions: full unblinding for the
    final analysis (statistician), partial (A/B) for the DSMB's independent statistician."""
    from ketamine_ptsd.core.roles import Role

    services = loader.services
    admin = loader.actors[Role.ADMINISTRATOR]
    users = {u.username: u for u in services.users.list(admin)}
    # Live from the replayed data cut until 90 days after today (wall clock), so ``report`` and
    # the served app can use them after the demo.
    until = max(clock.now(), dt.datetime.now(dt.UTC)) + dt.timedelta(days=90)
    for username, level, purpose in (
        ("statistician", "full", "final analysis of the demo trial"),
        ("dsmb.statistician", "partial", "DSMB interim packet (arms coded A/B)"),
    ):
        services.analysis.sanction(
            admin,
            statistician_user_id=users[username].id,
            level=level,
            purpose=purpose,
            reason="steering committee decision recorded for the demo data cut",
            expires_at=until,
        )


def _comparison_table(rows: Any) -> Table:
    from ketamine_ptsd.adapters.reports.builder import COMPARISON_NOTE

    table = Table(
        title="Published (PROTOCOL.md §10) vs this run",
        caption=COMPARISON_NOTE,
        show_lines=False,
    )
    table.add_column("Figure")
    table.add_column("Published", justify="right")
    table.add_column("This run", justify="right")
    for row in rows:
        table.add_row(row.figure, row.published, row.this_run)
    return table


def _write_comparison_csv(rows: Any, path: Path) -> None:
    import csv

    from ketamine_ptsd.adapters.private_files import create_private
    from ketamine_ptsd.services.spreadsheet import safe_row

    with create_private(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["figure", "published", "this_run"])
        for row in rows:
            writer.writerow(safe_row([row.figure, row.published, row.this_run]))


def demo(
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Do not start the web app afterwards.")
    ] = False,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="New SQLite file or empty PostgreSQL URL (default OUT/demo.sqlite3)."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the database and the report.")
    ] = DEFAULT_OUT,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic trial.")] = 1,
    n_per_arm: Annotated[
        int,
        typer.Option("--n-per-arm", min=2, help="Randomized patients per arm (published: 15)."),
    ] = 15,
    host: Annotated[str, typer.Option("--host", help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    protocol_dir: ProtocolDirOption = None,
) -> None:
    """Load the calibrated synthetic trial into a fresh record, analyse it, write the report."""
    site_dirs = use_protocol_dirs(protocol_dir)
    from argon2 import PasswordHasher
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ketamine_ptsd.adapters.audit_keystore import KEY_FILE_NAME, instance_dir
    from ketamine_ptsd.adapters.cli.app import command_started_at
    from ketamine_ptsd.adapters.db.migrate import upgrade
    from ketamine_ptsd.adapters.demo_loader import (
        DEMO_ACCOUNTS,
        DemoLoader,
        list_version_for,
        make_demo_trial,
    )
    from ketamine_ptsd.core.roles import Role

    console = Console()
    # The batch part is timed from the process's start (imports included) when run as a
    # command; from here when called inside another program.
    started = command_started_at() or time.perf_counter()
    _worked_example(console)
    console.print(Rule("The synthetic trial, through the record"))
    out = out.expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    url = _fresh_sqlite(db, out)
    ensure_sqlite_parent(url)
    try:
        upgrade(url)
    except Exception as exc:
        fail(f"cannot create the database at {display_url(url)}: {type(exc).__name__}")
    services, clock, database = _demo_services(url, fast_sqlite=True)
    protocol = services.context.protocol("rct")
    trial, list_seed = make_demo_trial(seed, protocol, n_per_arm=n_per_arm)
    loader = DemoLoader(services, clock)
    clock.set(dt.datetime.combine(trial.config.start_date, dt.time(8), tzinfo=dt.UTC))
    loader.create_accounts()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(f"Loading {len(trial.patients)} screened patients", total=None)

        def report_progress(done: int, total: int, label: str) -> None:
            if done % 50 == 0 or done == total:
                progress.update(task, completed=done, total=total)

        summary = loader.load(
            trial,
            list_seed=list_seed,
            list_version=list_version_for(seed),
            progress=report_progress,
        )
    console.print(
        f"{sum(summary.calls.values())} service calls in {summary.seconds:.1f} s "
        f"({len(summary.calls)} use cases); randomization list {summary.list_version} sealed"
    )
    # The clinic's open-label cohort (issue 13), dated to the weeks before today so the served
    # app's Today page shows its work; at its own site code, so the trial's record is untouched.
    from ketamine_ptsd.adapters.demo_clinic import clinic_anchor

    clinic = loader.load_clinic(clinic_anchor(dt.datetime.now(dt.UTC).date()))
    console.print(clinic.describe())
    _grant_sanctions(loader, clock)
    # The trial is complete: its queries are resolved and its data locked before the blind is
    # broken (issue 17).
    resolved = loader.resolve_queries()
    console.print(f"{resolved} data queries raised by the protocol's checks answered and closed")
    loader.lock_record("demo trial complete: data locked before the final analysis")
    report_dir = out / "report"
    results, comparison = _analyse_and_report(services, report_dir, interim=False, clock=clock)
    # The trial stays locked patient by patient; the database lock is lifted so the served
    # app's clinic cohort can be worked (a locked record refuses every clinic write).
    kept = loader.reopen_for_the_clinic(
        "demo: the trial's patients stay locked one by one; the record reopened for the clinic"
    )
    console.print(f"{kept} trial patients locked one by one; the database reopened for the clinic")
    loader.rehash_passwords(PasswordHasher())  # the production parameters, as in the app
    # The loaded record's head, signed outside the database (services/audit/checkpoint.py).
    services.audit.checkpoint(loader.actors[Role.ADMINISTRATOR], "demo")
    database.dispose()
    console.print(_comparison_table(comparison))
    _write_comparison_csv(comparison, report_dir / "published_vs_this_run.csv")
    console.print(Rule("Where everything is"))
    console.print(f"database:   {display_url(url)}")
    console.print(f"report:     {report_dir / 'index.html'}")
    console.print(f"PDF:        {report_dir / 'report.pdf'}")
    console.print(f"comparison: {report_dir / 'published_vs_this_run.csv'}")
    console.print(f"audit keys: {instance_dir(url) / KEY_FILE_NAME} (docs/threat-model.md)")
    logins = Table(title="Demo logins (local demo only)")
    for column in ("Role", "Username", "Password"):
        logins.add_column(column)
    for account in DEMO_ACCOUNTS:
        logins.add_row(account.role.value, account.username, account.password)
    console.print(logins)
    console.print(
        f"batch part finished in {time.perf_counter() - started:.1f} s "
        "(from the command's start; the target is 20 s)"
    )
    if results.missing:
        console.print("[yellow]Not analysed:[/yellow] " + "; ".join(results.missing))
    if no_serve:
        return
    _serve(url, host, port, console, site_dirs)


def _serve(
    url: str, host: str, port: int, console: Console, site_dirs: tuple[Path, ...] = ()
) -> None:
    try:
        from ketamine_ptsd.adapters.web.app import create_app
        from ketamine_ptsd.adapters.web.config import WebSettings
    except ImportError:
        console.print("The web app is not part of this build; nothing to serve.")
        return
    import uvicorn

    app = create_app(WebSettings(database_url=url, protocol_dirs=site_dirs))
    console.print(f"serving {display_url(url)} on http://{host}:{port}/ (Ctrl-C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


def _sanctioned_statistician(services: Any, level: str) -> Any:
    """A statistician whose live sanction is exactly ``level`` (checked by the dataset
    service itself when it extracts)."""
    from ketamine_ptsd.core.roles import Role
    from ketamine_ptsd.services import Actor

    operator = Actor.system("cli:report")
    for user in services.users.list(operator):
        if user.role == Role.STATISTICIAN.value and user.active:
            actor = Actor(user_id=user.id, username=user.username, role=Role.STATISTICIAN)
            if _live_sanction(services, actor) == level:
                return actor
    return None


def _live_sanction(services: Any, actor: Any) -> str:
    """The strongest live sanction of ``actor`` (read-only; no dataset is extracted)."""
    from ketamine_ptsd.services.access import analysis_unblinding

    with services.context.uow(actor, write=False) as uow:
        return analysis_unblinding(uow.session, actor, uow.now).value


def _analyse_and_report(
    services: Any,
    out_dir: Path,
    *,
    interim: bool,
    clock: Any = None,
    planned_patients: int | None = None,
    from_freeze: int | None = None,
    confirmed: bool = False,
) -> tuple[Any, Any]:
    """Extract (as the sanctioned statistician), analyse (§9, the protocol's analysis plan) and
    write the report. The interim packet adds the group-sequential stopping boundaries at
    information observed ÷ ``planned_patients`` when the planned number is given. The interim
    packet's coded results are revealed only once the DSMB statistician has confirmed
    (``confirmed``, or asked at a terminal), after the sanction is checked and before any
    data are read."""
    from ketamine_ptsd.adapters.reports import ReportWriteError, build_report
    from ketamine_ptsd.core.analysis import published_comparison
    from ketamine_ptsd.services import ServiceError
    from ketamine_ptsd.simulation.synthetic_targets import PUBLISHED

    level = "partial" if interim else "full"
    actor = _sanctioned_statistician(services, level)
    if actor is None:
        fail(
            f"no statistician holds a live {level} sanction; an administrator must grant one "
            f"({'DSMB interim: partial, arms coded A/B' if interim else 'final analysis: full'})"
        )
    if interim and not confirmed:
        _confirm_interim()
    today = clock.now().date() if clock is not None else dt.date.today()
    try:
        if from_freeze is not None:
            run = services.analysis_runs.run_frozen(actor, from_freeze)
        else:
            run = services.analysis_runs.run(
                actor, "rct", today=today, planned_patients=planned_patients, freeze=interim
            )
    except ServiceError as exc:
        fail(str(exc))
    if run is not None and run.generated_on is not None:
        today = run.generated_on  # a frozen interim keeps the date it was made on
    if run is None or run.level != level:
        fail(
            f"the extraction came back {run.level if run else 'blinded'}, not {level}; refusing to report"
        )
    results = run.results
    comparison: Any = () if interim else published_comparison(results, PUBLISHED)
    try:
        build_report(
            results,
            out_dir,
            interim=interim,
            comparison=comparison,
            generated_on=today,
            parallel=True,
            data_lock=run.lock.describe() if run.lock is not None else None,
            data_cutoff=run.cutoff.describe() if run.cutoff is not None else None,
        )
    except (ReportWriteError, OSError) as exc:
        fail(f"the report could not be written to {out_dir}: {exc}")
    if run.freeze_id is not None:
        typer.echo(
            f"DSMB interim data frozen as #{run.freeze_id} (digest {run.freeze_digest}); "
            f"`report --interim --from-freeze {run.freeze_id}` makes this packet again"
        )
    return results, comparison


def stdin_is_terminal() -> bool:
    """Whether someone at a terminal can answer a question (not a script or a pipe)."""
    import sys

    return sys.stdin.isatty()


def _confirm_interim() -> None:
    """Ask at a terminal. A script keeps the public contract (``report --interim`` makes the
    packet, SYSTEM.md) and is told on stderr that no one confirmed interactively."""
    from ketamine_ptsd.services.analysis_runs import INTERIM_CONFIRMATION

    if not stdin_is_terminal():
        typer.echo(
            "note: the DSMB interim packet reveals coded results; made without an interactive "
            "confirmation (pass --confirm to record that the DSMB statistician confirmed)",
            err=True,
        )
        return
    typer.echo(INTERIM_CONFIRMATION)
    if not typer.confirm("Reveal the coded results?", default=False):
        fail("not confirmed: no DSMB interim packet was made")


def report(
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL or SQLite file (default: as for serve)."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder to write the report into.")] = Path(
        "report"
    ),
    interim: Annotated[
        bool, typer.Option("--interim", help="DSMB interim packet: arms coded A/B.")
    ] = False,
    planned_patients: Annotated[
        int | None,
        typer.Option(
            "--planned-patients",
            min=1,
            help="Planned number of randomized patients for the interim stopping boundaries "
            "(default: the protocol's analysis.interim.planned_patients).",
        ),
    ] = None,
    from_freeze: Annotated[
        int | None,
        typer.Option(
            "--from-freeze",
            min=1,
            help="With --interim: make a DSMB packet again from its frozen data (the number "
            "printed when it was first made).",
        ),
    ] = None,
    confirm: Annotated[
        bool,
        typer.Option(
            "--confirm",
            help="With --interim: confirm, as the DSMB's independent statistician, that the "
            "coded (A/B) results may be revealed (asked at a terminal when not given).",
        ),
    ] = False,
    protocol_dir: ProtocolDirOption = None,
) -> None:
    """Write the trial report (HTML + PDF) or the DSMB interim packet from a record."""
    if from_freeze is not None and not interim:
        fail("--from-freeze makes a DSMB interim packet again: give --interim with it")
    use_protocol_dirs(protocol_dir)
    from ketamine_ptsd.adapters.cli.admin_cmds import open_services

    try:
        url = resolve_database_url(db)
    except ValueError as exc:
        fail(str(exc))
    services, database = open_services(url)
    try:
        _analyse_and_report(
            services,
            out.expanduser().resolve(),
            interim=interim,
            planned_patients=planned_patients,
            from_freeze=from_freeze,
            confirmed=confirm,
        )
    finally:
        database.dispose()
    kind = "DSMB interim packet" if interim else "report"
    typer.echo(f"{kind} written to {out / 'index.html'} and {out / 'report.pdf'}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    app.command("report")(report)
