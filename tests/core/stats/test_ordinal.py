"""Cumulative-logit mixed model (PROTOCOL.md §9: CGI-S and CGI-I) against R ordinal::clmm.

Reference numbers: ``tests/reference/ordinal/reference.json``, made by
``tests/reference/ordinal/make_reference.R`` (R 4.2.2, ordinal 2022.11.16, clmm with nlminb
rel.tol 1e-13 and inner gradTol 1e-9). Tolerances and why:

- log-likelihood: 1e-7 relative, and ours may not be lower than R's by more than 1e-9
  relative — both maximise the same approximation; R stops with |gradient| up to 3e-3 on the
  large data set (finite-difference gradients in nlminb), ours at ~1e-9, so ours is the
  better (or equal) maximum and the gap is second order in R's gradient.
- estimates (thresholds, coefficients, SD): 1e-4 absolute — R's optimum is off by about
  H^-1 g ≈ 5e-5 at its reported gradient.
- standard errors: 1e-4 relative for AGQ; 1e-3 relative for Laplace, and 2e-2 for the wine
  Laplace fit, where clmm's finite-difference Hessian is noisy when its inner Newton is run
  this tight (its SEs move by ~1% between gradTol 1e-7 and 1e-9; ours match its default-
  tolerance run, 0.68244, to 1e-5).
- Wald chi-square: 1e-3 relative (it inherits the estimates' and the Hessian's differences).
- likelihood-ratio chi-square: 2e-5 absolute (a difference of two log-likelihoods).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.ordinal import (
    OrdinalFit,
    fit_cumulative_logit,
    fit_ordinal,
)

REF_DIR = Path(__file__).parents[2] / "reference" / "ordinal"
REFERENCE: dict[str, Any] = json.loads((REF_DIR / "reference.json").read_text())


def _rows(name: str) -> list[dict[str, str]]:
    with (REF_DIR / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def _fit_cgi(name: str, nagq: int) -> OrdinalFit:
    rows = _rows(f"{name}.csv")
    covariates: dict[str, list[object]] = {}
    if name == "cgi_large":
        covariates = {"age": [float(r["age"]) for r in rows], "sex": [r["sex"] for r in rows]}
    return fit_ordinal(
        [r["subject"] for r in rows],
        [r["arm"] for r in rows],
        [r["visit"] for r in rows],
        [int(r["cgi"]) for r in rows],
        covariates=covariates,
        nagq=nagq,
        scale=range(1, 8),
    )


def _fit_wine(nagq: int) -> OrdinalFit:
    rows = _rows("wine.csv")
    X = np.array([[r["temp"] == "warm", r["contact"] == "yes"] for r in rows], dtype=float)
    return fit_cumulative_logit(
        [int(r["rating"]) for r in rows],
        X,
        [r["judge"] for r in rows],
        ["tempwarm", "contactyes"],
        nagq=nagq,
    )


def _r_name(term: str) -> str:
    """Our ``groupB:timew1`` is clmm's ``XarmB:visitw1`` (matrix column names prefixed X)."""
    return "X" + term.replace("group", "arm").replace("time", "visit")


def _check_against_r(fit: OrdinalFit, ref: dict[str, Any], se_rtol: float, r_prefix: bool) -> None:
    assert fit.converged, fit.warnings
    assert fit.loglik == pytest.approx(ref["loglik"], rel=1e-7)
    assert fit.loglik >= ref["loglik"] - 1e-9 * abs(ref["loglik"])
    assert fit.aic == pytest.approx(ref["aic"], rel=1e-7)
    assert fit.bic == pytest.approx(ref["bic"], rel=1e-7)
    assert fit.n_observations == ref["nobs"]
    assert fit.random_effect_sd == pytest.approx(ref["sd"], abs=1e-4)
    assert fit.log_sd_se == pytest.approx(ref["se"]["ST1"], rel=se_rtol)
    assert [t.name for t in fit.thresholds] == list(ref["thresholds"])
    for t in fit.thresholds:
        assert t.estimate == pytest.approx(ref["thresholds"][t.name], abs=1e-4), t.name
        assert t.se == pytest.approx(ref["se"][t.name], rel=se_rtol), t.name
    assert len(fit.fixed_effects) == len(ref["coefficients"])
    for e in fit.fixed_effects:
        name = _r_name(e.term) if r_prefix else e.term
        assert e.estimate == pytest.approx(ref["coefficients"][name], abs=1e-4), e.term
        assert e.se == pytest.approx(ref["se"][name], rel=se_rtol), e.term
        assert e.z == pytest.approx(e.estimate / e.se)


