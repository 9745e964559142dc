"""Giving the drug: weight change, pounds, the bag, the end, the dose given (PROTOCOL.md §4, §6;
core/rules/administration.py), each at its boundary."""

from __future__ import annotations

import datetime as dt

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.rules import (
    bmi,
    check_bag,
    check_end_time,
    check_height,
    check_weight,
    dose_given_mg,
    weight_change,
)


@pytest.mark.parametrize(
    ("weight", "needs"),
    [(82.5, False), (82.51, True), (67.5, False), (67.49, True), (75.0, False)],
)
def test_weight_change_exactly_at_the_tolerance_passes_just_beyond_does_not(
    weight: float, needs: bool
) -> None:
    """75 kg ± 10 %: 82.5 and 67.5 pass (in decimal: no 1e-15 drift), 82.51 and 67.49 do not."""
    result = weight_change(weight, 75.0, 10)
    assert result.needs_confirmation is needs
    assert result.looks_like_pounds is False


@pytest.mark.parametrize(
    ("weight", "pounds"),
    [(165.35, True), (165.3, True), (162.1, True), (168.6, True), (161.9, False), (169.0, False)],
)
def test_a_weight_within_2_percent_of_the_last_in_pounds_is_taken_for_pounds(
    weight: float, pounds: bool
) -> None:
    """75 kg = 165.347 lb; ±2 % is 162.04–168.65."""
    result = weight_change(weight, 75.0, 10)
    assert result.looks_like_pounds is pounds
    assert any("pounds" in r and "§4" in r for r in result.reasons) is pounds
    assert result.needs_confirmation  # and every one of them is beyond 10 % anyway


def test_no_earlier_weight_needs_confirmation() -> None:
    result = weight_change(70, None, 10)
    assert result.needs_confirmation and "no earlier weight" in result.reasons[0]


@pytest.mark.parametrize("value", [29.9, 250.1, 900, float("nan"), float("inf"), True, "70"])
def test_the_one_weight_bound_refuses_naming_the_field(value: object) -> None:
    with pytest.raises(InvalidInput) as info:
        check_weight(value)
    assert info.value.field == "weight_kg"


def test_the_weight_and_height_bounds_include_their_ends() -> None:
    assert check_weight(30) == 30.0 and check_weight(250) == 250.0
    assert check_height(120) == 120.0 and check_height(230) == 230.0
    for bad in (119.9, 230.1):
        with pytest.raises(InvalidInput):
            check_height(bad)
    assert bmi(75, 175) == 24.5


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
    args.update(kw)
    check_bag(**args)  # type: ignore[arg-type]


def test_a_bag_expiring_today_is_accepted_and_one_expired_yesterday_is_not() -> None:
    _bag()
    with pytest.raises(InvalidInput) as info:
        _bag(expiry=dt.date(2026, 3, 1))
    assert info.value.field == "bag_expiry"


@pytest.mark.parametrize("concentration", [2.0, 0.99, 1.01, 0.09])
def test_a_concentration_other_than_the_protocols_is_refused(concentration: float) -> None:
    with pytest.raises(InvalidInput) as info:
        _bag(concentration_mg_per_ml=concentration)
    assert info.value.field == "bag_concentration_mg_per_ml" and "§4" in info.value.message


def test_a_blinded_bag_is_checked_by_volume_only() -> None:
    _bag(concentration_mg_per_ml=None, protocol_concentration_mg_per_ml=0.09)
    _bag(volume_ml=35.25)  # within half a volume step
    with pytest.raises(InvalidInput) as info:
        _bag(concentration_mg_per_ml=None, volume_ml=35.3)
    assert info.value.field == "bag_volume_ml"


def test_the_end_lies_between_the_start_and_now() -> None:
    start = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)
    now = start + dt.timedelta(minutes=50)
    assert check_end_time(start, start, now) == start
    assert check_end_time(now, start, now) == now
    for bad in (start - dt.timedelta(seconds=1), now + dt.timedelta(seconds=1)):
        with pytest.raises(InvalidInput) as info:
            check_end_time(bad, start, now)
        assert info.value.field == "ended_at"
    with pytest.raises(InvalidInput):
        check_end_time(dt.datetime(2026, 3, 2, 9), start, now)  # no time zone


@pytest.mark.parametrize(
    ("volume", "concentration", "mg"),
    [(20.0, 1.0, 20.0), (23.3, 0.09, 2.097), (0.0, 1.0, 0.0), (35.2, 0.09, 3.168)],
)
def test_the_dose_given_is_the_volume_times_the_bags_concentration(
    volume: float, concentration: float, mg: float
) -> None:
    assert dose_given_mg(volume, 35.2, concentration) == mg


@pytest.mark.parametrize("volume", [-0.1, 35.3, float("nan")])
def test_a_volume_given_outside_the_bag_is_refused(volume: float) -> None:
    with pytest.raises(InvalidInput) as info:
        dose_given_mg(volume, 35.2, 1.0)
    assert info.value.field == "volume_given_ml"


@pytest.mark.parametrize(
    ("minutes_run", "stopped_early", "accepted"),
    [
        (40, False, True),
        (38, False, True),  # the pump's end, read two minutes early
        (37.99, False, False),  # one second short of the tolerance: an early stop
        (20, False, False),  # the loophole: the whole dose recorded for half an infusion
        (20, True, True),
        (0, True, True),
    ],
)
def test_an_end_before_the_planned_duration_is_an_early_stop(
    minutes_run: float, stopped_early: bool, accepted: bool
) -> None:
    """PROTOCOL.md §4 (issue 12 item 7): the whole dose is recorded only for an infusion that
    ran its course; an earlier end must be recorded as stopped early (volume given, reason)."""
    start = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    end = start + dt.timedelta(minutes=minutes_run)
    now = start + dt.timedelta(minutes=60)
    call = lambda: check_end_time(  # noqa: E731
        end, start, now, infusion_minutes=40, stopped_early=stopped_early
    )
    if accepted:
        assert call() == end
    else:
        with pytest.raises(InvalidInput) as info:
            call()
        assert info.value.field == "ended_at"
        assert "early stop" in info.value.message and "§4" in info.value.message
