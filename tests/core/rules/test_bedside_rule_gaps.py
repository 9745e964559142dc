"""Bedside decisions no other test pinned (issue 12, mutation testing).

Each test here kills mutants of `make mutation` that changed a decision of the pre-infusion
checklist, the hold release, the C-SSRS review or the discharge and vitals rules — which item
fails, whether it counts as missing, the § it cites, the field an error names, a threshold at
its boundary — and that `tests/core` let pass (docs/benchmarks.md, "Mutation testing").
"""

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
    check_bp_cutoff,
    hold_release_refusal,
    parse_bp_readings,
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


# --- the blood-pressure cutoff (§6) -----------------------------------------------------------


def test_an_empty_series_is_refused_naming_readings(rct: Protocol) -> None:
    """§6: the cutoff is read over readings; none is an input error on ``readings``."""
    with pytest.raises(InvalidInput) as error:
        check_bp_cutoff((), rct.pre_infusion.bp_cutoff)
    assert error.value.field == "readings"


def test_the_cutoff_names_the_readings_above_each_limit(rct: Protocol) -> None:
    """§6: the reason lists which readings (1-based, as taken) are above each limit, and the
    result keeps the series it judged."""
    series = parse_bp_readings("170/80,130/80,145/80")
    result = check_bp_cutoff(series, rct.pre_infusion.bp_cutoff)
    assert result.readings == series
    assert "#1 170/80, #3 145/80" in result.reasons[0]  # above 140/90
    assert "#2" not in result.reasons[0]
    assert "(#1 170/80)" in result.reasons[1]  # above 160/90


# --- the checklist (§1, §2, §6) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "item_id"),
    [
        ({"nil_by_mouth": None}, "nil_by_mouth"),
        ({"pregnancy_test": None}, "pregnancy_test"),
        ({"pregnancy_test": "positive"}, "pregnancy_test"),
        ({"urine_toxicology_positive_for": None}, "urine_toxicology"),
        ({"urine_toxicology_positive_for": ("cocaine",)}, "urine_toxicology"),
        (
            {"baseline_vitals_alerts": ("SpO2 % 88 < 90 (PROTOCOL.md §6)",)},
            "baseline_vitals_alerts",
        ),
        ({"short_acting_benzodiazepine_taken_this_morning": None}, "benzodiazepine_held"),
        ({"bp_readings": ()}, "bp_cutoff"),
    ],
)
def test_a_failed_check_is_failed_not_unknown(
    rct: Protocol, change: dict[str, object], item_id: str
) -> None:
    """§6: each failed check says ``passed is False`` (the screen and the API show a hold, not
    an unanswered item)."""
    item = _item(rct, replace(_ok(), **change), item_id)  # type: ignore[arg-type]
    assert item.passed is False


def test_baseline_vitals_not_recorded_is_missing_and_not_releasable(rct: Protocol) -> None:
    """§6: baseline vitals nobody took are recorded, not released by a physician."""
    item = _item(rct, replace(_ok(), baseline_vitals_recorded=False), "baseline_vitals")
    assert item.passed is False and item.missing is True
    refusal = hold_release_refusal(rct, item)
    assert refusal is not None and "record it" in refusal
    recorded = _item(rct, _ok(), "baseline_vitals")
    assert recorded.passed is True and recorded.missing is False


@pytest.mark.parametrize("taken", [None, True, False])
def test_the_morning_benzodiazepine_check_cites_section_1(
    rct: Protocol, taken: bool | None
) -> None:
    """The RCT holds the morning short-acting benzodiazepine dose (PROTOCOL.md §1), not §6."""
    findings = replace(_ok(), short_acting_benzodiazepine_taken_this_morning=taken)
    item = _item(rct, findings, "benzodiazepine_held")
    assert item.section == "PROTOCOL.md §1"
    assert item.passed is (taken is False)
    assert item.missing is (taken is None)


def test_a_positive_pregnancy_test_with_the_decision_passes_citing_sections_2_and_6(
    clinical: Protocol,
) -> None:
    """Clinical pathway: pregnancy is a relative contraindication (§2); with the recorded
    risk-benefit decision the pregnancy check passes, citing §2 and §6."""
    findings = replace(
        _ok(), pregnancy_test="positive", pregnancy_risk_benefit_decision_recorded=True
    )
    item = _item(clinical, findings, "pregnancy_test")
    assert item.passed is True and item.missing is False
    assert item.section == "PROTOCOL.md §2, §6"
    without = _item(
        clinical,
        replace(findings, pregnancy_risk_benefit_decision_recorded=False),
        "pregnancy_test",
    )
    assert without.passed is False and without.section == "PROTOCOL.md §6"


def _with_ratings(protocol: Protocol, minutes: tuple[int, ...]) -> Protocol:
    ratings = tuple(r for r in protocol.monitoring.ratings if r.minute in minutes)
    return protocol.model_copy(
        update={"monitoring": protocol.monitoring.model_copy(update={"ratings": ratings})}
    )


def test_the_ratings_check_is_for_the_minute_0_ratings_only(rct: Protocol) -> None:
    """§6: the checklist asks for the ratings due before the start (minute 0), named; a protocol
    without minute-0 ratings has no such check, and one with only those still has it."""
    item = _item(rct, _ok(), "pre_infusion_ratings")
    assert "(cadss, bprs_positive, ymrs_item1, prise)" in item.reason
    later_only = _with_ratings(rct, (40, 120))
    ids = {i.id for i in pre_infusion_checklist(later_only, _ok()).items}
    assert "pre_infusion_ratings" not in ids
    before_only = _with_ratings(rct, (0,))
    findings = replace(_ok(), pre_infusion_ratings_recorded=False)
    assert _item(before_only, findings, "pre_infusion_ratings").passed is False


# --- the hold release (§1, §6) ----------------------------------------------------------------


def _pregnancy_kind(protocol: Protocol, kind: str) -> Protocol:
    eligibility = tuple(
        c.model_copy(update={"kind": kind}) if c.fact == "pregnant" else c
        for c in protocol.eligibility
    )
    return protocol.model_copy(update={"eligibility": eligibility})


def test_absolute_pregnancy_is_never_released_beside_other_relative_contraindications(
    clinical: Protocol,
) -> None:
    """§1: a positive test where pregnancy is *absolute* cannot be released, even when the
    protocol has other relative contraindications (substance use, hepatic, benzodiazepine)."""
    absolute = _pregnancy_kind(clinical, "absolute_contraindication")
    assert any(c.kind == "relative_contraindication" for c in absolute.eligibility)
    item = _item(absolute, replace(_ok(), pregnancy_test="positive"), "pregnancy_test")
    refusal = hold_release_refusal(absolute, item)
    assert refusal is not None and "absolute contraindication" in refusal
    relative = _item(clinical, replace(_ok(), pregnancy_test="positive"), "pregnancy_test")
    assert hold_release_refusal(clinical, relative) is None


# --- the C-SSRS review level (§7) --------------------------------------------------------------


def test_the_suicide_risk_alert_cites_section_7(rct: Protocol) -> None:
    """PROTOCOL.md §7 is where the review comes from; the alert says so."""
    high = {"1": True, "2": True, "3": True, "4": True, "5": False, "6": False}
    message = suicide_risk_alert(rct, score("cssrs", high).derived, "screening")
    assert message is not None
    assert "review level is moderate" in message and "PROTOCOL.md §7" in message
