"""Source-data verification (issue 17): critical records, a verification cleared by a later
change, progress by patient and site, and what changed since the monitor's last verification."""

from __future__ import annotations

import datetime as dt

import pytest
from workflow_support import items  # type: ignore[import-not-found]

from ketamine_ptsd.core.conduct import SdvStatus, sdv_status
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, NotFound, PermissionDenied, Services, ValidationFailed
from ketamine_ptsd.services.assessments import AssessmentInput


def test_the_status_rule_at_its_boundary() -> None:
    assert sdv_status(None, 5) is SdvStatus.UNVERIFIED
    assert sdv_status(10, None) is SdvStatus.VERIFIED
    assert sdv_status(10, 10) is SdvStatus.VERIFIED
    assert sdv_status(10, 11) is SdvStatus.CHANGED


def test_verify_then_a_correction_asks_for_verification_again(
    services: Services,
    actors: dict[Role, Actor],
    enrol,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    pid = enrol()
    rater, monitor = actors[Role.OUTCOME_RATER], actors[Role.MONITOR]
    baseline = services.assessments.record(
        rater,
        pid,
        AssessmentInput("baseline", "caps5_past_week", clock.now().date(), items(20, 50)),
    )
    listed = services.sdv.items(monitor, pid)
    kinds = [(i.table_name, i.status) for i in listed]
    assert ("consents", "unverified") in kinds and ("eligibility_decisions", "unverified") in kinds
    assert ("assessments", "unverified") in kinds
    label = next(i.label for i in listed if i.table_name == "assessments")
    assert label == "caps5_past_week at baseline"
    services.sdv.verify(monitor, pid, table_name="assessments", record_id=str(baseline.id))
    status = {i.table_name: i.status for i in services.sdv.items(monitor, pid)}
    assert status["assessments"] == "verified"
    progress = services.sdv.progress(monitor)
    verified, changed, total = progress.by_patient["YAL-0001"]
    assert (verified, changed) == (1, 0) and total == len(listed)
    assert progress.by_site["YAL"] == (1, 0, total)
    # what changed since the monitor's last verification: nothing yet
    assert services.sdv.changes_since_last_visit(monitor, pid) == []
    clock.set(clock.now() + dt.timedelta(hours=1))
    services.assessments.edit(
        rater,
        baseline.id,
        expected_version=baseline.version,
        reason="item 3 misread from the source",
        items=items(21, 50),
    )
    after = {i.table_name: i for i in services.sdv.items(monitor, pid)}["assessments"]
    assert after.status == "changed" and after.verified_by == "monitor"
    changes = services.sdv.changes_since_last_visit(monitor, pid)
    assert changes and all(c.table_name == "assessments" for c in changes)
    assert {c.reason for c in changes} == {"item 3 misread from the source"}
    assert services.sdv.progress(monitor).by_patient["YAL-0001"][:2] == (0, 1)
    services.sdv.verify(monitor, pid, table_name="assessments", record_id=str(baseline.id))
    again = {i.table_name: i.status for i in services.sdv.items(monitor, pid)}
    assert again["assessments"] == "verified"


def test_only_a_monitor_verifies_and_only_the_patients_own_records(
    services: Services,
    actors: dict[Role, Actor],
    enrol,  # type: ignore[no-untyped-def]
) -> None:
    pid = enrol()
    other = enrol()
    consent = next(
        i for i in services.sdv.items(actors[Role.MONITOR], other) if i.table_name == "consents"
    )
    for role in (Role.INVESTIGATOR, Role.NURSE, Role.STATISTICIAN):
        with pytest.raises(PermissionDenied):
            services.sdv.verify(actors[role], pid, table_name="consents", record_id="1")
    with pytest.raises(NotFound):
        services.sdv.verify(
            actors[Role.MONITOR], pid, table_name="consents", record_id=consent.record_id
        )
    with pytest.raises(ValidationFailed) as table:
        services.sdv.verify(actors[Role.MONITOR], pid, table_name="users", record_id="1")
    assert table.value.field == "table_name"
