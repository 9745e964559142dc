"""Esketamine sessions under the REMS (issue 13; PROTOCOL.md §8, §11): each REMS field of the
start, the blood-pressure hold and the prescriber's release, the schedule, readings and events,
the 2-hour rule before the end of monitoring, the prescriber's discharge, the form's submission
and the clinic's list of forms not yet submitted; a trial patient is refused without a drug or
an arm named."""

from __future__ import annotations

import datetime as dt

import pytest
from workflow_support import screen_rct, workflow_services  # type: ignore[import-not-found]

from esketamine_support import (  # type: ignore[import-not-found]
    PASSWORD,
    SESSION_DAY,
    monitor_to_two_hours,
    session_start,
)
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import (
    AuthenticationFailed,
    ConflictError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from ketamine_ptsd.services.esketamine import EsketamineRefused
from ketamine_ptsd.services.records import AuditEntry
from maintenance_support import clinic_responder  # type: ignore[import-not-found]


@pytest.fixture
def wf(db, clock):  # type: ignore[no-untyped-def]
    return workflow_services(db, clock)


@pytest.fixture
def responder(wf, actors, clock) -> int:  # type: ignore[no-untyped-def]
    pid = clinic_responder(wf, actors, clock)
    clock.set(SESSION_DAY)
    return pid


def _audited(wf, table: str) -> list[str]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    with wf.context.session_factory(write=False) as s:
        return [
            f"{e.event} {e.field}"
            for e in s.scalars(select(AuditEntry).where(AuditEntry.table_name == table))
        ]


def test_a_session_runs_to_discharge_with_every_rems_field(wf, actors, clock, responder) -> None:  # type: ignore[no-untyped-def]
    nurse, prescriber, pid = actors[Role.NURSE], actors[Role.CLINICIAN], responder
    s = wf.esketamine.start(nurse, pid, session_start())
    assert (s.session_number, s.phase, s.dose_choice, s.dose_mg) == (
        1, "Induction: twice a week", "56", 56,
    )  # fmt: skip
    assert (s.rems_patient_enrolled, s.rems_patient_id, s.setting_certified) == (
        True, "REMS-000123", True,
    )  # fmt: skip
    assert s.concomitant_classes == ("benzodiazepine",) and s.device_lot == "LOT-24A17"
    assert (s.monitoring_provider, s.prescriber) == ("Nurse Okafor", "Dr Ames")
    assert (s.bp_before_systolic, s.bp_before_diastolic, s.first_device_at) == (
        132, 84, SESSION_DAY,
    )  # fmt: skip
    assert s.earliest_end == SESSION_DAY + dt.timedelta(hours=2)
    assert any(r.startswith("two_hour_monitoring") for r in s.end_refusals)
    clock.set(SESSION_DAY + dt.timedelta(minutes=12))
    wf.esketamine.record_event(nurse, pid, 1, kind="dissociation", notes="CADSS-like, mild")
    monitor_to_two_hours(wf, nurse, clock, pid, 1)
    s = wf.esketamine.session(nurse, pid, 1)
    assert any("event_resolved" in r for r in s.end_refusals)
    event = s.events[0]
    wf.esketamine.resolve_event(
        nurse, pid, 1, event.id, expected_version=event.version,
        resolved_at=SESSION_DAY + dt.timedelta(minutes=75),
    )  # fmt: skip
    s = wf.esketamine.session(nurse, pid, 1)
    assert s.end_refusals == () and [r.minute for r in s.readings] == [40, 115]
    with pytest.raises(ValidationFailed) as ready:
        wf.esketamine.end_monitoring(
            nurse, pid, 1, ready_to_leave_at=None, expected_version=s.version
        )
    assert ready.value.field == "ready_to_leave_at"
    ended = wf.esketamine.end_monitoring(
        nurse, pid, 1, ready_to_leave_at=SESSION_DAY + dt.timedelta(minutes=90),
        expected_version=s.version,
    )  # fmt: skip
    assert ended.total_monitoring_minutes == 120
    with pytest.raises(PermissionDenied):  # the prescriber discharges, not the nurse
        wf.esketamine.discharge(nurse, pid, 1, password=PASSWORD, expected_version=ended.version)
    with pytest.raises(ConflictError, match="after the prescriber's discharge"):
        wf.esketamine.submit_form(nurse, pid, 1, expected_version=ended.version)
    with pytest.raises(AuthenticationFailed):
        wf.esketamine.discharge(
            prescriber, pid, 1, password="wrong", expected_version=ended.version
        )
    out = wf.esketamine.discharge(
        prescriber, pid, 1, password=PASSWORD, expected_version=ended.version
    )
    assert out.discharged and out.discharged_by == "Test clinician"
    assert out.form_due_on == dt.date(2026, 3, 30) and not out.form_overdue
    submitted = wf.esketamine.submit_form(nurse, pid, 1, expected_version=out.version)
    assert submitted.form_submitted_by == "Test nurse"
    fields = _audited(wf, "esketamine_sessions")
    for name in ("dose_mg", "device_lot", "ended_at", "discharged_by", "form_submitted_at"):
        assert any(name in f for f in fields), (name, fields)
    assert any("moaas" in f for f in _audited(wf, "esketamine_readings"))


def test_the_two_hour_rule_refuses_the_end_at_1_h_59_and_no_decision_releases_it(
    wf, actors, clock, responder
) -> None:  # type: ignore[no-untyped-def]
    nurse, pid = actors[Role.NURSE], responder
    wf.esketamine.start(nurse, pid, session_start())
    monitor_to_two_hours(wf, nurse, clock, pid, 1)
    clock.set(SESSION_DAY + dt.timedelta(minutes=119, seconds=59))
    s = wf.esketamine.session(nurse, pid, 1)
    with pytest.raises(EsketamineRefused) as early:
        wf.esketamine.end_monitoring(
            nurse, pid, 1, ready_to_leave_at=SESSION_DAY + dt.timedelta(minutes=60),
            expected_version=s.version,
        )  # fmt: skip
    assert early.value.rules == ("two_hour_monitoring",) and not early.value.releasable
    assert "PROTOCOL.md §11" in early.value.message and "at least 120 min" in early.value.message
    with pytest.raises(ConflictError, match="monitoring has not ended"):
        wf.esketamine.discharge(
            actors[Role.CLINICIAN], pid, 1, password=PASSWORD, expected_version=s.version
        )
    clock.set(SESSION_DAY + dt.timedelta(minutes=120))
    done = wf.esketamine.end_monitoring(
        nurse, pid, 1, ready_to_leave_at=SESSION_DAY + dt.timedelta(minutes=60),
        expected_version=s.version,
    )  # fmt: skip
    assert done.total_monitoring_minutes == 120


def test_the_40_minute_blood_pressure_and_pulse_oximetry_are_required(
    wf, actors, clock, responder
) -> None:  # type: ignore[no-untyped-def]
    nurse, pid = actors[Role.NURSE], responder
    wf.esketamine.start(nurse, pid, session_start())
    clock.set(SESSION_DAY + dt.timedelta(minutes=115))
    wf.esketamine.record_reading(nurse, pid, 1, systolic=128, diastolic=80)
    clock.set(SESSION_DAY + dt.timedelta(minutes=125))
    s = wf.esketamine.session(nurse, pid, 1)
    with pytest.raises(EsketamineRefused) as refused:
        wf.esketamine.end_monitoring(
            nurse, pid, 1, ready_to_leave_at=SESSION_DAY, expected_version=s.version
        )
    assert refused.value.rules == ("bp_about_40_minutes", "pulse_oximetry")


def test_the_blood_pressure_hold_before_dosing_and_the_prescribers_release(
    wf, actors, clock, responder
) -> None:  # type: ignore[no-untyped-def]
    nurse, prescriber, pid = actors[Role.NURSE], actors[Role.CLINICIAN], responder
    assert wf.esketamine.start(nurse, pid, session_start(bp_before_systolic=140,
                                                           bp_before_diastolic=90))  # fmt: skip
    # 140/90 is at the hold, not above it; the next session (Thursday) is above it
    first = wf.esketamine.session(nurse, pid, 1)
    _finish(wf, actors, clock, pid, 1, first.first_device_at)
    clock.set(SESSION_DAY + dt.timedelta(days=3))
    with pytest.raises(EsketamineRefused) as held:
        wf.esketamine.start(nurse, pid, session_start(bp_before_systolic=141))
    assert held.value.rules == ("bp_before_dosing",) and held.value.releasable
    assert "141/84" in held.value.message and "PROTOCOL.md §11" in held.value.message
    with pytest.raises(PermissionDenied):
        wf.esketamine.release_bp_hold(
            nurse, pid, systolic=141, diastolic=84, reason="asymptomatic, rechecked twice",
            password=PASSWORD,
        )  # fmt: skip
    with pytest.raises(ValidationFailed) as short:
        wf.esketamine.release_bp_hold(
            prescriber, pid, systolic=141, diastolic=84, reason="ok", password=PASSWORD
        )
    assert short.value.field == "reason"
    with pytest.raises(ConflictError, match="nothing is held"):
        wf.esketamine.release_bp_hold(
            prescriber, pid, systolic=138, diastolic=84, reason="asymptomatic, rechecked twice",
            password=PASSWORD,
        )  # fmt: skip
    decision = wf.esketamine.release_bp_hold(
        prescriber, pid, systolic=141, diastolic=84, reason="asymptomatic, rechecked twice",
        password=PASSWORD,
    )  # fmt: skip
    assert decision.session_number == 2 and "141/84" in decision.released
    second = wf.esketamine.start(nurse, pid, session_start(bp_before_systolic=141))
    assert second.session_number == 2 and second.decisions[0].reason.startswith("asymptomatic")
    assert second.rems_patient_id == "REMS-000123"


def _finish(wf, actors, clock, pid: int, n: int, start: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    nurse = actors[Role.NURSE]
    monitor_to_two_hours(wf, nurse, clock, pid, n)
    s = wf.esketamine.session(nurse, pid, n)
    s = wf.esketamine.end_monitoring(
        nurse, pid, n, ready_to_leave_at=start + dt.timedelta(minutes=70),
        expected_version=s.version,
    )  # fmt: skip
    wf.esketamine.discharge(
        actors[Role.CLINICIAN], pid, n, password=PASSWORD, expected_version=s.version
    )


def test_enrolment_at_the_first_session_and_a_certified_setting_at_every_one(
    wf, actors, clock, responder
) -> None:  # type: ignore[no-untyped-def]
    nurse, pid = actors[Role.NURSE], responder
    with pytest.raises(EsketamineRefused) as both:
        wf.esketamine.start(
            nurse, pid, session_start(rems_patient_enrolled=False, setting_certified=False)
        )
    assert both.value.rules == ("rems_patient_enrolment", "rems_setting_certified")
    assert not both.value.releasable
    with pytest.raises(ValidationFailed) as number:
        wf.esketamine.start(nurse, pid, session_start(rems_patient_id=""))
    assert number.value.field == "rems_patient_id"
    first = wf.esketamine.start(nurse, pid, session_start())
    _finish(wf, actors, clock, pid, 1, first.first_device_at)
    clock.set(SESSION_DAY + dt.timedelta(days=3))
    with pytest.raises(EsketamineRefused) as setting:
        wf.esketamine.start(nurse, pid, session_start(setting_certified=False))
    assert setting.value.rules == ("rems_setting_certified",)
    # enrolled once: a later session need not repeat the number
    later = wf.esketamine.start(
        nurse, pid, session_start(rems_patient_enrolled=False, rems_patient_id=None)
    )
    assert later.rems_patient_enrolled and later.rems_patient_id == "REMS-000123"


@pytest.mark.parametrize(
    ("dose", "reason", "choice", "field"),
    [
        (56, None, "56", None),
        (84, None, "84", None),
        (28, None, None, "other_dose_reason"),
        (28, "one device only: congestion", "other", None),
        (112, "two sessions in one", None, "dose_mg"),
    ],
)
def test_the_dose_is_56_84_or_other_with_the_reason(
    wf, actors, responder, dose: int, reason: str | None, choice: str | None, field: str | None
) -> None:  # type: ignore[no-untyped-def]
    given = session_start(dose_mg=dose, other_dose_reason=reason)
    if field is not None:
        with pytest.raises(ValidationFailed) as refused:
            wf.esketamine.start(actors[Role.NURSE], responder, given)
        assert refused.value.field == field and refused.value.value in (dose, reason)
        return
    s = wf.esketamine.start(actors[Role.NURSE], responder, given)
    assert (s.dose_choice, s.dose_mg, s.other_dose_reason) == (
        choice, dose, reason if choice == "other" else None,
    )  # fmt: skip


def test_the_start_names_the_field_and_keeps_the_value(wf, actors, responder) -> None:  # type: ignore[no-untyped-def]
    nurse, pid = actors[Role.NURSE], responder
    for changes, field in (
        ({"device_lot": "  "}, "device_lot"),
        ({"monitoring_provider": ""}, "monitoring_provider"),
        ({"bp_before_systolic": 400}, "bp_before_systolic"),
        ({"bp_before_diastolic": 140}, "bp_before_diastolic"),
        ({"concomitant_classes": ("antihistamine",)}, "concomitant_classes"),
        ({"first_device_at": SESSION_DAY + dt.timedelta(hours=1)}, "first_device_at"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            wf.esketamine.start(nurse, pid, session_start(**changes))
        assert refused.value.field == field, (changes, refused.value)
    assert wf.esketamine.sessions(nurse, pid) == []


def test_readings_and_events_are_checked(wf, actors, clock, responder) -> None:  # type: ignore[no-untyped-def]
    nurse, pid = actors[Role.NURSE], responder
    wf.esketamine.start(nurse, pid, session_start())
    clock.set(SESSION_DAY + dt.timedelta(minutes=30))
    for kwargs, field in (
        ({"systolic": 120}, "diastolic"),
        ({"moaas": 6}, "moaas"),
        ({"spo2_percent": 101}, "spo2_percent"),
        ({}, "systolic"),
        ({"systolic": 120, "diastolic": 80, "taken_at": SESSION_DAY - dt.timedelta(minutes=1)},
         "taken_at"),
    ):  # fmt: skip
        with pytest.raises(ValidationFailed) as refused:
            wf.esketamine.record_reading(nurse, pid, 1, **kwargs)
        assert refused.value.field == field
    with pytest.raises(ValidationFailed) as kind:
        wf.esketamine.record_event(nurse, pid, 1, kind="nausea")
    assert kind.value.field == "kind"
    s = wf.esketamine.record_event(nurse, pid, 1, kind="sedation", notes="MOAA/S 3")
    s = wf.esketamine.record_reading(nurse, pid, 1, moaas=3, spo2_percent=95)
    assert s.readings[-1].moaas == 3 and s.events[0].resolved_at is None
    with pytest.raises(NotFound):
        wf.esketamine.record_reading(nurse, pid, 2, moaas=4)


def test_the_schedule_refuses_a_session_too_soon_until_the_prescriber_moves_it(
    wf, actors, clock, responder
) -> None:  # type: ignore[no-untyped-def]
    nurse, prescriber, pid = actors[Role.NURSE], actors[Role.CLINICIAN], responder
    first = wf.esketamine.start(nurse, pid, session_start())
    with pytest.raises(ConflictError, match="still being monitored"):
        wf.esketamine.start(nurse, pid, session_start())
    _finish(wf, actors, clock, pid, 1, first.first_device_at)
    tomorrow = SESSION_DAY + dt.timedelta(days=1)
    clock.set(tomorrow)
    with pytest.raises(EsketamineRefused) as soon:
        wf.esketamine.start(nurse, pid, session_start())
    assert soon.value.rules == ("schedule_interval",) and soon.value.releasable
    wf.esketamine.move_session(
        prescriber, pid, day=tomorrow.date(), reason="travelling abroad from Wednesday",
        password=PASSWORD,
    )  # fmt: skip
    assert wf.esketamine.start(nurse, pid, session_start()).session_number == 2


def test_unsubmitted_forms_are_listed_and_overdue_after_7_days(
    wf, actors, clock, responder
) -> None:  # type: ignore[no-untyped-def]
    nurse, pid = actors[Role.NURSE], responder
    first = wf.esketamine.start(nurse, pid, session_start())
    _finish(wf, actors, clock, pid, 1, first.first_device_at)
    clock.set(SESSION_DAY + dt.timedelta(days=7))
    (due,) = wf.esketamine.unsubmitted_forms(nurse)
    assert (due.session_number, due.due_on, due.overdue) == (1, dt.date(2026, 3, 30), False)
    clock.set(SESSION_DAY + dt.timedelta(days=8))
    (late,) = wf.esketamine.unsubmitted_forms(nurse)
    assert late.overdue and wf.esketamine.session(nurse, pid, 1).form_overdue
    s = wf.esketamine.session(nurse, pid, 1)
    wf.esketamine.submit_form(nurse, pid, 1, expected_version=s.version)  # late, still recorded
    assert wf.esketamine.unsubmitted_forms(nurse) == []


def test_a_patient_before_the_series_has_no_session(wf, actors, enrol) -> None:  # type: ignore[no-untyped-def]
    pid = enrol("clinical")
    with pytest.raises(EsketamineRefused) as refused:
        wf.esketamine.start(actors[Role.NURSE], pid, session_start())
    assert refused.value.rules == ("patient_state",) and "§8, §11" in refused.value.message


def test_the_trial_refuses_sessions_and_names_no_drug_or_arm(wf, actors) -> None:  # type: ignore[no-untyped-def]
    investigator, nurse = actors[Role.INVESTIGATOR], actors[Role.NURSE]
    wf.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="rct-1", slots_per_stratum=4
    )
    pid = screen_rct(wf, investigator)
    for call in (
        lambda: wf.esketamine.start(nurse, pid, session_start()),
        lambda: wf.esketamine.sessions(nurse, pid),
        lambda: wf.esketamine.plan(investigator, pid),
        lambda: wf.esketamine.release_bp_hold(
            investigator, pid, systolic=150, diastolic=95, reason="a reason long enough",
            password=PASSWORD,
        ),
    ):  # fmt: skip
        with pytest.raises(EsketamineRefused) as refused:
            call()
        text = str(refused.value).lower()
        assert refused.value.rules == ("clinic_pathway_only",) and "§8, §11" in text
        for leak in ("ketamine ", "midazolam", "arm", "allocat", " mg"):
            assert leak not in text, (leak, text)
    assert wf.esketamine.unsubmitted_forms(investigator) == []


def test_a_locked_record_refuses_a_session(wf, actors, clock, responder) -> None:  # type: ignore[no-untyped-def]
    from ketamine_ptsd.services.errors import DatabaseLocked

    wf.locks.lock(
        actors[Role.INVESTIGATOR],
        reason="before unblinding the trial's analysis",
        password=PASSWORD,
    )
    with pytest.raises(DatabaseLocked):
        wf.esketamine.start(actors[Role.NURSE], responder, session_start())
    assert wf.esketamine.sessions(actors[Role.NURSE], responder) == []
