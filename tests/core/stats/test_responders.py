"""Responder statistics (core/stats/responders.py) against R 4.2.2 and PROTOCOL.md §9–§10."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.responders import analyse_responders, wilson_interval

REFERENCE = Path(__file__).parents[2] / "reference" / "responders" / "responders_reference.csv"
TOL = 1e-9  # R's chisq.test / fisher.test / prop.test are closed form or exact sums


def _reference_rows() -> list[dict[str, float]]:
    with REFERENCE.open(newline="") as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def test_rct_responders_reproduce_protocol_yates_chi2_p_and_nnt() -> None:
    """PROTOCOL.md §10: 10/15 vs 3/15 → chi-square 4.89 (Yates), p = 0.03, NNT 2.1."""
    res = analyse_responders(10, 5, 3, 12)
    assert round(res.chi2_yates, 2) == 4.89
    assert round(res.p_yates, 2) == 0.03
    assert res.nnt == pytest.approx(1 / (10 / 15 - 3 / 15))
    assert round(res.nnt, 1) == 2.1
    assert res.ci_method == "newcombe"
    assert not res.nnt_ci_includes_infinity
    assert res.nnt_ci_low == pytest.approx(1 / res.risk_difference_ci_high)
    assert res.nnt_ci_high == pytest.approx(1 / res.risk_difference_ci_low)


@pytest.mark.parametrize(
    "row",
    _reference_rows(),
    ids=lambda r: "-".join(str(int(r[k])) for k in ("a_resp", "a_nonresp", "b_resp", "b_nonresp")),
)
def test_responders_match_r_chisq_fisher_prop_test_against_R(row: dict[str, float]) -> None:
    """R: chisq.test(correct = FALSE/TRUE), fisher.test, prop.test (Wald with and without
    continuity correction), Newcombe from prop.test's Wilson limits; tolerance 1e-9."""
    counts = [int(row[k]) for k in ("a_resp", "a_nonresp", "b_resp", "b_nonresp")]
    res = analyse_responders(*counts)
    assert res.chi2_pearson == pytest.approx(row["chi2_pearson"], abs=TOL)
    assert res.p_pearson == pytest.approx(row["p_pearson"], abs=TOL)
    assert res.chi2_yates == pytest.approx(row["chi2_yates"], abs=TOL)
    assert res.p_yates == pytest.approx(row["p_yates"], abs=TOL)
    assert res.p_fisher == pytest.approx(row["p_fisher"], abs=TOL)
    assert res.risk_difference == pytest.approx(row["risk_difference"], abs=TOL)
    by_method = {ci.method: ci for ci in res.intervals}
    for method, low, high in (
        ("newcombe", "newcombe_low", "newcombe_high"),
        ("wald", "wald_low", "wald_high"),
        ("wald_cc", "wald_cc_low", "wald_cc_high"),
    ):
        assert by_method[method].low == pytest.approx(row[low], abs=TOL)
        assert by_method[method].high == pytest.approx(row[high], abs=TOL)
    n_a, n_b = counts[0] + counts[1], counts[2] + counts[3]
    assert wilson_interval(counts[0], n_a) == pytest.approx(
        (row["wilson_a_low"], row["wilson_a_high"]), abs=TOL
    )
    assert wilson_interval(counts[2], n_b) == pytest.approx(
        (row["wilson_b_low"], row["wilson_b_high"]), abs=TOL
    )


def test_nnt_interval_through_infinity_when_rd_interval_contains_zero() -> None:
    """Altman (1998): RD CI (−0.198, 0.428) → NNT benefit 2.3 to ∞ to NNT harm 5.0."""
    res = analyse_responders(7, 8, 5, 10)
    assert res.nnt_ci_includes_infinity
    assert res.nnt_ci_low > 0 > res.nnt_ci_high
    assert res.nnt_ci_text == "NNT benefit 2.3 to ∞ to NNT harm 5.0"


def test_arm_b_better_gives_negative_nnt_meaning_harm_of_arm_a() -> None:
    res = analyse_responders(3, 12, 10, 5)
    assert res.nnt == pytest.approx(-1 / (10 / 15 - 3 / 15))
    assert res.nnt_ci_low < res.nnt_ci_high < 0
    assert res.nnt_ci_text.startswith("NNT harm")


def test_equal_proportions_give_infinite_nnt() -> None:
    res = analyse_responders(5, 5, 5, 5)
    assert math.isinf(res.nnt)
    assert res.risk_difference == 0.0


def test_wald_method_is_selectable() -> None:
    res = analyse_responders(10, 5, 3, 12, ci_method="wald")
    assert res.ci_method == "wald"
    assert res.risk_difference_ci_low == pytest.approx(0.153799183854229, abs=TOL)


@pytest.mark.parametrize(
    ("counts", "field"),
    [((-1, 5, 3, 12), "a_responders"), ((0, 0, 3, 12), "counts"), ((1, 1, 0, 0), "counts")],
)
def test_refuses_negative_counts_and_empty_arms(
    counts: tuple[int, int, int, int], field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        analyse_responders(*counts)
    assert info.value.field == field


def test_refuses_unknown_ci_method() -> None:
    with pytest.raises(InvalidInput):
        analyse_responders(10, 5, 3, 12, ci_method="exact")


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30), st.integers(0, 30))
def test_intervals_contain_the_estimate_and_yates_never_exceeds_pearson(
    a: int, b: int, c: int, d: int
) -> None:
    if a + b == 0 or c + d == 0:
        return
    res = analyse_responders(a, b, c, d)
    for ci in res.intervals:
        assert -1.0 - 1e-12 <= ci.low <= res.risk_difference + 1e-12
        assert res.risk_difference - 1e-12 <= ci.high <= 1.0 + 1e-12
    if not math.isnan(res.chi2_pearson):
        assert res.chi2_yates <= res.chi2_pearson + 1e-12
        assert 0.0 <= res.p_fisher <= 1.0 + 1e-12
