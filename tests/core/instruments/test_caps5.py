"""CAPS-5 total, clusters and DSM-5 diagnosis (PROTOCOL.md §7; Weathers et al. 2013/2018).

The diagnosis cases start from a form that just meets every criterion and make one criterion
just fail at a time.
"""

from __future__ import annotations

from typing import Any

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import score


def just_diagnosed() -> dict[str, Any]:
    """Exactly the minimum: 1 B, 1 C, 2 D, 2 E symptoms at 2; duration 2 months; item 23 at 2."""
    form: dict[str, Any] = {str(n): 0 for n in range(1, 21)}
    form.update({"1": 2, "6": 2, "8": 2, "9": 2, "15": 2, "16": 2})
    form.update({"22": 2, "23": 2, "24": 0, "25": 0, "29": 0, "30": 0})
    return form


def test_total_is_sum_of_items_1_to_20_and_clusters_follow_dsm5() -> None:
    form = {str(n): n % 5 for n in range(1, 21)}
    result = score("caps5_past_week", form)
    assert result.total == sum(n % 5 for n in range(1, 21))
    assert result.subscales == {
        "intrusion": sum(n % 5 for n in range(1, 6)),
        "avoidance": 1 + 2,
        "negative_cognitions_mood": sum(n % 5 for n in range(8, 15)),
        "arousal_reactivity": sum(n % 5 for n in range(15, 21)),
    }


def test_minimal_form_meets_the_diagnosis() -> None:
    derived = score("caps5_past_month", just_diagnosed()).derived
    assert derived["diagnosis"] == "met"
    assert derived["diagnosis_criteria"] == dict.fromkeys("BCDEFG", True)
    assert derived["symptoms_present"] == {"B": 1, "C": 1, "D": 2, "E": 2}
    assert derived["dissociative_subtype"] == "absent"


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({"1": 1}, "B"),
        ({"6": 1}, "C"),
        ({"9": 1}, "D"),
        ({"16": 1}, "E"),
        ({"22": 1}, "F"),  # exactly one month is not "more than 1 month"
        ({"22": 0.5}, "F"),
        ({"23": 1}, "G"),
    ],
)
def test_each_criterion_just_failing_means_not_met(change: dict[str, Any], failing: str) -> None:
    derived = score("caps5_past_month", just_diagnosed() | change).derived
    assert derived["diagnosis"] == "not met"
    assert derived["diagnosis_criteria"][failing] is False
    assert [c for c, met in derived["diagnosis_criteria"].items() if not met] == [failing]
    assert derived["dissociative_subtype"] == "not applicable"


def test_severity_one_is_not_a_present_symptom_but_two_is() -> None:
    form = just_diagnosed() | {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1}
    assert score("caps5_past_month", form).derived["symptoms_present"]["B"] == 0
    assert score("caps5_past_month", form | {"5": 2}).derived["diagnosis"] == "met"


def test_duration_just_over_one_month_meets_f() -> None:
    derived = score("caps5_past_month", just_diagnosed() | {"22": 1.5}).derived
    assert derived["diagnosis_criteria"]["F"] is True


@pytest.mark.parametrize("key", ["24", "25"])
def test_any_one_of_items_23_to_25_at_two_meets_g(key: str) -> None:
    form = just_diagnosed() | {"23": 1, key: 2}
    assert score("caps5_past_month", form).derived["diagnosis"] == "met"


def test_diagnosis_not_assessable_names_missing_items() -> None:
    form = {k: v for k, v in just_diagnosed().items() if k not in {"22", "24", "25"}}
    form["23"] = 1
    derived = score("caps5_past_month", form).derived
    assert derived["diagnosis"] == "not assessable"
    assert derived["diagnosis_missing_items"] == ["22", "24", "25"]
    assert derived["diagnosis_criteria"]["F"] is None
    assert derived["diagnosis_criteria"]["G"] is None


def test_severities_alone_give_total_and_a_not_assessable_diagnosis() -> None:
    form = {k: v for k, v in just_diagnosed().items() if int(k) <= 20}
    result = score("caps5", form)
    assert result.total == 12
    assert result.derived["diagnosis"] == "not assessable"
    assert result.derived["diagnosis_missing_items"] == ["22", "23", "24", "25"]


def test_a_failed_symptom_criterion_is_not_met_even_with_items_missing() -> None:
    form = {k: v for k, v in just_diagnosed().items() if int(k) <= 20} | {"8": 0}
    derived = score("caps5_past_month", form).derived
    assert derived["diagnosis"] == "not met"
    assert derived["diagnosis_missing_items"] == []


def test_g_met_by_one_item_needs_no_other_impairment_items() -> None:
    form = {k: v for k, v in just_diagnosed().items() if k not in {"24", "25"}}
    assert score("caps5_past_month", form).derived["diagnosis"] == "met"


@pytest.mark.parametrize(
    ("dissociation", "expected", "missing"),
    [
        ({"29": 2, "30": 0}, "present", []),
        ({"29": 0, "30": 2}, "present", []),
        ({"29": 1, "30": 1}, "absent", []),
        ({"29": 1, "30": None}, "not assessable", ["30"]),
        ({"29": None, "30": 4}, "present", []),
    ],
)
def test_dissociative_subtype_needs_item_29_or_30_at_two(
    dissociation: dict[str, Any], expected: str, missing: list[str]
) -> None:
    derived = score("caps5_past_month", just_diagnosed() | dissociation).derived
    assert derived["dissociative_subtype"] == expected
    assert derived["dissociative_subtype_missing_items"] == missing


def test_delayed_expression_from_onset_delay_of_six_months() -> None:
    assert score("caps5", just_diagnosed() | {"21": 6}).derived["delayed_expression"] is True
    assert score("caps5", just_diagnosed() | {"21": 5}).derived["delayed_expression"] is False
    assert score("caps5", just_diagnosed()).derived["delayed_expression"] is None


def test_past_week_version_never_diagnoses() -> None:
    result = score("caps5_past_week", just_diagnosed())
    assert result.version == "past-week"
    assert result.derived["diagnosis"] == "not applicable"


def test_missing_severity_item_is_refused_listing_all_missing() -> None:
    form = {k: v for k, v in just_diagnosed().items() if k not in {"7", "12"}}
    with pytest.raises(InvalidInput) as caught:
        score("caps5_past_month", form)
    assert caught.value.field == "caps5.item_7"
    assert "7, 12" in caught.value.message


def test_global_validity_item_26_is_rated_0_to_3() -> None:
    assert score("caps5", just_diagnosed() | {"26": 3}).items["26"] == 3
    with pytest.raises(InvalidInput, match=r"caps5\.item_26"):
        score("caps5", just_diagnosed() | {"26": 4})


def test_negative_duration_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        score("caps5", just_diagnosed() | {"22": -1})
    assert caught.value.field == "caps5.item_22"
