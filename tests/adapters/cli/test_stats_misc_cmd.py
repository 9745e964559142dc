"""``ketamine-ptsd stats km | responders | sequential | power``: the SYSTEM.md contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app

REFERENCE = Path(__file__).parents[2] / "reference"
RUNNER = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = RUNNER.invoke(build_app(), ["stats", *args])
    return result.exit_code, result.stdout, result.stderr


def _json(*args: str) -> dict[str, object]:
    code, out, err = _run(*args, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


def test_responders_json_has_contract_keys_and_protocol_values() -> None:
    """PROTOCOL.md §10: chi-square 4.89 (Yates), p = 0.03, NNT 2.1."""
    data = _json("responders", "--counts", "10,5,3,12")
    for key in (
        "chi2_pearson",
        "p_pearson",
        "chi2_yates",
        "p_yates",
        "p_fisher",
        "risk_difference",
        "risk_difference_ci_low",
        "risk_difference_ci_high",
        "nnt",
        "nnt_ci_low",
        "nnt_ci_high",
    ):
        assert isinstance(data[key], float), key
    assert round(data["chi2_yates"], 2) == 4.89  # type: ignore[arg-type]
    assert round(data["p_yates"], 2) == 0.03  # type: ignore[arg-type]
    assert round(data["nnt"], 1) == 2.1  # type: ignore[arg-type]
    assert data["ci_method"] == "newcombe"


def test_responders_text_names_the_statistics() -> None:
    code, out, _ = _run("responders", "--counts", "10,5,3,12")
    assert code == 0
    assert "Yates chi-square 4.8869" in out
    assert "NNT 2.14" in out


def test_responders_equal_arms_give_null_nnt() -> None:
    data = _json("responders", "--counts", "5,5,5,5")
    assert data["nnt"] is None


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--counts", "10,5,3"], "--counts takes 4"),
        (["--counts", "10,5,x,12"], "B_RESP"),
        (["--counts", "0,0,3,12"], "arm A has no patients"),
        ([], "--counts is required"),
        (["--counts", "10,5,3,12", "--ci", "exact"], "--ci must be newcombe"),
    ],
)
def test_responders_bad_input_is_one_line(args: list[str], needle: str) -> None:
    code, _, err = _run("responders", *args)
    assert code != 0
    assert len(err.strip().splitlines()) == 1
    assert needle in err


def test_km_json_reproduces_protocol_durability() -> None:
    """PROTOCOL.md §8: median 27.5, quartiles 23 and 32; without --group one group 'all'."""
    path = REFERENCE / "survival" / "rct_durability.csv"
    data = _json("km", str(path), "--time", "days", "--event", "lost")
    assert "logrank" not in data
    (group,) = data["groups"]  # type: ignore[misc]
    assert group["group"] == "all"
    assert (group["n"], group["events"]) == (10, 8)
    assert (group["median"], group["q25"], group["q75"]) == (27.5, 23.0, 32.0)
    assert group["median_ci_low"] == 23.0
    assert group["median_ci_high"] is None  # not reached by the upper band (R: NA)
    assert group["curve"][0] == {
        "time": 14.0,
        "survival": 0.9,
        "at_risk": 10,
        "events": 1,
        "censored": 0,
        "ci_low": pytest.approx(0.732011642743993),
        "ci_high": 1.0,
    }


def test_km_with_groups_reports_logrank_as_survdiff() -> None:
    path = REFERENCE / "survival" / "seeded.csv"
    data = _json("km", str(path), "--time", "time", "--event", "event", "--group", "arm")
    assert [g["group"] for g in data["groups"]] == ["a", "b", "c"]  # type: ignore[attr-defined]
    logrank = data["logrank"]
    assert logrank["df"] == 2  # type: ignore[index]
    assert logrank["chi2"] == pytest.approx(1.32462399766601, abs=1e-9)  # type: ignore[index]
    code, out, _ = _run("km", str(path), "--time", "time", "--event", "event", "--group", "arm")
    assert code == 0
    assert "Log-rank chi-square 1.3246 on 2 df" in out


def test_km_bad_input_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("t,e\n1,1\n2,yes\n", encoding="utf-8")
    for args, needle in (
        ([str(bad), "--time", "t", "--event", "e"], "row 3 must be 1 (event) or 0"),
        ([str(bad), "--time", "x", "--event", "e"], "column 'x' not in bad.csv"),
        ([str(tmp_path / "none.csv"), "--time", "t", "--event", "e"], "no such file"),
        ([str(bad), "--event", "e"], "--time is required"),
    ):
        code, _, err = _run("km", *args)
        assert code != 0
        assert len(err.strip().splitlines()) == 1, err
        assert needle in err


def test_sequential_json_looks_for_rct_interim_design() -> None:
    """PROTOCOL.md §9: nominal alpha 0.0304 at the interim (classical Pocock, 2 looks)."""
    data = _json(
        "sequential",
        "--alpha",
        "0.05",
        "--sides",
        "1",
        "--information",
        "0.5,1",
        "--boundary",
        "pocock",
    )
    looks = data["looks"]
    assert [set(lk) for lk in looks] == [  # type: ignore[attr-defined]
        {"information", "cumulative_alpha", "nominal_alpha", "z"}
    ] * 2
    assert round(looks[0]["nominal_alpha"], 4) == 0.0304  # type: ignore[index]


def test_sequential_spending_matches_rpact_asp() -> None:
    """rpact asP, two-sided 0.05, t = (0.75, 1): z 2.03951, 2.25820."""
    data = _json(
        "sequential",
        "--alpha",
        "0.05",
        "--sides",
        "2",
        "--information",
        "0.75,1",
        "--spending",
        "pocock",
    )
    zs = [lk["z"] for lk in data["looks"]]  # type: ignore[attr-defined]
    assert zs == pytest.approx([2.03950706, 2.25819892], abs=1e-6)
    code, out, _ = _run(
        "sequential",
        "--alpha",
        "0.05",
        "--sides",
        "2",
        "--information",
        "0.75,1",
        "--spending",
        "pocock",
    )
    assert code == 0 and "nominal_alpha" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--alpha", "0.05", "--sides", "2", "--information", "0.5,1"], "exactly one of"),
        (
            ["--alpha", "x", "--sides", "2", "--information", "1", "--boundary", "pocock"],
            "--alpha must be a number",
        ),
        (
            ["--alpha", "0.05", "--sides", "3", "--information", "1", "--boundary", "pocock"],
            "--sides",
        ),
        (
            ["--alpha", "0.05", "--sides", "2", "--information", "0.5,0.8", "--spending", "pocock"],
            "information 1",
        ),
        (
            ["--alpha", "0.05", "--sides", "2", "--information", "1", "--spending", "linear"],
            "--spending",
        ),
    ],
)
def test_sequential_bad_input_is_one_line(args: list[str], needle: str) -> None:
    code, _, err = _run("sequential", *args)
    assert code != 0
    assert len(err.strip().splitlines()) == 1
    assert needle in err


def test_power_json_for_protocol_a_priori_statement() -> None:
    """PROTOCOL.md §9: paired t, d = 0.74, two-sided alpha 0.025 → n = 20 (power 0.801)."""
    data = _json("power", "--test", "paired", "--d", "0.74", "--alpha", "0.025", "--power", "0.8")
    assert data["mode"] == "sample-size"
    assert data["n"] == 20
    data = _json("power", "--test", "paired", "--d", "0.74", "--alpha", "0.025", "--n", "20")
    assert data["power"] == pytest.approx(0.8010792210854, abs=1e-9)
    code, out, _ = _run(
        "power", "--test", "two-sample", "--d", "0.74", "--alpha", "0.025", "--n", "20"
    )
    assert code == 0 and "power 0.5085" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--d", "0.5", "--n", "10"], "--test is required"),
        (["--test", "paired", "--d", "0.5"], "exactly one of --n"),
        (["--test", "crossover", "--d", "0.5", "--n", "10"], "--test"),
        (["--test", "paired", "--d", "big", "--n", "10"], "--d must be a number"),
        (["--test", "paired", "--d", "0.5", "--n", "1"], "--n"),
    ],
)
def test_power_bad_input_is_one_line(args: list[str], needle: str) -> None:
    code, _, err = _run("power", *args)
    assert code != 0
    assert len(err.strip().splitlines()) == 1
    assert needle in err
