"""C-SSRS screener skip logic and risk levels (PROTOCOL.md §7; Posner et al. 2011, screener triage)."""

from __future__ import annotations

from typing import Any

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import score

NO_IDEATION: dict[str, Any] = {"1": False, "2": False, "6": False}
ACTIVE_IDEATION: dict[str, Any] = {"1": True, "2": True, "3": False, "4": False, "5": False}


@pytest.mark.parametrize(
    ("form", "risk"),
    [
        (NO_IDEATION, "none"),
        (NO_IDEATION | {"1": True}, "low"),
        (ACTIVE_IDEATION | {"6": False}, "low"),
        (ACTIVE_IDEATION | {"3": True, "6": False}, "moderate"),
        (ACTIVE_IDEATION | {"4": True, "6": False}, "high"),
        (ACTIVE_IDEATION | {"5": True, "6": False}, "high"),
        (NO_IDEATION | {"6": True, "6_recent": True}, "high"),
        (NO_IDEATION | {"6": True, "6_recent": False}, "moderate"),
        (ACTIVE_IDEATION | {"3": True, "6": True, "6_recent": True}, "high"),
    ],
)
def test_risk_level_follows_the_highest_positive_item(form: dict[str, Any], risk: str) -> None:
    result = score("cssrs", form)
    assert result.derived["risk_level"] == risk
    assert result.total is None
    assert result.derived["positive"] is (risk != "none")


def test_items_3_to_5_are_refused_when_item_2_is_no() -> None:
    for key in ("3", "4", "5"):
        with pytest.raises(InvalidInput) as caught:
            score("cssrs", NO_IDEATION | {key: False})
        assert caught.value.field == f"cssrs.item_{key}"
        assert "skip logic" in caught.value.message


def test_skipped_items_may_be_given_as_none() -> None:
    form = NO_IDEATION | {"3": None, "4": None, "5": None, "6_recent": None}
    assert score("cssrs", form).derived["risk_level"] == "none"


def test_items_3_to_5_are_required_when_item_2_is_yes() -> None:
    with pytest.raises(InvalidInput) as caught:
        score("cssrs", {"1": True, "2": True, "3": False, "6": False})
    assert caught.value.field == "cssrs.item_4"


def test_recent_behaviour_question_follows_item_6() -> None:
    with pytest.raises(InvalidInput) as caught:
        score("cssrs", NO_IDEATION | {"6": True})
    assert caught.value.field == "cssrs.item_6_recent"
    with pytest.raises(InvalidInput) as caught:
        score("cssrs", NO_IDEATION | {"6_recent": False})
    assert caught.value.field == "cssrs.item_6_recent"


@pytest.mark.parametrize("yes", [True, "yes", "YES", "y", 1])
def test_yes_may_be_written_several_ways(yes: Any) -> None:
    assert score("cssrs", NO_IDEATION | {"1": yes}).items["1"] is True


@pytest.mark.parametrize("bad", ["maybe", 2, -1, 0.5])
def test_answers_other_than_yes_or_no_are_refused(bad: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        score("cssrs", NO_IDEATION | {"1": bad})
    assert caught.value.field == "cssrs.item_1"


def test_highest_ideation_item_is_reported() -> None:
    result = score("cssrs", ACTIVE_IDEATION | {"4": True, "6": False})
    assert result.derived["highest_ideation_item"] == 4
    assert score("cssrs", NO_IDEATION).derived["highest_ideation_item"] is None
