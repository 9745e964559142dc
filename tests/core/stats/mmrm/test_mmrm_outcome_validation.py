"""Outcomes the fit cannot use are refused in the core's data validation, naming the column,
the row (counted as in a CSV file: header = row 1) and the value. Before, ``inf`` or ``1e308``
gave null estimates (exit 0) or an unnamed "Eigenvalues did not converge"."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.mmrm import MAX_ABS_OUTCOME, analyse_arrays, fit_mmrm


@pytest.mark.parametrize("bad", [np.inf, -np.inf, 1e308, -1e151, 2 * MAX_ABS_OUTCOME, "inf"])
@pytest.mark.parametrize("cov", ["cs", "un"])
def test_non_finite_or_huge_outcome_is_refused_naming_column_and_row(
    mmrm_data: Any, bad: object, cov: str
) -> None:
    frame, spec = mmrm_data("fev")
    frame = frame.astype({"FEV1": object}) if isinstance(bad, str) else frame.copy()
    frame.loc[5, "FEV1"] = bad
    with pytest.raises(InvalidInput) as err:
        fit_mmrm(frame, covariance=cov, **spec)
    assert err.value.field == "FEV1"
    assert "row 7" in err.value.message  # data row index 5 is line 7 of the CSV
    shown = bad if isinstance(bad, str) else str(float(bad))  # e.g. "inf", "1e+308"
    assert f"holds {shown}:" in err.value.message
    assert err.value.value is not None


def test_largest_allowed_outcome_scale_still_reproduces_the_unscaled_fit(mmrm_data: Any) -> None:
    """Scaling the outcome by s scales estimates and SEs by s and leaves df and F unchanged;
    at the bound's scale this still holds (the bound is below where the fit breaks)."""
    frame, spec = mmrm_data("fev")
    base = fit_mmrm(frame, covariance="un", ddf="kenward-roger", **spec)
    scale = MAX_ABS_OUTCOME / float(np.nanmax(np.abs(frame["FEV1"])))
    big = frame.assign(FEV1=frame["FEV1"] * scale)
    res = fit_mmrm(big, covariance="un", ddf="kenward-roger", **spec)
    d0, d1 = base.differences[-1], res.differences[-1]
    assert d1.estimate / scale == pytest.approx(d0.estimate, rel=1e-5)
    assert d1.se / scale == pytest.approx(d0.se, rel=1e-5)
    assert d1.df == pytest.approx(d0.df, rel=1e-5)
    assert [r.den_df for r in res.type3] == pytest.approx([r.den_df for r in base.type3], rel=1e-5)


def test_missing_outcomes_are_still_dropped_not_refused(mmrm_data: Any) -> None:
    frame, spec = mmrm_data("fev")
    res = fit_mmrm(frame, covariance="cs", **spec)
    assert res.n_missing_outcome_dropped == int(frame["FEV1"].isna().sum()) == 263


def test_infinite_numeric_covariate_is_refused_naming_column_and_row() -> None:
    frame = pd.DataFrame(
        {
            "s": [f"S{i // 2}" for i in range(12)],
            "g": ["a"] * 6 + ["b"] * 6,
            "t": ["t1", "t2"] * 6,
            "y": np.arange(12, dtype=float),
            "age": [30.0] * 11 + [np.inf],
        }
    )
    with pytest.raises(InvalidInput, match=r"'age' row 13 .* inf"):
        fit_mmrm(frame, subject="s", group="g", time="t", outcome="y", covariates=("age",))


def test_array_entry_point_refuses_non_finite_outcome_by_index() -> None:
    y = np.array([1.0, 2.0, np.nan, 4.0, 5.0, 6.0])
    codes = np.array([0, 0, 1, 1, 2, 2], dtype=np.intp)
    with pytest.raises(ValueError, match=r"y\[2\] = nan"):
        analyse_arrays(
            codes, np.array([0, 0, 1, 1, 0, 0]), np.tile([0, 1], 3), y, ("a", "b"), ("1", "2")
        )


@pytest.mark.parametrize("cov", ["un", "toep", "ar1", "csh"])
@pytest.mark.parametrize("scale", [1e-14, 1e-30])
def test_tiny_outcome_scale_reproduces_the_unscaled_fit(
    mmrm_data: Any, cov: str, scale: float
) -> None:
    """Outcomes in tiny units: estimates and SEs scale, df and F do not. Before the starting
    values and the step criterion were made relative to the data's scale, UN and TOEP stopped
    at their starting values for outcomes with SD ~1e-13 (difference off by 10 %)."""
    frame, spec = mmrm_data("fev")
    base = fit_mmrm(frame, covariance=cov, ddf="kenward-roger", **spec)
    res = fit_mmrm(
        frame.assign(FEV1=frame["FEV1"] * scale), covariance=cov, ddf="kenward-roger", **spec
    )
    for d0, d1 in zip(base.differences, res.differences, strict=True):
        assert d1.estimate / scale == pytest.approx(d0.estimate, rel=1e-5)
        assert d1.se / scale == pytest.approx(d0.se, rel=1e-5)
        assert d1.df == pytest.approx(d0.df, rel=1e-5)
    assert [r.den_df for r in res.type3] == pytest.approx([r.den_df for r in base.type3], rel=1e-5)
    assert [r.F for r in res.type3] == pytest.approx([r.F for r in base.type3], rel=1e-5)