@pytest.mark.parametrize(("nagq", "key", "se_rtol"), [(1, "laplace", 2e-2), (10, "agq10", 1e-4)])
def test_wine_rating_temp_contact_matches_clmm_against_R(
    nagq: int, key: str, se_rtol: float
) -> None:
    """clmm(rating ~ temp + contact + (1 | judge), data = wine, nAGQ = nagq)."""
    _check_against_r(_fit_wine(nagq), REFERENCE["wine"][key], se_rtol, r_prefix=False)


@pytest.mark.parametrize(
    ("name", "nagq", "key", "se_rtol"),
    [
        ("cgi_small", 1, "laplace", 1e-3),
        ("cgi_small", 10, "agq10", 1e-4),
        ("cgi_large", 1, "laplace", 1e-3),
        ("cgi_large", 5, "agq5", 1e-4),
    ],
)
def test_cgi_group_by_time_fit_and_type3_match_clmm_against_R(
    name: str, nagq: int, key: str, se_rtol: float
) -> None:
    """clmm(cgi ~ arm * visit [+ age + sex] + (1 | subject)); Type 3 Wald from clmm's vcov,
    likelihood ratio from clmm refits on X %*% Null(t(L))."""
    ref = REFERENCE[name][key]
    fit = _fit_cgi(name, nagq)
    _check_against_r(fit, ref, se_rtol, r_prefix=True)
    ref_t3 = {row["effect"]: row for row in ref["type3"]}
    assert [(t.effect, t.test) for t in fit.type3] == [
        ("group", "wald"),
        ("time", "wald"),
        ("group:time", "wald"),
        ("group", "lr"),
        ("time", "lr"),
        ("group:time", "lr"),
    ]
    for t in fit.type3:
        r = ref_t3[t.effect]
        assert t.num_df == r["num_df"]
        if t.test == "wald":
            assert t.chi2 == pytest.approx(r["wald_chi2"], rel=1e-3)
        else:
            assert t.chi2 == pytest.approx(r["lr_chi2"], abs=2e-5)
            assert t.den_df is None


def test_small_cgi_reports_unobserved_categories_of_the_seven_point_scale() -> None:
    """CGI-S runs 1-7 (PROTOCOL.md §7); the small data set never reaches 6 or 7."""
    fit = _fit_cgi("cgi_small", 1)
    assert fit.categories == (1, 2, 3, 4, 5)
    assert fit.empty_categories == (6, 7)
    assert any("[6, 7]" in w for w in fit.warnings)
    assert [t.name for t in fit.thresholds] == ["1|2", "2|3", "3|4", "4|5"]


def test_wald_den_df_are_between_within_like_the_cgi_s_f_2_50() -> None:
    """84 observations on 30 subjects: within df 84 - 30 - 4 = 50 (PROTOCOL.md §10 CGI-S F(2,50)),
    group (between subjects) 30 - 2 = 28."""
    fit = _fit_cgi("cgi_small", 1)
    den = {t.effect: t.den_df for t in fit.type3 if t.test == "wald"}
    assert fit.n_observations == 84 and fit.n_subjects == 30
    assert den == {"group": 28.0, "time": 50.0, "group:time": 50.0}
    for t in fit.type3:
        assert t.chi2 / t.num_df == pytest.approx(t.F)
        if t.test == "lr":
            assert t.p == pytest.approx(t.p_chi2)


def test_more_quadrature_nodes_converge_to_a_stable_loglik() -> None:
    fits = [_fit_wine(k) for k in (10, 20, 30)]
    assert fits[1].loglik == pytest.approx(fits[2].loglik, abs=1e-8)
    assert fits[0].loglik == pytest.approx(fits[2].loglik, abs=1e-5)


