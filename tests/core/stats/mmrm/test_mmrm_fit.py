"""Internal consistency of the MMRM engine: analytic derivatives, the two CS algorithms,
between-within df of PROTOCOL.md §9, warnings, input errors, and Cohen's d of §10."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.mmrm import cohens_d_from_t, fit_mmrm, get_structure
from ketamine_ptsd.core.stats.mmrm.engine import evaluate, group_patterns
from ketamine_ptsd.core.stats.mmrm.fit import _fit_newton


def _rct(seed: int, n_per_arm: int = 15, drop_last: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(2 * n_per_arm):
        arm = "ketamine" if i < n_per_arm else "midazolam"
        b = rng.normal(0, 6)
        for v, visit in enumerate(("baseline", "week1", "week2")):
            if drop_last and i == 2 * n_per_arm - 1 and v == 2:
                continue
            slope = 9 if arm == "ketamine" else 3
            rows.append(
                {
                    "pid": f"P{i:02d}",
                    "arm": arm,
                    "visit": visit,
                    "caps5": 42 - v * slope + b + rng.normal(0, 7),
                }
            )
    return pd.DataFrame(rows)


KW: dict[str, Any] = dict(
    subject="pid",
    group="arm",
    time="visit",
    outcome="caps5",
    time_order=("baseline", "week1", "week2"),
)


def test_rct_between_within_df_reproduce_f_2_55_for_30_patients_89_observations() -> None:
    """PROTOCOL.md §9: F(2, 55) for 30 patients with 89 observations."""
    res = fit_mmrm(_rct(1), **KW)
    assert (res.n_subjects, res.n_observations) == (30, 89)
    t3 = {t.effect: t for t in res.type3}
    assert (t3["group:time"].num_df, t3["group:time"].den_df) == (2, 55.0)
    assert t3["time"].den_df == 55.0
    assert t3["group"].den_df == 28.0


@pytest.mark.parametrize("structure", ["cs", "un", "ar1", "csh", "toep"])
def test_analytic_gradient_and_hessian_match_finite_differences(structure: str) -> None:
    df = _rct(3)
    res = fit_mmrm(df, covariance=structure, **KW)
    subj = pd.factorize(df["pid"])[0].astype(np.intp)
    time = df["visit"].map({"baseline": 0, "week1": 1, "week2": 2}).to_numpy(dtype=np.intp)
    x = np.column_stack([np.ones(len(df)), (df["arm"] == "midazolam").to_numpy(float), time])
    data = group_patterns(subj, time, x, df["caps5"].to_numpy(), 3)
    st = get_structure(structure, 3)
    theta = np.array(list(res.covariance_parameters.values())) * 1.05
    ev = evaluate(data, st, theta, derivatives=2)
    assert ev is not None and ev.gradient is not None and ev.hessian is not None
    h = 1e-5 * np.maximum(np.abs(theta), 1e-2)
    num_g = np.zeros_like(theta)
    num_h = np.zeros((theta.size, theta.size))
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h[i]
        up = evaluate(data, st, theta + e, derivatives=1)
        dn = evaluate(data, st, theta - e, derivatives=1)
        assert up is not None and dn is not None
        assert up.gradient is not None and dn.gradient is not None
        num_g[i] = (up.loglik - dn.loglik) / (2 * h[i])
        num_h[i] = (up.gradient - dn.gradient) / (2 * h[i])
    np.testing.assert_allclose(ev.gradient, num_g, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ev.hessian, num_h, rtol=1e-4, atol=1e-7)


def test_cs_profiled_fit_equals_newton_fit_to_1e_9() -> None:
    df = _rct(11)
    subj = pd.factorize(df["pid"])[0].astype(np.intp)
    time = df["visit"].map({"baseline": 0, "week1": 1, "week2": 2}).to_numpy(dtype=np.intp)
    x = np.column_stack([np.ones(len(df)), (df["arm"] == "midazolam").to_numpy(float), time])
    data = group_patterns(subj, time, x, df["caps5"].to_numpy(), 3)
    st = get_structure("cs", 3)
    from ketamine_ptsd.core.stats.mmrm.fit import fit_patterns

    prof = fit_patterns(data, st)
    newt = _fit_newton(data, st, reml=True, max_iter=100)
    assert prof.loglik == pytest.approx(newt.loglik, abs=1e-9)
    np.testing.assert_allclose(prof.theta, newt.theta, rtol=1e-7)
    np.testing.assert_allclose(prof.beta, newt.beta, rtol=1e-9)
    np.testing.assert_allclose(prof.cov_beta, newt.cov_beta, rtol=1e-7)


def test_negative_between_covariance_is_reported_in_warnings() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(20):
        for v in range(3):
            # strongly negatively correlated residuals within subject
            rows.append(
                {
                    "pid": i,
                    "arm": "AB"[i % 2],
                    "visit": f"v{v}",
                    "caps5": (-1) ** v * rng.normal(0, 1) * 0 + rng.normal(0, 5),
                }
            )
    df = pd.DataFrame(rows)
    df["caps5"] -= df.groupby("pid")["caps5"].transform("mean") * 1.2
    res = fit_mmrm(df, subject="pid", group="arm", time="visit", outcome="caps5")
    assert res.covariance_parameters["between"] < 0
    assert any("between-subject covariance" in w for w in res.warnings)


def test_ml_fit_reports_ml_loglik_and_counts_fixed_effects_in_aic() -> None:
    res = fit_mmrm(_rct(2), reml=False, **KW)
    assert res.method == "ML" and res.reml_loglik is None
    assert res.aic == pytest.approx(-2 * res.loglik + 2 * (2 + 6))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"outcome": "nope"}, "nope"),
        ({"time_order": ("baseline", "week1", "week9")}, "time-order"),
        ({"group_order": ("ketamine", "placebo")}, "group-order"),
    ],
)
def test_bad_input_raises_invalid_input_naming_the_problem(
    kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        fit_mmrm(_rct(1), **{**KW, **kwargs})
    assert err.value.field == field


def test_non_numeric_outcome_and_too_few_subjects_are_refused() -> None:
    df = _rct(1)
    df["caps5"] = df["caps5"].astype(object)
    df.loc[3, "caps5"] = "n/a"
    with pytest.raises(InvalidInput, match="not numeric"):
        fit_mmrm(df, **KW)
    with pytest.raises(InvalidInput, match="too few subjects"):
        fit_mmrm(_rct(1).query("pid in ['P00', 'P20']"), **KW)


def test_missing_outcomes_are_dropped_and_counted_subject_kept() -> None:
    df = _rct(4, drop_last=False)
    df.loc[(df.pid == "P03") & (df.visit == "week1"), "caps5"] = np.nan
    res = fit_mmrm(df, **KW)
    assert res.n_missing_outcome_dropped == 1
    assert res.n_observations == 89 and res.n_subjects == 30


def test_published_cohens_d_and_ci_are_reproduced_from_difference_and_se() -> None:
    """PROTOCOL.md §10: week 1 8.80 (SE 3.93) d = 0.85 (0.10-1.59); week 2 11.88 (SE 3.96)
    d = 1.13 (0.36-1.91); n = 15 per arm."""
    w1 = cohens_d_from_t(8.80 / 3.93, 15, 15)
    assert (round(w1.d, 2), round(w1.ci_low, 2), round(w1.ci_high, 2)) == (0.85, 0.10, 1.59)
    w2 = cohens_d_from_t(11.88 / 3.96, 15, 15)
    assert round(w2.d, 2) == 1.13
    assert w2.ci_low == pytest.approx(0.36, abs=0.006)
    assert w2.ci_high == pytest.approx(1.91, abs=0.006)


def test_ls_means_average_class_covariates_with_equal_weights() -> None:
    df = _rct(5)
    df["site"] = np.where(df["pid"].str[-1].isin(list("0123")), "A", "B")
    res = fit_mmrm(df, covariates=("site",), **KW)
    fe = {f.term: f.estimate for f in res.fixed_effects}
    base = next(m for m in res.lsmeans if m.group == "ketamine" and m.time == "baseline")
    assert base.estimate == pytest.approx(fe["(Intercept)"] + 0.5 * fe["site[B]"])
