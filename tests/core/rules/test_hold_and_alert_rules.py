"""A held morning's release and the C-SSRS review level (PROTOCOL.md §1, §6, §7; issue 12)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import score
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import (
    BpReading,
    ChecklistItem,
    PreInfusionFindings,
    hold_release_refusal,
    pre_infusion_checklist,
    suicide_risk_alert,
)


def _ok() -> PreInfusionFindings:
    return PreInfusionFindings(
        nil_by_mouth=True,
        pregnancy_test="negative",
        urine_toxicology_positive_for=(),
        bp_readings=(BpReading(128, 82),),
        baseline_vitals_recorded=True,
        short_acting_benzodiazepine_taken_this_morning=False,
        pre_infusion_ratings_recorded=True,
    )


def _item(protocol: Protocol, findings: PreInfusionFindings, item_id: str) -> ChecklistItem:
    [item] = [i for i in pre_infusion_checklist(protocol, findings).items if i.id == item_id]
    return item


def test_baseline_vitals_beyond_an_alert_hold_the_start(rct: Protocol) -> None:
    """Issue 12 item 6: a minute-0 SpO2 of 88 % holds like the blood-pressure rule."""
    alerts = ("SpO2 % 88 < 90: give oxygen, call the physician (PROTOCOL.md §6)",)
    result = pre_infusion_checklist(rct, replace(_ok(), baseline_vitals_alerts=alerts))
    assert not result.passes
    item = _item(rct, replace(_ok(), baseline_vitals_alerts=alerts), "baseline_vitals_alerts")
    assert not item.passed and not item.missing
    assert "SpO2 % 88 < 90" in item.reason and "(PROTOCOL.md §6)" not in item.reason
    assert hold_release_refusal(rct, item) is None  # the physician may release it
    assert "baseline_vitals_alerts" not in {i.id for i in pre_infusion_checklist(rct, _ok()).items}


@pytest.mark.parametrize(
    ("field", "item_id"),
    [
        ("nil_by_mouth", "nil_by_mouth"),
        ("pregnancy_test", "pregnancy_test"),
        ("urine_toxicology_positive_for", "urine_toxicology"),
        ("short_acting_benzodiazepine_taken_this_morning", "benzodiazepine_held"),
        ("pre_infusion_ratings_recorded", "pre_infusion_ratings"),
    ],
)
def test_a_finding_nobody_recorded_is_missing_and_cannot_be_released(
    rct: Protocol, field: str, item_id: str
) -> None:
    item = _item(rct, replace(_ok(), **{field: None}), item_id)
    assert not item.passed and item.missing
    refusal = hold_release_refusal(rct, item)
    assert refusal is not None and "record it" in refusal


def test_no_bp_reading_is_missing_a_series_above_the_cutoff_is_releasable(rct: Protocol) -> None:
    none = _item(rct, replace(_ok(), bp_readings=()), "bp_cutoff")
    assert none.missing and hold_release_refusal(rct, none) is not None
    series = (BpReading(150, 85), BpReading(145, 92), BpReading(142, 88))
    held = _item(rct, replace(_ok(), bp_readings=series), "bp_cutoff")
    assert not held.passed and not held.missing
    assert hold_release_refusal(rct, held) is None


def test_a_passed_check_has_nothing_to_release(rct: Protocol) -> None:
    refusal = hold_release_refusal(rct, _item(rct, _ok(), "nil_by_mouth"))
    assert refusal is not None and "nothing to release" in refusal


def test_a_positive_pregnancy_test_is_released_only_where_pregnancy_is_relative(
    rct: Protocol, clinical: Protocol
) -> None:
    """PROTOCOL.md §1: absolute in the RCT (never released); relative in the clinical protocol
    (the physician's risk-benefit decision)."""
    positive = replace(_ok(), pregnancy_test="positive")
    refusal = hold_release_refusal(rct, _item(rct, positive, "pregnancy_test"))
    assert refusal is not None and "absolute" in refusal and "§1" in refusal
    kinds = {c.fact: c.kind for c in clinical.eligibility}
    item = _item(clinical, positive, "pregnancy_test")
    if kinds.get("pregnant") == "relative_contraindication":
        assert hold_release_refusal(clinical, item) is None
    else:
        assert hold_release_refusal(clinical, item) is not None


def test_a_positive_toxicology_is_releasable_with_a_reason(rct: Protocol) -> None:
    item = _item(
        rct, replace(_ok(), urine_toxicology_positive_for=("cocaine",)), "urine_toxicology"
    )
    assert not item.passed and not item.missing
    assert hold_release_refusal(rct, item) is None


# --- C-SSRS review level (§7) ------------------------------------------------------------------

NONE = {"1": False, "2": False, "6": False}
LOW = {"1": True, "2": False, "6": False}
MODERATE = {"1": True, "2": True, "3": True, "4": False, "5": False, "6": False}
HIGH = {"1": True, "2": True, "3": True, "4": True, "5": False, "6": False}


@pytest.mark.parametrize(
    ("items", "level", "alerts"),
    [
        (NONE, "none", False),
        (LOW, "low", False),
        (MODERATE, "moderate", True),
        (HIGH, "high", True),
    ],
)
def test_the_screener_alerts_at_or_above_the_protocols_review_level(
    rct: Protocol, items: dict[str, bool], level: str, alerts: bool
) -> None:
    derived = score("cssrs", items).derived
    assert derived["risk_level"] == level
    message = suicide_risk_alert(rct, derived, "week_1 on 2026-03-09")
    assert (message is not None) is alerts
    if message is not None:
        assert f"C-SSRS {level} suicide risk at week_1 on 2026-03-09" in message
        assert "§7" in message


@pytest.mark.parametrize(("threshold", "alerting"), [("low", 3), ("moderate", 2), ("high", 1)])
def test_a_site_sets_the_review_level(rct: Protocol, threshold: str, alerting: int) -> None:
    site = rct.model_copy(
        update={
            "monitoring": rct.monitoring.model_copy(update={"suicide_risk_review_level": threshold})
        }
    )
    messages = [
        suicide_risk_alert(site, score("cssrs", items).derived, "screening")
        for items in (NONE, LOW, MODERATE, HIGH)
    ]
    assert sum(m is not None for m in messages) == alerting
    assert messages[0] is None  # "none" never alerts


@pytest.mark.parametrize("level", [None, "severe", 3])
def test_an_unknown_risk_level_is_a_named_input_error(rct: Protocol, level: object) -> None:
    with pytest.raises(InvalidInput) as error:
        suicide_risk_alert(rct, {"risk_level": level}, "screening")
    assert error.value.field == "risk_level"
