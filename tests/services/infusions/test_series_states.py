"""The states the series adds to the workflow (issue 11; PROTOCOL.md §1, §2, §5, §6, §8):
consent begins screening, and the discharge of the series' last infusion completes the series,
which waits there for the primary outcome."""

from __future__ import annotations

import datetime as dt

import pytest

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import ConflictError
from ketamine_ptsd.services.assessments import AssessmentInput
from maintenance_support import infuse  # type: ignore[import-not-found]
from screening_support import items, screen_clinic  # type: ignore[import-not-found]

#: Monday, Wednesday, Friday of two weeks: the clinic's schedule (§5).
DAYS = [dt.date(2026, 3, 2) + dt.timedelta(days=d) for d in (0, 2, 4, 7, 9, 11)]


def test_consent_screening_series_and_the_primary_outcome(wf, actors, clock) -> None:  # type: ignore[no-untyped-def]
    from ketamine_ptsd.services.patients import CLINIC_CONSENT_TOPICS, ConsentInput

    clinician = actors[Role.CLINICIAN]
    pid = wf.patients.register(clinician, protocol_name="clinical", site="CLN").id
    assert wf.patients.get(clinician, pid).status == "registered"
    consent = ConsentInput(
        "v1", dt.date(2026, 3, 1), True, "Dr Independent", None, CLINIC_CONSENT_TOPICS
    )
    wf.patients.record_consent(clinician, pid, consent)
    assert wf.patients.get(clinician, pid).status == "screening"
    wf.patients.record_consent(clinician, pid, consent)  # a corrected form renews it
    assert wf.patients.get(clinician, pid).status == "screening"
    screen_clinic(wf, clinician, pid)
    assert wf.patients.get(clinician, pid).status == "eligible"
    for n, day in enumerate(DAYS, start=1):
        clock.set(dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC))
        infuse(wf, actors, clock, pid, n)
        expected = "completed_series" if n == len(DAYS) else "in_treatment"
        assert wf.patients.get(clinician, pid).status == expected, n
    clock.set(dt.datetime(2026, 3, 16, 9, tzinfo=dt.UTC))
    with pytest.raises(ConflictError, match="completed_series"):
        infuse(wf, actors, clock, pid, 7)  # the series is over; maintenance is its own plan
    wf.assessments.record(
        clinician,
        pid,
        AssessmentInput("week2", "caps5_past_week", dt.date(2026, 3, 16), items(20, 20)),
    )
    assert wf.patients.get(clinician, pid).status == "responder"
    events = [
        e.event
        for e in wf.audit.entries(
            actors[Role.ADMINISTRATOR], table_name="patients", record_id=str(pid), limit=5000
        )
        if e.event.startswith("workflow.") and e.record_id == str(pid)
    ]
    # the series' completion is its own audited step, between the last start and the outcome
    assert events.index("workflow.complete_series") < events.index(
        "workflow.record_primary_outcome"
    )
    assert events.count("workflow.complete_series") == 1
    assert events[:2] == ["workflow.consent", "workflow.decide_eligibility"]
