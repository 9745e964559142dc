"""A held morning, its physician release, a moved day and the C-SSRS review (issue 12 items 1, 2,
6, 8, 10; PROTOCOL.md §1, §5, §6, §7, §12), through the services the web and the API share."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from service_support import PASSWORD  # type: ignore[import-not-found]
from workflow_support import ready_for_infusion  # type: ignore[import-not-found]

from bedside_support import (  # type: ignore[import-not-found]
    acknowledge_open_alerts,
    confirm_two_identifiers,
    day_ready_for_signoff,
    prise,
    record_baseline,
    vitals_input,
)
from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import (
    AuthenticationFailed,
    ConflictError,
    PermissionDenied,
    ValidationFailed,
)
from ketamine_ptsd.services.assessments import AssessmentInput
from ketamine_ptsd.services.infusions import ChecklistInput, InfusionHeld
from screening_support import items  # type: ignore[import-not-found]

HIGH_RISK = {"1": True, "2": True, "3": True, "4": True, "5": False, "6": False}


def _recheck(wf, nurse, pid, n, readings, **changes):  # type: ignore[no-untyped-def]
    data = ChecklistInput(
        infusion_number=n,
        nil_by_mouth=True,
        pregnancy_test="not_applicable",
        urine_toxicology_positive_for=["marijuana"],
        bp_readings=readings,
        short_acting_benzodiazepine_taken_this_morning=False,
    )
    return wf.infusions.record_checklist(nurse, pid, dataclasses.replace(data, **changes))


def test_a_held_blood_pressure_series_is_not_cleared_by_a_recheck(trial, actors) -> None:  # type: ignore[no-untyped-def]
    """The issue's morning: 150/85, 145/92, 142/88 holds; a re-check at 122/78 adds a reading,
    it does not replace the morning (PROTOCOL.md §6); only the physician's release lets it start."""
    wf, pid = trial
    nurse, md = actors[Role.NURSE], actors[Role.INVESTIGATOR]
    held = ready_for_infusion(wf, actors, pid, 1, bp_readings=("150/85", "145/92", "142/88"))
    assert not held.passed
    again = _recheck(wf, nurse, pid, 1, ("122/78",))
    assert not again.passed, "a fourth, normal reading must not clear the morning"
    assert again.findings["bp_series"][:4] == ["150/85", "145/92", "142/88", "122/78"]
    with pytest.raises(InfusionHeld) as refused:
        wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80))
    assert "physician" in str(refused.value)
    with pytest.raises(PermissionDenied):  # the nurse does not release a hold
        wf.infusions.release_hold(nurse, pid, 1, reason="readings fine now", password=PASSWORD)
    with pytest.raises(ValidationFailed) as short:
        wf.infusions.release_hold(md, pid, 1, reason="ok", password=PASSWORD)
    assert short.value.field == "reason"
    with pytest.raises(AuthenticationFailed, match="password not accepted"):
        wf.infusions.release_hold(
            md, pid, 1, reason="white-coat pattern, 122/78 settled", password="wrong"
        )
    decision = wf.infusions.release_hold(
        md, pid, 1, reason="white-coat pattern; 122/78 after rest, seen by me", password=PASSWORD
    )
    assert decision.kind == "release_hold" and decision.released == again.hold_reasons
    with pytest.raises(ConflictError, match="already released"):
        wf.infusions.release_hold(md, pid, 1, reason="second release, same day", password=PASSWORD)
    assert wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80)).infusion_number == 1
    [recorded] = wf.infusions.decisions(md, pid)
    assert recorded.reason.startswith("white-coat") and recorded.decided_by


def test_a_reading_after_the_release_needs_its_own_release(trial, actors) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    nurse, md = actors[Role.NURSE], actors[Role.INVESTIGATOR]
    ready_for_infusion(wf, actors, pid, 1, bp_readings=("150/85", "145/92", "142/88"))
    wf.infusions.release_hold(md, pid, 1, reason="seen, settled after rest", password=PASSWORD)
    _recheck(wf, nurse, pid, 1, ("165/95", "170/96"))  # worse after the release
    with pytest.raises(InfusionHeld):
        wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80))


def test_a_positive_pregnancy_test_stays_positive_and_is_not_releasable(trial, actors) -> None:  # type: ignore[no-untyped-def]
    """PROTOCOL.md §1: pregnancy is an absolute exclusion in the RCT."""
    wf, pid = trial
    nurse, md = actors[Role.NURSE], actors[Role.INVESTIGATOR]
    ready_for_infusion(wf, actors, pid, 1)
    positive = _recheck(wf, nurse, pid, 1, ("128/82",), pregnancy_test="positive")
    assert not positive.passed
    negative = _recheck(wf, nurse, pid, 1, ("128/82",), pregnancy_test="negative")
    assert not negative.passed, "a later negative test does not undo the morning's positive one"
    with pytest.raises(ConflictError, match="absolute"):
        wf.infusions.release_hold(md, pid, 1, reason="retested negative later", password=PASSWORD)
    with pytest.raises(InfusionHeld):
        wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80))


def test_a_missing_finding_is_recorded_not_released(trial, actors) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    nurse, md = actors[Role.NURSE], actors[Role.INVESTIGATOR]
    ready_for_infusion(wf, actors, pid, 1)
    _recheck(wf, nurse, pid, 1, ("128/82",), nil_by_mouth=None)
    with pytest.raises(ConflictError, match="record it"):
        wf.infusions.release_hold(md, pid, 1, reason="patient says fasted", password=PASSWORD)
    with pytest.raises(ConflictError, match="nothing to release"):
        wf.infusions.release_hold(
            md, pid, 2, reason="nothing checked for this one", password=PASSWORD
        )


