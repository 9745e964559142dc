"""The patient's self-report between visits, the relapse watch and retreatment (issue 13;
PROTOCOL.md §5, §7, §8): the link is single-use, expires and opens nothing with a wrong token; a
C-SSRS at the review level or a PCL-5 rise of 10 raises an alert and a physician task; the audit
trail names the link; the relapse task is raised by a self-report above the response's line and
by the loss-of-response rule; a retreatment series is numbered on and runs as infusion days."""

from __future__ import annotations

import datetime as dt

import pytest

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import ConflictError, NotFound, PermissionDenied, ValidationFailed
from ketamine_ptsd.services.alerts import RELAPSE_WATCH, SUICIDE_RISK, SYMPTOM_RISE
from ketamine_ptsd.services.assessments import AssessmentInput
from ketamine_ptsd.services.self_reports import LINK_AUDIT_ROLE, LinkUnusable, token_hash
from maintenance_support import WEEK2, clinic_responder, infuse  # type: ignore[import-not-found]
from screening_support import items  # type: ignore[import-not-found]

NO_RISK = {"1": False, "2": False, "6": False}
AT_RISK = {"1": True, "2": True, "3": True, "4": False, "5": False, "6": False}  # moderate
LOW_RISK = {"1": True, "2": False, "6": False}


@pytest.fixture
def responder(wf, actors, clock):  # type: ignore[no-untyped-def]
    """A clinic responder at week 2 with a PCL-5 of 40 at baseline (the response line: 28)."""
    pid = clinic_responder(wf, actors, clock)
    wf.assessments.record(
        actors[Role.CLINICIAN],
        pid,
        AssessmentInput("baseline", "pcl5", dt.date(2026, 3, 2), items(20, 40)),
    )
    return pid


def _submit(wf, token, pcl5_total, cssrs):  # type: ignore[no-untyped-def]
    return wf.self_reports.submit(token, pcl5_items=items(20, pcl5_total), cssrs_items=cssrs)


def test_a_link_works_once_and_is_stored_hashed(wf, actors, clock, responder) -> None:  # type: ignore[no-untyped-def]
    clinician = actors[Role.CLINICIAN]
    issued = wf.self_reports.issue_link(clinician, responder)
    assert len(issued.token) >= 40
    assert issued.expires_at == clock.now() + dt.timedelta(hours=72)
    page = wf.self_reports.open_link(issued.token)  # opening does not use it
    assert len(page.pcl5_items) == 20 and "988" in page.crisis_text
    result = _submit(wf, issued.token, 22, NO_RISK)
    assert not result.show_crisis_text and result.pcl5_total == 22
    with pytest.raises(LinkUnusable) as used:
        _submit(wf, issued.token, 22, NO_RISK)
    assert used.value.why == "used"
    with pytest.raises(LinkUnusable):
        wf.self_reports.open_link(issued.token)
    # the token itself is nowhere in the audit trail; its hash is a secret nobody is shown
    trail = wf.audit.entries(actors[Role.INVESTIGATOR], limit=5000)
    assert all(issued.token not in str(e.new_value) for e in trail)
    assert all(token_hash(issued.token) not in str(e.new_value) for e in trail)


def test_a_wrong_token_opens_nothing_and_an_expired_or_replaced_link_is_refused(
    wf, actors, clock, responder
) -> None:  # type: ignore[no-untyped-def]
    clinician = actors[Role.CLINICIAN]
    with pytest.raises(NotFound):
        wf.self_reports.open_link("x" * 43)
    with pytest.raises(NotFound):
        _submit(wf, "short", 20, NO_RISK)
    first = wf.self_reports.issue_link(clinician, responder)
    second = wf.self_reports.issue_link(clinician, responder)
    with pytest.raises(LinkUnusable) as replaced:
        wf.self_reports.open_link(first.token)
    assert replaced.value.why == "revoked"
    clock.advance(dt.timedelta(hours=72))
    with pytest.raises(LinkUnusable) as expired:
        _submit(wf, second.token, 20, NO_RISK)
    assert expired.value.why == "expired"
    assert wf.self_reports.list(clinician, responder) == []


