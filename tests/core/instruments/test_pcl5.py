"""PCL-5 total, clusters, provisional diagnosis, cut-off and change (PROTOCOL.md §7)."""

from __future__ import annotations

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import pcl5_change, score

ZERO = {n: 0 for n in range(1, 21)}


def with_total(total: int) -> dict[int, int]:
    values = [min(4, max(0, total - 4 * i)) for i in range(20)]
    return {n: v for n, v in enumerate(values, start=1)}


def test_cutoff_defaults_to_33_and_is_inclusive() -> None:
    assert score("pcl5", with_total(33)).derived["above_cutoff"] is True
    assert score("pcl5", with_total(32)).derived["above_cutoff"] is False
    assert score("pcl5", with_total(32)).derived["cutoff"] == 33


def test_cutoff_is_a_parameter() -> None:
    assert score("pcl5", with_total(31), cutoff=31).derived["above_cutoff"] is True


def test_bad_cutoff_is_refused() -> None:
    with pytest.raises(InvalidInput):
        score("pcl5", ZERO, cutoff=81)


def test_provisional_diagnosis_needs_1_b_1_c_2_d_2_e_items_at_two() -> None:
    minimal = ZERO | {3: 2, 7: 2, 10: 2, 14: 2, 17: 2, 20: 2}
    derived = score("pcl5", minimal).derived
    assert derived["provisional_diagnosis"] is True
    for dropped, letter in ((3, "B"), (7, "C"), (14, "D"), (20, "E")):
        derived = score("pcl5", minimal | {dropped: 1}).derived
        assert derived["provisional_diagnosis"] is False
        assert derived["criteria_met"][letter] is False


def test_clusters_match_caps5_items_1_to_20() -> None:
    form = {n: n % 5 for n in range(1, 21)}
    assert score("pcl5", form).subscales == score("caps5_past_week", form).subscales


@pytest.mark.parametrize(
    ("before", "after", "meaningful", "direction"),
    [
        (50, 40, True, "improved"),
        (50, 41, False, "no meaningful change"),
        (30, 40, True, "worsened"),
        (30, 30, False, "no meaningful change"),
    ],
)
def test_ten_points_is_clinically_meaningful_change(
    before: int, after: int, meaningful: bool, direction: str
) -> None:
    change = pcl5_change(before, after)
    assert change.change_points == after - before
    assert change.clinically_meaningful is meaningful
    assert change.direction == direction


def test_change_threshold_is_a_parameter_and_totals_are_checked() -> None:
    assert pcl5_change(50, 45, threshold_points=5).clinically_meaningful is True
    with pytest.raises(InvalidInput) as caught:
        pcl5_change(81, 40)
    assert caught.value.field == "pcl5.baseline_total"
    with pytest.raises(InvalidInput):
        pcl5_change(40, 30, threshold_points=0)
