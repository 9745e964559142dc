"""``ketamine-ptsd stats ordinal``: the SYSTEM.md contract for the CGI model (PROTOCOL.md §9)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app

REF_DIR = Path(__file__).parents[2] / "reference" / "ordinal"
REFERENCE: dict[str, Any] = json.loads((REF_DIR / "reference.json").read_text())
RUNNER = CliRunner()
SMALL = str(REF_DIR / "cgi_small.csv")
RSPL_DIR = Path(__file__).parents[2] / "reference" / "ordinal_rspl"
COLUMNS = ("--subject", "subject", "--group", "arm", "--time", "visit", "--outcome", "cgi")


def _run(*args: str) -> tuple[int, str, str]:
    result = RUNNER.invoke(build_app(), ["stats", "ordinal", *args])
    return result.exit_code, result.stdout, result.stderr


def _json(*args: str) -> dict[str, Any]:
    code, out, err = _run(*args, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


def test_json_has_contract_keys_and_matches_clmm_laplace() -> None:
    """Same numbers as R clmm(cgi ~ arm * visit + (1 | subject), nAGQ = 1); tolerances as in
    tests/core/stats/test_ordinal.py."""
    data = _json(SMALL, *COLUMNS, "--nagq", "1")
    ref = REFERENCE["cgi_small"]["laplace"]
    for key in ("thresholds", "fixed_effects", "loglik", "type3", "n_subjects", "n_observations"):
        assert key in data
    assert data["loglik"] == pytest.approx(ref["loglik"], rel=1e-7)
    assert [t["name"] for t in data["thresholds"]] == list(ref["thresholds"])
    assert set(data["fixed_effects"][0]) == {"term", "estimate", "se", "z", "p"}
    coef = {e["term"]: e["estimate"] for e in data["fixed_effects"]}
    assert coef["groupmidazolam:timeweek2"] == pytest.approx(
        ref["coefficients"]["Xarmmidazolam:visitweek2"], abs=1e-4
    )
    assert data["method"] == "Laplace"
    assert data["random_effects"]["subject"]["sd"] == pytest.approx(ref["sd"], abs=1e-4)
    rows = {(r["effect"], r["test"]): r for r in data["type3"]}
    assert set(rows) == {(e, t) for e in ("group", "time", "group:time") for t in ("wald", "lr")}
    for row in data["type3"]:
        assert {"effect", "num_df", "den_df", "F", "p", "chi2", "test"} <= set(row)
    assert rows[("group:time", "wald")]["den_df"] == 50
    assert rows[("group:time", "lr")]["den_df"] is None
    assert data["n_missing_outcome_dropped"] == 0


def test_default_is_adaptive_quadrature_with_ten_nodes() -> None:
    data = _json(SMALL, *COLUMNS)
    assert data["nagq"] == 10
    assert data["loglik"] == pytest.approx(REFERENCE["cgi_small"]["agq10"]["loglik"], rel=1e-7)


def test_method_rspl_reproduces_the_paper_design_f_1_24_in_json() -> None:
    """``--method rspl``: the same numbers as the core fit, checked there against the independent
    R reference (tests/reference/ordinal_rspl/, tolerance 1e-6 relative); containment den df 24
    for PROTOCOL.md §10's CGI-I F(1,24) design (30 subjects, 59 observations, 5 categories)."""
    ref = json.loads((RSPL_DIR / "reference.json").read_text())["cgi_i_paper_design"]
    data = _json(
        str(RSPL_DIR / "cgi_i_paper_design.csv"),
        *COLUMNS[:-1],
        "cgi_i",
        "--method",
        "rspl",
    )
    for key in ("thresholds", "fixed_effects", "loglik", "type3", "n_subjects", "n_observations"):
        assert key in data
    assert data["estimation"] == "rspl" and data["method"].startswith("RSPL")
    assert data["loglik"] is None
    assert data["pseudo_likelihood"]["converged"] is True
    assert data["pseudo_likelihood"]["iterations"] >= 2
    group = next(r for r in data["type3"] if r["effect"] == "group")
    assert (group["test"], group["num_df"], group["den_df"]) == ("wald", 1, 24)
    ref_group = next(r for r in ref["type3"] if r["effect"] == "group")
    assert group["F"] == pytest.approx(ref_group["F"], rel=1e-6)
    assert set(data["fixed_effects"][0]) == {"term", "estimate", "se", "z", "p"}


def test_default_method_is_quadrature_and_says_so() -> None:
    data = _json(SMALL, *COLUMNS, "--nagq", "1")
    assert data["estimation"] == "quadrature" and "pseudo_likelihood" not in data


def test_text_output_of_rspl_names_the_pseudo_likelihood_and_containment() -> None:
    code, out, _ = _run(SMALL, *COLUMNS, "--method", "rspl")
    assert code == 0
    assert "RSPL" in out and "pseudo-likelihood" in out and "containment" in out


def test_text_output_lists_thresholds_and_type3() -> None:
    code, out, _ = _run(SMALL, *COLUMNS, "--nagq", "1")
    assert code == 0
    assert "Thresholds" in out and "group:time" in out and "Laplace" in out


def test_covariates_and_missing_outcomes(tmp_path: Path) -> None:
    lines = (REF_DIR / "cgi_large.csv").read_text().splitlines()
    header, body = lines[0], lines[1:]
    cgi_at = header.split(",").index('"cgi"')
    # blank the outcome of two rows: they are dropped and counted
    blanked = []
    for i, line in enumerate(body):
        cells = line.split(",")
        if i in (3, 10):
            cells[cgi_at] = ""
        blanked.append(",".join(cells))
    path = tmp_path / "large.csv"
    path.write_text("\n".join([header, *blanked]) + "\n")
    data = _json(str(path), *COLUMNS, "--covariate", "age", "--covariate", "sex", "--nagq", "1")
    assert data["n_missing_outcome_dropped"] == 2
    assert data["n_observations"] == REFERENCE["cgi_large"]["laplace"]["nobs"] - 2
    assert {"age", "sexM"} <= {e["term"] for e in data["fixed_effects"]}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--outcome", "visit"), "column 'visit' (outcome) must be integer ordinal categories"),
        (("--outcome", "nope"), "column 'nope' not found"),
        (("--group-order", "ketamine,placebo"), "column 'arm' (group)"),
        (("--nagq", "0"), "nagq"),
        (("--method", "laplace"), "--method must be quadrature or rspl"),
    ],
)
def test_errors_are_one_line_naming_the_problem(args: tuple[str, ...], needle: str) -> None:
    base = dict(zip(COLUMNS[::2], COLUMNS[1::2], strict=True))
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [x for kv in base.items() for x in kv]
    code, out, err = _run(SMALL, *flat, "--json")
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_non_integer_outcome_and_missing_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,arm,visit,cgi\na,A,t0,1\na,A,t1,2.5\n")
    code, _, err = _run(str(path), "--subject", "id", "--group", "arm", "--time", "visit",
                        "--outcome", "cgi")  # fmt: skip
    assert code == 2
    assert "column 'cgi' (outcome) must be integer ordinal categories" in err
    code, _, err = _run(str(tmp_path / "none.csv"), *COLUMNS)
    assert code == 2 and "no such file" in err


def test_too_few_subjects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    path.write_text("id,arm,visit,cgi\na,A,t0,1\na,A,t1,2\nb,B,t0,3\nb,B,t1,2\n")
    code, _, err = _run(str(path), "--subject", "id", "--group", "arm", "--time", "visit",
                        "--outcome", "cgi")  # fmt: skip
    assert code == 2
    assert "too few subjects" in err and len(err.strip().splitlines()) == 1