def test_a_cssrs_at_the_review_level_raises_the_physicians_task_and_the_crisis_text(
    wf, actors, responder
) -> None:  # type: ignore[no-untyped-def]
    clinician, investigator = actors[Role.CLINICIAN], actors[Role.INVESTIGATOR]
    low = _submit(wf, wf.self_reports.issue_link(clinician, responder).token, 20, LOW_RISK)
    assert not low.show_crisis_text  # low is below the clinic's review level (moderate)
    result = _submit(wf, wf.self_reports.issue_link(clinician, responder).token, 20, AT_RISK)
    assert result.show_crisis_text and "988" in result.crisis_text
    alerts = wf.infusions.alerts(clinician, responder, open_only=True)
    suicide = [a for a in alerts if a.kind == SUICIDE_RISK]
    assert len(suicide) == 1 and suicide[0].physician_only
    assert "C-SSRS moderate" in suicide[0].messages[0] and "self-report" in suicide[0].messages[0]
    assert any(a.kind == SUICIDE_RISK for a in wf.infusions.open_alerts(investigator))  # Today
    with pytest.raises(PermissionDenied):  # a physician's review, not the nurse's
        wf.infusions.acknowledge_alert(
            actors[Role.NURSE], responder, suicide[0].id, physician_called="Dr X",
            called_at=None, action_taken="called the patient back",
            expected_version=suicide[0].version,
        )  # fmt: skip


def test_the_audit_trail_names_the_link_as_the_actor(wf, actors, responder) -> None:  # type: ignore[no-untyped-def]
    issued = wf.self_reports.issue_link(actors[Role.CLINICIAN], responder)
    _submit(wf, issued.token, 20, AT_RISK)
    trail = wf.audit.entries(actors[Role.INVESTIGATOR], limit=5000)
    rows = [e for e in trail if e.table_name == "self_reports"]
    assert rows and {(e.actor_username, e.actor_role) for e in rows} == {
        (f"self-report link {issued.link_id}", LINK_AUDIT_ROLE)
    }
    issued_rows = [e for e in trail if e.table_name == "self_report_links" and e.field == "id"]
    assert issued_rows[0].actor_username == actors[Role.CLINICIAN].username
    (view,) = wf.self_reports.list(actors[Role.CLINICIAN], responder)
    assert view.submitted_by == f"self-report link {issued.link_id}"


def test_a_pcl5_rise_of_ten_raises_a_task_and_nine_does_not(wf, actors, responder) -> None:  # type: ignore[no-untyped-def]
    clinician = actors[Role.CLINICIAN]
    _submit(wf, wf.self_reports.issue_link(clinician, responder).token, 10, NO_RISK)
    nine = _submit(wf, wf.self_reports.issue_link(clinician, responder).token, 19, NO_RISK)
    assert not nine.show_crisis_text
    assert not [a for a in wf.infusions.alerts(clinician, responder) if a.kind == SYMPTOM_RISE]
    ten = _submit(wf, wf.self_reports.issue_link(clinician, responder).token, 29, NO_RISK)
    assert ten.show_crisis_text
    (rise,) = [a for a in wf.infusions.alerts(clinician, responder) if a.kind == SYMPTOM_RISE]
    assert "rose 10 points (19 → 29)" in rise.messages[0] and rise.physician_only


def test_a_self_report_above_the_response_line_raises_the_relapse_task(
    wf, actors, responder
) -> None:  # type: ignore[no-untyped-def]
    clinician = actors[Role.CLINICIAN]
    at_line = _submit(wf, wf.self_reports.issue_link(clinician, responder).token, 28, NO_RISK)
    assert at_line.response_line == 28.0 and not at_line.relapse_flagged  # 40 → 28 is 30 %
    above = _submit(wf, wf.self_reports.issue_link(clinician, responder).token, 29, NO_RISK)
    assert above.relapse_flagged and not above.show_crisis_text
    (task,) = [a for a in wf.infusions.alerts(clinician, responder) if a.kind == RELAPSE_WATCH]
    assert "relapse watch" in task.messages[0] and "Periodic IV ketamine" in task.messages[0]
    assert "Retreatment" in task.messages[0]
    status = wf.self_reports.status(clinician, responder)
    assert [p.total for p in status.points][-2:] == [28, 29]
    assert status.watch and status.next_due == WEEK2.date() + dt.timedelta(days=7)


