"""Shared input handling: item keys, duplicates, unanswered items, aliases (core/instruments/_base)."""

from __future__ import annotations

import numpy as np
import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import ALIASES, REGISTRY, resolve_instrument_id, score

MADRS = {n: 1 for n in range(1, 11)}


@pytest.mark.parametrize("key", [7, "7", "item_7", "madrs.item_7", " ITEM_7 "])
def test_items_may_be_keyed_several_ways(key: object) -> None:
    form = {k: v for k, v in MADRS.items() if k != 7} | {key: 6}
    assert score("madrs", form).items["7"] == 6


def test_the_same_item_given_twice_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        score("madrs", MADRS | {"item_7": 1})
    assert caught.value.field == "madrs.item_7"


def test_none_means_unanswered() -> None:
    with pytest.raises(InvalidInput) as caught:
        score("madrs", MADRS | {3: None})
    assert caught.value.field == "madrs.item_3"
    assert "missing" in caught.value.message


def test_numpy_integers_are_whole_numbers() -> None:
    assert score("madrs", MADRS | {1: np.int64(5)}).total == 14


def test_items_must_be_a_mapping() -> None:
    with pytest.raises(InvalidInput):
        score("madrs", [1] * 10)  # type: ignore[arg-type]


def test_echoed_items_follow_form_order() -> None:
    shuffled = dict(reversed(list(MADRS.items())))
    assert list(score("madrs", shuffled).items) == [str(n) for n in range(1, 11)]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("caps5", "caps5_past_month"),
        ("CAPS-5", "caps5_past_month"),
        ("caps5-week", "caps5_past_week"),
        ("IES-R", "ies_r"),
        ("PCL-5", "pcl5"),
        ("C-SSRS", "cssrs"),
        ("madrs_24h", "madrs_24h"),
    ],
)
def test_aliases_resolve_to_registered_ids(name: str, expected: str) -> None:
    assert resolve_instrument_id(name) == expected


def test_every_alias_points_at_a_registered_instrument() -> None:
    assert set(ALIASES.values()) <= set(REGISTRY)


def test_unknown_instrument_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        score("hamd", {})
    assert caught.value.field == "instrument"


def test_unknown_option_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        score("ies_r", {n: 0 for n in range(1, 23)}, cutoff=3)
