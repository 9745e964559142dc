"""What mutation testing of ``core/rules/dose.py`` found untested (issue 12, session 8): the
blinded trial's one-volume ceiling, and the fields that name a protocol without arms or dosing."""

from __future__ import annotations

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import administered_dose, shared_volume


def _max(p: Protocol, **maxima: float | None) -> Protocol:
    dosing = {
        k: d.model_copy(update={"max_dose_mg": maxima[k]}) if k in maxima else d
        for k, d in p.dosing.items()
    }
    return p.model_copy(update={"dosing": dosing})


@pytest.mark.parametrize("drug", ["ketamine", "midazolam"])
def test_the_shared_volume_is_refused_above_any_arms_maximum_naming_no_drug(
    rct: Protocol, drug: str
) -> None:
    """§3, §4: one volume goes to every arm; 150 kg gives 75 mL (75 mg ketamine, 6.75 mg
    midazolam: both maxima exactly, allowed); 150.2 kg gives 75.1 mL, above both; the refusal
    is the same whichever arm the patient is in and names no drug."""
    at_max = administered_dose(rct, drug, 150)
    assert at_max.volume_ml == 75.0
    with pytest.raises(InvalidInput) as refused:
        administered_dose(rct, drug, 150.2)
    assert refused.value.field == "weight_kg" and refused.value.value == 150.2
    message = refused.value.message
    assert "150.2 kg gives 75.1 mL of study drug" in message and "§3, §4" in message
    assert "ketamine" not in message and "midazolam" not in message


def test_the_ceiling_of_one_arm_binds_every_arm(rct: Protocol) -> None:
    """Only midazolam's maximum lowered (to 4.5 mg = 50 mL at 0.09 mg/mL): a ketamine patient
    of 102 kg (51 mL) is refused too, or the refusal would tell the arm."""
    p = _max(rct, midazolam=4.5, ketamine=None)
    assert administered_dose(p, "ketamine", 100).volume_ml == 50.0
    with pytest.raises(InvalidInput) as refused:
        administered_dose(p, "ketamine", 102)
    assert refused.value.field == "weight_kg"


def test_a_protocol_without_maxima_refuses_no_weight_in_range(rct: Protocol) -> None:
    p = _max(rct, ketamine=None, midazolam=None)
    assert administered_dose(p, "midazolam", 250).volume_ml == 125.0


def test_a_protocol_without_arms_or_dosing_names_the_field(rct: Protocol) -> None:
    with pytest.raises(InvalidInput) as no_arms:
        shared_volume(rct.model_copy(update={"arms": ()}))
    assert no_arms.value.field == "arms"
    dosing = {k: d for k, d in rct.dosing.items() if k != "midazolam"}
    with pytest.raises(InvalidInput) as no_dosing:
        shared_volume(rct.model_copy(update={"dosing": dosing}))
    assert no_dosing.value.field == "drug" and "midazolam" in no_dosing.value.message
