"""The ``stats`` command group: the statistics engine's public command-line contract (SYSTEM.md).

Sub-commands live in their own modules, each with ``register(stats_app)``:
``stats_mmrm_cmd`` (mmrm), ``stats_misc_cmd`` (km, responders, sequential, power) and
``stats_ordinal_cmd`` (ordinal), ``stats_blinding_cmd`` (blinding) and ``stats_mi_cmd`` (mi).
"""

from __future__ import annotations

import importlib

import typer

__all__ = ["register"]

SUBCOMMAND_MODULES = (
    "stats_mmrm_cmd",
    "stats_misc_cmd",
    "stats_ordinal_cmd",
    "stats_blinding_cmd",
    "stats_mi_cmd",
)


def register(app: typer.Typer) -> None:
    stats_app = typer.Typer(
        help="Analyse a long-format CSV without a database (MMRM, KM, responders, ...).",
        no_args_is_help=True,
    )
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__package__}.{name}":
                continue
            raise
        module.register(stats_app)
    app.add_typer(stats_app, name="stats")
