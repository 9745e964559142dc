"""The edit-check sweep (issue 17: "automatic queries from protocol rules raised when data are
entered late or imported"): data stored before a check existed raise their queries when the
record is swept; a second sweep raises nothing new, nor does one after a query was closed on the
value the field still holds; a site's monitor sweeps only their sites' patients."""

from __future__ import annotations

import pytest
from workflow_support import screen_rct, workflow_services  # type: ignore[import-not-found]

from conduct_support import IMPLAUSIBLE_HR, unchecked_reading  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, PermissionDenied


@pytest.fixture
def entered_unchecked(db, clock, actors):  # type: ignore[no-untyped-def]
    """A late reading stored before the data checks existed (conduct_support.py)."""
    wf = workflow_services(db, clock)
    pid = screen_rct(wf, actors[Role.INVESTIGATOR])
    before, reading_id = unchecked_reading(wf, actors, clock, pid)
    assert before.queries.list(actors[Role.MONITOR], patient_id=pid) == []
    return wf, pid, reading_id


def test_a_sweep_raises_what_was_entered_before_the_checks_once(entered_unchecked, actors) -> None:  # type: ignore[no-untyped-def]
    wf, pid, late_id = entered_unchecked
    monitor = actors[Role.MONITOR]
    first = wf.edit_checks.run(monitor)
    assert first.raised == {"vitals_implausible": 1, "vitals_incomplete": 1}
    assert first.records_checked >= 2  # the baseline reading and the late one (and assessments)
    raised = wf.queries.list(monitor, patient_id=pid)
    assert {(q.table_name, q.record_id, q.field, q.origin, q.state) for q in raised} == {
        ("vital_signs", str(late_id), "heart_rate_bpm", "rule:vitals_implausible", "open"),
        ("vital_signs", str(late_id), "spo2_percent", "rule:vitals_incomplete", "open"),
    }
    hr = next(q for q in raised if q.field == "heart_rate_bpm")
    assert hr.value_raised == IMPLAUSIBLE_HR and hr.raised_by is None
    assert "outside the plausible 40-150" in hr.question
    # a second sweep finds the same and raises nothing new (the queries are open)
    again = wf.edit_checks.run(monitor)
    assert again.total_raised == 0 and again.records_checked == first.records_checked
    # closed on the value the field still holds: not raised again
    answered = wf.queries.answer(
        actors[Role.NURSE],
        hr.id,
        answer="Confirmed on the monitor printout: 165 during a panic episode",
        corrected=False,
        expected_version=hr.version,
    )
    wf.queries.close(monitor, hr.id, expected_version=answered.version)
    assert wf.edit_checks.run(monitor).total_raised == 0
    assert len(wf.queries.list(monitor, patient_id=pid)) == 2
    # the sweep is audited as the queries' creation, under the monitor's name
    rows = wf.audit.entries(actors[Role.ADMINISTRATOR], table_name="data_queries")
    assert {r.actor_username for r in rows if r.field == "origin"} == {"monitor"}


def test_a_sweep_is_for_those_who_raise_queries_and_stays_in_their_sites(
    entered_unchecked, actors
) -> None:  # type: ignore[no-untyped-def]
    wf, pid, _ = entered_unchecked
    for role in (Role.NURSE, Role.INVESTIGATOR, Role.OUTCOME_RATER, Role.PHARMACIST):
        with pytest.raises(PermissionDenied):
            wf.edit_checks.run(actors[role])
    central = actors[Role.MONITOR]
    elsewhere = Actor(central.user_id, central.username, Role.MONITOR, sites=frozenset({"BOS"}))
    nothing = wf.edit_checks.run(elsewhere)  # the patient is at YAL
    assert (nothing.records_checked, nothing.total_raised) == (0, 0)
    assert wf.queries.list(central, patient_id=pid) == []
    by_statistician = wf.edit_checks.run(actors[Role.STATISTICIAN])
    assert by_statistician.total_raised == 2
