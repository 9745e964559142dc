"""`ketamine-ptsd simulate ...`: the public JSON contract of SYSTEM.md and one-line errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def test_simulate_power_prints_the_contract_keys_as_json() -> None:
    code, out, _ = _run(
        "simulate",
        "power",
        "--design",
        "rct",
        "--trials",
        "500",
        "--seed",
        "1",
        "--json",
        "--no-progress",
    )
    assert code == 0, out
    data = json.loads(out)
    for key in ("trials", "power", "power_ci_low", "power_ci_high", "elapsed_s"):
        assert key in data
    assert data["trials"] == 500
    assert data["power_ci_low"] <= data["power"] <= data["power_ci_high"]
    assert 0.7 < data["power"] < 0.95  # the RCT design has about 83 % power
    assert data["elapsed_s"] > 0
    assert data["n_per_arm"] == 15 and data["covariance"] == "cs"


def test_simulate_power_same_seed_same_answer_and_overrides_apply() -> None:
    args = (
        "simulate",
        "power",
        "--trials",
        "300",
        "--seed",
        "5",
        "--json",
        "--no-progress",
        "--n-per-arm",
        "25",
        "--effect-week2",
        "6",
        "--dropout",
        "0.2",
        "--covariance",
        "un",
        "--alpha",
        "0.025",
        "--analysis",
        "both",
    )
    a = json.loads(_run(*args)[1])
    b = json.loads(_run(*args)[1])
    assert a["power"] == b["power"]
    assert a["n_per_arm"] == 25 and a["true_difference"] == 6.0 and a["alpha"] == 0.025
    assert a["covariance"] == "un" and a["analysis"] == "both"
    assert a["dropout_hazard"][0] == 0.0 and a["dropout_hazard"][1] > 0


def test_simulate_power_null_reports_type1() -> None:
    code, out, _ = _run(
        "simulate", "power", "--trials", "400", "--seed", "2", "--null", "--json", "--no-progress"
    )
    assert code == 0
    data = json.loads(out)
    assert data["null"] is True and data["type1"] == data["power"] < 0.12


def test_simulate_power_text_output_and_progress_bar_do_not_break() -> None:
    code, out, _ = _run("simulate", "power", "--trials", "200", "--seed", "3")
    assert code == 0
    assert "power:" in out and "elapsed:" in out


def test_simulate_sample_size_and_sequential_print_json() -> None:
    code, out, _ = _run(
        "simulate",
        "sample-size",
        "--trials",
        "300",
        "--effect-week2",
        "10",
        "--n-max",
        "40",
        "--json",
        "--no-progress",
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["power"] >= data["target_power"] and data["n_total"] == 2 * data["n_per_arm"]
    code, out, _ = _run(
        "simulate",
        "sequential",
        "--trials",
        "300",
        "--information",
        "0.5,1",
        "--spending",
        "obrien-fleming",
        "--json",
        "--no-progress",
    )
    assert code == 0, out
    data = json.loads(out)
    assert [look["n_per_arm"] for look in data["looks"]] == [10, 20]
    assert data["expected_n_total"] <= 40


def test_bad_input_exits_non_zero_with_one_line_naming_the_problem() -> None:
    for args, word in [
        (("--dropout", "1.5"), "dropout"),
        (("--dropout", "abc"), "dropout"),
        (("--design", "nope"), "design"),
        (("--trials", "0"), "trials"),
        (("--covariance", "ar1"), "covariance"),
        (("--alpha", "2"), "alpha"),
    ]:
        code, out, err = _run("simulate", "power", "--no-progress", *args)
        assert code != 0
        assert "Traceback" not in out + err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and word in lines[0], (args, err)
