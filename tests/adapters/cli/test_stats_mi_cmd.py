"""``ketamine-ptsd stats mi``: the SYSTEM.md contract, rbmi's published numbers through the
command line, the tipping point and its plot, one-line errors naming the file and row.

rbmi 1.5.2 vignette "CondMean_Inference" (JR, conditional mean, jackknife; printed to 3
decimals; the ICE file is the vignette's: each patient's first visit of the trailing missing
run, patient 3618's intermittent gap left MAR): every difference and SE to ±0.0005 + 1e-6;
rbmi's ``trt`` is PLACEBO − DRUG, ours DRUG − PLACEBO (``--group-order DRUG,PLACEBO``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from ketamine_ptsd.adapters.cli.app import build_app

DATA = Path(__file__).resolve().parents[2] / "reference" / "refbased" / "antidepressant.csv"
RBMI_JR = {"4": (-0.092, 0.695), "5": (1.305, 0.878), "6": (1.929, 0.862), "7": (2.126, 0.858)}


def _ice(tmp_path: Path, strategy: str = "JR") -> Path:
    with DATA.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    last: dict[str, int] = {}
    for r in rows:
        last[r["PATIENT"]] = max(last.get(r["PATIENT"], 0), int(r["VISIT"]))
    path = tmp_path / "ice.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["subject", "time", "strategy"])
        for pid, v in sorted(last.items()):
            if v < 7:
                w.writerow([pid, v + 1, strategy])
    return path


def _run(*args: str) -> Result:
    return CliRunner().invoke(build_app(), ["stats", "mi", *args])


def _base(ice: Path) -> list[str]:
    return [
        str(DATA),
        "--subject", "PATIENT", "--group", "THERAPY", "--time", "VISIT", "--outcome", "CHANGE",
        "--covariate", "BASVAL", "--reference", "PLACEBO", "--group-order", "DRUG,PLACEBO",
        "--ice", str(ice),
    ]  # fmt: skip


def test_json_contract_and_rbmi_vignette_numbers(tmp_path: Path) -> None:
    out = _run(*_base(_ice(tmp_path)), "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert {"method", "n_subjects", "n_samples", "differences", "lsmeans"} <= set(data)
    assert (data["method"], data["n_subjects"], data["n_samples"]) == (
        "condmean-jackknife",
        172,
        172,
    )
    assert data["strategies"] == {"MAR": 129, "JR": 43, "CR": 0, "CIR": 0, "LMCF": 0}
    for d in data["differences"]:
        assert {"time", "estimate", "se", "ci_low", "ci_high", "p"} <= set(d)
        est, se = RBMI_JR[d["time"]]
        assert abs(-d["estimate"] - est) <= 0.0005 + 1e-6
        assert abs(d["se"] - se) <= 0.0005 + 1e-6
    assert [(m["group"], m["time"]) for m in data["lsmeans"]][:2] == [("DRUG", "4"), ("DRUG", "5")]
    assert all(set(m) == {"group", "time", "estimate", "se"} for m in data["lsmeans"])


def test_group_order_flips_the_sign(tmp_path: Path) -> None:
    args = _base(_ice(tmp_path))
    args[args.index("DRUG,PLACEBO")] = "PLACEBO,DRUG"
    out = _run(*args, "--json")
    assert out.exit_code == 0, out.output
    d7 = json.loads(out.stdout)["differences"][3]
    assert abs(d7["estimate"] - RBMI_JR["7"][0]) <= 0.0005 + 1e-6


def test_tipping_point_json_and_plot(tmp_path: Path) -> None:
    plot = tmp_path / "tp.png"
    out = _run(*_base(_ice(tmp_path)), "--tipping-point", "--tipping-plot", str(plot), "--json")
    assert out.exit_code == 0, out.output
    tp = json.loads(out.stdout)["tipping_point"]
    assert (tp["time"], tp["active"], tp["alpha"]) == ("7", "DRUG", 0.05)
    assert tp["delta"] > 0
    at = min(tp["curve"], key=lambda c: abs(c["delta"] - tp["delta"]))
    assert at["p"] == pytest.approx(0.05, abs=1e-8)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_delta_file_shifts_imputed_values_and_counts_the_rest(tmp_path: Path) -> None:
    base = json.loads(_run(*_base(_ice(tmp_path)), "--json").stdout)
    delta = tmp_path / "delta.csv"
    # 1503 is complete (observed: ignored); 1513 is missing at visit 7 (DRUG)
    delta.write_text("subject,time,delta\n1503,7,5\n1513,7,2\n")
    out = _run(*_base(_ice(tmp_path)), "--delta", str(delta), "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["n_delta_ignored"] == 1
    assert data["differences"][3]["estimate"] > base["differences"][3]["estimate"]
    assert data["differences"][0]["estimate"] == base["differences"][0]["estimate"]


def test_approx_bayes_and_bootstrap_run_with_a_seed(tmp_path: Path) -> None:
    for method in ("approx-bayes", "condmean-bootstrap"):
        args = [*_base(_ice(tmp_path)), "--method", method, "--samples", "20", "--seed", "3"]
        first = _run(*args, "--json")
        assert first.exit_code == 0, first.output
        data = json.loads(first.stdout)
        assert (data["method"], data["n_samples"], data["seed"]) == (method, 20, 3)
        assert first.stdout == _run(*args, "--json").stdout


@pytest.mark.parametrize(
    ("ice_text", "extra", "needle"),
    [
        ("subject,time,strategy\n1503,5,LOCF\n", [], "strategy 'LOCF' must be one of"),
        ("subject,time,strategy\n9999,5,JR\n", [], "subject '9999' is not in DATA"),
        ("subject,time,strategy\n1503,9,JR\n", [], "time '9' is not a visit"),
        ("subject,time,strategy\n1503,5,JR\n1503,6,JR\n", [], "two ICE rows"),
        ("subject,when,strategy\n", [], "no column 'time'"),
        ("subject,time,strategy\n", ["--method", "bayes"], "--method must be one of"),
        ("subject,time,strategy\n", ["--reference", "SHAM"], "--reference 'SHAM' is not an arm"),
    ],
)
def test_bad_input_is_one_line_naming_the_problem(
    tmp_path: Path, ice_text: str, extra: list[str], needle: str
) -> None:
    ice = tmp_path / "ice.csv"
    ice.write_text(ice_text)
    out = _run(*_base(ice), *extra, "--json")
    assert out.exit_code == 2
    assert needle in out.output and "Traceback" not in out.output
    assert len(out.output.strip().splitlines()) == 1


def test_non_numeric_outcome_names_the_row(tmp_path: Path) -> None:
    bad = tmp_path / "data.csv"
    text = DATA.read_text().splitlines()
    text[3] = text[3].rsplit(",", 1)[0] + ",abc"
    bad.write_text("\n".join(text) + "\n")
    args = _base(_ice(tmp_path))
    args[0] = str(bad)
    out = _run(*args)
    assert out.exit_code == 2 and "DATA row 4: CHANGE 'abc' is not a number" in out.output


def test_stats_help_lists_mi() -> None:
    out = CliRunner().invoke(build_app(), ["stats", "--help"])
    assert "mi" in out.output
