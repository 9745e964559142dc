"""Entry point of ``ketamine-ptsd``: builds the Typer app from the command-group modules."""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

__all__ = ["OneLineErrors", "build_app", "command_started_at", "main"]

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
    "export_cmds",  # export (SDTM, ADaM, ODM, REDCap, FHIR, CSV/Parquet), import long / odm / redcap
    "meddra_cmds",  # meddra load / uncoded / code (a site's own MedDRA release)
)


#: Click's exception base, as the Click that Typer runs on defines it (Typer vendors its own
#: copy, so the installed ``click`` package's classes would not match): found from Typer's
#: public ``BadParameter``.
_CLICK_EXCEPTION: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)


class OneLineErrors(TyperGroup):
    """The root command group, with Click's usage errors as one line (SYSTEM.md: "bad input
    exits non-zero with one line naming the problem"): ``error: Invalid value for
    '--weight-kg': 'abc' is not a valid float.`` and exit 2, instead of Typer's boxed usage
    panel. Help (``--help``, a group called without a command) prints as usual."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except _CLICK_EXCEPTION as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # a group without a command: help
                exc.show()  # type: ignore[attr-defined]
            else:
                message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
                sys.stderr.write(f"error: {message}\n")
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        except typer.Abort:
            sys.stderr.write("error: aborted\n")
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


def build_app() -> typer.Typer:
    app = typer.Typer(
        cls=OneLineErrors,
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
