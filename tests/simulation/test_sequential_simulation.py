"""Group-sequential simulation: crossing probabilities under H0 match the engine's boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.simulation.design import rct_design
from ketamine_ptsd.simulation.sequential import simulate_sequential


@pytest.mark.parametrize("spending", ["pocock", "obrien-fleming"])
def test_null_stopping_probabilities_match_the_analytic_alpha_spent_per_look(spending: str) -> None:
    # 6,000 null trials, looks at 1/3, 2/3, 1 (10, 20, 30 per arm); 3.5 MC SE per look.
    d = rct_design(n_per_arm=30)
    res = simulate_sequential(
        d, [1 / 3, 2 / 3, 1.0], 6000, np.random.default_rng(8), spending=spending, null=True
    )
    spent = np.diff([0.0] + [look.cumulative_alpha for look in res.boundaries.looks])
    for p_sim, p_exact in zip(res.stop_probability, spent, strict=True):
        assert abs(p_sim - p_exact) < 3.5 * np.sqrt(p_exact * (1 - p_exact) / 6000) + 1e-4
    assert res.power == pytest.approx(0.05, abs=3.5 * np.sqrt(0.05 * 0.95 / 6000))


def test_interim_look_reduces_expected_sample_size_under_the_alternative() -> None:
    # PROTOCOL.md §9: 40 planned, interim at 30 (information 0.75).
    d = rct_design(n_per_arm=20)
    res = simulate_sequential(d, [0.75, 1.0], 2000, np.random.default_rng(9))
    assert res.n_per_arm_at_look == (15, 20)
    assert res.stop_probability[0] > 0.5
    assert 30 <= res.expected_n_total < 40
    assert res.power > res.stop_probability[0]
    out = res.to_dict()
    assert out["looks"][0]["nominal_alpha"] == pytest.approx(res.boundaries.looks[0].nominal_alpha)


def test_information_must_end_at_one() -> None:
    with pytest.raises(InvalidInput):
        simulate_sequential(rct_design(), [0.5, 0.9], 10, np.random.default_rng(0))
