"""Infusion dates, assessment windows and follow-up (PROTOCOL.md §5, §8)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import add_months, plan_schedule

MONDAY = dt.date(2024, 3, 4)


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def test_monday_start_gives_mon_wed_fri_for_two_weeks(rct: Protocol) -> None:
    plan = plan_schedule(rct, MONDAY)
    assert [d.isoformat() for d in plan.infusions] == [
        "2024-03-04",
        "2024-03-06",
        "2024-03-08",
        "2024-03-11",
        "2024-03-13",
        "2024-03-15",
    ]
    assert [d.strftime("%a") for d in plan.infusions] == ["Mon", "Wed", "Fri"] * 2


def test_wednesday_start_skips_the_weekend(rct: Protocol) -> None:
    plan = plan_schedule(rct, _d("2024-03-06"))
    assert [d.strftime("%a") for d in plan.infusions] == ["Wed", "Fri", "Mon", "Wed", "Fri", "Mon"]


def test_first_infusion_on_a_weekend_is_refused(rct: Protocol) -> None:
    with pytest.raises(InvalidInput) as info:
        plan_schedule(rct, _d("2024-03-09"))
    assert info.value.field == "first_infusion"
    assert "Saturday" in info.value.message


def test_assessment_time_points_and_windows(rct: Protocol) -> None:
    plan = plan_schedule(rct, MONDAY)
    by_name = {a.name: a for a in plan.assessments}
    assert by_name["baseline"].target == MONDAY  # just before infusion 1
    assert by_name["h24"].target == _d("2024-03-05")  # 24 h after infusion 1
    assert by_name["week1"].target == _d("2024-03-11")  # just before infusion 4
    week2 = by_name["week2"]  # after infusion 6 (Fri 15th): the next Monday
    assert (week2.target, week2.window_start, week2.window_end) == (
        _d("2024-03-18"),
        _d("2024-03-16"),
        _d("2024-03-21"),
    )
    assert "caps5_past_week" in week2.instruments and "cssrs" in week2.instruments


def test_next_monday_is_a_week_later_when_infusion_6_is_a_monday(rct: Protocol) -> None:
    plan = plan_schedule(rct, _d("2024-03-06"))  # infusion 6 on Monday 18th
    assert plan.infusions[-1] == _d("2024-03-18")
    assert next(a for a in plan.assessments if a.name == "week2").target == _d("2024-03-25")


def test_follow_up_weekly_to_four_weeks_then_monthly_to_six_months(rct: Protocol) -> None:
    plan = plan_schedule(rct, MONDAY)
    assert [v.target.isoformat() for v in plan.follow_up] == [
        "2024-03-25",
        "2024-04-01",
        "2024-04-08",
        "2024-04-15",
        # month 1 (Apr 18) would crowd week 4, so monthly visits start at month 2;
        # a weekend date moves to the nearest weekday (Sat May 18 -> Fri 17, Sun Aug 18 -> Mon 19)
        "2024-05-17",
        "2024-06-18",
        "2024-07-18",
        "2024-08-19",
        "2024-09-18",
    ]
    assert plan.follow_up[0].name == "follow-up week 1"
    assert plan.follow_up[-1].name == "follow-up month 6"
    assert plan.follow_up[0].window_start == _d("2024-03-22")
    assert all(v.target.weekday() < 5 for v in plan.follow_up)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        ("2024-01-31", 1, "2024-02-29"),
        ("2023-01-31", 1, "2023-02-28"),
        ("2024-11-15", 2, "2025-01-15"),
        ("2024-03-18", 6, "2024-09-18"),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(day: str, months: int, expected: str) -> None:
    assert add_months(_d(day), months) == _d(expected)


def test_clinical_pathway_uses_the_rct_schedule(clinical: Protocol, rct: Protocol) -> None:
    assert plan_schedule(clinical, MONDAY).infusions == plan_schedule(rct, MONDAY).infusions


_RCT = load_protocol("rct")
_CLINICAL = load_protocol("clinical")


@settings(max_examples=300, deadline=None)
@given(
    first=st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)).filter(lambda d: d.weekday() < 5),
    protocol=st.sampled_from([_RCT, _CLINICAL]),
)
def test_schedule_invariants_hold_from_any_weekday(first: dt.date, protocol: Protocol) -> None:
    plan = plan_schedule(protocol, first)
    s = protocol.schedule
    # never two infusions on one day, always the minimum gap, only on allowed weekdays
    assert len(set(plan.infusions)) == len(plan.infusions) == s.infusion_count
    gaps = [(b - a).days for a, b in zip(plan.infusions, plan.infusions[1:], strict=False)]
    assert min(gaps) >= s.min_days_between_infusions
    assert all(d.weekday() < 5 for d in plan.infusions)
    per_week = Counter(d.isocalendar()[:2] for d in plan.infusions)
    assert max(per_week.values()) <= s.infusions_per_week
    # about three a week: the series fits in at most 3 calendar weeks / 19 days
    assert (plan.infusions[-1] - plan.infusions[0]).days <= 19
    # windows never overlap, in time order, assessments then follow-up
    windows = [(a.window_start, a.window_end) for a in plan.assessments]
    windows += [(v.window_start, v.window_end) for v in plan.follow_up]
    for (_, end), (start, _) in itertools.pairwise(windows):
        assert start > end
    # each window contains its target
    for a in plan.assessments:
        assert a.window_start <= a.target <= a.window_end
    # 24 h after infusion 1 falls before infusion 2; week 2 after infusion 6
    by_name = {a.name: a for a in plan.assessments}
    assert by_name["h24"].window_end < plan.infusions[1]
    assert by_name["week2"].window_start > plan.infusions[5]
    assert by_name["week2"].target.weekday() == 0


@pytest.mark.parametrize("first", ["9999-12-30", "9999-12-25"])
def test_a_schedule_past_the_last_calendar_date_is_refused_naming_the_first_infusion(
    rct: Protocol, first: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        plan_schedule(rct, _d(first))
    assert refused.value.field == "first_infusion" and refused.value.value == first
