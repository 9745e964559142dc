"""The pre-infusion checklist and the blood-pressure cutoff (PROTOCOL.md §6)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import (
    BpReading,
    PreInfusionFindings,
    check_bp_cutoff,
    parse_bp_reading,
    parse_bp_readings,
    pre_infusion_checklist,
)


def _check(protocol: Protocol, text: str) -> tuple[bool, int | None]:
    result = check_bp_cutoff(parse_bp_readings(text), protocol.pre_infusion.bp_cutoff)
    return result.passes, result.failed_at_reading


def test_bp_cutoff_passes_with_two_readings_above_140_90(rct: Protocol) -> None:
    assert _check(rct, "150/85,145/80,130/80") == (True, None)


def test_bp_cutoff_fails_on_third_reading_above_140_90(rct: Protocol) -> None:
    assert _check(rct, "150/85,145/80,130/80,142/70") == (False, 4)


def test_bp_cutoff_passes_with_one_reading_above_160_90(rct: Protocol) -> None:
    assert _check(rct, "165/85,130/80") == (True, None)


def test_bp_cutoff_fails_on_second_reading_above_160_90(rct: Protocol) -> None:
    assert _check(rct, "165/85,130/80,162/70") == (False, 3)


def test_reading_is_above_when_only_diastolic_exceeds(rct: Protocol) -> None:
    """Both RCT limits bound diastolic at 90, so diastolic 91+ is above 160/90 as well (§6)."""
    assert _check(rct, "120/95,120/80") == (True, None)
    assert _check(rct, "120/95,120/91") == (False, 2)


def test_reading_is_above_when_only_systolic_exceeds(rct: Protocol) -> None:
    assert _check(rct, "141/60,141/60,141/60") == (False, 3)


def test_reading_at_the_bound_is_not_above(rct: Protocol) -> None:
    assert _check(rct, "140/90,140/90,140/90,140/90") == (True, None)


def test_reading_above_160_90_also_counts_above_140_90(rct: Protocol) -> None:
    result = check_bp_cutoff(parse_bp_readings("170/80,150/80,145/80"), rct.pre_infusion.bp_cutoff)
    assert not result.passes
    assert result.failed_at_reading == 3
    assert result.reasons[0].startswith("fails: 3 of 3 readings above 140/90 mmHg")
    assert result.reasons[1].startswith("ok: 1 of 3 readings above 160/90 mmHg")
    assert all("PROTOCOL.md §6" in r for r in result.reasons)


@pytest.mark.parametrize("text", ["150-85", "150/", "abc", "80/120", "400/80", ""])
def test_malformed_reading_is_refused_naming_readings(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_bp_readings(text)
    assert info.value.field == "readings"


def test_reading_parses_with_spaces() -> None:
    assert parse_bp_reading(" 150 / 85 ") == BpReading(150, 85)


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


def test_checklist_passes_when_everything_is_confirmed(rct: Protocol) -> None:
    result = pre_infusion_checklist(rct, _ok())
    assert result.passes and result.reasons == ()
    assert {i.id for i in result.items} == {
        "nil_by_mouth",
        "pregnancy_test",
        "urine_toxicology",
        "baseline_vitals",
        "benzodiazepine_held",
        "bp_cutoff",
        "pre_infusion_ratings",
    }


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"nil_by_mouth": False}, "not nil by mouth"),
        ({"nil_by_mouth": None}, "nil by mouth not confirmed"),
        ({"pregnancy_test": "positive"}, "pregnancy test positive"),
        ({"pregnancy_test": None}, "pregnancy test not recorded"),
        ({"urine_toxicology_positive_for": ("cocaine",)}, "positive for cocaine"),
        ({"urine_toxicology_positive_for": None}, "urine toxicology not recorded"),
        ({"baseline_vitals_recorded": False}, "baseline vital signs not recorded"),
        ({"short_acting_benzodiazepine_taken_this_morning": True}, "held on infusion days"),
        ({"bp_readings": ()}, "no blood-pressure readings"),
        ({"pre_infusion_ratings_recorded": None}, "ratings before the infusion not recorded"),
        ({"bp_readings": (BpReading(150, 80),) * 3}, "3 of 3 readings above 140/90"),
    ],
)
def test_checklist_fails_with_a_reason(
    rct: Protocol, change: dict[str, object], reason: str
) -> None:
    result = pre_infusion_checklist(rct, replace(_ok(), **change))  # type: ignore[arg-type]
    assert not result.passes
    assert any(reason in r for r in result.reasons), result.reasons


def test_urine_toxicology_positive_only_for_marijuana_passes(rct: Protocol) -> None:
    findings = replace(_ok(), urine_toxicology_positive_for=("Marijuana",))
    assert pre_infusion_checklist(rct, findings).passes


def test_pregnancy_test_not_applicable_passes(rct: Protocol) -> None:
    assert pre_infusion_checklist(rct, replace(_ok(), pregnancy_test="not_applicable")).passes


def test_clinic_positive_pregnancy_test_passes_only_with_a_risk_benefit_decision(
    clinical: Protocol, rct: Protocol
) -> None:
    positive = replace(_ok(), pregnancy_test="positive")
    assert not pre_infusion_checklist(clinical, positive).passes
    decided = replace(positive, pregnancy_risk_benefit_decision_recorded=True)
    assert pre_infusion_checklist(clinical, decided).passes
    assert not pre_infusion_checklist(rct, decided).passes  # the RCT has no such decision


def test_benzodiazepine_hold_is_an_rct_check_only(clinical: Protocol) -> None:
    findings = replace(_ok(), short_acting_benzodiazepine_taken_this_morning=None)
    assert pre_infusion_checklist(clinical, findings).passes
