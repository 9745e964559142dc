"""``ketamine-ptsd stats blinding``: JSON contract, readable text and one-line errors."""

from __future__ import annotations

import json

import pytest
from click.testing import Result
from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app
from ketamine_ptsd.core.stats.blinding import blinding_indices

COUNTS = "ketamine:8,3,4;midazolam:5,6,4"


def _run(*args: str) -> Result:
    return CliRunner().invoke(build_app(), ["stats", "blinding", *args])


def test_json_contract_and_numbers_equal_the_core() -> None:
    out = _run("--counts", COUNTS, "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert set(data) == {"bang", "james", "level"}
    core = blinding_indices(["ketamine", "midazolam"], [[8, 3, 4], [5, 6, 4]])
    assert [b["group"] for b in data["bang"]] == ["ketamine", "midazolam"]
    for ours, ref in zip(data["bang"], core.bang, strict=True):
        assert set(ours) == {"group", "n", "index", "se", "ci_low", "ci_high"}
        assert ours["n"] == ref.n == 15
        for key in ("index", "se", "ci_low", "ci_high"):
            assert ours[key] == pytest.approx(getattr(ref, key), rel=1e-15)
    assert set(data["james"]) == {"index", "se", "ci_low", "ci_high"}
    assert data["james"]["index"] == pytest.approx(core.james.index, rel=1e-15)
    assert data["bang"][0]["index"] == pytest.approx(5 / 15)


def test_readable_text_names_both_indices() -> None:
    out = _run("--counts", COUNTS)
    assert out.exit_code == 0, out.output
    assert "ketamine" in out.stdout and "midazolam" in out.stdout
    assert "Bang" in out.stdout and "James" in out.stdout and "0.333" in out.stdout


def test_undefined_james_index_is_json_null() -> None:
    out = _run("--counts", "a:4,0,1;b:0,0,3", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["james"]["index"] is None


@pytest.mark.parametrize(
    ("counts", "needle"),
    [
        ("ketamine:8,3;midazolam:5,6,4", "'ketamine'"),
        ("ketamine:8,x,4;midazolam:5,6,4", "'x'"),
        ("ketamine:8,3,4", "two arms"),
        ("a:1,1,1;b:1,1,1;c:1,1,1", "two arms"),
        ("a:1,1,1;b:-1,1,1", "-1"),
        ("a 1,1,1;b:1,1,1", "'a 1,1,1'"),
        ("a:0,0,0;b:1,1,1", "no respondents"),
        ("a:1,1,1;a:1,1,1", "twice"),
        (";", "no arms"),
    ],
)
def test_bad_counts_are_one_line_naming_the_field(counts: str, needle: str) -> None:
    out = _run("--counts", counts, "--json")
    assert out.exit_code == 2
    assert out.stdout == ""
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --counts")
    assert needle in lines[0]
    assert "Traceback" not in out.output


def test_stats_help_lists_blinding() -> None:
    out = CliRunner().invoke(build_app(), ["stats", "--help"])
    assert out.exit_code == 0 and "blinding" in out.stdout
