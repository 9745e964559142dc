"""Clinical calculators: ``dose``, ``bp-check`` and ``schedule`` (SYSTEM.md "Clinical calculators
on the command line"; PROTOCOL.md §4–§6).

Each command reads a protocol (built-in name or a file path), calls a pure rule, and prints a
readable answer, or JSON with ``--json``. Bad input exits non-zero with one line naming the
problem. A blood-pressure check that *fails* is an answer, not an error: it exits 0 with
``passes: false``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from ketamine_ptsd.adapters.protocol_store import load_protocol, protocol_dirs
from ketamine_ptsd.core.errors import InvalidInput, ProtocolInvalid
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import (
    administered_dose,
    check_bp_cutoff,
    parse_bp_readings,
    plan_schedule,
)

from .output import fail, print_json

__all__ = ["register"]

ProtocolOption = Annotated[
    str,
    typer.Option("--protocol", help="Built-in protocol (rct, clinical) or a protocol file path."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
ProtocolDirOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--protocol-dir",
        help="A folder of the site's own protocols (repeatable; also KETAMINE_PTSD_PROTOCOL_DIR).",
    ),
]

#: The site's protocol folders of this command (``--protocol-dir`` and the environment).
_SITE_DIRS: list[Path] = []


def use_protocol_dirs(extra: list[Path] | None = None) -> tuple[Path, ...]:
    """Resolve the site's protocol folders for this command (one line if one is missing)."""
    try:
        dirs = protocol_dirs(extra or ())
    except InvalidInput as exc:
        fail(f"{exc.field}: {exc.message}")
    _SITE_DIRS[:] = dirs
    return dirs


def protocols(name: str) -> Protocol:
    """The protocol ``name`` from the built-in ones or the site's folders (services use this)."""
    return load_protocol(name, _SITE_DIRS or protocol_dirs())


def load_or_fail(name_or_path: str) -> Protocol:
    """The protocol, or one line naming what is wrong with it."""
    try:
        return load_protocol(name_or_path, _SITE_DIRS or protocol_dirs())
    except InvalidInput as exc:
        fail(f"{exc.field}: {exc.message}")
    except ProtocolInvalid as exc:
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        fail(f"invalid protocol: {exc.problems[0]}{more}")


def _num(x: float) -> str:
    return f"{x:.6g}"


