"""Trial conduct in the pages (issue 17): the edit-check sweep's button, queries shown where
the value is shown (the infusion day's vitals and record, the screening visit), and the monitor's
picker (a form, then a field with its value) instead of typed table, record and field names."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from web_support import csrf_of, enrol  # type: ignore[import-not-found]

from conduct_support import IMPLAUSIBLE_HR, unchecked_reading  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Services


def _post(client: TestClient, page: str, action: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)


def test_the_sweep_button_raises_the_checks_findings_and_says_so(
    login, services: Services, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    pid = enrol(services, actors)
    unchecked_reading(services, actors, clock, pid)
    nurse = login(Role.NURSE)
    assert 'action="/queries/sweep"' not in nurse.get("/queries").text
    assert _post(nurse, "/queries", "/queries/sweep", {}).status_code == 403
    monitor = login(Role.MONITOR)
    assert 'action="/queries/sweep"' in monitor.get("/queries").text
    swept = _post(monitor, "/queries", "/queries/sweep", {})
    assert swept.status_code == 200
    result = re.search(r'<p class="notice" role="status" id="sweep-result">(.*?)</p>', swept.text)
    assert result is not None
    assert result.group(1).startswith("Edit checks: ")
    assert result.group(1).endswith(
        "record(s) checked; 2 new queries raised (vitals implausible 1, vitals incomplete 1)."
    )
    again = _post(monitor, "/queries", "/queries/sweep", {})
    assert "0 new queries raised." in again.text


def test_a_query_is_shown_on_the_value_with_a_link_to_answer_it_for_the_site(
    login, services: Services, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    pid = enrol(services, actors)
    unchecked_reading(services, actors, clock, pid)
    services.edit_checks.run(actors[Role.MONITOR])
    [hr] = [
        q
        for q in services.queries.list(actors[Role.MONITOR], patient_id=pid)
        if q.field == "heart_rate_bpm"
    ]
    page = f"/patients/{pid}/infusion/1"
    nurse = login(Role.NURSE).get(page).text
    cell = re.search(rf'<details class="qmark qmark-open" id="qmark-{hr.id}">.*?</details>', nurse)
    assert cell is not None and f"raised on {IMPLAUSIBLE_HR}" in cell.group(0)
    assert f'href="/queries#query-{hr.id}">Answer it</a>' in cell.group(0)
    listed = re.search(r'<div class="qlist" id="vitals-queries".*?</div>', nurse, re.S)
    assert listed is not None and "outside the plausible 40-150" in listed.group(0)
    assert "2 queries on these readings" in listed.group(0)
    # the monitor sees the query on the value, without the site's link to answer it
    monitor = login(Role.MONITOR).get(page).text
    assert f'id="qmark-{hr.id}"' in monitor and "Answer it" not in monitor
    # roles that do not read queries (the raters, the pharmacy) see no mark
    for role in (Role.SAFETY_RATER, Role.PHARMACIST):
        assert "qmark" not in login(role).get(page).text, role
    # once answered, the mark stays (for the monitor to close) and the link goes
    services.queries.answer(
        actors[Role.NURSE],
        hr.id,
        answer="The monitor printout shows 165 during a panic episode",
        corrected=False,
        expected_version=hr.version,
    )
    answered = login(Role.NURSE).get(page).text
    assert f'<details class="qmark qmark-answered" id="qmark-{hr.id}">' in answered
    assert f'href="/queries#query-{hr.id}">Answer it</a>' not in answered


def test_the_monitor_picks_a_form_and_a_field_and_the_screening_page_shows_the_query(
    login, services: Services, actors
) -> None:  # type: ignore[no-untyped-def]
    pid = enrol(services, actors)
    monitor = login(Role.MONITOR)
    visit = monitor.get(f"/patients/{pid}/monitoring").text
    options = dict(
        (label, value)
        for value, label in re.findall(r'<option value="([a-z_]+:\d+)"\s*>([^<]+)</option>', visit)
    )
    screening = next(v for label, v in options.items() if label.startswith("screening visits"))
    assert "patients:" in " ".join(options.values())
    page = monitor.get(f"/patients/{pid}/monitoring?form={screening}").text
    assert '<fieldset class="picker-fields wide">' in page
    assert re.search(
        r'value="visit_date"[^>]*> visit date <span class="value">2026-03-01</span>', page
    )
    table, record = screening.split(":")
    raised = _post(
        monitor,
        f"/patients/{pid}/monitoring",
        f"/patients/{pid}/monitoring/queries",
        {
            "table_name": table,
            "record_id": record,
            "field": "visit_date",
            "question": "The visit date differs from the clinic letter",
        },
    )
    assert raised.status_code == 303
    for role in (Role.INVESTIGATOR, Role.MONITOR):
        shown = login(role).get(f"/patients/{pid}/screening-visit").text
        listed = re.search(r'<div class="qlist" id="screening-queries".*?</div>', shown, re.S)
        assert (
            listed is not None
            and "The visit date differs from the clinic letter" in listed.group(0)
        )
        assert ("Answer it" in listed.group(0)) is (role is Role.INVESTIGATOR)
    # a field that is not the form's is refused at the picker, the form and question kept
    refused = _post(
        monitor,
        f"/patients/{pid}/monitoring",
        f"/patients/{pid}/monitoring/queries",
        {"table_name": table, "record_id": record, "field": "no_such", "question": "Please check"},
    )
    assert refused.status_code == 422 and "not a recorded field" in refused.text
    assert (
        '<fieldset class="picker-fields wide">' in refused.text and "Please check" in refused.text
    )
