"""Concomitant medications and rescue drugs (PROTOCOL.md §1, §6, §11; core/rules/medications.py).

Before this file `tests/core` did not run `medications.py` at all (mutmut: 122 mutants, "no
tests"; the service tests cover it through the database). Each rule here at its boundary.
"""

from __future__ import annotations

import datetime as dt

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules.medications import (
    MEDICATION_CLASSES,
    Medication,
    check_medication,
    check_rescue,
    medication_flags,
)

TODAY = dt.date(2026, 3, 2)


def _med(**kw: object) -> Medication:
    args: dict[str, object] = {
        "drug": "lorazepam",
        "drug_class": "benzodiazepine",
        "dose": "0.5 mg at night",
        "started_on": TODAY - dt.timedelta(days=30),
    }
    return Medication(**{**args, **kw})  # type: ignore[arg-type]


def test_a_medication_started_today_and_stopped_the_same_day_is_accepted() -> None:
    check_medication(_med(), TODAY)
    check_medication(_med(started_on=TODAY, stopped_on=TODAY), TODAY)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"drug": "  "}, "drug"),
        ({"drug_class": "benzo"}, "drug_class"),
        ({"dose": " "}, "dose"),
        ({"started_on": TODAY + dt.timedelta(days=1)}, "started_on"),
        ({"stopped_on": TODAY - dt.timedelta(days=31)}, "stopped_on"),
    ],
)
def test_a_record_that_cannot_be_right_is_refused_naming_the_field(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        check_medication(_med(**changes), TODAY)
    assert info.value.field == field


def test_taken_from_the_start_day_to_the_stop_day_inclusive() -> None:
    med = _med(started_on=TODAY, stopped_on=TODAY + dt.timedelta(days=2))
    assert not med.taken_on(TODAY - dt.timedelta(days=1))
    assert med.taken_on(TODAY)
    assert med.taken_on(TODAY + dt.timedelta(days=2))
    assert not med.taken_on(TODAY + dt.timedelta(days=3))
    assert _med(stopped_on=None).taken_on(TODAY + dt.timedelta(days=365))


def test_flags_name_each_flagged_medication_taken_that_day_sections_1_and_11(
    rct: Protocol,
) -> None:
    meds = [
        _med(),
        _med(drug="oxycodone", drug_class="opioid", dose="5 mg", stopped_on=TODAY),
        _med(drug="sertraline", drug_class="antidepressant", dose="100 mg"),
        _med(drug="tramadol", drug_class="opioid", stopped_on=TODAY - dt.timedelta(days=1)),
        _med(drug="phenelzine", drug_class="maoi", started_on=TODAY + dt.timedelta(days=1)),
    ]
    assert medication_flags(rct, meds, TODAY) == (
        "lorazepam 0.5 mg at night (benzodiazepine): changes sedation or blood pressure — tell "
        "the physician (PROTOCOL.md §1, §11)",
        "oxycodone 5 mg (opioid): changes sedation or blood pressure — tell the physician "
        "(PROTOCOL.md §1, §11)",
    )


def test_every_class_the_protocols_flag_is_a_recordable_class(
    rct: Protocol, clinical: Protocol
) -> None:
    for protocol in (rct, clinical):
        assert set(protocol.pre_infusion.flag_medication_classes) <= set(MEDICATION_CLASSES)


@pytest.mark.parametrize(
    ("drug", "route", "dose_mg", "given_today_mg"),
    [("labetalol", "IV", 20.0, 60.0), ("ondansetron", "PO", 0.5, 0.0), ("lorazepam", "SL", 2, 2)],
)
def test_a_rescue_dose_within_the_formulary_is_accepted_section_6(
    rct: Protocol, drug: str, route: str, dose_mg: float, given_today_mg: float
) -> None:
    """Single and daily maximum inclusive: labetalol 20 mg after 60 mg reaches 80 mg a day."""
    entry = check_rescue(rct, drug, route, dose_mg, given_today_mg)
    assert entry.drug == drug


@pytest.mark.parametrize(
    ("drug", "route", "dose_mg", "given_today_mg", "field"),
    [
        ("haloperidol", "IV", 5.0, 0.0, "drug"),
        ("labetalol", "PO", 5.0, 0.0, "route"),
        ("labetalol", "IV", 0.0, 0.0, "dose_mg"),
        ("labetalol", "IV", 20.01, 0.0, "dose_mg"),
        ("labetalol", "IV", 20.0, 60.01, "dose_mg"),
    ],
)
def test_a_rescue_dose_outside_the_formulary_is_refused_naming_the_field_section_6(
    rct: Protocol, drug: str, route: str, dose_mg: float, given_today_mg: float, field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        check_rescue(rct, drug, route, dose_mg, given_today_mg)
    assert info.value.field == field
    assert "PROTOCOL.md §6" in info.value.message
