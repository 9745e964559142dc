"""RSPL (SAS GLIMMIX's default pseudo-likelihood) for the cumulative-logit random-intercept model.

GLIMMIX listings checked: the DF column of the foot-shape example (multinomial, METHOD=QUAD).
The Getting Started RSPL example (binary, J = 2) is fitted on its data and compared with the R
implementation below, not with its printed estimates, which could not be retrieved. No public
GLIMMIX listing of a multinomial cumulative-logit model with a random intercept fitted by RSPL,
with its data, was found; the reference is therefore the method's definition
(Wolfinger & O'Connell 1993; GLIMMIX documentation, "Pseudo-likelihood Estimation Based on
Linearization"), implemented independently in R: ``tests/reference/ordinal_rspl/make_reference.R``
(R 4.2.2, dense-matrix REML of the whitened pseudo-model; its header says why not ``nlme::lme``)
wrote ``reference.json``. Tolerances and why:

- thresholds and coefficients: 1e-6 absolute; variance, standard errors and F: 1e-6 relative.
  Both implementations stop when the largest relative change between linearisations is below
  ~1e-8 (ours GLIMMIX's PCONV = 1.11022e-8, R's 1e-8), and the outer iteration contracts at a rate of about 0.3-0.5 here,
  so each stops within a few 1e-8 of the common fixed point (observed differences: ~5e-8).
- den df: exact (a rank computation).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.ordinal import OrdinalFit, fit_ordinal
from ketamine_ptsd.core.stats.ordinal._design import build_design
from ketamine_ptsd.core.stats.ordinal.rspl import (
    PCONV,
    _design_rows,
    containment_den_df,
    fit_rspl_matrix,
    pseudo_data,
    reml_step,
)

REF_ROOT = Path(__file__).parents[2] / "reference"
REF_DIR = REF_ROOT / "ordinal_rspl"
REFERENCE: dict[str, Any] = json.loads((REF_DIR / "reference.json").read_text())
DATA = {
    "cgi_small": (REF_ROOT / "ordinal" / "cgi_small.csv", "cgi"),
    "cgi_i_paper_design": (REF_DIR / "cgi_i_paper_design.csv", "cgi_i"),
}


def _columns(name: str) -> tuple[list[str], list[str], list[str], list[int]]:
    path, outcome = DATA[name]
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return (
        [r["subject"] for r in rows],
        [r["arm"] for r in rows],
        [r["visit"] for r in rows],
        [int(r[outcome]) for r in rows],
    )


def _fit(name: str, method: str = "rspl") -> OrdinalFit:
    return fit_ordinal(*_columns(name), method=method)


@pytest.mark.parametrize("name", ["cgi_small", "cgi_i_paper_design"])
def test_rspl_matches_an_independent_pseudo_likelihood_iteration_against_R(name: str) -> None:
    ref = REFERENCE[name]
    fit = _fit(name)
    assert fit.converged and fit.estimation == "rspl"
    assert fit.n_observations == ref["nobs"] and fit.n_subjects == ref["n_subjects"]
    k = len(ref["alpha"])
    se_r = np.sqrt(np.diag(np.array(ref["vcov"])))
    for j, t in enumerate(fit.thresholds):
        assert t.estimate == pytest.approx(ref["alpha"][j], abs=1e-6), t.name
        assert t.se == pytest.approx(se_r[j], rel=1e-6), t.name
    assert [e.term for e in fit.fixed_effects] == [
        term.replace("arm", "group").replace("visit", "time") for term in ref["terms"]
    ]
    for j, e in enumerate(fit.fixed_effects):
        # GLIMMIX's b is minus clmm's beta: logit P(Y <= j) = alpha_j + x'b = theta_j - x'beta
        assert e.estimate == pytest.approx(-ref["b"][j], abs=1e-6), e.term
        assert e.se == pytest.approx(se_r[k + j], rel=1e-6), e.term
    assert fit.random_effect_variance == pytest.approx(ref["sigma2"], rel=1e-6)
    ref_t3 = {row["effect"]: row for row in ref["type3"]}
    assert [t.effect for t in fit.type3] == ["group", "time", "group:time"]
    for t in fit.type3:
        r = ref_t3[t.effect]
        assert t.test == "wald"
        assert (t.num_df, t.den_df) == (r["num_df"], r["den_df"])
        f_value = t.F
        assert f_value == pytest.approx(r["F"], rel=1e-6), t.effect
        assert t.p == pytest.approx(r["p"], rel=1e-5), t.effect


def test_paper_design_gives_f_1_24_by_containment_where_between_within_gives_28() -> None:
    """PROTOCOL.md §10: CGI-I treatment F(1,24). 30 subjects, weeks 1 and 2, 59 observations,
    5 observed categories: containment (GLIMMIX's default) gives
    n - rank[1 X Z] - (J - 2) = 59 - 32 - 3 = 24 for every effect; between-within (the
    quadrature fit's df) gives the between-subject group 30 - 2 = 28."""
    rspl = _fit("cgi_i_paper_design")
    quad = _fit("cgi_i_paper_design", method="quadrature")
    assert (rspl.n_observations, rspl.n_subjects, len(rspl.categories)) == (59, 30, 5)
    assert {t.effect: t.den_df for t in rspl.type3} == {"group": 24, "time": 24, "group:time": 24}
    quad_den = {t.effect: t.den_df for t in quad.type3 if t.test == "wald"}
    assert quad_den == {"group": 28, "time": 27, "group:time": 27}


def test_containment_df_of_cgi_s_counts_the_cumulative_intercepts() -> None:
    """84 observations on 30 subjects, three visits, J = 5 observed categories:
    84 - (30 + 2 + 2) - 3 = 47 (the between-within within df is 50)."""
    fit = _fit("cgi_small")
    assert fit.n_observations == 84 and len(fit.categories) == 5
    assert {t.effect: t.den_df for t in fit.type3} == {"group": 47, "time": 47, "group:time": 47}


def test_converged_estimates_are_a_fixed_point_of_linearise_then_reml() -> None:
    """The definition of RSPL: at convergence, linearising at the estimates and refitting the
    pseudo-model by REML returns the same estimates."""
    subject, group, time, outcome = _columns("cgi_i_paper_design")
    _, subject_codes = np.unique(np.array(subject, dtype=object), return_inverse=True)
    subject_codes = subject_codes.astype(np.intp)
    design = build_design(subject_codes, group, time, sorted(set(group)), sorted(set(time)), {})
    categories = sorted(set(outcome))
    y = np.array([categories.index(c) for c in outcome], dtype=np.intp)
    est = fit_rspl_matrix(y, design.X, subject_codes, len(categories))
    assert est.converged and est.max_relative_change < PCONV
    assert est.iterations == len(est.history) + 1
    W = _design_rows(design.X, len(categories) - 1)
    eta = np.einsum("ijq,q->ij", W, est.coef) + est.gamma[subject_codes][:, None]
    P, Rinv = pseudo_data(y, eta)
    sigma2, coef, cov, gamma, _ = reml_step(P, Rinv, W, subject_codes, int(subject_codes.max()) + 1)
    np.testing.assert_allclose(coef, est.coef, atol=1e-7)
    np.testing.assert_allclose(gamma, est.gamma, atol=1e-7)
    assert sigma2 == pytest.approx(est.sigma2, rel=1e-7)
    np.testing.assert_allclose(cov, est.cov, rtol=1e-6)


def test_pseudo_response_at_the_truth_has_mean_eta_and_the_multinomial_covariance() -> None:
    """E[P] = eta and Var[P] = Delta^-1 A Delta^-1 (checked by simulation, loosely)."""
    rng = np.random.default_rng(3)
    eta_row = np.array([-1.0, 0.2, 1.5])
    n = 200_000
    u = rng.logistic(size=n)
    y = np.searchsorted(eta_row, u, side="left").astype(np.intp)  # P(Y <= j) = expit(eta_j)
    P, Rinv = pseudo_data(y, np.tile(eta_row, (n, 1)))
    np.testing.assert_allclose(P.mean(axis=0), eta_row, atol=0.05)
    np.testing.assert_allclose(np.cov(P.T), np.linalg.inv(Rinv[0]), rtol=0.05)


def test_many_clusters_and_a_small_variance_bring_rspl_close_to_quadrature() -> None:
    """Sanity, loose: PL's bias shrinks with the random-effect variance; 1500 subjects x 3
    visits, SD 0.2. Observed gaps ~5e-3 in estimates, ~2% in SEs."""
    rng = np.random.default_rng(11)
    n_subj, times = 1500, ["t0", "t1", "t2"]
    subject = [f"s{i}" for i in range(n_subj) for _ in times]
    group = [("A" if i % 2 else "B") for i in range(n_subj) for _ in times]
    time = times * n_subj
    b = rng.normal(0.0, 0.2, n_subj)
    eta = np.array(
        [
            (-0.5 if g == "B" else 0.0) + 0.4 * times.index(t) + b[i // 3]
            for i, (g, t) in enumerate(zip(group, time, strict=True))
        ]
    )
    y = np.digitize(eta + rng.logistic(size=eta.size), [-1.5, 0.0, 1.5]) + 1
    rspl = fit_ordinal(subject, group, time, [int(v) for v in y], method="rspl")
    quad = fit_ordinal(subject, group, time, [int(v) for v in y], nagq=5, type3=False)
    for a, c in zip(
        rspl.thresholds + rspl.fixed_effects, quad.thresholds + quad.fixed_effects, strict=True
    ):
        assert a.estimate == pytest.approx(c.estimate, abs=0.015)
        assert a.se == pytest.approx(c.se, rel=0.05)
    assert rspl.random_effect_variance == pytest.approx(quad.random_effect_variance, abs=0.01)


def test_rspl_result_reports_no_likelihood_and_its_iterations() -> None:
    fit = _fit("cgi_small")
    data = fit.to_dict()
    assert data["estimation"] == "rspl"
    assert data["loglik"] is None and data["aic"] is None and data["bic"] is None
    pl = data["pseudo_likelihood"]
    assert pl["converged"] is True and pl["criterion"] == PCONV
    assert pl["iterations"] == fit.iterations
    assert pl["max_relative_change"] < PCONV
    assert math.isfinite(pl["minus2_res_log_pl"])
    assert all(r["test"] == "wald" for r in data["type3"])
    for e in fit.fixed_effects:
        assert e.z == pytest.approx(e.estimate / e.se)
    quad = fit_ordinal(*_columns("cgi_small"), nagq=1, type3=False).to_dict()
    assert quad["estimation"] == "quadrature" and "pseudo_likelihood" not in quad


def _multicenter() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The GLIMMIX Getting Started data (multicenter.csv), one row per patient: category 0 =
    side effect (so logit P(Y <= 0) is the logit of a side effect), x = [group = A]."""
    with (REF_DIR / "multicenter.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    y: list[int] = []
    x: list[list[float]] = []
    subject: list[int] = []
    for r in rows:
        n, events = int(r["n"]), int(r["sideeffect"])
        y += [0] * events + [1] * (n - events)
        x += [[1.0 if r["group"] == "A" else 0.0]] * n
        subject += [int(r["center"]) - 1] * n
    return np.array(y, dtype=np.intp), np.array(x), np.array(subject, dtype=np.intp)


def test_two_categories_on_the_glimmix_getting_started_data_match_the_r_implementation() -> None:
    """SAS/STAT User's Guide, PROC GLIMMIX, Getting Started, "Logistic Regressions with Random
    Intercepts" (data: https://support.sas.com/documentation/onlinedoc/stat/ex_code/132/gmxgs1.html;
    15 centers, procedures A and B, side effects out of n): ``model sideeffect/n = group;
    random intercept / subject=center;`` with the default METHOD=RSPL. A cumulative logit with
    J = 2 on one row per patient is that model. The printed estimates of that page could not
    be retrieved to check them (the stored copies show the program and data, not the output
    tables), so no GLIMMIX figure is asserted here; the reference is the independent R
    implementation of the method's definition (make_reference.R, ``multicenter``).
    Tolerances as for the multinomial references (module docstring)."""
    y, x, subject = _multicenter()
    est = fit_rspl_matrix(y, x, subject, 2)
    ref = REFERENCE["multicenter"]
    assert est.converged
    assert ref["nobs"] == y.size == 503 and ref["n_subjects"] == 15
    assert est.coef[0] == pytest.approx(ref["alpha"], abs=1e-6)  # J = 2: one threshold
    assert est.coef[1] == pytest.approx(ref["b"], abs=1e-6)
    assert est.sigma2 == pytest.approx(ref["sigma2"], rel=1e-6)
    np.testing.assert_allclose(np.sqrt(np.diag(est.cov)), np.sqrt(np.diag(ref["vcov"])), rtol=1e-6)


def test_two_categories_swapping_the_reference_group_reparametrises_the_fit() -> None:
    """From the definition: coding group B instead of A is the same linear predictor (intercept
    alpha + b, coefficient -b), so the same pseudo-model at every linearisation: the variance
    and the group coefficient's SE are unchanged and the coefficients map exactly."""
    y, x, subject = _multicenter()
    a = fit_rspl_matrix(y, x, subject, 2)
    b = fit_rspl_matrix(y, 1.0 - x, subject, 2)
    assert a.converged and b.converged
    assert b.sigma2 == pytest.approx(a.sigma2, rel=1e-6)
    assert b.coef[1] == pytest.approx(-a.coef[1], abs=1e-6)
    assert b.coef[0] == pytest.approx(a.coef[0] + a.coef[1], abs=1e-6)
    assert math.sqrt(b.cov[1, 1]) == pytest.approx(math.sqrt(a.cov[1, 1]), rel=1e-6)


def test_negative_within_subject_association_puts_the_variance_at_zero_with_a_warning() -> None:
    """Each subject swings between low and high categories: the restricted pseudo-likelihood is
    maximised at sigma^2 = 0 (GLIMMIX bounds the variance at 0 too); the fit still converges."""
    rng = np.random.default_rng(5)
    n_subj, times = 30, ["t0", "t1", "t2"]
    subject = [f"s{i}" for i in range(n_subj) for _ in times]
    group = [("A" if i % 2 else "B") for i in range(n_subj) for _ in times]
    outcome: list[int] = []
    for i in range(n_subj):
        a = int(rng.integers(1, 3))
        outcome += [a, 5 - a, a] if i % 3 else [5 - a, a, 5 - a]
    fit = fit_ordinal(subject, group, times * n_subj, outcome, method="rspl")
    assert fit.random_effect_variance == 0.0 and fit.random_effect_sd == 0.0
    assert fit.converged
    assert any("boundary" in w for w in fit.warnings)
    assert all(math.isfinite(e.se) and e.se > 0 for e in fit.fixed_effects)


def test_covariates_enter_the_rspl_fit_and_keep_the_containment_df() -> None:
    """cgi_large (200 subjects, 4 visits, subject-level age and sex, 760 observations, J = 7):
    760 - (200 + 3 time + 3 interaction) - 5 = 549 for every effect; the covariates are
    constant within subject and add no rank beyond the subject columns."""
    with (REF_ROOT / "ordinal" / "cgi_large.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    fit = fit_ordinal(
        [r["subject"] for r in rows],
        [r["arm"] for r in rows],
        [r["visit"] for r in rows],
        [int(r["cgi"]) for r in rows],
        covariates={"age": [float(r["age"]) for r in rows], "sex": [r["sex"] for r in rows]},
        method="rspl",
    )
    assert fit.converged
    assert [e.term for e in fit.fixed_effects][-2:] == ["age", "sexM"]
    dens = {t.den_df for t in fit.type3}
    assert len(dens) == 1
    assert (fit.n_observations, fit.n_subjects, len(fit.categories)) == (760, 200, 7)
    assert dens == {549.0}


def test_unknown_method_is_refused() -> None:
    with pytest.raises(InvalidInput, match="quadrature' or 'rspl'") as info:
        fit_ordinal(*_columns("cgi_small"), method="laplace")
    assert info.value.field == "method"


def test_containment_df_matches_the_glimmix_footshape_listing_2478() -> None:
    """SAS/STAT GLIMMIX documentation, "Maximum Likelihood in Proportional Odds Model with Random
    Effects" (foot shape of 2,513 lambs, 34 sires; tests/reference/ordinal_rspl/README.md):
    the listing prints DF 2478 for yr, b1, b2, b3 = 2513 - rank[X Z] = 2513 - 35, so the
    2 cumulative intercepts count as 2 columns of X (rank[1 X Z] = 34, plus J - 2 = 1) and sire
    contains none of the sire-level covariates. Exact."""
    with (REF_DIR / "footshape.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    x_rows, subjects = [], []
    for r in rows:
        n_lambs = int(r["k1"]) + int(r["k2"]) + int(r["k3"])
        x_rows += [[float(r[c]) for c in ("yr", "b1", "b2", "b3")]] * n_lambs
        subjects += [int(r["sire"]) - 1] * n_lambs
    X = np.array(x_rows)
    assert X.shape[0] == 2513
    assert containment_den_df(X, np.array(subjects, dtype=np.intp), 3) == 2478.0


def test_containment_df_counts_subjects_and_within_columns() -> None:
    # 4 subjects, 2 visits each, one missing: 7 obs; rank[1 X Z] = 4 + 1 (time) -> 2 with two
    # categories (one intercept); each further category takes one more df
    subject = np.array([0, 0, 1, 1, 2, 2, 3], dtype=np.intp)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [0, 0], [0, 1], [1, 0]], dtype=float)
    assert containment_den_df(X, subject, 2) == 2.0
    assert containment_den_df(X, subject, 3) == 1.0
