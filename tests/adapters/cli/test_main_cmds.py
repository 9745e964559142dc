"""The README's main job runs end to end without a traceback and shows the worked example."""

from __future__ import annotations

from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app


def test_demo_no_serve_shows_dose_bp_hold_caps5_and_published_figures() -> None:
    result = CliRunner().invoke(build_app(), ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "36 mg" in out and "54 mL/h" in out  # 0.5 mg/kg × 72 kg over 40 min at 1 mg/mL
    assert "FAILS" in out  # third reading above 140/90 holds the infusion
    assert "total: 48" in out
    assert "4.8869" in out  # PROTOCOL.md §10: Yates chi-square 4.89
    assert "0.030367" in out  # PROTOCOL.md §9: nominal 0.0304
