"""IES-R subscales keyed as Weiss & Marmar (1997) publish them (PROTOCOL.md §7)."""

from __future__ import annotations

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import score
from ketamine_ptsd.core.instruments.ies_r import IES_R_SUBSCALES

ZERO = {n: 0 for n in range(1, 23)}


def test_subscales_partition_the_22_items() -> None:
    keys = [key for subscale in IES_R_SUBSCALES.values() for key in subscale]
    assert sorted(keys, key=int) == [str(n) for n in range(1, 23)]


def test_item_14_counts_toward_intrusion_as_the_authors_key_it() -> None:
    result = score("ies_r", ZERO | {14: 4})
    assert result.subscales["intrusion_sum"] == 4
    assert result.subscales["hyperarousal_sum"] == 0


@pytest.mark.parametrize(
    ("item", "subscale"),
    [
        (1, "intrusion"),
        (5, "avoidance"),
        (22, "avoidance"),
        (4, "hyperarousal"),
        (21, "hyperarousal"),
        (20, "intrusion"),
    ],
)
def test_each_item_lands_in_its_subscale(item: int, subscale: str) -> None:
    assert score("ies_r", ZERO | {item: 3}).subscales[f"{subscale}_sum"] == 3


def test_subscale_means_divide_by_the_subscale_item_count() -> None:
    result = score("ies_r", {n: 2 for n in range(1, 23)} | {4: 4})
    assert result.total == 46
    assert result.subscales["intrusion_mean"] == 2.0
    assert result.subscales["avoidance_mean"] == 2.0
    assert result.subscales["hyperarousal_mean"] == pytest.approx(14 / 6)


def test_no_prorating_missing_item_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        score("ies_r", {n: 1 for n in range(1, 22)})
    assert caught.value.field == "ies_r.item_22"
