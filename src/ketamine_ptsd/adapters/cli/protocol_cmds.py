"""``protocol show NAME`` and ``protocol validate FILE`` (SYSTEM.md capability 1).

``validate`` prints every problem, one per line, and exits 1 when there are any, so a site can
check its own protocol file before using it; ``show`` prints what a protocol says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ketamine_ptsd.adapters.protocol_store import (
    builtin_protocol_names,
    read_protocol,
    site_protocols,
)
from ketamine_ptsd.core.errors import InvalidInput, ProtocolInvalid
from ketamine_ptsd.core.protocol import Protocol, validate

from .calculators import ProtocolDirOption, load_or_fail, use_protocol_dirs
from .output import fail, print_json

__all__ = ["register"]

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _summary(p: Protocol) -> list[str]:
    s = p.schedule
    lines = [
        f"{p.name} {p.version}: {p.title}",
        f"mode: {p.mode}, {'blinded' if p.blinded else 'open-label'}",
        "arms: " + "; ".join(f"{a.id} ({a.label})" for a in p.arms),
        "dosing:",
    ]
    for drug, d in p.dosing.items():
        lines.append(
            f"  {drug}: {d.mg_per_kg:g} mg/kg ({d.weight_basis} weight) over "
            f"{d.infusion_minutes} min at {d.concentration_mg_per_ml:g} mg/mL"
        )
    lines.append(
        f"schedule: {s.infusion_count} infusions, {s.infusions_per_week} a week for {s.weeks} "
        f"weeks, at least {s.min_days_between_infusions} days apart, on "
        f"{', '.join(s.allowed_weekdays)}"
    )
    if s.rationale:
        lines.append(f"  why: {s.rationale}")
    lines.append("assessments:")
    for a in p.assessments:
        lines.append(
            f"  {a.name}: {a.label} (window -{a.window_days_before}/+{a.window_days_after} d): "
            f"{', '.join(a.instruments)}"
        )
    f = p.follow_up
    lines.append(
        f"follow-up: {'responders, ' if f.responders_only else ''}weekly to week "
        f"{f.weekly_until_week}, then monthly to month {f.monthly_until_month}"
        f"{', until loss of response' if f.stop_at_loss_of_response else ''}"
    )
    cutoff = ", ".join(
        f"at most {b.max_readings_above} above {b.systolic_mmhg}/{b.diastolic_mmhg}"
        for b in p.pre_infusion.bp_cutoff
    )
    m = p.monitoring
    lines.append(f"pre-infusion blood pressure: {cutoff}")
    lines.append(
        f"monitoring: vitals every {m.vitals_interval_during_minutes} min during, every "
        f"{m.vitals_interval_after_minutes} min after; ratings at "
        f"{', '.join(str(r.minute) for r in m.ratings)} min; observe "
        f"{m.discharge.observation_minutes} min from {m.discharge.observation_from.replace('_', ' ')}"
    )
    r = p.response
    lines.append(
        f"response: {r.instrument} {r.measure} at least {r.min_reduction_fraction:.0%} below "
        f"{r.baseline_assessment} at {r.assessment}"
    )
    lines.append(f"eligibility ({len(p.eligibility)} criteria):")
    for c in p.eligibility:
        lines.append(f"  [{c.kind}] {c.text} ({c.section})")
    return lines


def show(
    name: Annotated[str, typer.Argument(help="Built-in protocol name or a protocol file path.")],
    as_json: JsonOption = False,
    protocol_dir: ProtocolDirOption = None,
) -> None:
    """Print what a protocol says (text, or the full model as JSON)."""
    use_protocol_dirs(protocol_dir)
    p = load_or_fail(name)
    if as_json:
        print_json(p)
        return
    for line in _summary(p):
        typer.echo(line)


def validate_cmd(
    file: Annotated[Path, typer.Argument(help="Protocol file (.yaml, .yml or .toml).")],
    as_json: JsonOption = False,
) -> None:
    """Check a protocol file; list every problem and exit 1 if there are any."""
    if not file.is_file():
        fail(f"file: {file} does not exist or is not a file")
    try:
        problems = validate(read_protocol(file))
    except InvalidInput as exc:
        fail(f"{exc.field}: {exc.message}")
    except ProtocolInvalid as exc:
        problems = exc.problems
    if as_json:
        print_json({"file": str(file), "valid": not problems, "problems": problems})
    elif problems:
        typer.echo(f"{file}: {len(problems)} problem{'s' if len(problems) > 1 else ''}")
        for problem in problems:
            typer.echo(f"  - {problem}")
    else:
        typer.echo(f"{file}: valid")
    if problems:
        raise typer.Exit(1)


def list_cmd(protocol_dir: ProtocolDirOption = None, as_json: JsonOption = False) -> None:
    """List the built-in protocols and the site's own (--protocol-dir, KETAMINE_PTSD_PROTOCOL_DIR),
    each with its version; a site file that cannot be used says why."""
    dirs = use_protocol_dirs(protocol_dir)
    rows = [
        {"name": name, "version": load_or_fail(name).version, "source": "built-in", "problem": None}
        for name in builtin_protocol_names()
    ]
    rows += [
        {"name": p.name, "version": p.version, "source": p.where, "problem": p.problem}
        for p in site_protocols(dirs)
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        line = f"{row['name']}\t{row['version'] or '?'}\t{row['source']}"
        typer.echo(line + (f"\tNOT USABLE: {row['problem']}" if row["problem"] else ""))


def publish_cmd(
    name: Annotated[str, typer.Argument(help="The protocol whose file now holds the amendment.")],
    reason: Annotated[str, typer.Option("--reason", help="What the amendment changes, and why.")],
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL or SQLite file (default: as for serve)."),
    ] = None,
    protocol_dir: ProtocolDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Publish the protocol file's new version as an amendment in the record (administrator).

    New consents bind to it; patients stay on the version they consented under until they
    re-consent (the patient page says when a re-consent is due)."""
    from ketamine_ptsd.adapters.cli.admin_cmds import open_services, operator, resolve_url
    from ketamine_ptsd.services import ServiceError

    use_protocol_dirs(protocol_dir)
    load_or_fail(name)
    services, database = open_services(resolve_url(db))
    try:
        view = services.protocol_versions.publish(operator(), name, reason=reason)
    except ServiceError as exc:
        fail(str(exc))
    finally:
        database.dispose()
    if as_json:
        print_json(
            {
                "name": view.name,
                "version": view.version,
                "digest": view.digest,
                "reason": view.reason,
            }
        )
    else:
        typer.echo(f"{view.name} {view.version} is in force (sha256 {view.digest[:12]}…)")


def register(app: typer.Typer) -> None:
    protocol_app = typer.Typer(
        help="Show, list and validate protocols (protocols are data).", no_args_is_help=True
    )
    protocol_app.command("show")(show)
    protocol_app.command("validate")(validate_cmd)
    protocol_app.command("list")(list_cmd)
    protocol_app.command("publish")(publish_cmd)
    app.add_typer(protocol_app, name="protocol")
