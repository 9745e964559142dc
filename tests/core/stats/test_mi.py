"""Reference-based MI engine (core/stats/mi.py, core/stats/refbased_reml.py).

Data: tests/reference/refbased/antidepressant.csv (rbmi's antidepressant trial; README.md
there). ICE: the first visit of each patient's trailing run of missing visits (rbmi's vignette;
patient 3618's intermittent gap is MAR). Sources and tolerances:

* tests/reference/refbased/make_reference.R (nlme::gls + lm, independent): MAR, JR, CR, CIR
  conditional mean + jackknife — estimates and LS means to 1e-6, jackknife SEs to 1e-5
  (relative; gls and our REML agree to ~1e-7 per fit).
* tests/reference/refbased/make_approxbayes.R (nlme::gls + lm, independent) with the random
  numbers of approxbayes_draws.csv: approximate Bayesian MI, Rubin's rules, Barnard–Rubin df —
  estimates and SEs to 1e-6, df to 1e-5 (relative).
* The general MMRM engine (``fit_arrays``, UN, REML): every replicate fit (β, Σ) to 1e-6.
* Hand computations from the definitions: LMCF, delta, tipping point, Barnard–Rubin limits.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.mi import (
    MIProblem,
    analyse,
    barnard_rubin_df,
    impute_replicates,
    make_problem,
    run_mi,
    tipping_point,
)
from ketamine_ptsd.core.stats.mmrm import fit_arrays
from ketamine_ptsd.core.stats.refbased import imputation_design
from ketamine_ptsd.core.stats.refbased_reml import fit_full, fit_replicates, pattern_stats

REF = Path(__file__).resolve().parents[2] / "reference" / "refbased"
VISITS = ("4", "5", "6", "7")
ARMS = ("DRUG", "PLACEBO")  # effect = DRUG − PLACEBO


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    with (REF / "antidepressant.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    patients = sorted({int(r["PATIENT"]) for r in rows})
    index = {p: i for i, p in enumerate(patients)}
    y = np.full((len(patients), 4), np.nan)
    group = np.zeros(len(patients), dtype=np.intp)
    basval = np.zeros(len(patients))
    for r in rows:
        i = index[int(r["PATIENT"])]
        y[i, VISITS.index(r["VISIT"])] = float(r["CHANGE"])
        group[i] = ARMS.index(r["THERAPY"])
        basval[i] = float(r["BASVAL"])
    return y, group, basval[:, None], patients


def _trailing_ice(y: np.ndarray) -> np.ndarray:
    obs = ~np.isnan(y)
    last = np.where(obs.any(axis=1), 3 - np.argmax(obs[:, ::-1], axis=1), -1)
    return np.asarray(last + 1, dtype=np.intp)


def _problem(strategy: str, **kw: object) -> MIProblem:
    y, group, cov, _ = _data()
    return make_problem(
        y,
        group,
        cov,
        ARMS,
        VISITS,
        reference="PLACEBO",
        ice=_trailing_ice(y),
        strategy=[strategy] * y.shape[0],
        **kw,  # type: ignore[arg-type]
    )


def _r_condmean() -> dict[tuple[str, str], dict[str, float]]:
    with (REF / "reference.csv").open(newline="") as fh:
        return {
            (r["strategy"], r["visit"]): {
                k: float(v) for k, v in r.items() if k not in ("strategy", "visit")
            }
            for r in csv.DictReader(fh)
        }


@pytest.mark.parametrize("strategy", ["MAR", "JR", "CR", "CIR"])
def test_condmean_jackknife_matches_independent_r_implementation_against_R(
    strategy: str,
) -> None:
    res = run_mi(_problem(strategy))
    ref = _r_condmean()
    assert (res.method, res.n_subjects, res.n_samples, res.n_imputed) == (
        "condmean-jackknife",
        172,
        172,
        80,
    )
    lsm = {(m.group, m.time): m for m in res.lsmeans}
    for d in res.differences:
        row = ref[(strategy, d.time)]
        assert d.estimate == pytest.approx(row["estimate"], rel=1e-6, abs=1e-9)
        assert d.se == pytest.approx(row["se"], rel=1e-5)
        assert lsm[("DRUG", d.time)].estimate == pytest.approx(row["lsmean_drug"], rel=1e-6)
        assert lsm[("PLACEBO", d.time)].se == pytest.approx(row["lsmean_placebo_se"], rel=1e-5)
        assert lsm[("DRUG", d.time)].se == pytest.approx(row["lsmean_drug_se"], rel=1e-5)
        assert d.ci_low == pytest.approx(d.estimate - 1.959963984540054 * d.se, rel=1e-12)
        assert math.isinf(d.df)


def test_replicate_fits_equal_the_general_engine() -> None:
    y, group, cov, _ = _data()
    x = imputation_design(group, cov, 4)
    obs = ~np.isnan(y)
    st = pattern_stats(x, y, obs)
    full = fit_full(st, np.ones(172))
    rows = np.nonzero(obs)
    ref = fit_arrays(rows[0], rows[1], x[rows], y[rows], 4, "un")
    np.testing.assert_allclose(full.beta[0], ref.beta, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(full.sigma[0], ref.sigma, rtol=1e-6)
    # leave-one-out and a bootstrap sample (weights = copies of a subject)
    counts = np.ones(172)
    counts[[3, 10, 100]] = [0, 3, 2]
    weights = np.stack([np.where(np.arange(172) == 7, 0.0, 1.0), counts])
    reps = fit_replicates(st, weights, full)
    for b, w in enumerate(weights):
        idx = np.repeat(np.arange(172), w.astype(int))
        yb, xb = y[idx], x[idx]
        r = np.nonzero(~np.isnan(yb))
        alone = fit_arrays(r[0], r[1], xb[r], yb[r], 4, "un")
        np.testing.assert_allclose(reps.beta[b], alone.beta, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(reps.sigma[b], alone.sigma, rtol=1e-6)


def test_lmcf_equals_the_hand_computation() -> None:
    """LMCF: from the ICE on, the mean is the subject's own mean at the visit before it; the
    imputed value is that mean plus Σ_mo Σ_oo⁻¹ (y_o − μ_o); then the ANCOVA per visit."""
    y, group, cov, _ = _data()
    ice = _trailing_ice(y)
    x = imputation_design(group, cov, 4)
    r = np.nonzero(~np.isnan(y))
    fit = fit_arrays(r[0], r[1], x[r], y[r], 4, "un")
    completed = y.copy()
    for i in np.flatnonzero(np.isnan(y).any(axis=1)):
        mu = x[i] @ fit.beta
        if ice[i] < 4:
            mu[ice[i] :] = mu[ice[i] - 1]
        o = ~np.isnan(y[i])
        s = fit.sigma
        completed[i, ~o] = mu[~o] + s[np.ix_(~o, o)] @ np.linalg.solve(
            s[np.ix_(o, o)], y[i, o] - mu[o]
        )
    design = np.column_stack([np.ones(172), group == 0, cov])
    coef = np.linalg.lstsq(design, completed, rcond=None)[0]
    res = run_mi(_problem("LMCF"))
    np.testing.assert_allclose([d.estimate for d in res.differences], coef[1], rtol=1e-6)
    mar = run_mi(_problem("MAR"))
    assert res.differences[3].estimate != pytest.approx(mar.differences[3].estimate, abs=1e-3)


def test_lmcf_with_the_ice_at_the_first_visit_is_refused() -> None:
    y, group, cov, _ = _data()
    ice = np.full(172, 4, dtype=np.intp)
    ice[0] = 0
    with pytest.raises(InvalidInput) as err:
        make_problem(
            y, group, cov, ARMS, VISITS, reference="PLACEBO", ice=ice, strategy=["LMCF"] * 172
        )
    assert err.value.field == "ice" and "LMCF" in err.value.message


def test_delta_shifts_only_imputed_values_linearly() -> None:
    """A shift on observed values changes nothing; δ on every imputed DRUG value moves the
    condmean effect at each visit by δ × (the ANCOVA coefficient of that indicator)."""
    y, group, cov, _ = _data()
    base = run_mi(_problem("JR"))
    on_observed = np.where(np.isnan(y), 0.0, 5.0)
    same = run_mi(_problem("JR", delta=on_observed))
    assert [d.estimate for d in same.differences] == [d.estimate for d in base.differences]
    assert [d.se for d in same.differences] == [d.se for d in base.differences]
    mask = np.isnan(y) & (group == 0)[:, None]
    shifted = run_mi(_problem("JR", delta=np.where(mask, 2.5, 0.0)))
    design = np.column_stack([np.ones(172), group == 0, cov])
    slope = np.linalg.lstsq(design, mask.astype(float), rcond=None)[0][1]
    np.testing.assert_allclose(
        [
            s.estimate - b.estimate
            for s, b in zip(shifted.differences, base.differences, strict=True)
        ],
        2.5 * slope,
        rtol=1e-9,
        atol=1e-12,
    )
    assert shifted.differences[3].estimate > base.differences[3].estimate  # towards 0


def test_tipping_point_is_where_p_reaches_alpha() -> None:
    p = _problem("JR")
    reps = impute_replicates(p, "condmean-jackknife")
    tp = tipping_point(p, reps, alpha=0.05)
    assert (tp.time, tp.active) == ("7", "DRUG")
    assert tp.delta is not None and tp.delta > 0  # DRUG better (negative): worsen DRUG
    extra = np.where(np.isnan(p.y) & (p.group == 0)[:, None], tp.delta, 0.0)
    at = analyse(p, reps, extra_delta=extra).differences[3]
    assert at.p == pytest.approx(0.05, abs=1e-8)
    before = analyse(p, reps, extra_delta=extra * 0.99).differences[3]
    assert before.p < 0.05
    deltas = [d for d, _ in tp.curve]
    assert deltas[0] == 0.0 and max(deltas) > tp.delta
    assert any(d == pytest.approx(tp.delta) for d in deltas)
    # at visit 5 the JR effect is not significant without any shift: tipping point 0
    assert tipping_point(p, reps, time="5").delta == 0.0
    with pytest.raises(InvalidInput):
        tipping_point(p, reps, time="9")


def _draws() -> tuple[np.ndarray, np.ndarray]:
    with (REF / "approxbayes_draws.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    _, _, _, patients = _data()
    m = max(int(r["sample"]) for r in rows)
    index = {p: i for i, p in enumerate(patients)}
    counts = np.zeros((m, len(patients)))
    z = np.zeros((m, len(patients), 4))
    for r in rows:
        s, i = int(r["sample"]) - 1, index[int(r["PATIENT"])]
        counts[s, i] = float(r["count"])
        z[s, i] = [float(r[f"z{v}"]) for v in VISITS]
    return counts, z


def test_approx_bayes_matches_independent_r_implementation_against_R() -> None:
    counts, z = _draws()
    p = _problem("JR")
    reps = impute_replicates(p, "approx-bayes", boot_counts=counts, normals=z)
    res = analyse(p, reps)
    assert res.n_samples == 25
    with (REF / "approxbayes_reference.csv").open(newline="") as fh:
        ref = {(r["visit"], r["parameter"]): r for r in csv.DictReader(fh)}
    lsm = {(m.group, m.time): m for m in res.lsmeans}
    for d in res.differences:
        row = ref[(d.time, "effect")]
        assert d.estimate == pytest.approx(float(row["estimate"]), rel=1e-6, abs=1e-9)
        assert d.se == pytest.approx(float(row["se"]), rel=1e-6)
        assert d.df == pytest.approx(float(row["df"]), rel=1e-5)
        assert d.p == pytest.approx(float(row["p"]), rel=1e-5, abs=1e-9)
        for arm, key in (("DRUG", "lsmean_drug"), ("PLACEBO", "lsmean_placebo")):
            assert lsm[(arm, d.time)].estimate == pytest.approx(
                float(ref[(d.time, key)]["estimate"]), rel=1e-6
            )
            assert lsm[(arm, d.time)].se == pytest.approx(float(ref[(d.time, key)]["se"]), rel=1e-6)


def test_barnard_rubin_df_limits() -> None:
    # no between-imputation variance: the observed-data df of the complete-data df
    assert barnard_rubin_df(100.0, 0.0, 1.0, 10) == pytest.approx(100 * 101 / 103)
    # larger between-imputation variance, fewer df; never above the complete-data df
    dfs = [barnard_rubin_df(100.0, b, 1.0 + b, 20) for b in (0.01, 0.1, 0.5)]
    assert dfs == sorted(dfs, reverse=True) and all(d < 100 for d in dfs)
    # Rubin (1987) as M → ∞ with v_com → ∞: (M − 1)/λ²
    lam = (1 + 1 / 20) * 0.1 / 1.1
    assert barnard_rubin_df(1e12, 0.1, 1.1, 20) == pytest.approx(19 / lam**2, rel=1e-6)


def test_seeded_methods_are_reproducible() -> None:
    p = _problem("CIR")
    a = run_mi(p, "condmean-bootstrap", n_samples=30, seed=7)
    b = run_mi(p, "condmean-bootstrap", n_samples=30, seed=7)
    c = run_mi(p, "condmean-bootstrap", n_samples=30, seed=8)
    assert a == b and a.differences[3].se != c.differences[3].se
    jk = run_mi(p)
    assert a.differences[3].estimate == jk.differences[3].estimate  # full-data estimate
    ab = run_mi(p, "approx-bayes", n_samples=30, seed=7)
    assert ab.n_samples == 30 and ab.differences[3].df < 172


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"reference": "SHAM"}, "reference"),
        ({"strategy": ["LOCF"] * 172}, "strategy"),
        ({"delta": np.full((172, 4), np.inf)}, "delta"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, object], field: str) -> None:
    y, group, cov, _ = _data()
    args: dict[str, object] = {"reference": "PLACEBO", **kwargs}
    with pytest.raises(InvalidInput) as err:
        make_problem(y, group, cov, ARMS, VISITS, **args)  # type: ignore[arg-type]
    assert err.value.field == field


def test_a_replicate_the_batched_steps_do_not_settle_is_fitted_on_its_own() -> None:
    """With one quasi-Newton step allowed, every replicate falls back to its own Newton fit:
    the same optimum (REML is REML, whichever path finds it)."""
    y, group, cov, _ = _data()
    x = imputation_design(group, cov, 4)
    st = pattern_stats(x, y, ~np.isnan(y))
    full = fit_full(st, np.ones(172))
    weights = np.ones((3, 172)) - np.eye(172)[:3]
    batched = fit_replicates(st, weights, full)
    alone = fit_replicates(st, weights, full, max_iter=1)
    np.testing.assert_allclose(alone.beta, batched.beta, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(alone.sigma, batched.sigma, rtol=1e-6)
