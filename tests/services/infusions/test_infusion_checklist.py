"""The pre-infusion checklist and its holds (PROTOCOL.md §6; services/infusions/checklist.py)."""

from __future__ import annotations

import pytest
from workflow_support import (  # type: ignore[import-not-found]
    items,
    ready_for_infusion,
)

from bedside_support import prise, vitals_input  # type: ignore[import-not-found]
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


def test_infusion_1_waits_for_the_baseline_caps5_and_madrs(trial, actors) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 12: without the baseline the patient leaves the ITT analysis. The start of
    infusion 1 names what is missing (PROTOCOL.md §5, §8, §9)."""
    import pytest

    from bedside_support import BASELINE_ITEMS, confirm_two_identifiers  # type: ignore[import-not-found]
    from ketamine_ptsd.services import ConflictError
    from ketamine_ptsd.services.assessments import AssessmentInput
    from ketamine_ptsd.services.infusions import ChecklistInput

    wf, pid = trial
    nurse, md, rater = actors[Role.NURSE], actors[Role.INVESTIGATOR], actors[Role.OUTCOME_RATER]
    confirm_two_identifiers(wf, actors, pid, 1)
    wf.infusions.record_vitals(nurse, pid, 1, vitals_input(0, 128, 82, 72, 98))
    for instrument, values in (
        ("cadss", items(23, 1)),
        ("bprs_positive", {"4": 1, "11": 1, "12": 1, "15": 1}),
        ("ymrs_item1", {"1": 0}),
        ("prise", prise()),
    ):
        wf.infusions.record_rating(
            actors[Role.SAFETY_RATER], pid, 1, minute=0, instrument=instrument, items=values
        )
    wf.infusions.record_checklist(
        nurse, pid, ChecklistInput(1, True, "not_applicable", [], ("128/82",), False)
    )
    today = wf.context.clock.now().date()
    for recorded, missing in (((), "caps5_past_week, madrs"), (("caps5_past_week",), "madrs")):
        for instrument in recorded:
            wf.assessments.record(
                rater,
                pid,
                AssessmentInput("baseline", instrument, today, BASELINE_ITEMS[instrument]),
            )
        with pytest.raises(ConflictError, match=f"not recorded: {missing};") as refused:
            wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 70))
        assert "§5, §8, §9" in str(refused.value)
    wf.assessments.record(
        rater, pid, AssessmentInput("baseline", "madrs", today, BASELINE_ITEMS["madrs"])
    )
    assert wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 70)).infusion_number == 1
