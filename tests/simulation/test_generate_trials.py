"""Batched generation is seeded, has the design's moments and monotone dropout."""

from __future__ import annotations

import numpy as np
import pytest

from ketamine_ptsd.simulation.design import rct_design
from ketamine_ptsd.simulation.generate import generate_trials


def test_same_seed_gives_the_same_trials_and_another_seed_does_not() -> None:
    d = rct_design()
    a = generate_trials(d, 3, np.random.default_rng(7))
    b = generate_trials(d, 3, np.random.default_rng(7))
    c = generate_trials(d, 3, np.random.default_rng(8))
    np.testing.assert_array_equal(a.outcome, b.outcome)
    assert not np.allclose(np.nan_to_num(a.outcome), np.nan_to_num(c.outcome))


def test_generated_outcomes_have_the_design_means_and_covariance() -> None:
    d = rct_design().replace(dropout_hazard=(0.0, 0.0, 0.0))
    t = generate_trials(d, 4000, np.random.default_rng(1))
    for a in range(2):
        y = t.outcome[:, t.arm == a].reshape(-1, 3)
        np.testing.assert_allclose(y.mean(axis=0), d.means_array()[a], atol=0.15)
        np.testing.assert_allclose(np.cov(y.T), d.covariance_array(), rtol=0.03)


def test_dropout_is_monotone_with_the_design_hazard_and_baseline_always_observed() -> None:
    d = rct_design().replace(dropout_hazard=(0.0, 0.2, 0.25))
    t = generate_trials(d, 3000, np.random.default_rng(2))
    obs = t.observed
    assert obs[:, :, 0].all()
    assert not (obs[:, :, 2] & ~obs[:, :, 1]).any()  # never back after dropping out
    assert obs[:, :, 1].mean() == pytest.approx(0.8, abs=0.01)
    assert obs[:, :, 2].mean() == pytest.approx(0.8 * 0.75, abs=0.01)
    assert np.isnan(t.outcome[~obs]).all()


def test_first_per_arm_keeps_the_first_enrolled_patients_of_each_arm() -> None:
    t = generate_trials(rct_design(), 2, np.random.default_rng(3))
    sub = t.first_per_arm(5)
    assert sub.outcome.shape == (2, 10, 3)
    np.testing.assert_array_equal(sub.outcome[:, :5], t.outcome[:, :5])
    np.testing.assert_array_equal(sub.outcome[:, 5:], t.outcome[:, 15:20])
    assert sub.design.n_per_arm == 5


def test_to_long_has_one_row_per_observed_visit() -> None:
    t = generate_trials(
        rct_design().replace(dropout_hazard=(0, 0.3, 0.3)), 1, np.random.default_rng(4)
    )
    frame = t.to_long(0)
    assert len(frame) == int(t.observed[0].sum())
    assert set(frame["group"]) == {"midazolam", "ketamine"}
    assert not frame["outcome"].isna().any()
