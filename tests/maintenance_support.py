"""A clinic patient through infusion 1 to a week-2 response, and a whole infusion day to its
signed discharge (the maintenance tests of services and REST; issue 13)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bedside_support import (  # type: ignore[import-not-found]
    day_ready_for_signoff,
    ready_for_infusion,
    vitals_until,
)
from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services.assessments import AssessmentInput
from screening_support import items, screen_clinic  # type: ignore[import-not-found]

PASSWORD = "correct horse battery"
WEEK2 = dt.datetime(2026, 3, 16, 9, tzinfo=dt.UTC)  # a Monday


def infuse(services: Any, actors: Any, clock: Any, pid: int, n: int) -> None:
    """Infusion ``n`` of a clinic patient, from the checklist to the clinician's sign-off (the
    clinical pathway observes from the infusion's end, PROTOCOL.md §6)."""
    clinician = actors[Role.CLINICIAN]
    ready_for_infusion(services, actors, pid, n, rater=Role.CLINICIAN)
    services.infusions.start(
        clinician, pid, n, **start_inputs(actors, clinician, 80, protocol_name="clinical")
    )
    day_ready_for_signoff(services, actors, clock, pid, n)
    ready = services.infusions.readiness(clinician, pid, n)
    started = services.infusions.day(clinician, pid, n).started_at
    if ready.earliest_discharge is not None and ready.earliest_discharge > clock.now():
        minutes = int((ready.earliest_discharge - started).total_seconds() // 60)
        vitals_until(services, actors[Role.NURSE], clock, pid, n, minutes)
    day = services.infusions.day(clinician, pid, n)
    services.infusions.sign_off_discharge(
        clinician, pid, n, password=PASSWORD, expected_version=day.version
    )


def clinic_responder(services: Any, actors: Any, clock: Any) -> int:
    """A clinic patient after infusion 1, a responder at week 2 (CAPS-5 42 → 20)."""
    from ketamine_ptsd.services.patients import CLINIC_CONSENT_TOPICS, ConsentInput

    clinician = actors[Role.CLINICIAN]
    pid = services.patients.register(clinician, protocol_name="clinical", site="CLN").id
    services.patients.record_consent(
        clinician,
        pid,
        ConsentInput(
            "v1", dt.date(2026, 3, 1), True, "Dr Independent", None, CLINIC_CONSENT_TOPICS
        ),
    )
    screen_clinic(services, clinician, pid)
    infuse(services, actors, clock, pid, 1)
    clock.set(WEEK2)
    services.assessments.record(
        clinician, pid, AssessmentInput("week2", "caps5_past_week", WEEK2.date(), items(20, 20))
    )
    assert services.patients.get(clinician, pid).status == "responder"
    return int(pid)
