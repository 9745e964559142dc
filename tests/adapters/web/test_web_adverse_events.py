"""Adverse events on the patient page: listed, recorded outside an infusion day, and followed up
(outcome, resolution, severity, seriousness) with the version read and a reason
(services.infusions.record_adverse_event / update_adverse_event)."""

from __future__ import annotations

import re

from web_support import csrf_of, enrol, sqlite_only  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role

EVENT = {
    "term": "headache",
    "onset_date": "2026-03-01",
    "severity": "moderate",
    "relatedness": "possible",
    "outcome": "not_recovered",
    "ae_action": "paracetamol",
}


def _record(client, pid: int, **changes: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(f"/patients/{pid}").text)
    return client.post(
        f"/patients/{pid}/adverse-events",
        data={"csrf_token": token, **EVENT, **changes},
        follow_redirects=False,
    )


@sqlite_only
def test_an_event_between_infusions_is_recorded_and_a_bad_entry_kept(
    login, services, actors
) -> None:  # type: ignore[no-untyped-def]
    pid = enrol(services, actors)
    nurse = login(Role.NURSE)
    refused = _record(nurse, pid, term="dizzy spells", severity="awful")
    assert refused.status_code == 422
    assert "severity" in refused.text and 'value="dizzy spells"' in refused.text
    assert 'value="paracetamol"' in refused.text  # everything typed is kept
    saved = _record(nurse, pid)
    assert saved.status_code == 303
    [event] = services.infusions.adverse_events(actors[Role.NURSE], pid)
    assert (event.term, event.infusion_number, event.serious) == ("headache", None, False)
    page = nurse.get(f"/patients/{pid}").text
    assert 'id="ae-table"' in page and f"/adverse-events/{event.id}/follow-up" in page


@sqlite_only
def test_follow_up_needs_a_reason_and_the_version_read_and_flags_an_upgrade_to_serious(
    login, services, actors
) -> None:  # type: ignore[no-untyped-def]
    pid = enrol(services, actors)
    nurse = login(Role.NURSE)
    assert _record(nurse, pid).status_code == 303
    [event] = services.infusions.adverse_events(actors[Role.NURSE], pid)
    url = f"/adverse-events/{event.id}/follow-up"
    form = nurse.get(url).text
    assert 'name="expected_version" value="1"' in form
    data = {
        "csrf_token": csrf_of(form),
        "expected_version": "1",
        "outcome": "recovering",
        "resolved_on": "",
        "severity": "severe",
        "serious": "yes",
    }
    no_reason = nurse.post(url, data={**data, "reason": ""})
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    assert re.search(r'<option value="severe"\s+selected', no_reason.text)  # kept
    early = nurse.post(url, data={**data, "reason": "x", "resolved_on": "2026-02-01"})
    assert early.status_code == 422 and "before the onset" in early.text
    saved = nurse.post(
        url, data={**data, "reason": "admitted for observation"}, follow_redirects=False
    )
    assert saved.status_code == 303
    after = services.infusions.adverse_event(actors[Role.NURSE], event.id)
    assert (after.serious, after.severity, after.outcome) == (True, "severe", "recovering")
    stale = nurse.post(url, data={**data, "outcome": "recovered", "reason": "resolved"})
    assert stale.status_code == 409 and 'id="conflict"' in stale.text
    assert re.search(r'<option value="recovered"\s+selected', stale.text)
    trail = services.audit.entries(actors[Role.ADMINISTRATOR], table_name="adverse_events")
    assert [e.reason for e in trail if e.event == "serious_adverse_event"] == [
        "admitted for observation"
    ]


@sqlite_only
def test_outcome_raters_do_not_see_adverse_events(login, services, actors) -> None:  # type: ignore[no-untyped-def]
    """Side effects would hint at the arm (§3): no list, no form, no follow-up page."""
    pid = enrol(services, actors)
    assert _record(login(Role.NURSE), pid).status_code == 303
    [event] = services.infusions.adverse_events(actors[Role.NURSE], pid)
    rater = login(Role.OUTCOME_RATER)
    page = rater.get(f"/patients/{pid}").text
    assert 'id="adverse-events"' not in page and "headache" not in page
    assert rater.get(f"/adverse-events/{event.id}/follow-up").status_code == 403
