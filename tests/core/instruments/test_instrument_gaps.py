"""Instrument decisions no other test pinned (issue 12, mutation testing of `core/instruments`).

Each test kills mutants that `tests/core` let live and that change a score, a risk level, a range
bound, a parameter check or the field an error names (PROTOCOL.md §7; docs/benchmarks.md,
"Mutation testing").
"""

from __future__ import annotations

from typing import Any

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import REGISTRY, resolve_instrument_id, score
from ketamine_ptsd.core.instruments.madrs import madrs_band
from ketamine_ptsd.core.instruments.pcl5 import pcl5_change

CAPS5_ITEMS: dict[str, Any] = {str(n): 2 for n in range(1, 21)}
PCL5_ITEMS: dict[str, Any] = {str(n): 1 for n in range(1, 21)}
MADRS_ITEMS: dict[str, Any] = {str(n): 1 for n in range(1, 11)}
NO_IDEATION: dict[str, Any] = {"1": False, "2": False, "6": False}
ITEM_2_ONLY: dict[str, Any] = {
    "1": False,
    "2": True,
    "3": False,
    "4": False,
    "5": False,
    "6": False,
}

# --- C-SSRS (§7: low = item 1 or 2, moderate = 3, high = 4, 5 or recent behaviour) ---


def test_cssrs_item_2_alone_is_low_risk_section_7() -> None:
    derived = score("cssrs", ITEM_2_ONLY).derived
    assert derived["risk_level"] == "low"
    assert derived["highest_ideation_item"] == 2
    assert (derived["positive"], derived["ideation"]) == (True, True)


@pytest.mark.parametrize(("yes", "highest"), [("3", 3), ("4", 4), ("5", 5)])
def test_cssrs_highest_ideation_item_is_the_last_yes_section_7(yes: str, highest: int) -> None:
    derived = score("cssrs", ITEM_2_ONLY | {yes: True}).derived
    assert derived["highest_ideation_item"] == highest


def test_cssrs_reports_behaviour_and_whether_it_was_recent_section_7() -> None:
    derived = score("cssrs", NO_IDEATION | {"6": True, "6_recent": False}).derived
    assert (derived["ideation"], derived["behaviour"], derived["recent_behaviour"]) == (
        False,
        True,
        False,
    )
    assert derived["positive"] is True
    recent = score("cssrs", NO_IDEATION | {"6": True, "6_recent": True}).derived
    assert (recent["behaviour"], recent["recent_behaviour"]) == (True, True)


@pytest.mark.parametrize(("given", "stored"), [(0, False), (1, True)])
def test_yes_no_items_accept_0_and_1(given: int, stored: bool) -> None:
    result = score("cssrs", {"1": given, "2": False, "6": False})
    assert result.items["1"] is stored


# --- shared validation (_base) ---


