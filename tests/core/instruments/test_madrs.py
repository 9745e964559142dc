"""MADRS total, parameterised bands and remission (PROTOCOL.md §7; Montgomery & Åsberg 1979)."""

from __future__ import annotations

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import madrs_band, score


def form_with_total(total: int) -> dict[int, int]:
    """Ten items 0–6 adding up to ``total``."""
    values = [min(6, max(0, total - 6 * i)) for i in range(10)]
    assert sum(values) == total
    return {n: v for n, v in enumerate(values, start=1)}


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "normal"),
        (6, "normal"),
        (7, "mild"),
        (19, "mild"),
        (20, "moderate"),
        (34, "moderate"),
        (35, "severe"),
        (60, "severe"),
    ],
)
def test_default_bands_follow_snaith_1986(total: int, band: str) -> None:
    assert score("madrs", form_with_total(total)).derived["severity_band"] == band


def test_remission_defaults_to_ten_or_below() -> None:
    assert score("madrs", form_with_total(10)).derived["remission"] is True
    assert score("madrs", form_with_total(11)).derived["remission"] is False
    assert score("madrs", form_with_total(11)).derived["remission_max"] == 10


def test_remission_cutoff_is_a_parameter() -> None:
    derived = score("madrs", form_with_total(12), remission_max=12).derived
    assert derived["remission"] is True
    assert derived["remission_max"] == 12


def test_custom_bands_are_applied_and_recorded() -> None:
    bands = ((10, "remitted"), (60, "not remitted"))
    derived = score("madrs", form_with_total(11), bands=bands).derived
    assert derived["severity_band"] == "not remitted"
    assert derived["bands"] == [[10, "remitted"], [60, "not remitted"]]


@pytest.mark.parametrize("bands", [(), ((30, "a"), (20, "b"), (60, "c")), ((10, "a"), (50, "b"))])
def test_bands_must_increase_and_cover_the_range(bands: tuple[tuple[int, str], ...]) -> None:
    with pytest.raises(InvalidInput):
        madrs_band(5, bands)


@pytest.mark.parametrize("bad", [-1, 61, True, 10.0])
def test_bad_remission_cutoff_is_refused(bad: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        score("madrs", form_with_total(5), remission_max=bad)
    assert caught.value.field == "madrs.remission_max"


def test_past_24h_version_scores_the_same_items() -> None:
    week = score("madrs", form_with_total(27))
    day = score("madrs_24h", form_with_total(27))
    assert (week.total, day.total) == (27, 27)
    assert (week.version, day.version) == ("past-week", "past-24h")


def test_items_above_six_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        score("madrs", form_with_total(5) | {10: 7})
    assert caught.value.field == "madrs.item_10"
