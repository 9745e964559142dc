"""Administration decisions no other test pinned (issue 12, mutation testing of
`core/rules/administration`; docs/benchmarks.md, "Mutation testing").

PROTOCOL.md §4: the dose follows the weight and the bag's concentration, so a weight that may be
wrong (no earlier weight, a large change, a weight that looks like pounds) needs a second staff
member's confirmation; an infusion that did not run its course is an early stop. §6: the bag and
the end time are checked at the bedside. Each refusal names the field the form shows it on.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.rules import check_bag, check_end_time, check_height, weight_change
from ketamine_ptsd.core.rules.administration import KG_PER_POUND

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def test_the_first_weight_needs_confirmation_and_is_not_taken_for_pounds_section_4() -> None:
    result = weight_change(75.0, None, 10)
    assert (result.weight_kg, result.previous_kg, result.change_percent) == (75.0, None, None)
    assert result.looks_like_pounds is False
    assert result.needs_confirmation is True


def test_the_weight_change_carries_both_weights_and_the_percent_section_4() -> None:
    result = weight_change(82.5, 75.0, 10)
    assert (result.weight_kg, result.previous_kg, result.change_percent) == (82.5, 75.0, 10.0)


# 45.359237 kg is exactly 100 lb, so 2 % of it in pounds is exactly 2: 98 and 102 lie on the
# boundary of "within 2 % of the last weight in pounds" (inclusive), 97.99 and 102.01 beyond it.
PREVIOUS_100_LB = float(KG_PER_POUND * 100)


@pytest.mark.parametrize(
    ("weight", "pounds"), [(98.0, True), (102.0, True), (97.99, False), (102.01, False)]
)
def test_pounds_match_is_inclusive_at_exactly_2_percent_section_4(
    weight: float, pounds: bool
) -> None:
    assert Decimal(repr(PREVIOUS_100_LB)) / KG_PER_POUND == 100
    assert weight_change(weight, PREVIOUS_100_LB, 10_000).looks_like_pounds is pounds


@pytest.mark.parametrize("height", ["tall", float("nan"), 50.0])
def test_a_bad_height_is_refused_naming_height_cm(height: object) -> None:
    with pytest.raises(InvalidInput) as info:
        check_height(height)
    assert info.value.field == "height_cm"


def _bag(**kw: object) -> None:
    args: dict[str, object] = {
        "expiry": dt.date(2026, 3, 2),
        "today": dt.date(2026, 3, 2),
        "concentration_mg_per_ml": 1.0,
        "protocol_concentration_mg_per_ml": 1.0,
        "volume_ml": 35.2,
        "dose_volume_ml": 35.2,
        "volume_step_ml": 0.1,
    }
    check_bag(**{**args, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"concentration_mg_per_ml": float("nan")}, "bag_concentration_mg_per_ml"),
        ({"concentration_mg_per_ml": "1"}, "bag_concentration_mg_per_ml"),
        ({"volume_ml": float("inf")}, "bag_volume_ml"),
        ({"volume_ml": True}, "bag_volume_ml"),
    ],
)
def test_a_bag_value_that_is_not_a_number_is_refused_naming_it_section_6(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        _bag(**changes)
    assert info.value.field == field


def test_an_early_end_is_an_early_stop_unless_recorded_as_one_by_default_section_4() -> None:
    """Without ``stopped_early`` the end of a 40-minute infusion at 20 minutes is refused."""
    end = START + dt.timedelta(minutes=20)
    with pytest.raises(InvalidInput) as info:
        check_end_time(end, START, START + dt.timedelta(hours=1), infusion_minutes=40)
    assert info.value.field == "ended_at"


def test_an_end_without_a_time_zone_is_refused_naming_ended_at() -> None:
    with pytest.raises(InvalidInput) as info:
        check_end_time(dt.datetime(2026, 3, 2, 8, 40), START, START + dt.timedelta(hours=1))
    assert info.value.field == "ended_at"
