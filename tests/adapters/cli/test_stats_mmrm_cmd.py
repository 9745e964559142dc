"""``ketamine-ptsd stats mmrm``: the SYSTEM.md JSON contract, the readable table and errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app

KEYS = {
    "n_subjects",
    "n_observations",
    "covariance_structure",
    "reml_loglik",
    "aic",
    "bic",
    "covariance_parameters",
    "fixed_effects",
    "type3",
    "lsmeans",
    "differences",
}


@pytest.fixture
def rct_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(9)
    rows = []
    for i in range(30):
        arm = "ketamine" if i < 15 else "midazolam"
        b = rng.normal(0, 6)
        for v, visit in enumerate(("baseline", "week1", "week2")):
            y = 42 - v * (9 if arm == "ketamine" else 3) + b + rng.normal(0, 7)
            rows.append({"pid": f"P{i}", "arm": arm, "visit": visit, "caps5": y})
    df = pd.DataFrame(rows)
    df.loc[len(df) - 1, "caps5"] = np.nan
    path = tmp_path / "rct.csv"
    df.to_csv(path, index=False)
    return path


BASE = [
    "stats",
    "mmrm",
    "--subject",
    "pid",
    "--group",
    "arm",
    "--time",
    "visit",
    "--outcome",
    "caps5",
    "--time-order",
    "baseline,week1,week2",
]


def test_json_has_every_contract_key_and_rct_df(rct_csv: Path) -> None:
    out = CliRunner().invoke(build_app(), [*BASE[:2], str(rct_csv), *BASE[2:], "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert set(data) >= KEYS
    assert (data["n_subjects"], data["n_observations"]) == (30, 89)
    assert set(data["covariance_parameters"]) == {"between", "within"}
    t3 = {r["effect"]: r for r in data["type3"]}
    assert set(t3) == {"group", "time", "group:time"}
    assert (t3["group:time"]["num_df"], t3["group:time"]["den_df"]) == (2, 55.0)
    assert {tuple(r) for r in (sorted(x) for x in data["differences"])} == {
        tuple(sorted(["time", "estimate", "se", "df", "t", "p", "d", "d_ci_low", "d_ci_high"]))
    }
    assert len(data["lsmeans"]) == 6


@pytest.mark.parametrize("cov", ["un", "ar1", "csh", "toep"])
@pytest.mark.parametrize("ddf", ["satterthwaite", "kenward-roger", "residual"])
def test_every_structure_and_ddf_method_runs(rct_csv: Path, cov: str, ddf: str) -> None:
    args = [*BASE[:2], str(rct_csv), *BASE[2:], "--covariance", cov, "--ddf", ddf, "--json"]
    out = CliRunner().invoke(build_app(), args)
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["covariance_structure"] == cov


def test_readable_table_without_json(rct_csv: Path) -> None:
    out = CliRunner().invoke(build_app(), [*BASE[:2], str(rct_csv), *BASE[2:]])
    assert out.exit_code == 0, out.output
    assert "Type 3" in out.stdout and "LS means" in out.stdout


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--outcome", "missing_col"], "missing_col"),
        (["--group-order", "ketamine,placebo"], "placebo"),
        (["--covariance", "spherical"], "--covariance"),
        (["--ddf", "containment"], "--ddf"),
        (["--type3-basis", "helmert"], "--type3-basis"),
    ],
)
def test_errors_are_one_line_and_exit_non_zero(
    rct_csv: Path, extra: list[str], needle: str
) -> None:
    out = CliRunner().invoke(build_app(), [*BASE[:2], str(rct_csv), *BASE[2:], *extra])
    assert out.exit_code != 0
    assert needle in out.output
    assert "Traceback" not in out.output
    assert len(out.output.strip().splitlines()) == 1


@pytest.mark.parametrize("bad", ["inf", "1e308", "-Infinity"])
def test_non_finite_or_huge_outcome_is_one_line_error_naming_column_and_csv_row(
    rct_csv: Path, tmp_path: Path, bad: str
) -> None:
    lines = rct_csv.read_text().splitlines()
    header = lines[0].split(",")
    col = header.index("caps5")
    cells = lines[4].split(",")  # line 5 of the file
    cells[col] = bad
    lines[4] = ",".join(cells)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    args = [*BASE[:2], str(path), *BASE[2:], "--covariance", "un", "--json"]
    out = CliRunner().invoke(build_app(), args)
    assert out.exit_code == 2, out.output
    assert out.stdout == ""
    assert len(out.output.strip().splitlines()) == 1
    assert "caps5" in out.output and "row 5" in out.output
    assert "Traceback" not in out.output


def test_type3_basis_changes_only_multi_df_satterthwaite_df(rct_csv: Path) -> None:
    """--type3-basis reference (SAS's rows) vs the default orthonormal rows: same F, and the
    df of the 2-df time and group:time tests differ; the 1-df group test does not."""
    common = [*BASE[:2], str(rct_csv), *BASE[2:], "--covariance", "un", "--ddf", "satterthwaite"]
    runs = {}
    for basis in ("orthonormal", "reference"):
        out = CliRunner().invoke(build_app(), [*common, "--type3-basis", basis, "--json"])
        assert out.exit_code == 0, out.output
        data = json.loads(out.stdout)
        assert data["type3_basis"] == basis
        runs[basis] = {r["effect"]: r for r in data["type3"]}
    ortho, sas = runs["orthonormal"], runs["reference"]
    assert sas["group"]["den_df"] == pytest.approx(ortho["group"]["den_df"], rel=1e-12)
    for effect in ("group", "time", "group:time"):
        assert sas[effect]["F"] == pytest.approx(ortho[effect]["F"], rel=1e-9)
    assert abs(sas["time"]["den_df"] - ortho["time"]["den_df"]) > 1e-3


def _more_missing(rct_csv: Path, tmp_path: Path) -> Path:
    """The fixture with four more missing visits: unbalanced enough that a basis-dependent df
    would show (with SAS's reference rows, UN gives time df 25.445 with baseline first and
    25.422 with week2 first)."""
    frame = pd.read_csv(rct_csv)
    frame.loc[[3, 10, 20, 40], "caps5"] = np.nan
    path = tmp_path / "more_missing.csv"
    frame.to_csv(path, index=False)
    return path


def _type3_by_order(path: Path, extra: list[str]) -> list[dict[str, dict[str, float]]]:
    base = [*BASE[:2], str(path), *BASE[2:-2], *extra, "--json"]
    runs = []
    for time_order, group_order in (
        ("baseline,week1,week2", "ketamine,midazolam"),
        ("week2,baseline,week1", "ketamine,midazolam"),
        ("week1,week2,baseline", "midazolam,ketamine"),
    ):
        args = [*base, "--time-order", time_order, "--group-order", group_order]
        out = CliRunner().invoke(build_app(), args)
        assert out.exit_code == 0, out.output
        runs.append({r["effect"]: r for r in json.loads(out.stdout)["type3"]})
    return runs


@pytest.mark.parametrize("cov", ["cs", "un"])
@pytest.mark.parametrize("ddf", ["satterthwaite", "kenward-roger"])
def test_type3_den_df_do_not_depend_on_time_or_group_order_flags(
    rct_csv: Path, tmp_path: Path, cov: str, ddf: str
) -> None:
    """The 2-df time and group:time tests: same hypothesis whatever the level order."""
    runs = _type3_by_order(_more_missing(rct_csv, tmp_path), ["--covariance", cov, "--ddf", ddf])
    for other in runs[1:]:
        for effect in ("group", "time", "group:time"):
            assert other[effect]["den_df"] == pytest.approx(runs[0][effect]["den_df"], rel=1e-6)
            assert other[effect]["F"] == pytest.approx(runs[0][effect]["F"], rel=1e-6)


def test_sas_reference_rows_do_depend_on_the_reference_level(rct_csv: Path, tmp_path: Path) -> None:
    """The check above can fail: SAS's rows give another df when the first level changes."""
    extra = ["--covariance", "un", "--ddf", "satterthwaite", "--type3-basis", "reference"]
    runs = _type3_by_order(_more_missing(rct_csv, tmp_path), extra)
    assert abs(runs[1]["time"]["den_df"] - runs[0]["time"]["den_df"]) > 0.01
