"""MMRM engine against R (nlme::gls, emmeans, lmerTest, pbkrtest): numbers from
tests/reference/mmrm/make_reference.R, committed in r_reference.json.

Tolerances, and why:
* REML log-likelihood: |ours − R| ≤ 1e-6 and ours ≥ R − 1e-9 — the same formula
  (nlme's REML logLik includes (N − p)·log 2π and log|X'V⁻¹X| exactly as SAS's
  "-2 Res Log Likelihood"); where they differ it is because nlme's optimiser stops earlier,
  so our maximum must not be lower.
* CS and AR(1) (one or two parameters, both optimisers converge fully): estimates, SE and F to
  1e-6 relative.
  (F: 1e-5, because R's Type 3 F comes from a second gls fit under contr.sum that stops at a
  slightly different point.)
* UN, CSH, TOEP: nlme optimises an unconstrained reparametrisation and stops with relative
  changes ~1e-7 in flat directions (our REML log-likelihood is higher by up to 1e-7); LS means
  and t to 2e-5, SE to 5e-5, F to 1e-4 relative, coefficients to 1e-4 absolute.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ketamine_ptsd.core.stats.mmrm import fit_mmrm

DATASETS = ("trial", "dropout", "orthodont", "fev")
STRUCTS = ("cs", "un", "ar1", "csh", "toep")
TIGHT = {"cs", "ar1"}


def _order(rows: list[dict[str, Any]], spec: dict[str, Any], gk: str, tk: str) -> list[Any]:
    gpos = {g: i for i, g in enumerate(spec["group_order"])}
    tpos = {t: i for i, t in enumerate(spec["time_order"])}
    return sorted(rows, key=lambda r: (gpos[r[gk]], tpos[r[tk]]))


@pytest.mark.parametrize("structure", STRUCTS)
@pytest.mark.parametrize("dataset", DATASETS)
def test_gls_fit_matches_nlme_and_emmeans_against_R(
    dataset: str, structure: str, r_reference: dict[str, Any], mmrm_data: Any
) -> None:
    frame, spec = mmrm_data(dataset)
    ref = r_reference[f"{dataset}_{structure}"]
    res = fit_mmrm(frame, covariance=structure, ddf="residual", **spec)
    assert res.converged
    assert abs(res.loglik - ref["reml_loglik"]) <= 1e-6
    assert res.loglik >= ref["reml_loglik"] - 1e-9
    tight = structure in TIGHT
    est_tol, se_tol, f_tol = (1e-6, 1e-6, 1e-5) if tight else (2e-5, 5e-5, 1e-4)
    r_lsm = _order(ref["lsmeans"], spec, "g", "t")
    np.testing.assert_allclose(
        [m.estimate for m in res.lsmeans], [r["emmean"] for r in r_lsm], rtol=est_tol
    )
    np.testing.assert_allclose([m.se for m in res.lsmeans], [r["SE"] for r in r_lsm], rtol=se_tol)
    # residual df = N − rank(X) (emmeans' df.error for gls further subtracts the number of
    # correlation parameters, an emmeans convention that SAS's DDFM=RESIDUAL does not follow)
    assert {m.df for m in res.lsmeans} == {float(res.n_observations - len(res.fixed_effects))}
    # R's contrast is second minus first group; ours first minus second
    r_dif = sorted(ref["diffs"], key=lambda r: spec["time_order"].index(r["t"]))
    np.testing.assert_allclose(
        [d.estimate for d in res.differences],
        [-r["estimate"] for r in r_dif],
        rtol=est_tol,
        atol=1e-9,
    )
    np.testing.assert_allclose(
        [d.se for d in res.differences], [r["SE"] for r in r_dif], rtol=se_tol
    )
    np.testing.assert_allclose(
        [d.t for d in res.differences], [-r["t.ratio"] for r in r_dif], rtol=se_tol, atol=1e-9
    )
    r_f = {r["effect"]: r["F"] for r in ref["type3"]}
    ours = {t.effect: t.F for t in res.type3}
    for mine, theirs in (("group", "g"), ("time", "t"), ("group:time", "g:t")):
        assert ours[mine] == pytest.approx(r_f[theirs], rel=f_tol)
    for cov in spec["covariates"]:
        assert ours[cov] == pytest.approx(r_f[cov], rel=f_tol)
    # fixed effects in treatment coding with the first level as reference = coef(gls)
    r_coef = ref["coef"]
    for fe in res.fixed_effects:
        r_name = fe.term.replace("group[", "g").replace("time[", "t").replace("[", "")
        r_name = r_name.replace("]", "")
        assert fe.estimate == pytest.approx(
            r_coef[r_name], rel=est_tol * 10, abs=1e-6 if tight else 1e-4
        )


@pytest.mark.parametrize("dataset", ("trial", "orthodont", "dropout"))
@pytest.mark.parametrize("method", ("satterthwaite", "kenward-roger"))
def test_cs_satterthwaite_and_kenward_roger_match_lmer_against_R(
    dataset: str, method: str, r_reference: dict[str, Any], mmrm_data: Any
) -> None:
    """Random-intercept lmer = our CS when the between variance is positive.

    lmerTest (Satterthwaite) uses the observed information like us: 1-df tests and LS means
    to 1e-6. Multi-df F tests use the Fai-Cornelius eigen method, whose result depends on the
    basis of the hypothesis (ours: SAS/contr.sum Type 3 rows; lmerTest its own): exact for
    balanced data, 5e-4 relative for the unbalanced ``dropout`` set. pbkrtest's KR uses the
    *expected* information for W where we (as openpharma/mmrm) use the observed one: identical
    for balanced complete data; for ``dropout`` df agree to 1 % and F to 1e-4.
    """
    frame, spec = mmrm_data(dataset)
    spec = {**spec, "covariates": ()}
    ref = r_reference[f"{dataset}_lmer"]
    res = fit_mmrm(frame, covariance="cs", ddf=method, **spec)
    assert res.covariance_parameters["between"] == pytest.approx(ref["between"], rel=1e-6)
    assert res.covariance_parameters["within"] == pytest.approx(ref["within"], rel=1e-6)
    key = "sat" if method == "satterthwaite" else "kr"
    balanced = dataset != "dropout"
    df_tol = 1e-6 if balanced else (5e-4 if key == "sat" else 1e-2)
    f_tol = 1e-6 if balanced or key == "sat" else 1e-4
    r_t3 = {r["effect"]: r for r in ref[key]}
    for mine, theirs in (("group", "g"), ("time", "t"), ("group:time", "g:t")):
        row = next(t for t in res.type3 if t.effect == mine)
        assert pytest.approx(r_t3[theirs]["F"], rel=f_tol) == row.F
        assert row.den_df == pytest.approx(r_t3[theirs]["denDF"], rel=df_tol)
    r_lsm = _order(ref[f"lsm_{key}"], spec, "g", "t")
    lsm_df_tol = 1e-6 if balanced or key == "sat" else 1e-2
    np.testing.assert_allclose(
        [m.df for m in res.lsmeans], [r["df"] for r in r_lsm], rtol=lsm_df_tol
    )
    np.testing.assert_allclose(
        [m.se for m in res.lsmeans], [r["SE"] for r in r_lsm], rtol=1e-6 if balanced else 1e-4
    )