@pytest.mark.parametrize("key", [True, 7.0, None])
def test_an_item_key_that_is_not_a_number_or_name_is_refused_naming_the_items(key: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        score("caps5", {**CAPS5_ITEMS, key: 2})
    assert info.value.field == "caps5.items"


def test_items_that_are_not_a_mapping_are_refused_naming_the_items() -> None:
    with pytest.raises(InvalidInput) as info:
        score("caps5", list(CAPS5_ITEMS.values()))  # type: ignore[arg-type]
    assert info.value.field == "caps5.items"


def test_caps5_month_counts_accept_the_upper_bound_and_keep_whole_months_whole() -> None:
    """Items 21 and 22 are counts of months (0–1200, the sanity bound); a whole count stays an
    integer, a fraction stays a fraction."""
    result = score("caps5", {**CAPS5_ITEMS, "21": 1200, "22": 6})
    assert result.items["21"] == 1200
    assert isinstance(result.items["22"], int)
    assert score("caps5", {**CAPS5_ITEMS, "22": 1.5}).items["22"] == 1.5


def test_caps5_past_week_says_why_there_is_no_diagnosis_section_7() -> None:
    derived = score("caps5_past_week", CAPS5_ITEMS).derived
    assert derived["diagnosis"] == "not applicable"
    assert derived["diagnosis_note"] == (
        "the past-week version tracks change; diagnose with the past-month version"
    )


def test_names_typed_with_spaces_resolve() -> None:
    assert resolve_instrument_id("MADRS past week") == "madrs"
    assert resolve_instrument_id(" caps 5 ") == "caps5_past_month"


def test_ies_r_and_cadss_record_their_keying_notes_section_7() -> None:
    ies = score("ies_r", {str(n): 1 for n in range(1, 23)})
    assert ies.derived == {"item_14_subscale": "intrusion (Weiss & Marmar 1997)"}
    cadss = score("cadss", {str(n): 0 for n in range(1, 24)})
    assert cadss.derived == {
        "subscales_note": "no subscales: keying for the 23-item version not verified"
    }


# --- MADRS (§7: remission cut-off and bands are parameters) ---


@pytest.mark.parametrize("remission_max", [0, 60])
def test_madrs_remission_cutoff_accepts_0_and_60(remission_max: int) -> None:
    derived = score("madrs", MADRS_ITEMS, remission_max=remission_max).derived
    assert derived["remission_max"] == remission_max
    assert derived["remission"] is (remission_max >= 10)


def test_madrs_bad_bands_are_refused_naming_the_bands() -> None:
    with pytest.raises(InvalidInput) as info:
        madrs_band(10, ((6, "normal"), (59, "rest")))
    assert info.value.field == "madrs.bands"


# --- PCL-5 (§7: total 0–80, cut-off 31–33 a parameter, ≥ 10 points meaningful change) ---


@pytest.mark.parametrize(("baseline", "followup"), [(0, 10), (80, 70)])
def test_pcl5_change_accepts_totals_at_0_and_80(baseline: int, followup: int) -> None:
    change = pcl5_change(baseline, followup)
    assert (change.baseline_total, change.followup_total) == (baseline, followup)
    assert change.change_points == followup - baseline
    assert change.threshold_points == 10
    assert change.clinically_meaningful is True


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((40, 81), "pcl5.followup_total"),
        ((40, -1), "pcl5.followup_total"),
        ((40, 30.0), "pcl5.followup_total"),
        ((40, True), "pcl5.followup_total"),
        ((81, 40), "pcl5.baseline_total"),
        ((40, 30, 0), "pcl5.threshold_points"),
        ((40, 30, 81), "pcl5.threshold_points"),
        ((40, 30, 10.5), "pcl5.threshold_points"),
        ((40, 30, True), "pcl5.threshold_points"),
    ],
)
def test_pcl5_change_refuses_out_of_range_or_non_whole_inputs_naming_them(
    args: tuple[Any, ...], field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        pcl5_change(*args)
    assert info.value.field == field


@pytest.mark.parametrize(("threshold", "meaningful"), [(1, True), (80, False)])
def test_pcl5_change_threshold_accepts_1_and_80(threshold: int, meaningful: bool) -> None:
    assert pcl5_change(40, 39, threshold).clinically_meaningful is meaningful


@pytest.mark.parametrize("cutoff", [81, 32.5, True])
def test_pcl5_bad_cutoff_is_refused_naming_the_cutoff(cutoff: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        score("pcl5", PCL5_ITEMS, cutoff=cutoff)
    assert info.value.field == "pcl5.cutoff"


@pytest.mark.parametrize(("cutoff", "above"), [(0, True), (80, False)])
def test_pcl5_cutoff_accepts_0_and_80(cutoff: int, above: bool) -> None:
    derived = score("pcl5", PCL5_ITEMS, cutoff=cutoff).derived
    assert derived["above_cutoff"] is above
    assert derived["symptoms_present"] == {"B": 0, "C": 0, "D": 0, "E": 0}


# --- the declarations built at import (`_caps5`, `_madrs`): mutmut forks after the import, so
# only a fresh process sees their mutants (docs/benchmarks.md) ---


@pytest.mark.parametrize(
    ("instrument_id", "version", "recall"),
    [
        ("caps5_past_month", "past-month", "past month"),
        ("caps5_past_week", "past-week", "past week"),
    ],
)
def test_caps5_declaration_matches_section_7(instrument_id: str, version: str, recall: str) -> None:
    """§7: total 0–80 = items 1–20; clusters B 0–20, C 0–8, D 0–28, E 0–24 partition it; the
    command line fills items 1–20 only; errors name ``caps5.item_<n>``."""
    caps5 = REGISTRY[instrument_id]
    assert (caps5.id, caps5.name, caps5.version, caps5.recall_period) == (
        instrument_id,
        "CAPS-5",
        version,
        recall,
    )
    assert caps5.field_prefix == "caps5"
    assert caps5.total_range == (0, 80)
    assert dict(caps5.subscale_ranges) == {
        "intrusion": (0, 20),
        "avoidance": (0, 8),
        "negative_cognitions_mood": (0, 28),
        "arousal_reactivity": (0, 24),
    }
    assert caps5.partition == (
        "intrusion",
        "avoidance",
        "negative_cognitions_mood",
        "arousal_reactivity",
    )
    assert caps5.command_line_keys == tuple(str(n) for n in range(1, 21))
    assert [item.key for item in caps5.items] == [str(n) for n in range(1, 31)]
    assert caps5.accepts_positions is False
    assert "PROTOCOL.md §7" in caps5.citation
    assert caps5.missing_rule.startswith("No prorating")


@pytest.mark.parametrize(
    ("instrument_id", "version", "recall"),
    [("madrs", "past-week", "past week"), ("madrs_24h", "past-24h", "past 24 hours")],
)
def test_madrs_declaration_matches_section_7(instrument_id: str, version: str, recall: str) -> None:
    """§5, §7: ten items 0–6, total 0–60, past-week or past-24 h recall, no subscales."""
    madrs = REGISTRY[instrument_id]
    assert (madrs.id, madrs.name, madrs.version, madrs.recall_period) == (
        instrument_id,
        "MADRS",
        version,
        recall,
    )
    assert madrs.field_prefix == "madrs"
    assert madrs.total_range == (0, 60)
    assert dict(madrs.subscale_ranges) == {}
    assert madrs.partition == ()
    assert madrs.command_line_keys == tuple(str(n) for n in range(1, 11))
    assert [(item.minimum, item.maximum) for item in madrs.items] == [(0, 6)] * 10
    assert madrs.accepts_positions is False
    assert "PROTOCOL.md §5, §7" in madrs.citation
    assert madrs.missing_rule == "No prorating: all ten items are needed for a total."
