"""``ketamine-ptsd score`` follows the command-line contract of SYSTEM.md.

JSON carries ``total`` and subscales; CAPS-5 ``--items`` takes the 20 severities and the
diagnosis items come from ``--file``; bad input exits non-zero with one line naming the item.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app

SEVERITIES_12 = "2,0,0,0,0,2,0,2,2,0,0,0,0,0,2,2,0,0,0,0"  # just meets B-E, total 12


def run(*args: str) -> Result:
    return CliRunner().invoke(build_app(), ["score", *args])


def test_caps5_items_give_total_and_clusters_as_json() -> None:
    result = run("caps5", "--items", SEVERITIES_12, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["instrument"] == "caps5_past_month"
    assert data["total"] == 12
    assert data["subscales"] == {
        "intrusion": 2,
        "avoidance": 2,
        "negative_cognitions_mood": 4,
        "arousal_reactivity": 4,
    }
    assert data["derived"]["diagnosis"] == "not assessable"
    assert data["derived"]["diagnosis_missing_items"] == ["22", "23", "24", "25"]


def test_caps5_file_supplies_the_diagnosis_items(tmp_path: Path) -> None:
    extra = tmp_path / "caps5.json"
    extra.write_text(json.dumps({"22": 3, "23": 2, "24": 0, "25": 1, "29": 3, "30": 0}))
    result = run("caps5", "--items", SEVERITIES_12, "--file", str(extra), "--json")
    assert result.exit_code == 0, result.output
    derived = json.loads(result.stdout)["derived"]
    assert derived["diagnosis"] == "met"
    assert derived["dissociative_subtype"] == "present"


def test_file_alone_may_hold_every_item(tmp_path: Path) -> None:
    form = tmp_path / "madrs.json"
    form.write_text(json.dumps({str(n): 3 for n in range(1, 11)}))
    result = run("madrs", "--file", str(form), "--json", "--remission-max", "30")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["total"], data["derived"]["remission"]) == (30, True)


def test_text_output_shows_total_and_subscales() -> None:
    result = run("ies-r", "--items", ",".join(["1"] * 22))
    assert result.exit_code == 0, result.output
    assert "total: 22" in result.stdout
    assert "intrusion_sum: 8" in result.stdout
    assert "Weiss" in result.stdout


def test_out_of_range_item_exits_non_zero_naming_it() -> None:
    result = run("caps5", "--items", SEVERITIES_12.replace("2,0,0,0,0", "2,0,0,0,5", 1))
    assert result.exit_code != 0
    assert result.stderr.strip().splitlines() == [
        "error: caps5.item_5: must be 0–4, got 5",
    ]
    assert "Traceback" not in result.output


def test_half_points_are_refused_naming_the_item() -> None:
    result = run("madrs", "--items", "1,1,1,1,1,1,2.5,1,1,1")
    assert result.exit_code != 0
    assert "madrs.item_7" in result.stderr


def test_wrong_number_of_items_is_refused() -> None:
    result = run("caps5", "--items", "1,2,3")
    assert result.exit_code != 0
    assert "20 comma-separated values" in result.stderr


def test_empty_entries_are_unanswered_items_for_the_cssrs_skip_logic() -> None:
    result = run("c-ssrs", "--items", "yes,no,,,,no,", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["derived"]["risk_level"] == "low"
    refused = run("cssrs", "--items", "yes,no,no,,,no,")
    assert refused.exit_code != 0
    assert "cssrs.item_3" in refused.stderr


def test_file_and_items_must_agree(tmp_path: Path) -> None:
    extra = tmp_path / "caps5.json"
    extra.write_text(json.dumps({"1": 4}))
    result = run("caps5", "--items", SEVERITIES_12, "--file", str(extra))
    assert result.exit_code != 0
    assert "caps5.item_1" in result.stderr


def test_unreadable_or_invalid_file_is_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = run("pcl5", "--file", str(broken))
    assert result.exit_code != 0
    assert len(result.stderr.strip().splitlines()) == 1
    missing = run("pcl5", "--file", str(tmp_path / "absent.json"))
    assert missing.exit_code != 0
    assert "cannot read" in missing.stderr


def test_unknown_instrument_and_misplaced_option_are_refused() -> None:
    unknown = run("hamd", "--items", "1")
    assert unknown.exit_code != 0
    assert "unknown instrument" in unknown.stderr
    misplaced = run("madrs", "--items", ",".join(["1"] * 10), "--cutoff", "33")
    assert misplaced.exit_code != 0
    assert "pcl5 only" in misplaced.stderr


def test_no_items_at_all_is_refused() -> None:
    result = run("cgi-s")
    assert result.exit_code != 0
    assert "--items" in result.stderr


def test_pcl5_cutoff_option() -> None:
    result = run(
        "pcl5", "--items", ",".join(["1"] * 11 + ["2"] * 9 + []), "--cutoff", "29", "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["total"], data["derived"]["above_cutoff"]) == (29, True)
