"""The console command wires every command group and prints help without a traceback."""

from __future__ import annotations

from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app


def test_help_lists_the_command_groups() -> None:
    result = CliRunner().invoke(build_app(), ["--help"])
    assert result.exit_code == 0, result.output
    assert "ketamine-ptsd" in result.output or "Usage" in result.output
