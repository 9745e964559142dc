"""Periodic IV maintenance after the series (issue 13; PROTOCOL.md §8, §11): started by the
physician for a responder (anyone else with the reason), numbered after the series, each
infusion with the series' own safety and the schedule's interval; stopped with a reason."""

from __future__ import annotations

import datetime as dt

import pytest
from workflow_support import (  # type: ignore[import-not-found]
    ready_for_infusion,
)

from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import ConflictError, NotFound, PermissionDenied, ValidationFailed
from maintenance_support import WEEK2, clinic_responder, infuse  # type: ignore[import-not-found]


@pytest.fixture
def responder(wf, actors, clock):  # type: ignore[no-untyped-def]
    return clinic_responder(wf, actors, clock)


def test_a_responder_enters_maintenance_and_infusion_7_runs_as_an_infusion_day(
    wf, actors, clock, responder
) -> None:  # type: ignore[no-untyped-def]
    pid, clinician = responder, actors[Role.CLINICIAN]
    with pytest.raises(PermissionDenied):  # the physician's decision, not the nurse's
        wf.maintenance.start(
            actors[Role.NURSE], pid, option_id="iv_ketamine_periodic", interval_days=7,
            starts_on=WEEK2.date(),
        )  # fmt: skip
    with pytest.raises(ValidationFailed) as route:
        wf.maintenance.start(
            clinician, pid, option_id="esketamine_intranasal", interval_days=7,
            starts_on=WEEK2.date(),
        )  # fmt: skip
    assert route.value.field == "option_id"  # intranasal is planned, not run as infusions
    with pytest.raises(ValidationFailed) as odd:
        wf.maintenance.start(
            clinician, pid, option_id="iv_ketamine_periodic", interval_days=10,
            starts_on=WEEK2.date(),
        )  # fmt: skip
    assert odd.value.field == "interval_days" and "7 or 14" in odd.value.message
    with pytest.raises(ConflictError, match="treatment phase"):  # not yet in maintenance
        ready_for_infusion(wf, actors, pid, 7, rater=Role.CLINICIAN)
    plan = wf.maintenance.start(
        clinician, pid, option_id="iv_ketamine_periodic", interval_days=7, starts_on=WEEK2.date()
    )
    assert wf.patients.get(clinician, pid).status == "in_maintenance"
    assert (plan.next_number, plan.next_due, plan.window_days) == (7, WEEK2.date(), 2)
    with pytest.raises(ConflictError, match="already started"):
        wf.maintenance.start(
            clinician, pid, option_id="iv_ketamine_periodic", interval_days=7,
            starts_on=WEEK2.date(),
        )  # fmt: skip
    infuse(wf, actors, clock, pid, 7)  # checklist, BP, dose, vitals, ratings, discharge
    seven = wf.maintenance.schedule(clinician, pid)
    assert seven.given == ((7, WEEK2.date()),) and seven.next_number == 8
    assert seven.next_due == WEEK2.date() + dt.timedelta(days=7)
    # Infusion 8: four days later (Friday) is too soon for a weekly schedule with a 2-day window
    # (§8); the held Friday's baseline and ratings are not Monday's.
    clock.set(WEEK2 + dt.timedelta(days=4))
    ready_for_infusion(wf, actors, pid, 8, rater=Role.CLINICIAN)
    with pytest.raises(ConflictError, match="every 7 days"):
        wf.infusions.start(
            clinician, pid, 8, **start_inputs(actors, clinician, 80, protocol_name="clinical")
        )
    clock.set(WEEK2 + dt.timedelta(days=7))  # the next Monday (core tests: the window's edge)
    infuse(wf, actors, clock, pid, 8)
    assert wf.patients.get(clinician, pid).status == "in_maintenance"


def test_the_interval_changes_and_maintenance_stops_with_a_reason(
    wf, actors, clock, responder
) -> None:  # type: ignore[no-untyped-def]
    pid, clinician = responder, actors[Role.CLINICIAN]
    plan = wf.maintenance.start(
        clinician, pid, option_id="iv_ketamine_periodic", interval_days=14, starts_on=WEEK2.date()
    )
    with pytest.raises(ValidationFailed) as no_reason:
        wf.maintenance.change_interval(
            clinician, pid, interval_days=7, reason="", expected_version=plan.version
        )
    assert no_reason.value.field == "reason"
    weekly = wf.maintenance.change_interval(
        clinician, pid, interval_days=7, reason="symptoms return in week 2",
        expected_version=plan.version,
    )  # fmt: skip
    assert weekly.interval_days == 7
    with pytest.raises(ValidationFailed) as short:
        wf.maintenance.stop(
            clinician, pid, stopped_on=WEEK2.date(), reason="done", expected_version=weekly.version
        )
    assert short.value.field == "reason"
    stopped = wf.maintenance.stop(
        clinician, pid, stopped_on=WEEK2.date(), reason="patient moves abroad next month",
        expected_version=weekly.version,
    )  # fmt: skip
    assert not stopped.active and stopped.next_number is None
    assert wf.patients.get(clinician, pid).status == "responder"  # what the scores say
    with pytest.raises(NotFound):
        wf.maintenance.stop(
            clinician, pid, stopped_on=WEEK2.date(), reason="a second stop, by mistake",
            expected_version=stopped.version,
        )  # fmt: skip


def test_a_trial_patient_never_enters_maintenance(trial, actors) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    with pytest.raises((ConflictError, ValidationFailed, PermissionDenied)):
        wf.maintenance.start(
            actors[Role.INVESTIGATOR], pid, option_id="iv_ketamine_periodic", interval_days=7,
            starts_on=dt.date(2026, 3, 2),
        )  # fmt: skip
