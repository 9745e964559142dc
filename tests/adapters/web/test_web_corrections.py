"""Correcting a stored assessment from the web (services.assessments.edit/void): a reason is
required, the version read is checked (a concurrent correction is refused and shown), and the
correction is rescored."""

from __future__ import annotations

import datetime as dt

from web_support import csrf_of, enrol, sqlite_only  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services.assessments import AssessmentInput

CGI_S = "cgi_s"


def _stored(services, actors) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    pid = enrol(services, actors)
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="c", slots_per_stratum=8
    )
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
    )
    view = services.assessments.record(
        actors[Role.OUTCOME_RATER],
        pid,
        AssessmentInput("baseline", CGI_S, dt.date(2026, 3, 2), {"1": 5}),
    )
    return pid, view.id


@sqlite_only
def test_an_outcome_rater_corrects_an_assessment_with_a_reason(login, services, actors) -> None:
    pid, aid = _stored(services, actors)
    client = login(Role.OUTCOME_RATER)
    assert f"/assessments/{aid}/edit" in client.get(f"/patients/{pid}").text
    page = client.get(f"/assessments/{aid}/edit").text
    data = {"csrf_token": csrf_of(page), "expected_version": "1", "item_1": "4"}
    refused = client.post(f"/assessments/{aid}/edit", data={**data, "reason": " "})
    assert refused.status_code == 422 and "reason" in refused.text
    assert 'value="4"' in refused.text  # what was typed is kept
    saved = client.post(
        f"/assessments/{aid}/edit",
        data={**data, "reason": "transcription error"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert services.assessments.get(actors[Role.OUTCOME_RATER], aid).total == 4
    # The same form again carries the old version: refused as a conflict, typed values kept.
    stale = client.post(f"/assessments/{aid}/edit", data={**data, "item_1": "3", "reason": "x y"})
    assert stale.status_code == 409 and 'id="conflict"' in stale.text and 'value="3"' in stale.text
    assert services.assessments.get(actors[Role.OUTCOME_RATER], aid).total == 4


@sqlite_only
def test_voiding_needs_a_reason_and_the_current_version(login, services, actors) -> None:
    _, aid = _stored(services, actors)
    client = login(Role.OUTCOME_RATER)
    token = csrf_of(client.get(f"/assessments/{aid}/edit").text)
    base = {"csrf_token": token, "expected_version": "1"}
    assert (
        client.post(f"/assessments/{aid}/void", data={**base, "void_reason": ""}).status_code == 422
    )
    done = client.post(
        f"/assessments/{aid}/void",
        data={**base, "void_reason": "wrong patient"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert services.assessments.get(actors[Role.OUTCOME_RATER], aid).voided
    again = client.post(f"/assessments/{aid}/void", data={**base, "void_reason": "again"})
    assert again.status_code == 409


@sqlite_only
def test_roles_that_may_not_record_assessments_cannot_correct_them(login, services, actors) -> None:
    _, aid = _stored(services, actors)
    assert login(Role.STATISTICIAN).get(f"/assessments/{aid}/edit").status_code == 403