def dose(
    protocol: ProtocolOption,
    drug: Annotated[str, typer.Option("--drug", help="ketamine or midazolam.")],
    weight_kg: Annotated[float, typer.Option("--weight-kg", help="Body weight in kg.")],
    concentration_mg_per_ml: Annotated[
        float | None,
        typer.Option(
            "--concentration-mg-per-ml",
            help="Concentration of the prepared solution; default: the protocol's.",
        ),
    ] = None,
    height_cm: Annotated[
        float | None,
        typer.Option("--height-cm", help="Only for protocols dosing on ideal/adjusted weight."),
    ] = None,
    sex: Annotated[
        str | None,
        typer.Option("--sex", help="female or male; only for ideal/adjusted weight."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Dose (mg), volume (mL), minutes and pump rate (mL/h) from weight (PROTOCOL.md §4)."""
    p = load_or_fail(protocol)
    if sex is not None and sex not in ("female", "male"):
        fail(f"sex: must be female or male, not {sex!r}")
    try:
        r = administered_dose(
            p,
            drug,
            weight_kg,
            concentration_mg_per_ml,
            height_cm=height_cm,
            sex=sex,  # type: ignore[arg-type]
        )
    except InvalidInput as exc:
        fail(f"{exc.field}: {exc.message}")
    if as_json:
        print_json(r)
        return
    typer.echo(f"{r.drug} ({r.protocol}), {_num(r.weight_kg)} kg")
    typer.echo(f"  dose:   {_num(r.dose_mg)} mg")
    typer.echo(f"  volume: {_num(r.volume_ml)} mL at {_num(r.concentration_mg_per_ml)} mg/mL")
    typer.echo(f"  rate:   {_num(r.rate_ml_per_h)} mL/h over {r.minutes} min")
    typer.echo(f"  {r.arithmetic}")


def bp_check(
    protocol: ProtocolOption,
    readings: Annotated[
        str,
        typer.Option("--readings", help="Readings in order taken, e.g. 150/85,145/92,138/88."),
    ],
    as_json: JsonOption = False,
) -> None:
    """Pre-infusion blood-pressure cutoff with the protocol's limits (PROTOCOL.md §6)."""
    p = load_or_fail(protocol)
    try:
        series = parse_bp_readings(readings)
        result = check_bp_cutoff(series, p.pre_infusion.bp_cutoff)
    except InvalidInput as exc:
        fail(f"{exc.field}: {exc.message}")
    if as_json:
        print_json(
            {
                "protocol": p.name,
                "passes": result.passes,
                "reasons": list(result.reasons),
                "readings": [str(r) for r in result.readings],
                "failed_at_reading": result.failed_at_reading,
            }
        )
        return
    verdict = "PASSES" if result.passes else "FAILS"
    typer.echo(f"Blood-pressure cutoff ({p.name}): {verdict}")
    for reason in result.reasons:
        typer.echo(f"  - {reason}")


def _schedule_payload(p: Protocol, first: dt.date) -> dict[str, Any]:
    plan = plan_schedule(p, first)
    return {
        "protocol": p.name,
        "first_infusion": first.isoformat(),
        "infusions": [d.isoformat() for d in plan.infusions],
        "assessments": [
            {
                "name": a.name,
                "label": a.label,
                "target": a.target.isoformat(),
                "window_start": a.window_start.isoformat(),
                "window_end": a.window_end.isoformat(),
                "instruments": list(a.instruments),
            }
            for a in plan.assessments
        ],
        "follow_up": [v.target.isoformat() for v in plan.follow_up],
        "follow_up_visits": [
            {
                "name": v.name,
                "target": v.target.isoformat(),
                "window_start": v.window_start.isoformat(),
                "window_end": v.window_end.isoformat(),
            }
            for v in plan.follow_up
        ],
    }


def schedule(
    protocol: ProtocolOption,
    first_infusion: Annotated[
        str, typer.Option("--first-infusion", help="Date of infusion 1, YYYY-MM-DD.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Infusion dates, assessment windows and follow-up dates (PROTOCOL.md §5, §8)."""
    p = load_or_fail(protocol)
    try:
        first = dt.date.fromisoformat(first_infusion.strip())
    except ValueError:
        fail(f"first-infusion: {first_infusion!r} is not a date in YYYY-MM-DD form")
    try:
        payload = _schedule_payload(p, first)
    except InvalidInput as exc:
        fail(f"{exc.field}: {exc.message}")
    if as_json:
        print_json(payload)
        return

    def day(text: str) -> str:
        return dt.date.fromisoformat(text).strftime("%a %Y-%m-%d")

    typer.echo(f"Schedule ({p.name}) from {day(payload['first_infusion'])}")
    typer.echo("Infusions:")
    for i, d in enumerate(payload["infusions"], start=1):
        typer.echo(f"  {i}. {day(d)}")
    typer.echo("Assessments (target; window):")
    for a in payload["assessments"]:
        typer.echo(
            f"  {a['label']}: {day(a['target'])}; {a['window_start']} to {a['window_end']}"
            f" [{', '.join(a['instruments'])}]"
        )
    qualifier = " (responders only)" if p.follow_up.responders_only else ""
    typer.echo(f"Follow-up{qualifier}:")
    for v in payload["follow_up_visits"]:
        typer.echo(f"  {v['name']}: {day(v['target'])}")


def register(app: typer.Typer) -> None:
    app.command("dose")(dose)
    app.command("bp-check")(bp_check)
    app.command("schedule")(schedule)
