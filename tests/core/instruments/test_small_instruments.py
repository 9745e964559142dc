"""CGI-S, CGI-I, YMRS item 1, BPRS positive subscale, CADSS and PRISE (PROTOCOL.md §6, §7)."""

from __future__ import annotations

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import get_instrument, score
from ketamine_ptsd.core.instruments.prise import PRISE_GROUPS


def test_cgi_s_reports_its_label_and_refuses_not_assessed_zero() -> None:
    assert score("cgi_s", {1: 1}).derived["label"] == "normal, not at all ill"
    assert score("cgi_s", {1: 7}).derived["label"] == "among the most extremely ill"
    with pytest.raises(InvalidInput) as caught:
        score("cgi_s", {1: 0})
    assert caught.value.field == "cgi_s.item_1"


def test_cgi_i_four_is_no_change() -> None:
    result = score("cgi_i", {1: 4})
    assert (result.total, result.derived["label"]) == (4, "no change")


def test_ymrs_item_1_is_rated_0_to_4() -> None:
    assert score("ymrs", {1: 4}).derived["label"] == "euphoric"
    with pytest.raises(InvalidInput):
        score("ymrs_item1", {1: 5})


def test_bprs_positive_is_keyed_by_bprs18_numbers_and_stores_its_convention() -> None:
    result = score("bprs_positive", {4: 1, 11: 1, 12: 1, 15: 1})
    assert result.total == 4
    assert result.subscales == {"positive": 4}
    assert result.derived["positive_zero_based"] == 0
    assert result.derived["scoring_convention"].startswith("1-7")
    assert score("bprs", {4: 7, 11: 7, 12: 7, 15: 7}).derived["positive_zero_based"] == 24


def test_bprs_refuses_position_numbers_that_are_not_its_item_numbers() -> None:
    with pytest.raises(InvalidInput) as caught:
        score("bprs_positive", {1: 2, 4: 1, 11: 1, 12: 1, 15: 1})
    assert caught.value.field == "bprs.item_1"


def test_cadss_sums_23_items_without_subscales() -> None:
    result = score("cadss", {n: 4 for n in range(1, 24)})
    assert result.total == 92
    assert result.subscales == {}
    assert len(get_instrument("cadss").items) == 23


def test_prise_has_nine_groups_and_no_total() -> None:
    assert len(PRISE_GROUPS) == 9
    instrument = get_instrument("prise")
    form = {item.key: "no" for item in instrument.items}
    form |= {"blurred_vision": "distressing", "dizziness": "tolerable", "fatigue": "tolerable"}
    result = score("prise", form)
    assert result.total is None
    assert result.derived["groups"]["eyes_ears"] == {"reported": 1, "distressing": 1, "symptoms": 2}
    assert result.derived["groups"]["nervous_system"]["reported"] == 1
    assert result.derived["groups"]["other"]["distressing"] == 0
    assert result.derived["reported"] == ["dizziness", "blurred_vision", "fatigue"]
    assert result.derived["distressing"] == ["blurred_vision"]


def test_prise_accepts_codes_and_positions_and_refuses_other_answers() -> None:
    instrument = get_instrument("prise")
    form = {item.position: 0 for item in instrument.items} | {1: 2}
    assert score("prise", form).items["diarrhea"] == "distressing"
    with pytest.raises(InvalidInput) as caught:
        score("prise", form | {1: "severe"})
    assert caught.value.field == "prise.item_diarrhea"
    with pytest.raises(InvalidInput):
        score("prise", form | {1: 3})
