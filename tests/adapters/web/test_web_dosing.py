"""The dose preview goes through the core rule (adapters/web/dosing.py; PROTOCOL.md §3, §4;
docs/blinding.md): the same numbers ``core.rules.blinded_dose`` gives, no milligrams for a
blinded viewer, and no volume at all when the arms cannot share one."""

from __future__ import annotations

import pytest

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.adapters.web.dosing import NO_SHARED_VOLUME, NOT_ALLOCATED, dose_display
from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol, protocol_from_mapping
from ketamine_ptsd.core.rules import blinded_dose, calculate_dose
from ketamine_ptsd.core.workflow import Treatment

RCT = load_protocol("rct")


def _rct_with(drug: str, **changes: object) -> Protocol:
    data = RCT.model_dump(mode="json")
    data["dosing"][drug].update(changes)
    return protocol_from_mapping(data)


@pytest.mark.parametrize("weight_kg", [45.0, 70.1, 70.3, 118.85])
def test_a_blinded_viewer_sees_the_core_volume_of_every_arm_and_no_mg(weight_kg: float) -> None:
    shown = dose_display(RCT, "study drug", Treatment.BLINDED, weight_kg)
    for drug in ("ketamine", "midazolam"):
        core = blinded_dose(RCT, drug, weight_kg)
        assert (shown.volume_ml, shown.rate_ml_per_h, shown.minutes) == (
            core.volume_ml,
            core.rate_ml_per_h,
            core.minutes,
        )
        assert shown.volume_arithmetic == core.volume_arithmetic
    assert shown.blinded and shown.treatment == "study drug"
    assert (shown.dose_mg, shown.concentration_mg_per_ml, shown.drug_arithmetic) == (None,) * 3
    for word in ("mg", "ketamine", "midazolam"):
        assert word not in f"{shown.treatment} {shown.volume_arithmetic}"


@pytest.mark.parametrize("drug", ["ketamine", "midazolam"])
def test_the_pharmacist_sees_the_delivered_mg_of_the_shared_volume(drug: str) -> None:
    shown = dose_display(RCT, drug, Treatment.NAMED, 70.3)
    core = blinded_dose(RCT, drug, 70.3)
    assert shown.volume_ml == 35.2  # 0.5 mL/kg × 70.3 kg, 0.1 mL step, whichever drug
    assert (shown.dose_mg, shown.drug_arithmetic) == (core.delivered_mg, core.arithmetic)
    assert shown.concentration_mg_per_ml == core.concentration_mg_per_ml
    assert not shown.blinded and shown.problem is None


@pytest.mark.parametrize(
    ("drug", "changes"),
    [
        ("midazolam", {"concentration_mg_per_ml": 0.1}),  # 0.45 vs 0.5 mL/kg
        ("midazolam", {"infusion_minutes": 45}),
    ],
)
def test_arms_that_cannot_share_a_volume_show_none_to_a_blinded_viewer(
    drug: str, changes: dict[str, object]
) -> None:
    protocol = _rct_with(drug, **changes)
    shown = dose_display(protocol, "study drug", Treatment.BLINDED, 70.3)
    assert shown.problem == NO_SHARED_VOLUME
    assert (shown.volume_ml, shown.rate_ml_per_h, shown.volume_arithmetic) == (None,) * 3
    pharmacy = dose_display(
        protocol, "midazolam", Treatment.NAMED, 70.3
    )  # who must then supply the volume
    assert pharmacy.problem == NO_SHARED_VOLUME
    assert pharmacy.dose_mg == calculate_dose(protocol, "midazolam", 70.3).dose_mg


def test_before_allocation_a_blinded_trial_shows_no_dose_and_the_clinic_its_one_drug() -> None:
    assert dose_display(RCT, None, Treatment.UNALLOCATED, 70.3).problem == NOT_ALLOCATED
    assert dose_display(RCT, None, Treatment.UNALLOCATED, 70.3).volume_ml is None
    clinic = load_protocol("clinical")
    shown = dose_display(clinic, None, Treatment.UNALLOCATED, 70.3)
    plain = calculate_dose(clinic, clinic.arms[0].drug, 70.3)
    assert (shown.treatment, shown.volume_ml, shown.dose_mg) == (
        plain.drug,
        plain.volume_ml,
        plain.dose_mg,
    )


def test_an_implausible_weight_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        dose_display(RCT, "study drug", Treatment.BLINDED, 700.0)
    assert excinfo.value.field == "weight_kg"
