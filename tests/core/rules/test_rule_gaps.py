"""The gaps mutation testing found in the safety rules (issue 12, "Tests that let a wrong rule
live"): each test here kills a mutant that survived the rest of the suite, and says which.

Every change named in the issue's list is covered: the unanswered benzodiazepine question, the
female Devine formula, a height without sex, the height range's ends, ``blinded_dose`` on another
weight basis and its refusal when the arms differ, the blood-pressure reading bounds, non-finite
and boolean scores in the response rule, the non-responder's reason text and the discharge reason
codes, a positive pregnancy test where pregnancy is absolute, and the ``le``/``lt`` operators.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Criterion, Protocol, protocol_from_mapping
from ketamine_ptsd.core.rules import (
    CriterionStatus,
    administered_dose,
    blinded_dose,
    calculate_dose,
    evaluate_criterion,
    shared_volume,
    shares_one_volume,
)
from ketamine_ptsd.core.rules.discharge import DischargeCriterion
from ketamine_ptsd.core.rules.dose import dosing_weight_kg
from ketamine_ptsd.core.rules.pre_infusion import (
    BpReading,
    PreInfusionFindings,
    parse_bp_reading,
    pre_infusion_checklist,
)
from ketamine_ptsd.core.rules.response import assess_response

RCT = load_protocol("rct")
CLINICAL = load_protocol("clinical")


def _with(protocol: Protocol, edit: dict[str, object]) -> Protocol:
    data = protocol.model_dump(mode="json")
    for path, value in edit.items():
        node = data
        *parents, leaf = path.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return protocol_from_mapping(data)


def _ok_findings() -> PreInfusionFindings:
    return PreInfusionFindings(
        nil_by_mouth=True,
        pregnancy_test="negative",
        urine_toxicology_positive_for=(),
        bp_readings=(BpReading(128, 82),),
        baseline_vitals_recorded=True,
        short_acting_benzodiazepine_taken_this_morning=False,
        pre_infusion_ratings_recorded=True,
    )


# --- pre_infusion.py: the morning benzodiazepine question (PROTOCOL.md §1) -------------------


def test_rct_checklist_fails_when_the_morning_benzodiazepine_question_is_unanswered() -> None:
    # Mutant: `None` treated like "no" (taken is None → passes). An unanswered question must hold.
    findings = replace(_ok_findings(), short_acting_benzodiazepine_taken_this_morning=None)
    result = pre_infusion_checklist(RCT, findings)
    assert not result.passes
    item = next(i for i in result.items if i.id == "benzodiazepine_held")
    assert not item.passed
    assert "not recorded whether a short-acting benzodiazepine was taken" in item.reason
    assert item.section == "PROTOCOL.md §1"


# --- dose.py: the Devine ideal body weight (PROTOCOL.md §4) ----------------------------------


def test_female_ideal_body_weight_is_45_5_kg_plus_2_3_kg_per_inch_over_five_feet() -> None:
    # 165.1 cm = 65 in: 45.5 + 2.3 × 5 = 57.0 kg (the mutant 46.5 gives 58.0).
    assert dosing_weight_kg(80, "ideal", 165.1, "female") == pytest.approx(57.0)
    assert dosing_weight_kg(80, "adjusted", 165.1, "female") == pytest.approx(57.0 + 0.4 * 23.0)
    # and the male formula at the same height is 4.5 kg heavier
    assert dosing_weight_kg(80, "ideal", 165.1, "male") == pytest.approx(61.5)


def test_a_height_without_sex_is_refused_naming_sex() -> None:
    # Mutant: the female formula used silently when sex is missing.
    with pytest.raises(InvalidInput) as info:
        dosing_weight_kg(80, "ideal", 170.0, None)
    assert info.value.field == "sex"
    assert "height and sex are needed" in info.value.message


@pytest.mark.parametrize("height", [120.0, 230.0])
def test_the_height_range_ends_are_accepted(height: float) -> None:
    assert dosing_weight_kg(200, "ideal", height, "male") > 0


@pytest.mark.parametrize("height", [119.9, 230.1])
def test_a_height_just_outside_120_to_230_cm_is_refused(height: float) -> None:
    with pytest.raises(InvalidInput) as info:
        dosing_weight_kg(80, "ideal", height, "male")
    assert info.value.field == "height_cm"


def test_actual_weight_ignores_height_and_sex() -> None:
    assert dosing_weight_kg(80, "actual") == 80


def test_blinded_dose_on_ideal_body_weight_gives_every_arm_the_same_volume() -> None:
    # blinded_dose never ran on a basis other than actual weight.
    p = _with(
        RCT,
        {"dosing.ketamine.weight_basis": "ideal", "dosing.midazolam.weight_basis": "ideal"},
    )
    k = blinded_dose(p, "ketamine", 100, height_cm=177.8, sex="male")  # IBW 73 kg
    m = blinded_dose(p, "midazolam", 100, height_cm=177.8, sex="male")
    assert k.dosing_weight_kg == pytest.approx(73.0) == m.dosing_weight_kg
    assert (k.volume_ml, k.rate_ml_per_h) == (m.volume_ml, m.rate_ml_per_h) == (36.5, 54.8)
    assert "ideal body weight" in k.volume_arithmetic and "actual 100 kg" in k.volume_arithmetic
    assert k.volume_arithmetic == m.volume_arithmetic
    with pytest.raises(InvalidInput) as info:
        blinded_dose(p, "ketamine", 100)
    assert info.value.field == "height_cm"


def test_blinded_dose_is_refused_when_the_arms_use_different_weight_bases() -> None:
    p = _with(RCT, {"dosing.ketamine.weight_basis": "ideal"})
    with pytest.raises(InvalidInput) as info:
        shared_volume(p)
    assert info.value.field == "weight_basis"
    assert "would reveal the drug" in info.value.message
    with pytest.raises(InvalidInput) as again:
        blinded_dose(p, "ketamine", 80, height_cm=170, sex="female")
    assert again.value.field == "weight_basis"
    # the single-drug rule still doses each drug on its own basis
    assert calculate_dose(p, "ketamine", 100, height_cm=177.8, sex="male").dose_mg == 36.5


# --- pre_infusion.py: the bounds of one blood-pressure reading -------------------------------


@pytest.mark.parametrize(("s", "d"), [(50, 20), (300, 200), (121, 120), (51, 50)])
def test_readings_at_the_bounds_are_accepted(s: int, d: int) -> None:
    assert BpReading(s, d) == parse_bp_reading(f"{s}/{d}")


@pytest.mark.parametrize(
    ("s", "d", "field"),
    [
        (49, 20, "systolic_mmhg"),
        (301, 90, "systolic_mmhg"),
        (120, 19, "diastolic_mmhg"),
        (250, 201, "diastolic_mmhg"),
        (120, 120, "diastolic_mmhg"),  # mutant `>` → `>=`: systolic must exceed diastolic
        (100, 110, "diastolic_mmhg"),
    ],
)
def test_readings_outside_the_bounds_are_refused_naming_the_part(
    s: int, d: int, field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        BpReading(s, d)
    assert info.value.field == field
    with pytest.raises(InvalidInput) as parsed:
        parse_bp_reading(f"{s}/{d}")
    assert parsed.value.field == "readings"
    assert f"{s}/{d}" in str(parsed.value.value)


# --- response.py: named input errors, the reason text (PROTOCOL.md §8) ----------------------


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, True, False])
@pytest.mark.parametrize("which", ["baseline", "value"])
def test_non_finite_or_boolean_scores_are_named_input_errors(bad: float, which: str) -> None:
    args = {"baseline": 40.0, "value": 20.0, which: bad}
    with pytest.raises(InvalidInput) as info:
        assess_response(RCT.response, args["baseline"], args["value"])
    assert info.value.field == which
    assert info.value.message == "expected a finite number"


def test_the_non_responders_reason_states_scores_reduction_threshold_and_source() -> None:
    r = assess_response(RCT.response, 40, 30)
    assert not r.responder
    assert r.reduction_percent == pytest.approx(25.0)
    assert r.reason == (
        f"{RCT.response.instrument} {RCT.response.measure} 40 → 30 at "
        f"{RCT.response.assessment}: 25.0 % reduction, no response (threshold 30 %, "
        "PROTOCOL.md §8)"
    )
    assert "response (threshold" in assess_response(RCT.response, 40, 28).reason


def test_the_discharge_reason_codes_the_pages_use_are_stable() -> None:
    # Pages and scripts match on these strings, never on the reason text.
    assert {c.value for c in DischargeCriterion} >= {
        "observation",
        "dissociation",
        "ambulatory",
        "delayed_effects",
        "vital_signs",
        "physician_signoff",
    }


# --- pregnancy: absolute in one criterion, relative in another (PROTOCOL.md §2, §6) ----------


def test_positive_pregnancy_test_is_not_passed_by_a_decision_where_pregnancy_is_absolute() -> None:
    # A site protocol where pregnancy is an absolute contraindication and another criterion is
    # relative: a risk-benefit decision (for the other criterion) must not pass a positive test.
    data = CLINICAL.model_dump(mode="json")
    kinds = {c["id"]: c["kind"] for c in data["eligibility"]}
    assert kinds["pregnancy"] == "relative_contraindication"
    assert "relative_contraindication" in {k for i, k in kinds.items() if i != "pregnancy"}
    for c in data["eligibility"]:
        if c["id"] == "pregnancy":
            c["kind"] = "absolute_contraindication"
    site = protocol_from_mapping(data)
    positive = replace(
        _ok_findings(), pregnancy_test="positive", pregnancy_risk_benefit_decision_recorded=True
    )
    result = pre_infusion_checklist(site, positive)
    assert not result.passes
    assert any("urine pregnancy test positive" in r for r in result.reasons)
    # and with pregnancy relative (the built-in clinic protocol) the decision does pass it
    assert pre_infusion_checklist(CLINICAL, positive).passes


# --- eligibility.py: the le/lt operators (PROTOCOL.md §1) ------------------------------------


def _criterion(op: str, value: float) -> Criterion:
    return Criterion(
        id="bmi_ceiling",
        kind="inclusion",
        section="PROTOCOL.md §1",
        text="BMI at most the ceiling",
        fact="bmi",
        op=op,  # type: ignore[arg-type]
        value=value,
        unit="kg/m²",
    )


@pytest.mark.parametrize(
    ("op", "bmi", "status"),
    [
        ("le", 34.9, CriterionStatus.PASS),
        ("le", 35.0, CriterionStatus.PASS),
        ("le", 35.1, CriterionStatus.FAIL),
        ("lt", 34.9, CriterionStatus.PASS),
        ("lt", 35.0, CriterionStatus.FAIL),
        ("lt", 35.1, CriterionStatus.FAIL),
    ],
)
def test_le_and_lt_at_their_boundary(op: str, bmi: float, status: CriterionStatus) -> None:
    result = evaluate_criterion(_criterion(op, 35.0), {"bmi": bmi})
    assert result.status is status
    if status is CriterionStatus.FAIL:
        assert ("≤ 35 kg/m²" if op == "le" else "< 35 kg/m²") in result.reason


def test_le_refuses_a_boolean_naming_the_fact() -> None:
    with pytest.raises(InvalidInput) as info:
        evaluate_criterion(_criterion("le", 35.0), {"bmi": True})
    assert info.value.field == "bmi"


# --- dose.py: what `make mutation` found next (dose.py: field names, results, the one rule) ---


def test_every_dose_refusal_names_its_field_keeps_the_value_and_states_the_unit() -> None:
    with pytest.raises(InvalidInput) as drug:
        calculate_dose(RCT, "esketamine", 70)
    assert (drug.value.field, drug.value.value) == ("drug", "esketamine")
    assert "doses ketamine, midazolam, not 'esketamine'" in drug.value.message
    with pytest.raises(InvalidInput) as weight:
        calculate_dose(RCT, "ketamine", 20)
    assert (weight.value.field, weight.value.value) == ("weight_kg", 20)
    assert weight.value.message.startswith("20 kg is outside the plausible range")
    assert weight.value.message.endswith(" kg")
    with pytest.raises(InvalidInput) as conc:
        calculate_dose(CLINICAL, "ketamine", 70, 500)
    assert conc.value.field == "concentration_mg_per_ml"
    assert conc.value.message.startswith("500 mg/mL is outside") and conc.value.value == 500
    with pytest.raises(InvalidInput) as height:
        dosing_weight_kg(80, "adjusted", 300, "male")
    assert height.value.message.startswith("300 cm is outside") and height.value.value == 300
    with pytest.raises(InvalidInput) as missing:
        dosing_weight_kg(80, "adjusted")
    assert missing.value.message.startswith("the protocol doses on adjusted body weight")
    with pytest.raises(InvalidInput) as blinded:
        blinded_dose(RCT, "esketamine", 70)
    assert blinded.value.value == "esketamine"
    assert "gives ketamine, midazolam, not 'esketamine'" in blinded.value.message


def test_the_dose_results_carry_every_field_the_pages_show() -> None:
    r = calculate_dose(CLINICAL, "ketamine", 70)
    d = CLINICAL.dose_for("ketamine")
    assert (r.protocol, r.drug, r.weight_kg, r.weight_basis) == (
        "clinical",
        "ketamine",
        70,
        "actual",
    )
    assert (r.mg_per_kg, r.dose_mg, r.concentration_mg_per_ml) == (
        0.5,
        35.0,
        d.concentration_mg_per_ml,
    )
    b = blinded_dose(RCT, "midazolam", 70)
    assert (b.protocol, b.drug, b.weight_kg, b.ml_per_kg) == ("rct", "midazolam", 70, 0.5)
    assert (b.mg_per_kg, b.concentration_mg_per_ml) == (0.045, 0.09)
    assert (b.prescribed_mg, b.delivered_mg) == pytest.approx((3.15, 3.15))


def test_blinded_dose_refuses_a_drug_the_protocol_doses_but_gives_no_arm() -> None:
    # Mutant `or` → `and`: a dosed drug that is no arm of the trial would be drawn up.
    data = RCT.model_dump(mode="json")
    data["arms"] = [a for a in data["arms"] if a["drug"] == "ketamine"]
    one_arm = protocol_from_mapping(data)
    with pytest.raises(InvalidInput) as info:
        blinded_dose(one_arm, "midazolam", 70)
    assert info.value.field == "drug"


def test_administered_dose_is_the_one_rule_and_refuses_another_concentration_when_blinded() -> None:
    assert shares_one_volume(RCT) and not shares_one_volume(CLINICAL)
    unblinded = _with(RCT, {"blinded": False})
    assert not shares_one_volume(unblinded)
    # the blinded trial: every arm the same volume, dose_mg is what the volume delivers
    k = administered_dose(RCT, "ketamine", 70.1)
    m = administered_dose(RCT, "midazolam", 70.1)
    assert (k.volume_ml, m.volume_ml, k.rate_ml_per_h, m.rate_ml_per_h) == (35.1, 35.1, 52.7, 52.7)
    assert (k.dose_mg, m.dose_mg) == (35.1, 3.159)
    assert (k.weight_basis, k.minutes) == ("actual", 40)
    assert administered_dose(RCT, "ketamine", 70.1, 1.0) == k  # the protocol's own strength
    with pytest.raises(InvalidInput) as info:
        administered_dose(RCT, "ketamine", 70.1, 2.0)
    assert info.value.field == "concentration_mg_per_ml" and info.value.value == 2.0
    assert "made up at 1 mg/mL, not 2" in info.value.message
    # the unblinded protocol and the clinic: the drug's own rule, any plausible concentration
    assert administered_dose(unblinded, "midazolam", 70.1) == calculate_dose(
        unblinded, "midazolam", 70.1
    )
    assert administered_dose(CLINICAL, "ketamine", 70, 10.0).volume_ml == 3.5
    with pytest.raises(InvalidInput) as unknown:
        administered_dose(RCT, "esketamine", 70)
    assert unknown.value.field == "drug"


def test_administered_dose_passes_height_and_sex_on_to_either_rule() -> None:
    ideal = {"dosing.ketamine.weight_basis": "ideal", "dosing.midazolam.weight_basis": "ideal"}
    blinded = _with(RCT, ideal)
    r = administered_dose(blinded, "ketamine", 100, height_cm=177.8, sex="male")
    assert (r.protocol, r.drug, r.weight_kg, r.weight_basis) == ("rct", "ketamine", 100, "ideal")
    assert (r.dosing_weight_kg, r.mg_per_kg, r.dose_mg) == (pytest.approx(73.0), 0.5, 36.5)
    assert (r.concentration_mg_per_ml, r.volume_ml, r.minutes) == (1.0, 36.5, 40)
    assert r.rate_ml_per_h == 54.8 and "ideal body weight" in r.arithmetic
    clinic = _with(CLINICAL, {"dosing.ketamine.weight_basis": "ideal"})
    c = administered_dose(clinic, "ketamine", 100, height_cm=165.1, sex="female")
    assert c.dosing_weight_kg == pytest.approx(57.0) and c.dose_mg == 28.5


def test_a_blinded_protocol_with_one_drug_does_not_share_a_volume() -> None:
    data = RCT.model_dump(mode="json")
    for arm in data["arms"]:
        arm["drug"] = "ketamine"
    assert not shares_one_volume(protocol_from_mapping(data))


def test_the_blind_refusals_say_why_and_cite_the_source() -> None:
    minutes = _with(RCT, {"dosing.midazolam.infusion_minutes": 45})
    with pytest.raises(InvalidInput) as m:
        shared_volume(minutes)
    assert m.value.message == (
        "the arms infuse over different times (40, 45 min), so the pump rate would reveal the "
        "drug (PROTOCOL.md §3, §4)"
    )
    bases = _with(RCT, {"dosing.ketamine.weight_basis": "ideal"})
    with pytest.raises(InvalidInput) as b:
        shared_volume(bases)
    assert b.value.message == (
        "the arms dose on different weights (actual, ideal), so the volume would reveal the "
        "drug (PROTOCOL.md §3, §4)"
    )
    conc = _with(RCT, {"dosing.midazolam.concentration_mg_per_ml": 0.1})
    with pytest.raises(InvalidInput) as c:
        shared_volume(conc)
    assert c.value.message.endswith(
        "mL/kg, midazolam 0.045 mg/kg ÷ 0.1 mg/mL = 0.45 mL/kg), so the volume would reveal the "
        "drug; set concentrations that give every arm the same mL/kg (PROTOCOL.md §3, §4)"
    )
    with pytest.raises(InvalidInput) as w:
        blinded_dose(RCT, "ketamine", 20)
    assert w.value.message.startswith("20 kg is outside") and w.value.message.endswith(" kg")
