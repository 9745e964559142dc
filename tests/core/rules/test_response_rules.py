"""Response, loss of response and time to loss (PROTOCOL.md §8)."""

from __future__ import annotations

import datetime as dt

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import FollowUpScore, assess_response, time_to_loss_of_response

PRIMARY = dt.date(2024, 3, 18)


@pytest.mark.parametrize(
    ("baseline", "week2", "responder"),
    [
        (100, 70.1, False),  # 29.9 %
        (100, 70, True),  # 30.0 %
        (40, 28, True),  # exactly 30 %
        (40, 28.04, False),  # 29.9 %
        (43, 30.1, True),  # 30.0 %: 12.9 / 43 exactly
        (43, 30.2, False),
    ],
)
def test_response_boundary_is_30_percent_reduction_at_week_2(
    rct: Protocol, baseline: float, week2: float, responder: bool
) -> None:
    result = assess_response(rct.response, baseline, week2)
    assert result.responder is responder
    assert "PROTOCOL.md §8" in result.reason


def test_response_reports_the_reduction(rct: Protocol) -> None:
    result = assess_response(rct.response, 42, 21)
    assert result.reduction_percent == 50.0
    assert "50.0 % reduction, response" in result.reason


def test_worsening_is_no_response(rct: Protocol) -> None:
    assert not assess_response(rct.response, 40, 44).responder


def test_zero_baseline_is_refused(rct: Protocol) -> None:
    with pytest.raises(InvalidInput) as info:
        assess_response(rct.response, 0, 0)
    assert info.value.field == "baseline"


def _visits(*pairs: tuple[int, float]) -> list[FollowUpScore]:
    return [FollowUpScore(PRIMARY + dt.timedelta(days=d), s) for d, s in pairs]


def test_loss_of_response_is_the_first_visit_under_30_percent(rct: Protocol) -> None:
    # baseline 40: reduction 37.5 %, 30 %, 27.5 % → lost at day 21
    outcome = time_to_loss_of_response(
        rct.response, 40, PRIMARY, 20, _visits((7, 25), (14, 28), (21, 29), (28, 35))
    )
    assert outcome.event
    assert outcome.time_days == 21
    assert outcome.loss_day == dt.date(2024, 4, 8)
    assert "27.5 % below baseline" in outcome.reason


def test_responder_who_keeps_response_is_censored_at_last_visit(rct: Protocol) -> None:
    outcome = time_to_loss_of_response(
        rct.response, 40, PRIMARY, 20, _visits((7, 22), (14, 24), (50, 26))
    )
    assert not outcome.event
    assert outcome.time_days == 50
    assert outcome.loss_day is None
    assert "censored at day 50" in outcome.reason


def test_unordered_visits_are_read_in_date_order(rct: Protocol) -> None:
    outcome = time_to_loss_of_response(rct.response, 40, PRIMARY, 20, _visits((28, 35), (7, 29)))
    assert outcome.time_days == 7


def test_no_follow_up_visit_is_censored_at_day_0(rct: Protocol) -> None:
    outcome = time_to_loss_of_response(rct.response, 40, PRIMARY, 20, [])
    assert (outcome.event, outcome.time_days) == (False, 0)


def test_durability_is_for_responders_only(rct: Protocol) -> None:
    with pytest.raises(InvalidInput) as info:
        time_to_loss_of_response(rct.response, 40, PRIMARY, 30, _visits((7, 25)))
    assert info.value.field == "primary_score"


@pytest.mark.parametrize("pairs", [((0, 25),), ((-3, 25),), ((7, 25), (7, 26))])
def test_visits_must_follow_the_primary_day_on_distinct_days(
    rct: Protocol, pairs: tuple[tuple[int, float], ...]
) -> None:
    with pytest.raises(InvalidInput) as info:
        time_to_loss_of_response(rct.response, 40, PRIMARY, 20, _visits(*pairs))
    assert info.value.field == "visits"
