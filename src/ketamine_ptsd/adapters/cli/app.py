"""Entry point of ``ketamine-ptsd``: builds the Typer app from the command-group modules."""

from __future__ import annotations

import importlib
import os
import time
from pathlib import Path

import typer

__all__ = ["build_app", "command_started_at", "main"]

#: ``time.perf_counter()`` at the moment this process started, when run as ``ketamine-ptsd``
#: (see :func:`main`); None inside another program (tests run commands in their own process).
_STARTED_AT: float | None = None

# Modules that contribute commands through ``register(app)``; each owns one command group.
COMMAND_MODULES = (
    "calculators",  # dose, bp-check, schedule
    "protocol_cmds",  # protocol show / validate
    "stats_cmds",  # the `stats` group: mmrm, km, responders, ordinal, sequential, power
    "score_cmds",  # score INSTRUMENT
    "simulate_cmds",  # simulate power / ...
    "admin_cmds",  # db upgrade, users add, audit verify / rotate-key
    "backup_cmds",  # backup, restore (verified before it replaces anything)
    "main_cmds",  # demo, serve, report
    "serve_cmd",  # serve (the web app and the REST API)
    "export_cmds",  # export (SDTM, REDCap, FHIR, CSV/Parquet), import long
)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="ketamine-ptsd",
        help="Repeated IV ketamine for chronic PTSD: protocol, record and trial-grade analysis.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").register(app)
    return app


def _seconds_since_process_start() -> float:
    """How long this process has run (Linux: its start time in /proc; elsewhere 0, which
    leaves out only the interpreter's own start-up)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22, starttime, in clock ticks after boot
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def command_started_at() -> float | None:
    """``time.perf_counter()`` when the ``ketamine-ptsd`` process started, or None."""
    return _STARTED_AT


def main() -> None:
    global _STARTED_AT
    _STARTED_AT = time.perf_counter() - _seconds_since_process_start()
    build_app()()
