"""The patient page shows the stored course: scores per time point, the week-2 response, the
CAPS-5 trajectory chart, and out-of-window assessments flagged (PROTOCOL.md §5, §8)."""

from __future__ import annotations

import datetime as dt

import pytest
from web_support import csrf_of, enrol, sqlite_only  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services.assessments import AssessmentInput


def _caps5(total: int) -> dict[str, int]:
    values, left = {}, total
    for k in range(1, 21):
        values[str(k)] = min(4, left)
        left -= values[str(k)]
    return values


@pytest.fixture
def pid(services, actors) -> int:  # type: ignore[no-untyped-def]
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="C1", slots_per_stratum=4
    )
    patient_id = enrol(services, actors)
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], patient_id, infusion_date=dt.date(2026, 3, 2)
    )
    return patient_id


def test_outcome_rater_stores_a_caps5_at_a_time_point_and_the_timeline_shows_it(
    login, pid, services, actors
) -> None:
    client = login(Role.OUTCOME_RATER)
    path = f"/patients/{pid}/assess/caps5_past_week"
    form = client.get(path).text
    assert '<option value="baseline" selected>' in form  # today's window is the baseline
    items = {f"item_{k}": v for k, v in {**_caps5(40)}.items()}
    page = client.post(
        path,
        data={
            "csrf_token": csrf_of(form),
            "time_point": "baseline",
            "assessed_on": "2026-03-02",
            **{f"item_{k}": str(v) for k, v in _caps5(40).items()},
        },
    )
    assert page.status_code == 200 and 'id="stored"' in page.text, items
    stored = services.assessments.list(actors[Role.OUTCOME_RATER], pid)
    assert [(a.time_point, a.total, a.in_window) for a in stored] == [("baseline", 40.0, True)]
    timeline = client.get(f"/patients/{pid}").text
    assert 'data-point="baseline"' in timeline and "<strong>40</strong>" in timeline
    assert 'id="trajectory"' in timeline and "<polyline" in timeline


@sqlite_only
def test_out_of_window_is_stored_and_flagged_not_refused(login, pid, clock) -> None:
    clock.advance(dt.timedelta(days=1))
    client = login(Role.OUTCOME_RATER)
    path = f"/patients/{pid}/assess/caps5_past_week"
    page = client.post(
        path,
        data={
            "csrf_token": csrf_of(client.get(path).text),
            "time_point": "week1",  # a week early: before infusion 4 is given
            "assessed_on": "2026-03-03",
            **{f"item_{k}": str(v) for k, v in _caps5(38).items()},
        },
    )
    assert page.status_code == 200 and 'id="out-of-window"' in page.text
    assert "out of window" in client.get(f"/patients/{pid}").text


@sqlite_only
def test_invalid_item_is_named_and_the_typed_values_and_time_point_are_kept(login, pid) -> None:
    client = login(Role.OUTCOME_RATER)
    path = f"/patients/{pid}/assess/caps5_past_week"
    typed = {f"item_{k}": str(v) for k, v in _caps5(30).items()} | {"item_7": "9"}
    page = client.post(
        path,
        data={"csrf_token": csrf_of(client.get(path).text), "time_point": "week1", **typed},
    )
    assert page.status_code == 422 and 'id="err-7"' in page.text
    assert '<option value="week1" selected>' in page.text
    assert 'value="9"' in page.text


@sqlite_only
def test_response_at_week_2_is_shown_with_the_threshold_on_the_chart(
    login, pid, services, actors, clock
) -> None:
    rater = actors[Role.OUTCOME_RATER]
    services.assessments.record(
        rater, pid, AssessmentInput("baseline", "caps5_past_week", dt.date(2026, 3, 2), _caps5(40))
    )
    clock.advance(dt.timedelta(days=14))
    services.assessments.record(
        rater, pid, AssessmentInput("week2", "caps5_past_week", dt.date(2026, 3, 16), _caps5(20))
    )
    page = login(Role.OUTCOME_RATER).get(f"/patients/{pid}").text
    assert "Responder at week 2" in page and "50.0 % reduction" in page
    assert 'class="threshold"' in page and "response ≤ 28.0" in page