def test_baseline_spo2_88_holds_the_start_and_raises_an_owned_alert(trial, actors, clock) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 6: the minute-0 vitals are judged by the protocol's alerts (§6)."""
    wf, pid = trial
    nurse, rater, md = actors[Role.NURSE], actors[Role.SAFETY_RATER], actors[Role.INVESTIGATOR]
    confirm_two_identifiers(wf, actors, pid, 1)
    record_baseline(wf, actors, pid)
    low = wf.infusions.record_vitals(nurse, pid, 1, vitals_input(0, 128, 82, 72, 88))
    assert any("SpO2" in a for a in low.alerts)
    for instrument, values in (
        ("cadss", items(23, 1)),
        ("bprs_positive", {"4": 1, "11": 1, "12": 1, "15": 1}),
        ("ymrs_item1", {"1": 0}),
        ("prise", prise()),
    ):
        wf.infusions.record_rating(rater, pid, 1, minute=0, instrument=instrument, items=values)
    check = _recheck(wf, nurse, pid, 1, ("128/82",))
    assert not check.passed
    assert any(i["id"] == "baseline_vitals_alerts" and not i["passed"] for i in check.items)
    [alert] = wf.infusions.alerts(nurse, pid, open_only=True)
    assert alert.kind == "vital_signs" and any("SpO2" in m for m in alert.messages)
    with pytest.raises(InfusionHeld):
        wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80))
    wf.infusions.release_hold(
        md, pid, 1, reason="probe artefact; 97 % on the other hand, examined", password=PASSWORD
    )
    wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80))
    assert [a.id for a in wf.infusions.open_alerts(md)] == [alert.id]  # the Today page's list
    assert acknowledge_open_alerts(wf, nurse, clock, pid) == 1
    assert wf.infusions.open_alerts(md) == []


def test_a_day_too_soon_starts_only_after_the_physician_moves_it(trial, actors, clock) -> None:  # type: ignore[no-untyped-def]
    """PROTOCOL.md §5: two days between infusions; Tuesday after Monday is refused, and the
    physician's recorded decision lets it go; the previous discharge still comes first."""
    wf, pid = trial
    md = actors[Role.INVESTIGATOR]
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80))
    day = day_ready_for_signoff(wf, actors, clock, pid, 1)
    wf.infusions.sign_off_discharge(md, pid, 1, password=PASSWORD, expected_version=day.version)
    clock.set(clock.now().replace(hour=8, minute=0) + dt.timedelta(days=1))  # Tuesday
    ready_for_infusion(wf, actors, pid, 2)
    with pytest.raises(ConflictError, match=r"at least 2 days"):
        wf.infusions.start(md, pid, 2, **start_inputs(actors, md, 80))
    with pytest.raises(ValidationFailed) as past:
        wf.infusions.move_day(
            md, pid, 2, day=clock.now().date() - dt.timedelta(days=1),
            reason="patient travels on Wednesday", password=PASSWORD,
        )  # fmt: skip
    assert past.value.field == "day"
    with pytest.raises(PermissionDenied):
        wf.infusions.move_day(
            actors[Role.NURSE], pid, 2, day=clock.now().date(),
            reason="patient travels on Wednesday", password=PASSWORD,
        )  # fmt: skip
    moved = wf.infusions.move_day(
        md, pid, 2, day=clock.now().date(), reason="patient travels on Wednesday", password=PASSWORD
    )
    assert moved.kind == "move_day" and moved.day == clock.now().date()
    assert wf.infusions.start(md, pid, 2, **start_inputs(actors, md, 80)).infusion_number == 2


def test_a_high_suicide_risk_at_baseline_holds_infusion_1_until_a_physician_reviews_it(
    trial, actors
) -> None:  # type: ignore[no-untyped-def]
    """PROTOCOL.md §7 (issue 12 item 8): alert, physician task, hold."""
    wf, pid = trial
    nurse, md = actors[Role.NURSE], actors[Role.INVESTIGATOR]
    today = wf.context.clock.now().date()
    wf.assessments.record(
        actors[Role.OUTCOME_RATER], pid, AssessmentInput("baseline", "cssrs", today, HIGH_RISK)
    )
    [alert] = wf.infusions.alerts(nurse, pid, open_only=True)
    assert alert.kind == "suicide_risk" and alert.physician_only and alert.infusion_number is None
    assert "C-SSRS high suicide risk" in alert.messages[0]
    assert [a.id for a in wf.infusions.open_alerts(md)] == [alert.id]
    ready_for_infusion(wf, actors, pid, 1)
    with pytest.raises(ConflictError, match=r"reviews the suicide risk"):
        wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80))
    with pytest.raises(PermissionDenied):  # a nurse cannot close the physician's review
        wf.infusions.acknowledge_alert(
            nurse, pid, alert.id, physician_called="Dr Lee", called_at=wf.context.clock.now(),
            action_taken="told the physician", expected_version=alert.version,
        )  # fmt: skip
    reviewed = wf.infusions.acknowledge_alert(
        md, pid, alert.id, physician_called=None, called_at=None,
        action_taken="assessed in person: passive ideation, no plan; safety plan reviewed",
        expected_version=alert.version,
    )  # fmt: skip
    assert not reviewed.open and reviewed.physician_called  # the reviewer, by name
    assert wf.infusions.start(md, pid, 1, **start_inputs(actors, md, 80)).infusion_number == 1
