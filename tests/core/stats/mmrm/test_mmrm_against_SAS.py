"""MMRM engine against a genuine SAS PROC MIXED listing on fev_data (openpharma/mmrm,
design/SAS/sas_resid_un.txt; the tested numbers are in tests/reference/mmrm/sas/).

Tolerances: −2 Res Log Likelihood to 1e-8 relative (SAS prints it with 8 decimals in the
iteration history; it stopped at its relative-Hessian criterion 1e-8, so its value may be a
hair above the maximum: ours must be ≤ SAS's). Covariance parameters to 1e-3 relative: the UN
likelihood is flat and SAS's stopping point differs from the exact optimum in the 4th digit
(openpharma/mmrm's own fit differs from SAS by as much). F values to SAS's printed 2 decimals.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ketamine_ptsd.core.stats.mmrm import fit_mmrm

SAS = Path(__file__).resolve().parents[3] / "reference" / "mmrm" / "sas" / "fev_un_resid.json"


def test_fev_unstructured_reml_fit_matches_sas_listing_against_SAS(mmrm_data: Any) -> None:
    sas = json.loads(SAS.read_text())
    frame, spec = mmrm_data("fev")
    res = fit_mmrm(frame, covariance="un", **spec)
    assert res.n_observations == sas["n_obs_used"]
    assert -2 * res.loglik == pytest.approx(sas["minus2_res_loglik"], rel=1e-8)
    assert -2 * res.loglik <= sas["minus2_res_loglik"] + 1e-9
    assert round(res.aic, 1) == sas["aic"]
    assert round(res.bic, 1) == sas["bic"]  # log(200): SAS counts subjects without outcomes
    for name, value in sas["covariance_parameters"].items():
        assert res.covariance_parameters[name] == pytest.approx(value, rel=1e-3, abs=5e-3)
    t3 = {t.effect: t for t in res.type3}
    for row in sas["type3"][:2]:
        ours = t3[row["effect"]]
        assert ours.num_df == row["num_df"]
        assert ours.den_df == row["den_df"] - 1  # SAS: 197 − (1 + 3); ARMCD is between here
        assert round(ours.F, 2) == pytest.approx(row["F"], abs=0.011)


def test_fev_cell_means_7df_test_equals_joint_group_time_interaction_against_SAS(
    mmrm_data: Any,
) -> None:
    """AVISIT*ARMCD (7 df) in SAS's cell-means model = joint Wald F of our three terms."""
    from ketamine_ptsd.core.stats.mmrm.design import ClassVar, Term, build_design
    from ketamine_ptsd.core.stats.mmrm.fit import fit_arrays
    from ketamine_ptsd.core.stats.mmrm.inference import make_context

    sas = json.loads(SAS.read_text())
    frame, _ = mmrm_data("fev")
    frame = frame.dropna(subset=["FEV1"])

    def cv(col: str, levels: list[str] | None = None) -> ClassVar:
        levs = tuple(levels or sorted(frame[col].unique()))
        codes = frame[col].map({v: i for i, v in enumerate(levs)}).to_numpy(dtype=np.intp)
        return ClassVar(col, codes, levs)

    cvs = {
        "g": cv("ARMCD", ["TRT", "PBO"]),
        "t": cv("AVISIT"),
        "RACE": cv("RACE"),
        "SEX": cv("SEX"),
    }
    terms = (
        Term("g", ("g",)),
        Term("t", ("t",)),
        Term("g:t", ("g", "t")),
        Term("RACE", ("RACE",)),
        Term("SEX", ("SEX",)),
    )
    design = build_design(terms, cvs, {}, len(frame))
    subject = cv("USUBJID").codes
    fit = fit_arrays(subject, cvs["t"].codes, design.x, frame["FEV1"].to_numpy(), 4, "un")
    ctx = make_context(fit, design, subject, "between-within")
    lmat = np.vstack([design.type3_l[n] for n in ("g", "t", "g:t")])
    res = ctx.f_test(lmat, "g")
    expected = next(r for r in sas["type3"] if r["effect"] == "AVISIT*ARMCD")
    assert res.num_df == expected["num_df"]
    assert round(res.f_value, 2) == pytest.approx(expected["F"], abs=0.011)
