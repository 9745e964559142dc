"""Entry point of ``ketamine-ptsd``: builds the Typer app from the command-group modules."""

from __future__ import annotations

import importlib

import typer

__all__ = ["build_app", "main"]

# Modules that contribute commands through ``register(app)``; each owns one command group.
COMMAND_MODULES = (
    "calculators",  # dose, bp-check, schedule
    "protocol_cmds",  # protocol show / validate
    "stats_cmds",  # the `stats` group: mmrm, km, responders, ordinal, sequential, power
    "score_cmds",  # score INSTRUMENT
    "simulate_cmds",  # simulate power / ...
    "admin_cmds",  # db upgrade, users add, audit verify, backup / restore
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
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__package__}.{name}":
                continue  # command group not built yet
            raise
        module.register(app)
    return app


def main() -> None:
    build_app()()
