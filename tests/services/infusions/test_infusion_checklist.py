"""The pre-infusion checklist and its holds (PROTOCOL.md §6; services/infusions/checklist.py)."""

from __future__ import annotations

import pytest
from workflow_support import (  # type: ignore[import-not-found]
    ready_for_infusion,
)

from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import (
    InfusionHeld,
)


def test_a_bp_above_the_cutoff_holds_the_infusion_and_start_is_refused_with_the_reason(
    trial, actors
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    check = ready_for_infusion(
        wf,
        actors,
        pid,
        1,
        bp_readings=("145/85", "150/88", "142/80"),  # third above 140/90
    )
    assert not check.passed
    assert any("140/90" in r for r in check.hold_reasons)
    with pytest.raises(InfusionHeld) as held:
        wf.infusions.start(
            actors[Role.INVESTIGATOR],
            pid,
            1,
            **start_inputs(actors, actors[Role.INVESTIGATOR], 70.0),
        )
    assert any("140/90" in r for r in held.value.reasons)
    assert wf.infusions.days(actors[Role.NURSE], pid) == []
    [recorded] = wf.infusions.checklists(actors[Role.NURSE], pid)
    assert recorded.passed is False  # the hold itself is on record
    with pytest.raises(Exception, match="allocation"):  # nothing allocated by a refused start
        wf.randomization.allocation(actors[Role.PHARMACIST], pid)


def test_a_checklist_run_carries_the_findings_as_recorded(trial, actors) -> None:  # type: ignore[no-untyped-def]
    """So the bedside form can be refilled from the record after a reload (PROTOCOL.md §6)."""
    wf, pid = trial
    check = ready_for_infusion(wf, actors, pid, 1, bp_readings=("145/85", "138/80"))
    [stored] = wf.infusions.checklists(actors[Role.MONITOR], pid)
    for view in (check, stored):
        assert view.findings["nil_by_mouth"] is True
        assert view.findings["pregnancy_test"] == "not_applicable"
        assert list(view.findings["urine_toxicology_positive_for"]) == ["marijuana"]
        assert view.findings["bp_readings"] == ["145/85", "138/80"]
        assert view.findings["short_acting_benzodiazepine_taken_this_morning"] is False
        assert view.findings["baseline_vitals_recorded"] is True
