"""Blinding indices (core/stats/blinding.py) against their references.

* tests/reference/blinding/reference.csv, from make_reference.R (base R 4.2.2, the formulas of
  Bang et al. 2004 and James et al. 1996 written out independently of the Python): every
  estimate, SE and CI limit to 1e-9 (relative, absolute 1e-12 near 0); both 95 % and 90 %.
* Houweling et al. (2014, Clinical Trials 11:547–552) Table 2, investigators' guesses: the output
  printed in the README of BlindingIndex.jl (JuliaHealth, a port of R's BI package), to its
  3 printed decimals: James 0.896 (SE 0.011, 0.875–0.918); Bang treatment 0.115 (SE 0.018,
  0.08–0.15), placebo 0.022 (SE 0.019, −0.016–0.06).
* First principles: both SEs are the multinomial delta-method SEs of the indices as functions of
  the six cell proportions; a central-difference gradient (step 1e-6) of the index formulas
  reproduces them to 1e-7 relative (the differencing error is ~1e-10), so the variance formula
  of James (1996), which we transcribe from R's BI, is checked independently of any transcription.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.blinding import blinding_indices

REF = Path(__file__).resolve().parents[2] / "reference" / "blinding" / "reference.csv"


def _rows() -> list[dict[str, str]]:
    with REF.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _same(ours: float, ref: str) -> bool:
    expected = float(ref)
    if math.isnan(expected):
        return math.isnan(ours)
    return math.isclose(ours, expected, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("row", _rows(), ids=lambda r: f"{r['case']}-{float(r['level']):g}")
def test_indices_match_base_r_formulas_against_R(row: dict[str, str]) -> None:
    counts = [int(c) for c in row["counts"].split()]
    res = blinding_indices(["A", "B"], [counts[:3], counts[3:]], level=float(row["level"]))
    for arm, bang in zip(("bang1", "bang2"), res.bang, strict=True):
        assert bang.n == int(row[f"{arm}_n"])
        for key in ("index", "se", "ci_low", "ci_high"):
            assert _same(getattr(bang, key), row[f"{arm}_{key}"]), (arm, key)
    for key in ("index", "se", "ci_low", "ci_high"):
        assert _same(getattr(res.james, key), row[f"james_{key}"]), ("james", key)


def test_reference_covers_the_published_and_edge_cases() -> None:
    cases = {r["case"] for r in _rows()}
    assert {"houweling_pi", "crisp_bang2004", "everyone_dont_know", "all_wrong"} <= cases


def test_houweling_investigators_match_published_output() -> None:
    res = blinding_indices(["Treatment", "Placebo"], [[48, 4, 330], [22, 30, 319]])
    james = res.james
    assert (round(james.index, 3), round(james.se, 3)) == (0.896, 0.011)
    assert (round(james.ci_low, 3), round(james.ci_high, 3)) == (0.875, 0.918)
    treatment, placebo = res.bang
    assert (treatment.group, treatment.n, placebo.n) == ("Treatment", 382, 371)
    assert (round(treatment.index, 3), round(treatment.se, 3)) == (0.115, 0.018)
    assert (round(treatment.ci_low, 2), round(treatment.ci_high, 2)) == (0.08, 0.15)
    assert (round(placebo.index, 3), round(placebo.se, 3)) == (0.022, 0.019)
    assert (round(placebo.ci_low, 3), round(placebo.ci_high, 2)) == (-0.016, 0.06)


def test_bang_index_is_correct_minus_wrong_over_arm_size() -> None:
    """Bang (2004): (2·c/(c + w) − 1)·(c + w)/n = (c − w)/n; CLI example of the README."""
    ketamine, midazolam = blinding_indices(["ketamine", "midazolam"], [[8, 3, 4], [5, 6, 4]]).bang
    assert ketamine.index == pytest.approx((8 - 3) / 15, abs=1e-15)
    assert midazolam.index == pytest.approx((6 - 5) / 15, abs=1e-15)


def test_james_anchor_points_all_correct_random_all_wrong_all_dont_know() -> None:
    assert blinding_indices(["a", "b"], [[10, 0, 0], [0, 12, 0]]).james.index == pytest.approx(0)
    assert blinding_indices(["a", "b"], [[5, 5, 0], [5, 5, 0]]).james.index == pytest.approx(0.5)
    assert blinding_indices(["a", "b"], [[0, 8, 0], [8, 0, 0]]).james.index == pytest.approx(1)
    # a kappa: with unequal arms even all-wrong guessing stays below 1 (P_e 0.254, κ 0.969)
    assert blinding_indices(["a", "b"], [[0, 7, 0], [9, 0, 0]]).james.index == pytest.approx(
        (1 + (0.5 - 0.25390625) / 0.25390625) / 2, rel=1e-12
    )
    everyone_dk = blinding_indices(["a", "b"], [[0, 0, 5], [0, 0, 4]]).james
    assert (everyone_dk.index, everyone_dk.se) == (1.0, 0.0)


def test_james_is_undefined_not_made_up_when_expected_disagreement_is_zero() -> None:
    """Only arm a guessed, and only 'a': P_e = 0, so κ is 0/0 (R's BI also gives NaN)."""
    james = blinding_indices(["a", "b"], [[4, 0, 1], [0, 0, 3]]).james
    assert math.isnan(james.index) and math.isnan(james.se)


def _indices_from_proportions(p: np.ndarray) -> np.ndarray:
    """(Bang arm 1, Bang arm 2, James) from the 3 × 2 guess × arm proportions, written out
    from the definitions (James: weighted kappa, weights 0 / ½ / 1)."""
    w = np.array([[0.0, 0.5], [0.5, 0.0]])
    arm = p.sum(axis=0)
    bang = [(p[a, a] - p[1 - a, a]) / arm[a] for a in range(2)]
    dk = p[2].sum()
    guessed = arm - p[2]
    p_o = float(np.sum(w * p[:2])) / (1 - dk)
    p_e = float(p[:2].sum(axis=1) @ w @ guessed) / (1 - dk) ** 2
    kappa = (p_o - p_e) / p_e
    return np.array([*bang, (1 + dk + (1 - dk) * kappa) / 2])


@pytest.mark.parametrize(
    "counts",
    [
        [[48, 4, 330], [22, 30, 319]],
        [[8, 3, 4], [5, 6, 4]],
        [[82, 25, 170], [27, 29, 83]],
        [[30, 1, 2], [3, 1, 40]],
        [[0, 0, 6], [3, 5, 2]],
    ],
)
def test_standard_errors_are_the_multinomial_delta_method(counts: list[list[int]]) -> None:
    """Var = ∇f' (diag(p) − pp') ∇f / N for the whole table (Bang's per-arm SE uses the arm's
    own n: the same delta method on that arm's proportions)."""
    table = np.array(counts, dtype=float).T  # guess × arm
    total = table.sum()
    p = (table / total).ravel()
    step = 1e-6
    grads = np.array(
        [
            (
                _indices_from_proportions((p + step * e).reshape(3, 2))
                - _indices_from_proportions((p - step * e).reshape(3, 2))
            )
            / (2 * step)
            for e in np.eye(6)
        ]
    )  # 6 × 3
    cov = (np.diag(p) - np.outer(p, p)) / total
    james_se = math.sqrt(grads[:, 2] @ cov @ grads[:, 2])
    res = blinding_indices(["a", "b"], counts)
    assert res.james.se == pytest.approx(james_se, rel=1e-7)
    for a, bang in enumerate(res.bang):
        q = table[:, a] / table[:, a].sum()  # the arm's own guess proportions
        g = np.zeros(3)
        g[a], g[1 - a] = 1.0, -1.0
        se = math.sqrt(g @ ((np.diag(q) - np.outer(q, q)) / table[:, a].sum()) @ g)
        assert bang.se == pytest.approx(se, rel=1e-12, abs=1e-15)


counts3 = st.lists(st.integers(0, 60), min_size=3, max_size=3).filter(lambda c: sum(c) > 0)


@given(counts3, counts3)
def test_indices_stay_in_range_and_do_not_depend_on_arm_order(a: list[int], b: list[int]) -> None:
    res = blinding_indices(["a", "b"], [a, b])
    swapped = blinding_indices(["b", "a"], [[b[1], b[0], b[2]], [a[1], a[0], a[2]]])
    for bang in res.bang:
        assert -1.0 - 1e-12 <= bang.index <= 1.0 + 1e-12 and bang.se >= 0.0
    assert res.bang[0].index == pytest.approx(swapped.bang[1].index, abs=1e-12)
    assert res.bang[1].se == pytest.approx(swapped.bang[0].se, abs=1e-12)
    if not math.isnan(res.james.index):
        assert -1e-12 <= res.james.index <= 1.0 + 1e-12 and res.james.se >= 0.0
        assert res.james.index == pytest.approx(swapped.james.index, abs=1e-12)
        assert res.james.se == pytest.approx(swapped.james.se, abs=1e-12)


@pytest.mark.parametrize(
    ("groups", "counts", "level", "field"),
    [
        (["a", "b", "c"], [[1, 1, 1]] * 3, 0.95, "counts"),
        (["a", "a"], [[1, 1, 1]] * 2, 0.95, "counts"),
        (["a", " "], [[1, 1, 1]] * 2, 0.95, "counts"),
        (["a", "b"], [[1, 1], [1, 1, 1]], 0.95, "counts[a]"),
        (["a", "b"], [[1, 1, 1], [1, -2, 1]], 0.95, "counts[b]"),
        (["a", "b"], [[1, 1, 1.5], [1, 1, 1]], 0.95, "counts[a]"),
        (["a", "b"], [[1, True, 1], [1, 1, 1]], 0.95, "counts[a]"),
        (["a", "b"], [[1, 1, 1], [0, 0, 0]], 0.95, "counts[b]"),
        (["a", "b"], [[1, 1, 1], [1, 1, 1]], 1.5, "level"),
    ],
)
def test_bad_input_names_the_field_and_keeps_the_value(
    groups: list[str], counts: list[list[int]], level: float, field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        blinding_indices(groups, counts, level)
    assert err.value.field == field
    assert err.value.value is not None
