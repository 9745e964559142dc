"""Monte Carlo power: exact CIs, the paper's responder test, reproducibility, sample size."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.simulation.design import rct_design
from ketamine_ptsd.simulation.generate import generate_trials
from ketamine_ptsd.simulation.power import (
    clopper_pearson,
    responder_test,
    sample_size_search,
    simulate_power,
)


def test_clopper_pearson_matches_scipy_exact_interval() -> None:
    for k, n in [(0, 50), (7, 50), (833, 1000), (50, 50)]:
        ci = stats.binomtest(k, n).proportion_ci(method="exact")
        assert clopper_pearson(k, n) == pytest.approx((ci.low, ci.high), rel=1e-9, abs=1e-12)


def test_responder_chi_square_is_the_yates_value_the_paper_reported() -> None:
    # PROTOCOL.md §10: 3/15 midazolam vs 10/15 ketamine responders, Yates chi-square 4.89.
    d = rct_design().replace(dropout_hazard=(0.0, 0.0, 0.0))
    t = generate_trials(d, 1, np.random.default_rng(0))
    base = np.full((1, 30, 3), 40.0)
    resp_mid = np.arange(15) < 3
    resp_ket = np.arange(15) < 10
    base[0, :15, 2] = np.where(resp_mid, 20.0, 39.0)
    base[0, 15:, 2] = np.where(resp_ket, 20.0, 39.0)
    t = type(t)(base, np.ones_like(base, dtype=bool), t.arm, t.order, d)
    rates, chi2, p = responder_test(t, d)
    assert chi2[0] == pytest.approx(4.887, abs=1e-3)
    ref = stats.chi2_contingency([[3, 12], [10, 5]], correction=True)
    assert chi2[0] == pytest.approx(ref.statistic, rel=1e-12)
    assert p[0] == pytest.approx(ref.pvalue, rel=1e-12)
    assert rates[0] == pytest.approx([0.2, 10 / 15])


def test_dropouts_count_as_non_responders() -> None:
    d = rct_design().replace(dropout_hazard=(0.0, 0.0, 0.0))
    t = generate_trials(d, 1, np.random.default_rng(0))
    y = np.full((1, 30, 3), 40.0)
    y[0, :, 2] = 10.0  # everybody responds ...
    obs = np.ones_like(y, dtype=bool)
    obs[0, :5, 2] = False  # ... but five midazolam patients dropped out
    t = type(t)(y, obs, t.arm, t.order, d)
    rates, _, _ = responder_test(t, d)
    assert rates[0] == pytest.approx([10 / 15, 1.0])


def test_power_is_reproducible_from_the_seed_whatever_the_worker_count() -> None:
    d = rct_design()
    a = simulate_power(d, 2500, np.random.default_rng(42), workers=1)
    b = simulate_power(d, 2500, np.random.default_rng(42), workers=2)
    assert a.rejections == b.rejections
    assert a.mean_estimate == b.mean_estimate


def test_rct_power_agrees_with_the_normal_approximation_and_estimates_are_unbiased() -> None:
    d = rct_design()
    res = simulate_power(d, 3000, np.random.default_rng(1))
    se = 3.96  # PROTOCOL.md §10's SE at week 2, the design's calibration target
    approx = stats.norm.sf(stats.norm.isf(0.025) - 11.9 / se)
    assert abs(res.power - approx) < 0.03  # t vs z and dropout account for the gap
    assert res.power_ci_low < res.power < res.power_ci_high
    assert res.mean_estimate == pytest.approx(11.9, abs=4 * 3.96 / np.sqrt(3000))
    assert res.coverage_95 == pytest.approx(0.95, abs=0.015)
    assert res.non_converged == 0


def test_null_reports_type1_and_both_analyses_need_both_rejections() -> None:
    d = rct_design().replace(analysis="both")
    res = simulate_power(d, 2000, np.random.default_rng(3), null=True)
    out = res.to_dict()
    assert out["type1"] == res.power
    assert res.power <= min(res.power_mmrm or 0, res.power_responders or 0)
    assert res.true_difference == 0.0


def test_sample_size_search_finds_the_smallest_n_reaching_the_target() -> None:
    d = rct_design().with_difference("week2", 8.0)
    res = sample_size_search(d, 0.8, 1000, np.random.default_rng(4), n_max=60)
    assert res.power >= 0.8
    assert res.evaluated[res.n_per_arm - 1] < 0.8
    # two-sample normal approximation with σ ≈ 10.8: n ≈ 2(1.96 + 0.84)²(10.8/8)² ≈ 29
    assert 22 <= res.n_per_arm <= 36


def test_sample_size_search_refuses_an_unreachable_target() -> None:
    d = rct_design().with_difference("week2", 1.0)
    with pytest.raises(InvalidInput):
        sample_size_search(d, 0.9, 200, np.random.default_rng(4), n_max=20)
