"""Calendar decisions no other test pinned (issue 12, mutation testing of `core/rules/schedule`).

The built-in protocols (three a week, at least two days apart, Mon–Fri) never reach the weekly
maximum, and their four weekly follow-up visits always crowd out month 1, so `tests/core` let
mutants of both rules live. These tests use protocols where each rule decides a date
(PROTOCOL.md §5, §8; docs/benchmarks.md, "Mutation testing").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Anchor, Protocol
from ketamine_ptsd.core.rules import plan_schedule
from ketamine_ptsd.core.rules.schedule import assessment_target, follow_up_visits

MONDAY = dt.date(2024, 3, 4)


def _with_schedule(protocol: Protocol, **changes: Any) -> Protocol:
    schedule = protocol.schedule.model_copy(update=changes)
    return protocol.model_copy(update={"schedule": schedule})


def _with_follow_up(protocol: Protocol, **changes: Any) -> Protocol:
    follow_up = protocol.follow_up.model_copy(update=changes)
    return protocol.model_copy(update={"follow_up": follow_up})


def _days(dates: tuple[dt.date, ...]) -> list[str]:
    return [d.isoformat() for d in dates]


def test_weekly_maximum_holds_a_daily_series_to_three_a_week_section_5(rct: Protocol) -> None:
    """§5: no more than ``infusions_per_week`` in one Monday–Sunday week, even when the minimum
    interval (here one day) would allow a fourth."""
    plan = plan_schedule(_with_schedule(rct, min_days_between_infusions=1), MONDAY)
    assert _days(plan.infusions) == [
        "2024-03-04",
        "2024-03-05",
        "2024-03-06",
        "2024-03-11",
        "2024-03-12",
        "2024-03-13",
    ]


def test_weekly_maximum_of_one_gives_one_infusion_a_week_section_5(rct: Protocol) -> None:
    protocol = _with_schedule(rct, min_days_between_infusions=1, infusions_per_week=1)
    plan = plan_schedule(protocol, MONDAY)
    assert plan.infusions == tuple(MONDAY + dt.timedelta(weeks=k) for k in range(6))


@pytest.mark.parametrize(
    "changes",
    [
        {"min_days_between_infusions": 0},
        {"infusions_per_week": 0},
        {"min_days_between_infusions": 0, "infusions_per_week": 0},
    ],
)
def test_a_schedule_with_no_interval_or_no_weekly_slot_is_refused(
    rct: Protocol, changes: dict[str, int]
) -> None:
    with pytest.raises(InvalidInput) as info:
        plan_schedule(_with_schedule(rct, **changes), MONDAY)
    assert info.value.field == "schedule"


def test_an_assessment_anchored_past_the_last_infusion_is_refused_naming_it(
    rct: Protocol,
) -> None:
    point = rct.assessments[-1]
    late = point.model_copy(update={"anchor": point.anchor.model_copy(update={"infusion": 7})})
    protocol = rct.model_copy(update={"assessments": (*rct.assessments[:-1], late)})
    with pytest.raises(InvalidInput) as info:
        plan_schedule(protocol, MONDAY)
    assert info.value.field == f"assessments.{point.name}"
    assert "infusion 7" in info.value.message


def test_planned_assessments_keep_their_labels(rct: Protocol) -> None:
    plan = plan_schedule(rct, MONDAY)
    assert [a.label for a in plan.assessments] == [p.label for p in rct.assessments]


def test_no_follow_up_without_its_anchor_assessment(rct: Protocol) -> None:
    plan = plan_schedule(_with_follow_up(rct, anchor_assessment="week9"), MONDAY)
    assert plan.follow_up == ()


def test_a_before_anchor_is_the_infusion_day_whatever_its_offset(rct: Protocol) -> None:
    """§5: "just before infusion N" is the day of infusion N."""
    point = rct.assessments[0].model_copy(
        update={"anchor": Anchor(infusion=2, timing="before", offset_days=1)}
    )
    infusions = (MONDAY, MONDAY + dt.timedelta(days=2))
    assert assessment_target(point, infusions) == MONDAY + dt.timedelta(days=2)


def test_follow_up_windows_lie_either_side_of_each_visit_section_5(rct: Protocol) -> None:
    visits = follow_up_visits(rct, dt.date(2024, 3, 18))
    width = dt.timedelta(days=rct.follow_up.window_days)
    assert any(v.name.startswith("follow-up week") for v in visits)
    assert any(v.name.startswith("follow-up month") for v in visits)
    for v in visits:
        assert (v.window_start, v.window_end) == (v.target - width, v.target + width), v.name


def test_month_1_is_kept_when_a_week_clear_of_the_last_weekly_visit_section_5(
    rct: Protocol,
) -> None:
    """Weekly to week 3, primary day Monday 2 Feb 2026: month 1 (Monday 2 March) is 7 days after
    week 3 — more than the two 3-day windows — so it is a visit of its own."""
    protocol = _with_follow_up(rct, weekly_until_week=3)
    names = [v.name for v in follow_up_visits(protocol, dt.date(2026, 2, 2))]
    assert names[:4] == [
        "follow-up week 1",
        "follow-up week 2",
        "follow-up week 3",
        "follow-up month 1",
    ]


def test_monthly_follow_up_alone_starts_at_month_1(rct: Protocol) -> None:
    protocol = _with_follow_up(rct, weekly_until_week=0)
    visits = follow_up_visits(protocol, dt.date(2024, 3, 18))
    assert [v.name for v in visits] == [f"follow-up month {m}" for m in range(1, 7)]
    assert visits[0].target == dt.date(2024, 4, 18)
