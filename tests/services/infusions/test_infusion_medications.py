"""Concomitant medications and the checklist's flags (PROTOCOL.md §1, §11;
services/infusions/medications.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from workflow_support import ready_for_infusion  # type: ignore[import-not-found]

from ketamine_ptsd.core.protocol._validate_bedside import MEDICATION_CLASS_IDS
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.core.rules import MEDICATION_CLASSES
from ketamine_ptsd.services import PermissionDenied, ValidationFailed
from ketamine_ptsd.services.infusions import ChecklistInput, MedicationInput

MARCH_1 = dt.date(2026, 3, 1)


def test_the_class_vocabulary_is_one_list() -> None:
    assert tuple(MEDICATION_CLASSES) == MEDICATION_CLASS_IDS


def test_the_checklist_flags_what_changes_sedation_or_blood_pressure(trial, actors) -> None:  # type: ignore[no-untyped-def]
    """Taken today in a flagged class: flagged; stopped before today, or not a flagged class:
    not (the protocol's flag_medication_classes)."""
    wf, pid = trial
    nurse = actors[Role.NURSE]
    today = wf.context.clock.now().date()
    lorazepam = wf.infusions.record_medication(
        nurse, pid, MedicationInput("lorazepam", "benzodiazepine", "0.5 mg at night", MARCH_1)
    )
    assert lorazepam.flagged
    wf.infusions.record_medication(
        nurse, pid, MedicationInput("sertraline", "antidepressant", "100 mg daily", MARCH_1)
    )
    wf.infusions.record_medication(
        nurse,
        pid,
        MedicationInput(
            "tramadol", "opioid", "50 mg", dt.date(2026, 2, 1), today - dt.timedelta(days=1)
        ),
    )
    wf.infusions.record_medication(
        nurse, pid, MedicationInput("lamotrigine", "lamotrigine", "100 mg twice daily", today)
    )
    check = ready_for_infusion(wf, actors, pid, 1)
    flags = check.findings["medication_flags"]
    assert [f.split(" ")[0] for f in flags] == ["lorazepam", "lamotrigine"]
    assert all("§1, §11" in f for f in flags)
    assert check.passed  # a flag informs the physician; it does not hold the day
    stopped = wf.infusions.stop_medication(
        nurse,
        pid,
        lorazepam.id,
        stopped_on=today - dt.timedelta(days=1),
        expected_version=lorazepam.version,
        reason="stopped by the GP last week",
    )
    assert stopped.stopped_on == today - dt.timedelta(days=1)
    again = wf.infusions.record_checklist(
        nurse, pid, ChecklistInput(1, True, "not_applicable", [], ("128/82",), False)
    )
    assert [f.split(" ")[0] for f in again.findings["medication_flags"]] == ["lamotrigine"]
    assert next(m.drug for m in wf.infusions.medications(nurse, pid)) == "tramadol"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"drug": " "}, "drug"),
        ({"drug_class": "benzo"}, "drug_class"),
        ({"dose": ""}, "dose"),
        ({"started_on": dt.date(2099, 1, 1)}, "started_on"),
        ({"stopped_on": dt.date(2026, 2, 1)}, "stopped_on"),
    ],
)
def test_a_wrong_medication_is_refused_naming_the_field(trial, actors, change, field) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    data = {
        "drug": "diazepam",
        "drug_class": "benzodiazepine",
        "dose": "5 mg",
        "started_on": MARCH_1,
    }
    with pytest.raises(ValidationFailed) as refused:
        wf.infusions.record_medication(
            actors[Role.NURSE], pid, MedicationInput(**{**data, **change})
        )
    assert refused.value.field == field
    assert wf.infusions.medications(actors[Role.NURSE], pid) == []


def test_an_outcome_rater_neither_reads_nor_writes_the_list(trial, actors) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    with pytest.raises(PermissionDenied):
        wf.infusions.medications(actors[Role.OUTCOME_RATER], pid)
    with pytest.raises(PermissionDenied):
        wf.infusions.record_medication(
            actors[Role.SAFETY_RATER], pid, MedicationInput("x", "other", "1", MARCH_1)
        )
