"""Esketamine sessions under the REMS (PROTOCOL.md §8, §11; issue 13): the rules at their
boundaries — the blood-pressure hold before dosing, 2 hours exactly against 1 h 59, the dose as
56, 84 or other, enrolment at the first session, the schedule's phases, the form's 7 days."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import EsketaminePlan
from ketamine_ptsd.core.rules import (
    EsketamineEvent,
    EsketamineReading,
    SessionEnd,
    availability_refusal,
    bp_hold_refusal,
    check_concomitant,
    check_dose,
    discharge_refusals,
    enrolment_refusals,
    esketamine_plan,
    form_due_on,
    form_overdue,
    phase_of,
    schedule_refusal,
)

T0 = dt.datetime(2026, 4, 6, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def plan() -> EsketaminePlan:
    return esketamine_plan(load_protocol("clinical"))


def _at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _complete(ended: float = 120, **changes: object) -> SessionEnd:
    end = SessionEnd(
        T0,
        _at(ended),
        (
            EsketamineReading(_at(40), 138, 86, 97),
            EsketamineReading(_at(ended - 5), 128, 80, 98),
        ),
        (EsketamineEvent("dissociation", _at(10), _at(70)),),
        _at(90),
    )
    return dataclasses.replace(end, **changes)  # type: ignore[arg-type]


def test_the_trial_has_no_sessions_and_says_the_clinic_pathway_only() -> None:
    rct = load_protocol("rct")
    refusal = availability_refusal(rct, "responder")
    assert refusal is not None and refusal.rule == "clinic_pathway_only"
    assert "§11" in refusal.message and not refusal.releasable
    assert "midazolam" not in refusal.message and "arm" not in refusal.message
    with pytest.raises(InvalidInput) as none:
        esketamine_plan(rct)
    assert none.value.field == "protocol"


@pytest.mark.parametrize("state", ["responder", "in_maintenance", "lost_response", "non_responder"])
def test_a_session_starts_after_the_series(state: str) -> None:
    assert availability_refusal(load_protocol("clinical"), state) is None


@pytest.mark.parametrize("state", ["registered", "eligible", "withdrawn", "screen_failed"])
def test_no_session_before_the_series_or_after_withdrawal(state: str) -> None:
    refusal = availability_refusal(load_protocol("clinical"), state)
    assert refusal is not None and refusal.rule == "patient_state" and "§8, §11" in refusal.message


@pytest.mark.parametrize(
    ("systolic", "diastolic", "held"),
    [(140, 90, False), (141, 90, True), (140, 91, True), (139, 89, False), (165, 70, True)],
)
def test_bp_hold_before_dosing_at_the_boundary(
    plan: EsketaminePlan, systolic: int, diastolic: int, held: bool
) -> None:
    refusal = bp_hold_refusal(plan, systolic, diastolic)
    assert (refusal is not None) is held
    if refusal is not None:
        assert refusal.rule == "bp_before_dosing" and refusal.releasable
        assert f"{systolic}/{diastolic}" in refusal.message and "§11" in refusal.message


def test_two_hours_exactly_discharges_and_1_h_59_does_not(plan: EsketaminePlan) -> None:
    assert discharge_refusals(plan, _complete(120)) == []
    short = discharge_refusals(plan, _complete(119))
    assert [r.rule for r in short] == ["two_hour_monitoring"]
    assert "119 min" in short[0].message and "at least 120" in short[0].message
    assert not short[0].releasable
    almost = discharge_refusals(plan, _complete(119.99))
    assert [r.rule for r in almost] == ["two_hour_monitoring"]


def test_the_40_minute_and_end_blood_pressures_pulse_oximetry_and_events(
    plan: EsketaminePlan,
) -> None:
    late = (EsketamineReading(_at(51), 130, 80, 97), EsketamineReading(_at(115), 128, 80, 98))
    assert [r.rule for r in discharge_refusals(plan, _complete(readings=late))] == [
        "bp_about_40_minutes"
    ]
    edge = (EsketamineReading(_at(30), 130, 80, 97), EsketamineReading(_at(105), 128, 80, 98))
    assert discharge_refusals(plan, _complete(readings=edge)) == []  # 30 and 15 min: the edges
    early_end = (EsketamineReading(_at(40), 130, 80, 97), EsketamineReading(_at(104), 128, 80, 98))
    assert [r.rule for r in discharge_refusals(plan, _complete(readings=early_end))] == [
        "bp_before_end"
    ]
    no_spo2 = (
        EsketamineReading(_at(40), 130, 80, None),
        EsketamineReading(_at(115), 128, 80, None),
    )
    assert [r.rule for r in discharge_refusals(plan, _complete(readings=no_spo2))] == [
        "pulse_oximetry"
    ]
    open_event = (EsketamineEvent("respiratory_depression", _at(20), None),)
    refusals = discharge_refusals(plan, _complete(events=open_event))
    assert [r.rule for r in refusals] == ["event_resolved"]
    assert "respiratory depression" in refusals[0].message


def test_ready_to_leave_is_asked_and_lies_within_the_session(plan: EsketaminePlan) -> None:
    assert [r.rule for r in discharge_refusals(plan, _complete(ready_to_leave_at=None))] == [
        "ready_to_leave"
    ]
    assert [r.rule for r in discharge_refusals(plan, _complete(ready_to_leave_at=_at(121)))] == [
        "ready_to_leave"
    ]
    assert discharge_refusals(plan, _complete(ready_to_leave_at=_at(0))) == []


@pytest.mark.parametrize(("dose", "choice"), [(56, "56"), (84, "84")])
def test_the_label_doses_are_recorded_as_themselves(
    plan: EsketaminePlan, dose: int, choice: str
) -> None:
    assert check_dose(plan, dose, None).choice == choice


def test_another_dose_is_other_with_the_reason_and_never_above_the_maximum(
    plan: EsketaminePlan,
) -> None:
    with pytest.raises(InvalidInput) as no_reason:
        check_dose(plan, 28, "")
    assert no_reason.value.field == "other_dose_reason" and "'other'" in no_reason.value.message
    other = check_dose(plan, 28, "one device only: nasal congestion")
    assert (other.choice, other.dose_mg) == ("other", 28)
    for bad in (0, -56, 85, 112):
        with pytest.raises(InvalidInput) as refused:
            check_dose(plan, bad, "a reason long enough")
        assert refused.value.field == "dose_mg" and refused.value.value == bad


def test_enrolment_is_needed_at_the_first_session_and_certification_at_every_one() -> None:
    first = enrolment_refusals(first_session=True, patient_enrolled=False, setting_certified=True)
    assert [r.rule for r in first] == ["rems_patient_enrolment"] and not first[0].releasable
    assert (
        enrolment_refusals(first_session=False, patient_enrolled=False, setting_certified=True)
        == []
    )
    uncertified = enrolment_refusals(
        first_session=False, patient_enrolled=True, setting_certified=False
    )
    assert [r.rule for r in uncertified] == ["rems_setting_certified"]
    assert "§11" in uncertified[0].message


def test_concomitant_medicines_use_the_rems_classes(plan: EsketaminePlan) -> None:
    assert check_concomitant(plan, ["opioid", "benzodiazepine"]) == ("benzodiazepine", "opioid")
    with pytest.raises(InvalidInput) as unknown:
        check_concomitant(plan, ["antihistamine"])
    assert unknown.value.field == "concomitant_classes"


def test_the_schedule_twice_weekly_then_weekly_then_weekly_or_fortnightly(
    plan: EsketaminePlan,
) -> None:
    assert [phase_of(plan, n).name for n in (1, 8, 9, 12, 13, 40)] == [
        "induction", "induction", "weekly", "weekly", "maintenance", "maintenance",
    ]  # fmt: skip
    monday = dt.date(2026, 4, 6)
    assert schedule_refusal(plan, [], monday) is None
    tomorrow = schedule_refusal(plan, [monday], monday + dt.timedelta(days=1))
    assert tomorrow is not None and tomorrow.rule == "schedule_interval" and tomorrow.releasable
    assert schedule_refusal(plan, [monday], monday + dt.timedelta(days=3)) is None  # Thursday
    third = schedule_refusal(
        plan, [monday, monday + dt.timedelta(days=2)], monday + dt.timedelta(days=4)
    )
    assert third is not None and third.rule == "schedule_weekly_maximum"
    induction = [monday + dt.timedelta(days=d) for d in (0, 3, 7, 10, 14, 17, 21, 24)]
    weekly_too_soon = schedule_refusal(plan, induction, induction[-1] + dt.timedelta(days=4))
    assert weekly_too_soon is not None and "Weekly" in weekly_too_soon.message
    assert schedule_refusal(plan, induction, induction[-1] + dt.timedelta(days=7)) is None


def test_the_form_is_due_within_7_days(plan: EsketaminePlan) -> None:
    day = dt.date(2026, 4, 6)
    assert form_due_on(plan, day) == dt.date(2026, 4, 13)
    assert not form_overdue(plan, day, False, dt.date(2026, 4, 13))
    assert form_overdue(plan, day, False, dt.date(2026, 4, 14))
    assert not form_overdue(plan, day, True, dt.date(2026, 5, 1))
