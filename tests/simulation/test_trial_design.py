"""The RCT design is calibrated to PROTOCOL.md §10 and designs refuse inconsistent input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.simulation.design import TrialDesign, rct_design


def test_rct_design_reproduces_the_published_standard_error_of_the_week2_difference() -> None:
    # PROTOCOL.md §10: SE 3.96 at week 2 with 15 per arm; complete-data CS SE = σ_total·√(2/15).
    d = rct_design()
    total_variance = d.covariance_array()[2, 2]
    assert math.sqrt(total_variance * 2 / 15) == pytest.approx(3.94, abs=0.03)


def test_rct_design_reproduces_the_published_time_by_treatment_f() -> None:
    # F(2,55) = 5.97 for the published differences given σ²_within (module docstring).
    d = rct_design()
    within = d.covariance_array()[0, 0] - d.covariance_array()[0, 1]
    v = np.array([8.80 - 0.87, 11.88 - 0.87])
    cov_v = within * (2 / 15) * np.array([[2.0, 1.0], [1.0, 2.0]])
    f = v @ np.linalg.solve(cov_v, v) / 2
    assert f == pytest.approx(5.97, abs=0.01)


def test_rct_design_has_the_published_arm_differences_and_one_dropout_in_thirty() -> None:
    d = rct_design()
    mu = d.means_array()
    assert mu[0] - mu[1] == pytest.approx([0.0, 8.8, 11.9])
    assert d.arms == ("midazolam", "ketamine")
    assert d.primary_index == 2
    assert d.expected_completion() == pytest.approx(1 - 1 / 30)


def test_null_design_equalises_the_arms_and_with_difference_moves_arm_two() -> None:
    d = rct_design()
    assert d.null().true_difference() == 0.0
    assert d.with_difference("week2", 5.0).true_difference() == pytest.approx(5.0)


def test_with_dropout_spreads_total_dropout_as_equal_hazards() -> None:
    d = rct_design().with_dropout(0.19)
    assert d.dropout_hazard[0] == 0.0
    assert d.dropout_hazard[1] == pytest.approx(d.dropout_hazard[2])
    assert d.expected_completion() == pytest.approx(0.81)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"n_per_arm": 1}, "n_per_arm"),
        ({"alpha": 1.5}, "alpha"),
        ({"dropout_hazard": (0.1, 0.0, 0.0)}, "dropout"),
        ({"dropout_hazard": (0.0, 0.0)}, "dropout"),
        ({"covariance": ((1.0, 2.0, 0.0), (2.0, 1.0, 0.0), (0.0, 0.0, 1.0))}, "covariance"),
        ({"analysis": "anova"}, "analysis"),
        ({"fit_covariance": "ar1"}, "covariance"),
        ({"primary_time": "week9"}, "primary_time"),
    ],
)
def test_design_refuses_inconsistent_input_naming_the_field(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        rct_design().replace(**changes)
    assert err.value.field == field


def test_design_needs_two_distinct_arms() -> None:
    d = rct_design()
    with pytest.raises(InvalidInput):
        TrialDesign(
            arms=("a", "a"),
            n_per_arm=5,
            times=d.times,
            means=d.means,
            covariance=d.covariance,
            dropout_hazard=d.dropout_hazard,
        )
