"""Main commands: ``demo`` (the README's main job).

Until the synthetic trial runs through the record (the demo issue), the demo is a guided tour of
what exists, run through the same commands a clinician or statistician types: the protocol, a
72 kg patient's dose and pump rate, an infusion day blocked by the blood-pressure cutoff, a scored
CAPS-5, the schedule, and the RCT's published responder and design figures re-derived by the
statistics engine.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.rule import Rule

__all__ = ["register"]

# Each step: a heading, then the exact command-line arguments, so the tour doubles as a worked
# example a user can copy.
TOUR: tuple[tuple[str, list[str]], ...] = (
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
    (
        "The RCT schedule from a first infusion on Monday 2026-11-23 (§5)",
        ["schedule", "--protocol", "rct", "--first-infusion", "2026-11-23"],
    ),
    (
        "Responders 10/15 vs 3/15: Yates chi-square 4.89 and NNT 2.1 as published (§10)",
        ["stats", "responders", "--counts", "10,5,3,12"],
    ),
    (
        "The a-priori power statement: d = 0.74, two-sided alpha 0.025 (§9)",
        ["stats", "power", "--test", "paired", "--d", "0.74", "--alpha", "0.025", "--n", "20"],
    ),
    (
        "Classical Pocock boundary, two looks: the nominal 0.0304 of the interim (§9)",
        [
            "stats",
            "sequential",
            "--alpha",
            "0.05",
            "--sides",
            "1",
            "--information",
            "0.5,1",
            "--boundary",
            "pocock",
        ],
    ),
)


def demo(
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Do not start the web app afterwards.")
    ] = False,
) -> None:
    """Run the demo: a guided tour of the protocol, the clinical rules and the statistics."""
    from .app import build_app

    console = Console()
    command = typer.main.get_command(build_app())
    for heading, args in TOUR:
        console.print(Rule(heading))
        console.print(f"[dim]$ ketamine-ptsd {' '.join(args)}[/dim]")
        try:
            command.main(args, prog_name="ketamine-ptsd", standalone_mode=False)
        except SystemExit as exc:  # a command that exits non-zero stops the tour
            if exc.code not in (0, None):
                raise
    console.print(Rule())
    if not no_serve:
        console.print("The web app is not part of this build yet; nothing to serve.")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