def test_no_between_subject_variation_puts_the_sd_at_its_boundary_with_a_warning() -> None:
    rng = np.random.default_rng(7)
    n_subj, times = 40, ["t0", "t1", "t2"]
    subject = [f"s{i}" for i in range(n_subj) for _ in times]
    group = [("A" if i < n_subj // 2 else "B") for i in range(n_subj) for _ in times]
    time = times * n_subj
    # independent draws: no subject effect at all, and a design where the MLE of sigma is 0
    outcome = [int(v) for v in rng.integers(1, 5, size=len(subject))]
    fit = fit_ordinal(subject, group, time, outcome, nagq=1)
    assert fit.random_effect_sd < 1e-3  # for this seed the maximum is at sigma = 0
    assert any("boundary" in w for w in fit.warnings)
    assert math.isnan(fit.log_sd_se)
    assert all(math.isfinite(e.se) and e.se > 0 for e in fit.fixed_effects)
    assert fit.converged


def test_outcome_must_be_integer_categories() -> None:
    with pytest.raises(InvalidInput, match="integer ordinal categories") as info:
        fit_ordinal(["a", "b", "c"], ["A", "B", "A"], ["t0", "t1", "t0"], [1.5, 2, 3])
    assert info.value.field == "outcome"
    with pytest.raises(InvalidInput, match="integer ordinal categories"):
        fit_ordinal(["a", "b", "c"], ["A", "B", "A"], ["t0", "t1", "t0"], ["mild", 2, 3])


def test_unknown_group_level_and_too_few_subjects_are_refused() -> None:
    rows = _rows("cgi_small.csv")
    args = (
        [r["subject"] for r in rows],
        [r["arm"] for r in rows],
        [r["visit"] for r in rows],
        [int(r["cgi"]) for r in rows],
    )
    with pytest.raises(InvalidInput, match="not in the given order") as info:
        fit_ordinal(*args, group_order=["ketamine", "placebo"])
    assert info.value.field == "group"
    with pytest.raises(InvalidInput, match="too few subjects"):
        fit_ordinal(["a", "a", "b", "b"], ["A", "A", "B", "B"], ["t0", "t1"] * 2, [1, 2, 2, 3])


def test_group_order_sets_the_reference_level_and_flips_the_sign() -> None:
    rows = _rows("cgi_small.csv")
    cols = (
        [r["subject"] for r in rows],
        [r["arm"] for r in rows],
        [r["visit"] for r in rows],
        [int(r["cgi"]) for r in rows],
    )
    default = fit_ordinal(*cols, nagq=1, type3=False)
    flipped = fit_ordinal(*cols, nagq=1, type3=False, group_order=["midazolam", "ketamine"])
    assert default.fixed_effects[0].term == "groupmidazolam"
    assert flipped.fixed_effects[0].term == "groupketamine"
    assert flipped.loglik == pytest.approx(default.loglik, abs=1e-8)
    # interaction terms flip sign with the reference arm
    d = {e.term: e.estimate for e in default.fixed_effects}
    f = {e.term: e.estimate for e in flipped.fixed_effects}
    assert f["groupketamine:timeweek2"] == pytest.approx(-d["groupmidazolam:timeweek2"], abs=1e-5)


@settings(max_examples=10, deadline=None)
@given(shift=st.integers(min_value=-3, max_value=10))
def test_relabelling_categories_by_a_shift_leaves_the_fit_unchanged(shift: int) -> None:
    rows = _rows("wine.csv")
    X = np.array([[r["temp"] == "warm", r["contact"] == "yes"] for r in rows], dtype=float)
    y = [int(r["rating"]) for r in rows]
    judges = [r["judge"] for r in rows]
    base = fit_cumulative_logit(y, X, judges, ["t", "c"], nagq=1)
    moved = fit_cumulative_logit([v + shift for v in y], X, judges, ["t", "c"], nagq=1)
    assert moved.loglik == pytest.approx(base.loglik, abs=1e-9)
    assert moved.thresholds[0].name == f"{1 + shift}|{2 + shift}"
    for a, b in zip(moved.fixed_effects, base.fixed_effects, strict=True):
        assert a.estimate == pytest.approx(b.estimate, abs=1e-7)
