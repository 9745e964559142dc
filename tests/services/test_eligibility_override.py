"""Eligibility only from the rules, or an investigator's audited override (issue 11; §1, §2)."""

from __future__ import annotations

import datetime as dt

import pytest
from workflow_support import screen_rct, workflow_services  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import ConflictError, PermissionDenied, ValidationFailed

DAY = dt.date(2026, 3, 1)
REASON = "CAPS-5 of 29 with marked functional impairment; benefit outweighs"


@pytest.fixture
def wf(db, clock):  # type: ignore[no-untyped-def]
    return workflow_services(db, clock)


def test_an_override_names_the_failed_criteria_gives_a_reason_and_is_audited(wf, actors) -> None:  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    pid = screen_rct(wf, investigator, caps5=29)
    assert wf.patients.get(investigator, pid).status == "screen_failed"

    with pytest.raises(PermissionDenied):
        wf.screening.override_eligibility(
            actors[Role.NURSE], pid, criteria=["caps5_severity"], reason=REASON, decided_on=DAY
        )
    with pytest.raises(
        ValidationFailed, match="not a failed or missing criterion of the latest decision: age"
    ) as wrong:
        wf.screening.override_eligibility(
            investigator, pid, criteria=["caps5_severity", "age"], reason=REASON, decided_on=DAY
        )
    assert wrong.value.field == "criteria"
    with pytest.raises(ValidationFailed, match="reason") as short:
        wf.screening.override_eligibility(
            investigator, pid, criteria=["caps5_severity"], reason="ok", decided_on=DAY
        )
    assert short.value.field == "reason"
    assert wf.patients.get(investigator, pid).status == "screen_failed"  # nothing half-written

    view = wf.screening.override_eligibility(
        investigator, pid, criteria=["caps5_severity"], reason=REASON, decided_on=DAY
    )
    assert view.outcome == "eligible" and view.override_criteria == ("caps5_severity",)
    assert view.reasons[0] == f"investigator override: {REASON}"
    assert "CAPS-5" in view.reasons[1] and "§1" in view.reasons[1]
    assert wf.patients.get(investigator, pid).status == "eligible"
    trail = wf.audit.entries(actors[Role.ADMINISTRATOR], table_name="patients", record_id=str(pid))
    [override] = [e for e in trail if e.event == "workflow.override_eligibility"]
    assert (override.old_value, override.new_value) == ("screen_failed", "eligible")
    assert "SYSTEM.md capability 12" in (override.reason or "")

    with pytest.raises(ConflictError, match="eligible"):  # nothing left to override
        wf.screening.override_eligibility(
            investigator, pid, criteria=["caps5_severity"], reason=REASON, decided_on=DAY
        )
    wf.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="L1", slots_per_stratum=4
    )
    allocated = wf.randomization.allocate(investigator, pid, infusion_date=dt.date(2026, 3, 2))
    assert allocated.study_id == wf.patients.get(investigator, pid).study_id


def test_no_override_without_a_screening_decision_or_consent(wf, actors) -> None:  # type: ignore[no-untyped-def]
    investigator = actors[Role.INVESTIGATOR]
    patient = wf.patients.register(investigator, protocol_name="rct", site="YAL")
    with pytest.raises(ConflictError, match="screening visit") as refused:
        wf.screening.override_eligibility(
            investigator, patient.id, criteria=["consent"], reason=REASON, decided_on=DAY
        )
    assert "consent" in str(refused.value) and "§1" in str(refused.value)


def test_a_patient_made_eligible_by_a_form_cannot_be_allocated(wf, actors) -> None:  # type: ignore[no-untyped-def]
    """The defect of issue 11: 82 patients randomized with no screening data at all."""
    investigator = actors[Role.INVESTIGATOR]
    patient = wf.patients.register(investigator, protocol_name="rct", site="YAL")
    with pytest.raises(ValidationFailed):
        wf.patients.record_screening_outcome(
            investigator, patient.id, outcome="eligible", decided_on=DAY
        )
    wf.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="L1", slots_per_stratum=4
    )
    with pytest.raises(ConflictError, match="registered"):
        wf.randomization.allocate(investigator, patient.id, infusion_date=dt.date(2026, 3, 2))
