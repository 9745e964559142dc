"""One volume per kilogram for every arm of a blinded trial (PROTOCOL.md §3, §4; docs/blinding.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol, protocol_from_mapping
from ketamine_ptsd.core.rules import blinded_dose, calculate_dose, shared_volume

RCT = load_protocol("rct")


def _rct_with(**dosing: dict[str, object]) -> Protocol:
    data = RCT.model_dump(mode="json")
    for drug, changes in dosing.items():
        data["dosing"][drug].update(changes)
    return protocol_from_mapping(data)


def test_at_70_1_kg_the_rule_differs_between_arms_but_the_blinded_volume_does_not(
    rct: Protocol,
) -> None:
    # The leak this function exists for: mg rounded first gives 35.1 vs 35.0 mL.
    assert calculate_dose(rct, "ketamine", 70.1).volume_ml == 35.1
    assert calculate_dose(rct, "midazolam", 70.1).volume_ml == 35.0
    k = blinded_dose(rct, "ketamine", 70.1)
    m = blinded_dose(rct, "midazolam", 70.1)
    assert (k.volume_ml, k.rate_ml_per_h, k.minutes) == (35.1, 52.7, 40)
    assert (m.volume_ml, m.rate_ml_per_h, m.minutes) == (35.1, 52.7, 40)
    assert k.volume_arithmetic == m.volume_arithmetic
    assert (k.delivered_mg, m.delivered_mg) == (35.1, 3.159)  # 35.1 mL × 1 and × 0.09 mg/mL


def test_the_arithmetic_is_in_words_and_the_volume_part_names_no_drug(rct: Protocol) -> None:
    k = blinded_dose(rct, "midazolam", 70.3)
    assert k.volume_arithmetic == (
        "every arm: 0.5 mL/kg × 70.3 kg (actual body weight) = 35.15 mL, rounded to 35.2 mL "
        "(step 0.1); 35.2 mL over 40 min = 35.2 × 60 ÷ 40 = 52.8 mL/h"
    )
    for word in ("ketamine", "midazolam", "mg"):
        assert word not in k.volume_arithmetic
    assert k.arithmetic.startswith("midazolam: 0.045 mg/kg at 0.09 mg/mL = 0.5 mL/kg")
    assert "delivered 35.2 mL × 0.09 mg/mL = 3.168 mg" in k.arithmetic
    assert "protocol dose 0.045 mg/kg × 70.3 kg = 3.1635 mg" in k.arithmetic


def test_shared_volume_is_exact_decimal_half_a_ml_per_kg(rct: Protocol) -> None:
    shared = shared_volume(rct)
    assert shared.ml_per_kg == Decimal("0.5")  # 0.045 / 0.09 exactly, not 0.49999…
    assert (shared.minutes, shared.weight_basis) == (40, "actual")


def test_arms_with_different_ml_per_kg_are_refused_naming_the_concentration() -> None:
    protocol = _rct_with(midazolam={"concentration_mg_per_ml": 0.1})  # 0.45 mL/kg
    with pytest.raises(InvalidInput) as info:
        blinded_dose(protocol, "ketamine", 70)
    assert info.value.field == "concentration_mg_per_ml"
    assert "0.45 mL/kg" in info.value.message and "0.5 mL/kg" in info.value.message


def test_arms_with_different_infusion_minutes_are_refused() -> None:
    protocol = _rct_with(midazolam={"infusion_minutes": 45})
    with pytest.raises(InvalidInput) as info:
        blinded_dose(protocol, "midazolam", 70)
    assert info.value.field == "infusion_minutes"


def test_a_weight_outside_any_arms_range_is_refused_for_every_arm() -> None:
    protocol = _rct_with(midazolam={"weight_kg_range": [30.0, 150.0]})
    for drug in ("ketamine", "midazolam"):  # refusing only one arm would reveal it
        with pytest.raises(InvalidInput) as info:
            blinded_dose(protocol, drug, 160)
        assert info.value.field == "weight_kg"


def test_a_drug_that_is_not_an_arm_is_refused(rct: Protocol) -> None:
    with pytest.raises(InvalidInput) as info:
        blinded_dose(rct, "esketamine", 70)
    assert info.value.field == "drug"


@settings(max_examples=300, deadline=None)
@given(tenths=st.integers(300, 2500))
def test_both_arms_give_identical_volume_and_rate_at_every_plausible_weight(tenths: int) -> None:
    weight_kg = tenths / 10
    k = blinded_dose(RCT, "ketamine", weight_kg)
    m = blinded_dose(RCT, "midazolam", weight_kg)
    assert (k.volume_ml, k.rate_ml_per_h, k.minutes) == (m.volume_ml, m.rate_ml_per_h, m.minutes)
    assert k.volume_arithmetic == m.volume_arithmetic


@settings(max_examples=300, deadline=None)
@given(
    drug=st.sampled_from(["ketamine", "midazolam"]),
    weight_kg=st.floats(30, 250, allow_nan=False),
)
def test_delivered_mg_is_within_half_a_volume_step_times_concentration_of_the_mg_per_kg_dose(
    drug: str, weight_kg: float
) -> None:
    d = RCT.dose_for(drug)
    r = blinded_dose(RCT, drug, weight_kg)
    tolerance = d.volume_rounding_ml / 2 * d.concentration_mg_per_ml
    assert abs(r.delivered_mg - d.mg_per_kg * weight_kg) <= tolerance + 1e-9
    assert r.delivered_mg == pytest.approx(r.volume_ml * d.concentration_mg_per_ml, abs=1e-12)
    assert (
        abs(r.rate_ml_per_h - r.volume_ml * 60 / r.minutes) <= d.rate_rounding_ml_per_h / 2 + 1e-9
    )
