"""``dose``, ``bp-check`` and ``schedule``: the SYSTEM.md calculator contract, JSON keys included."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app

FIXTURES = Path(__file__).parents[2] / "core" / "protocol" / "fixtures"


def _run(*args: str) -> Any:
    return CliRunner().invoke(build_app(), list(args))


def _json(*args: str) -> dict[str, Any]:
    result = _run(*args, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _one_line_error(result: Any, fragment: str) -> None:
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0]
    assert "Traceback" not in result.output


def test_dose_json_has_the_contract_keys() -> None:
    data = _json("dose", "--protocol", "rct", "--drug", "ketamine", "--weight-kg", "70")
    assert {"dose_mg", "volume_ml", "minutes", "rate_ml_per_h", "arithmetic"} <= set(data)
    assert (data["dose_mg"], data["volume_ml"], data["minutes"], data["rate_ml_per_h"]) == (
        35.0,
        35.0,
        40,
        52.5,
    )
    assert "0.5 mg/kg × 70 kg" in data["arithmetic"]


def test_dose_open_label_with_site_concentration() -> None:
    data = _json(
        "dose",
        "--protocol",
        "clinical",
        "--drug",
        "ketamine",
        "--weight-kg",
        "80",
        "--concentration-mg-per-ml",
        "2",
    )
    assert data["dose_mg"] == 40.0  # 0.5 × 80
    assert data["volume_ml"] == 20.0
    assert data["rate_ml_per_h"] == 30.0


def test_dose_is_the_bedsides_one_rule_in_a_blinded_trial() -> None:
    """Issue 11: midazolam at 70.1 kg was 35.0 mL at the CLI and 35.1 mL at the bedside."""
    from ketamine_ptsd.adapters.protocol_store import load_protocol
    from ketamine_ptsd.core.rules import blinded_dose

    data = _json("dose", "--protocol", "rct", "--drug", "midazolam", "--weight-kg", "70.1")
    bedside = blinded_dose(load_protocol("rct"), "midazolam", 70.1)
    assert (data["volume_ml"], data["rate_ml_per_h"]) == (bedside.volume_ml, 52.7) == (35.1, 52.7)
    assert data["dose_mg"] == bedside.delivered_mg == pytest.approx(3.159)
    refused = _run(
        "dose", "--protocol", "rct", "--drug", "midazolam", "--weight-kg", "80",
        "--concentration-mg-per-ml", "0.1",
    )  # fmt: skip
    _one_line_error(
        refused, "concentration_mg_per_ml: protocol 'rct' gives every arm the same volume"
    )


def test_dose_text_shows_the_arithmetic_in_words() -> None:
    result = _run("dose", "--protocol", "clinical", "--drug", "ketamine", "--weight-kg", "82.4")
    assert result.exit_code == 0, result.output
    assert "41.2 mg" in result.stdout and "61.8 mL/h" in result.stdout
    assert "0.5 mg/kg × 82.4 kg (actual body weight) = 41.2 mg" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--drug", "ketamine", "--weight-kg", "700"), "weight_kg: 700 kg is outside"),
        (
            ("--drug", "ketamine", "--weight-kg", "70", "--concentration-mg-per-ml", "0"),
            "concentration_mg_per_ml",
        ),
        (("--drug", "propofol", "--weight-kg", "70"), "drug: protocol 'rct' doses"),
    ],
)
def test_dose_bad_input_is_one_line_naming_the_field(args: tuple[str, ...], fragment: str) -> None:
    _one_line_error(_run("dose", "--protocol", "rct", *args), fragment)


def test_dose_clinical_pathway_gives_no_midazolam() -> None:
    result = _run("dose", "--protocol", "clinical", "--drug", "midazolam", "--weight-kg", "70")
    _one_line_error(result, "drug:")


def test_unknown_protocol_is_one_line() -> None:
    result = _run("dose", "--protocol", "nosuch", "--drug", "ketamine", "--weight-kg", "70")
    _one_line_error(result, "protocol: 'nosuch' is neither a built-in protocol")


def test_protocol_may_be_a_file_path(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    shutil.copy(FIXTURES / "clinical.toml", path)
    data = _json("dose", "--protocol", str(path), "--drug", "ketamine", "--weight-kg", "60")
    assert data["dose_mg"] == 30.0


def test_inconsistent_protocol_file_is_refused_in_one_line() -> None:
    path = FIXTURES / "twice_weekly_six_infusions.yaml"
    result = _run("dose", "--protocol", str(path), "--drug", "ketamine", "--weight-kg", "70")
    _one_line_error(result, "infusion_count is 6")


def test_bp_check_json_passes_and_reasons() -> None:
    data = _json("bp-check", "--protocol", "rct", "--readings", "150/85,145/80,130/80")
    assert data["passes"] is True
    assert len(data["reasons"]) == 2
    assert data["readings"] == ["150/85", "145/80", "130/80"]


def test_bp_check_fails_on_third_reading_above_140_90() -> None:
    data = _json("bp-check", "--protocol", "rct", "--readings", "150/85,145/92,141/80")
    assert data["passes"] is False
    assert data["failed_at_reading"] == 3
    assert "3 of 3 readings above 140/90 mmHg" in data["reasons"][0]


def test_bp_check_fails_on_second_reading_above_160_90_in_clinic() -> None:
    data = _json("bp-check", "--protocol", "clinical", "--readings", "165/85,162/80")
    assert data["passes"] is False
    assert data["failed_at_reading"] == 2


def test_bp_check_failing_cutoff_is_an_answer_not_an_error() -> None:
    result = _run("bp-check", "--protocol", "rct", "--readings", "170/95,165/92")
    assert result.exit_code == 0
    assert "FAILS" in result.stdout


@pytest.mark.parametrize("readings", ["150-85", "85/150", "150/85,,abc", ""])
def test_bp_check_bad_reading_is_one_line(readings: str) -> None:
    _one_line_error(_run("bp-check", "--protocol", "rct", "--readings", readings), "readings:")


def test_schedule_json_has_infusions_assessments_and_follow_up() -> None:
    data = _json("schedule", "--protocol", "rct", "--first-infusion", "2024-03-04")
    assert data["infusions"] == [
        "2024-03-04",
        "2024-03-06",
        "2024-03-08",
        "2024-03-11",
        "2024-03-13",
        "2024-03-15",
    ]
    names = [a["name"] for a in data["assessments"]]
    assert names == ["baseline", "h24", "week1", "week2"]
    for a in data["assessments"]:
        assert {"name", "target", "window_start", "window_end"} <= set(a)
    week2 = data["assessments"][3]
    assert (week2["target"], week2["window_start"], week2["window_end"]) == (
        "2024-03-18",
        "2024-03-16",
        "2024-03-21",
    )
    assert data["follow_up"][:4] == ["2024-03-25", "2024-04-01", "2024-04-08", "2024-04-15"]
    assert data["follow_up"][-1] == "2024-09-18"


def test_schedule_text_lists_weekdays() -> None:
    result = _run("schedule", "--protocol", "clinical", "--first-infusion", "2024-03-06")
    assert result.exit_code == 0, result.output
    assert "1. Wed 2024-03-06" in result.stdout and "6. Mon 2024-03-18" in result.stdout


@pytest.mark.parametrize(
    ("day", "fragment"),
    [("2024-03-09", "Saturday"), ("04/03/2024", "YYYY-MM-DD"), ("2024-02-30", "YYYY-MM-DD")],
)
def test_schedule_bad_date_is_one_line(day: str, fragment: str) -> None:
    _one_line_error(_run("schedule", "--protocol", "rct", "--first-infusion", day), fragment)