def test_the_rct_offers_no_self_report_and_blinded_raters_do_not_read_one(
    wf, actors, enrol
) -> None:  # type: ignore[no-untyped-def]
    pid = enrol("rct")
    with pytest.raises(ValidationFailed) as refused:
        wf.self_reports.issue_link(actors[Role.INVESTIGATOR], pid)
    assert refused.value.field == "self_report"
    with pytest.raises(PermissionDenied):
        wf.self_reports.list(actors[Role.OUTCOME_RATER], pid)


def test_the_loss_of_response_rule_raises_the_relapse_task_and_retreatment_runs_on(
    wf, actors, clock, responder
) -> None:  # type: ignore[no-untyped-def]
    clinician = actors[Role.CLINICIAN]
    with pytest.raises(ConflictError, match="patient is responder"):  # not retreated
        wf.retreatment.start(clinician, responder, starts_on=WEEK2.date(), reason="relapse, " * 3)
    clock.set(WEEK2 + dt.timedelta(days=7))
    wf.assessments.record(
        clinician,
        responder,
        AssessmentInput("follow-up week 1", "caps5_past_week", clock.now().date(), items(20, 35)),
    )
    assert wf.patients.get(clinician, responder).status == "lost_response"
    (task,) = [a for a in wf.infusions.alerts(clinician, responder) if a.kind == RELAPSE_WATCH]
    assert "loss-of-response rule" in task.messages[0]
    with pytest.raises(PermissionDenied):  # the physician's decision
        wf.retreatment.start(
            actors[Role.NURSE], responder, starts_on=clock.now().date(), reason="relapse at week 1"
        )
    with pytest.raises(ValidationFailed) as why:
        wf.retreatment.start(clinician, responder, starts_on=clock.now().date(), reason="")
    assert why.value.field == "reason"
    course = wf.retreatment.start(
        clinician, responder, starts_on=clock.now().date(), reason="relapse one week after"
    )
    assert (course.course_number, course.first_infusion_number, course.last_infusion_number) == (
        1, 2, 7,
    )  # fmt: skip
    assert wf.patients.get(clinician, responder).status == "in_treatment"
    infuse(wf, actors, clock, responder, 2)  # a whole infusion day, numbered on
    assert wf.retreatment.courses(clinician, responder)[0].given == ((2, clock.now().date()),)
    # a score recorded during the series does not move the patient back
    assert wf.patients.get(clinician, responder).status == "in_treatment"


def test_a_retreatment_after_maintenance_is_numbered_after_the_last_maintenance_infusion(
    wf, actors, clock, responder
) -> None:  # type: ignore[no-untyped-def]
    clinician = actors[Role.CLINICIAN]
    wf.maintenance.start(
        clinician, responder, option_id="iv_ketamine_periodic", interval_days=7,
        starts_on=WEEK2.date(),
    )  # fmt: skip
    infuse(wf, actors, clock, responder, 7)  # a maintenance infusion, numbered after the series
    clock.set(WEEK2 + dt.timedelta(days=7))
    wf.assessments.record(
        clinician,
        responder,
        AssessmentInput("follow-up week 1", "caps5_past_week", clock.now().date(), items(20, 35)),
    )
    assert wf.patients.get(clinician, responder).status == "lost_response"  # maintenance ends
    course = wf.retreatment.start(
        clinician, responder, starts_on=clock.now().date(), reason="relapse during maintenance"
    )
    assert (course.first_infusion_number, course.last_infusion_number) == (8, 13)
    with pytest.raises(ConflictError, match="infusion 8 has not been given"):  # in order
        infuse(wf, actors, clock, responder, 9)
    schedule = wf.maintenance.schedule(clinician, responder)
    assert not schedule.active and "retreatment" in (schedule.stop_reason or "")
    infuse(wf, actors, clock, responder, 8)  # the full infusion day: checklist to sign-off
    assert wf.retreatment.courses(clinician, responder)[0].given == ((8, clock.now().date()),)
    assert wf.patients.get(clinician, responder).status == "in_treatment"
