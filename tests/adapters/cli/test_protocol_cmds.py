"""``protocol show`` / ``protocol validate`` / ``protocol list``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app

FIXTURES = Path(__file__).parents[2] / "core" / "protocol" / "fixtures"
BUILTIN = Path(__file__).parents[3] / "src" / "ketamine_ptsd" / "protocols"


def _run(*args: str) -> Any:
    return CliRunner().invoke(build_app(), list(args))


def test_validate_rejects_the_literal_clinical_schedule_with_non_zero_exit() -> None:
    result = _run("protocol", "validate", str(FIXTURES / "twice_weekly_six_infusions.yaml"))
    assert result.exit_code == 1
    assert "1 problem" in result.stdout
    assert "2 infusions per week × 2 weeks = 4, but infusion_count is 6" in result.stdout


@pytest.mark.parametrize("name", ["rct.yaml", "clinical.yaml"])
def test_validate_accepts_the_builtin_files(name: str) -> None:
    result = _run("protocol", "validate", str(BUILTIN / name))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("valid")


def test_validate_json_lists_every_problem(tmp_path: Path) -> None:
    text = (BUILTIN / "rct.yaml").read_text("utf-8")
    text = text.replace("infusion_count: 6", "infusion_count: 5")
    text = text.replace("{minute: 120, instruments", "{minute: 150, instruments")
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    result = _run("protocol", "validate", str(path), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False
    assert len(data["problems"]) >= 2
    joined = "\n".join(data["problems"])
    assert "infusion_count is 5" in joined and "minute 150" in joined


def test_validate_reports_structural_problems_too(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nversion: '1'\n")
    result = _run("protocol", "validate", str(path))
    assert result.exit_code == 1
    assert "title: Field required" in result.stdout


def test_validate_missing_file_is_one_line() -> None:
    result = _run("protocol", "validate", "/no/such/file.yaml")
    assert result.exit_code != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "does not exist" in result.stderr


def test_show_prints_the_schedule_rationale_of_the_clinical_pathway() -> None:
    result = _run("protocol", "show", "clinical")
    assert result.exit_code == 0, result.output
    assert "6 infusions, 3 a week for 2 weeks" in result.stdout
    assert "twice weekly for 2 weeks (total of 6 infusions)" in result.stdout
    assert "observe 120 min from infusion end" in result.stdout


def test_show_json_is_the_full_protocol() -> None:
    result = _run("protocol", "show", "rct", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["name"] == "rct"
    assert data["dosing"]["midazolam"]["mg_per_kg"] == 0.045
    assert data["analysis"]["covariance"] == "cs"
    assert data["analysis"]["ddf"] == "between-within"


def test_show_unknown_protocol_is_one_line() -> None:
    result = _run("protocol", "show", "nosuch")
    assert result.exit_code != 0
    assert len(result.stderr.strip().splitlines()) == 1


def test_list_names_the_builtin_protocols() -> None:
    result = _run("protocol", "list")
    names = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert names == ["clinical", "rct"]
    assert all(line.endswith("\tbuilt-in") for line in result.stdout.splitlines())


def _site_folder(tmp_path: Path) -> Path:
    """A site's folder: its own version of the trial, and a file that cannot be used."""
    text = (BUILTIN / "rct.yaml").read_text(encoding="utf-8")
    text = text.replace("\nname: rct\n", "\nname: yal_rct\n", 1)
    assert "\nname: yal_rct\n" in text
    lines = [
        'version: "2.0-site"' if line.startswith("version:") else line for line in text.splitlines()
    ]
    (tmp_path / "yal_rct.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "half_done.yaml").write_text("name: half_done\n", encoding="utf-8")
    return tmp_path


def test_protocol_list_shows_the_sites_protocols_with_their_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: a site's own protocols, found by --protocol-dir or KETAMINE_PTSD_PROTOCOL_DIR."""
    folder = _site_folder(tmp_path)
    result = _run("protocol", "list", "--protocol-dir", str(folder), "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["rct"]["source"] == "built-in" and rows["rct"]["version"]
    assert rows["yal_rct"]["version"] == "2.0-site" and rows["yal_rct"]["problem"] is None
    assert rows["half_done"]["problem"] and "half_done.yaml" in rows["half_done"]["source"]
    monkeypatch.setenv("KETAMINE_PTSD_PROTOCOL_DIR", str(folder))
    text = _run("protocol", "list")
    assert "yal_rct\t2.0-site" in text.stdout and "NOT USABLE" in text.stdout
    dose = _run(
        "dose", "--protocol", "yal_rct", "--drug", "ketamine", "--weight-kg", "70", "--json"
    )
    assert dose.exit_code == 0 and json.loads(dose.stdout)["protocol"] == "yal_rct"


def test_a_missing_protocol_folder_is_one_line(tmp_path: Path) -> None:
    result = _run("protocol", "list", "--protocol-dir", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "protocol_dir" in lines[0] and "nowhere" in lines[0]
