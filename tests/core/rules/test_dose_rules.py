"""Dose, volume and pump rate from weight (PROTOCOL.md §4)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol, protocol_from_mapping
from ketamine_ptsd.core.rules import calculate_dose, dosing_weight_kg, round_to_step


def test_ketamine_is_half_a_milligram_per_kilo_over_40_minutes(rct: Protocol) -> None:
    r = calculate_dose(rct, "ketamine", 70)
    assert (r.dose_mg, r.volume_ml, r.minutes, r.rate_ml_per_h) == (35.0, 35.0, 40, 52.5)
    assert r.concentration_mg_per_ml == 1.0
    assert "0.5 mg/kg × 70 kg (actual body weight) = 35 mg" in r.arithmetic
    assert "35 mg ÷ 1 mg/mL = 35 mL" in r.arithmetic
    assert "35 mL over 40 min" in r.arithmetic and "52.5 mL/h" in r.arithmetic


def test_midazolam_is_0_045_mg_per_kg_and_matches_the_ketamine_volume(rct: Protocol) -> None:
    """Default concentrations give both arms 0.5 mL/kg, so the pump rate does not unblind (§3)."""
    mid = calculate_dose(rct, "midazolam", 70)
    ket = calculate_dose(rct, "ketamine", 70)
    assert mid.dose_mg == 3.15  # decimal arithmetic, not 3.1499999999999995
    assert (mid.volume_ml, mid.rate_ml_per_h) == (ket.volume_ml, ket.rate_ml_per_h)


def test_site_concentration_overrides_the_default(rct: Protocol) -> None:
    r = calculate_dose(rct, "ketamine", 73.3, 2.0)
    assert r.dose_mg == 36.7  # 36.65 rounds half up
    assert r.volume_ml == 18.4  # 18.35 rounds half up
    assert r.rate_ml_per_h == 27.6
    assert "36.65 mg, rounded to 36.7 mg" in r.arithmetic


@pytest.mark.parametrize("weight", [29.9, 250.1, 0, -70, math.nan, math.inf])
def test_implausible_weight_is_refused_naming_weight_kg(rct: Protocol, weight: float) -> None:
    with pytest.raises(InvalidInput) as info:
        calculate_dose(rct, "ketamine", weight)
    assert info.value.field == "weight_kg"


@pytest.mark.parametrize("weight", [30, 250])
def test_weight_range_ends_are_accepted(rct: Protocol, weight: float) -> None:
    assert calculate_dose(_no_ceiling(rct), "ketamine", weight).dose_mg == weight * 0.5


def _no_ceiling(p: Protocol) -> Protocol:
    """``p`` with a maximum dose no weight in range reaches (to test the range alone)."""
    dosing = {k: d.model_copy(update={"max_dose_mg": 1000.0}) for k, d in p.dosing.items()}
    return p.model_copy(update={"dosing": dosing})


def test_a_dose_above_the_protocols_maximum_mg_is_refused(rct: Protocol) -> None:
    """§4: rct.yaml caps ketamine at 75 mg: 150 kg (75.0 mg) is given, 150.1 kg (75.1 mg) not."""
    assert calculate_dose(rct, "ketamine", 150).dose_mg == 75.0
    with pytest.raises(InvalidInput) as info:
        calculate_dose(rct, "ketamine", 150.1)
    assert info.value.field == "weight_kg" and "maximum of 75 mg" in info.value.message
    assert info.value.value == 150.1  # what the nurse typed, kept


@pytest.mark.parametrize("concentration", [0.0, 0.05, 50.0, -1.0])
def test_implausible_concentration_is_refused_naming_the_field(
    rct: Protocol, concentration: float
) -> None:
    with pytest.raises(InvalidInput) as info:
        calculate_dose(rct, "ketamine", 70, concentration)
    assert info.value.field == "concentration_mg_per_ml"


def test_drug_the_protocol_does_not_give_is_refused(clinical: Protocol) -> None:
    with pytest.raises(InvalidInput) as info:
        calculate_dose(clinical, "midazolam", 70)
    assert info.value.field == "drug"


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [(3.15, 0.1, 3.2), (3.14, 0.1, 3.1), (36.65, 0.1, 36.7), (52.25, 0.5, 52.5), (7, 1, 7)],
)
def test_rounding_is_half_up_on_the_decimal_value(
    value: float, step: float, expected: float
) -> None:
    assert round_to_step(value, step) == expected


def _protocol_with_basis(basis: str) -> Protocol:
    data = load_protocol("rct").model_dump(mode="json")
    data["dosing"]["ketamine"]["weight_basis"] = basis
    return protocol_from_mapping(data)


def test_ideal_body_weight_basis_uses_devine_and_needs_height_and_sex() -> None:
    p = _protocol_with_basis("ideal")
    with pytest.raises(InvalidInput) as info:
        calculate_dose(p, "ketamine", 100)
    assert info.value.field == "height_cm"
    r = calculate_dose(p, "ketamine", 100, height_cm=177.8, sex="male")  # 70 in: IBW 73 kg
    assert r.dosing_weight_kg == pytest.approx(73.0)
    assert r.dose_mg == 36.5
    assert "ideal body weight" in r.arithmetic and "actual 100 kg" in r.arithmetic


def test_adjusted_weight_adds_four_tenths_of_the_excess() -> None:
    assert dosing_weight_kg(100, "adjusted", 177.8, "male") == pytest.approx(73 + 0.4 * 27)
    # lighter than ideal: dosed on actual weight
    assert dosing_weight_kg(60, "ideal", 177.8, "male") == 60


@settings(max_examples=200, deadline=None)
@given(
    drug=st.sampled_from(["ketamine", "midazolam"]),
    weight=st.floats(30, 250, allow_nan=False),
    concentration=st.one_of(st.none(), st.floats(0.1, 5, allow_nan=False)),
)
def test_dose_arithmetic_is_consistent(
    drug: str, weight: float, concentration: float | None
) -> None:
    rct = _no_ceiling(load_protocol("rct"))
    d = rct.dose_for(drug)
    r = calculate_dose(rct, drug, weight, concentration)
    # each number is the previous one, rounded to its own step
    assert abs(r.dose_mg - d.mg_per_kg * weight) <= d.dose_rounding_mg / 2 + 1e-9
    assert abs(r.volume_ml - r.dose_mg / r.concentration_mg_per_ml) <= (
        d.volume_rounding_ml / 2 + 1e-9
    )
    assert abs(r.rate_ml_per_h - r.volume_ml * 60 / r.minutes) <= (
        d.rate_rounding_ml_per_h / 2 + 1e-9
    )
    assert r.minutes == 40
    assert f"{r.rate_ml_per_h:.6g} mL/h" in r.arithmetic
