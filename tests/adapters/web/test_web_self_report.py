"""The patient's self-report page and ``/api/v1/patients/{id}/self-reports`` (issue 13;
PROTOCOL.md §5, §7, §8): a staff member issues the link on the patient page (shown once); the
patient's page stands alone (no staff navigation, no study id), its form is CSRF-protected, the
link works once; unknown tokens are throttled; the REST API lists, issues and submits; the RCT
refuses cleanly; retreatment through the API."""

from __future__ import annotations

import datetime as dt
import re

from web_support import PASSWORD, csrf_of, sqlite_only  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services.assessments import AssessmentInput
from maintenance_support import WEEK2, clinic_responder  # type: ignore[import-not-found]
from screening_support import items  # type: ignore[import-not-found]

LINK_RE = re.compile(r'id="issued-link-url" value="http://testserver(/self-report/[A-Za-z0-9_-]+)"')


def _bearer(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _responder(services, actors, clock) -> int:  # type: ignore[no-untyped-def]
    pid = clinic_responder(services, actors, clock)
    services.assessments.record(
        actors[Role.CLINICIAN], pid, AssessmentInput("baseline", "pcl5", dt.date(2026, 3, 2), items(20, 40))
    )  # fmt: skip
    return int(pid)


def _answers(token: str, pcl5_total: int, *, at_risk: bool) -> dict[str, str]:
    form = {"csrf_token": token}
    form.update({f"pcl5_{k}": str(v) for k, v in items(20, pcl5_total).items()})
    form.update({"cssrs_1": "yes" if at_risk else "no", "cssrs_2": "yes" if at_risk else "no"})
    if at_risk:
        form.update({"cssrs_3": "yes", "cssrs_4": "no", "cssrs_5": "no"})
    else:
        form.update({"cssrs_3": "yes"})  # answered against the skip logic: dropped, not refused
    form["cssrs_6"] = "no"
    return form


@sqlite_only
def test_a_patient_answers_once_through_the_link_and_the_crisis_text_shows(
    login, client, services, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    pid = _responder(services, actors, clock)
    clinician = login(Role.CLINICIAN)
    home = clinician.get("/").text
    assert 'id="self-reports-due"' in home and f'href="/patients/{pid}#self-report"' in home
    page = clinician.get(f"/patients/{pid}").text
    assert 'id="self-report-link-form"' in page and "next due" in page
    issued = clinician.post(f"/patients/{pid}/self-report-link", data={"csrf_token": csrf_of(page)})
    assert issued.status_code == 200
    path = LINK_RE.search(issued.text).group(1)  # type: ignore[union-attr]
    assert path not in clinician.get(f"/patients/{pid}").text  # shown once
    assert 'id="self-reports-due"' not in clinician.get("/").text  # a usable link is out
    form_page = client.get(path)
    assert form_page.status_code == 200
    text = form_page.text
    assert 'name="pcl5_20"' in text and 'name="cssrs_6_recent"' in text
    assert "CLN-" not in text and "Sign out" not in text and 'href="/patients' not in text
    assert form_page.headers["cache-control"] == "no-store"
    assert form_page.headers["referrer-policy"] == "no-referrer"
    forged = client.post(path, data=_answers("not-the-token", 20, at_risk=True))
    assert forged.status_code == 403  # CSRF: nothing stored
    token = csrf_of(text)
    missing = {k: v for k, v in _answers(token, 20, at_risk=True).items() if k != "pcl5_7"}
    refused = client.post(path, data=missing)
    assert refused.status_code == 422 and "question 7" in refused.text
    done = client.post(path, data=_answers(token, 20, at_risk=True))
    assert done.status_code == 200 and 'id="crisis"' in done.text and "988" in done.text
    again = client.post(path, data=_answers(token, 20, at_risk=True))
    assert again.status_code == 410 and "works once" in again.text
    assert client.get(path).status_code == 410
    staff = clinician.get(f"/patients/{pid}").text
    assert "C-SSRS moderate suicide risk at self-report" in staff  # the open alert on top
    assert 'id="self-reports"' in staff and "self-report link" in staff
    home = login(Role.INVESTIGATOR).get("/").text
    assert 'id="open-alerts"' in home and "self-report on" in home


@sqlite_only
def test_unknown_tokens_are_throttled(client, services, actors, clock) -> None:  # type: ignore[no-untyped-def]
    codes = [client.get("/self-report/" + "A" * 43).status_code for _ in range(8)]
    assert codes[0] == 404 and 429 in codes


@sqlite_only
def test_the_self_report_api(client, services, actors, clock) -> None:  # type: ignore[no-untyped-def]
    pid = _responder(services, actors, clock)
    clinician = _bearer(client, "clinician")
    url = f"/api/v1/patients/{pid}/self-reports"
    assert client.post(f"{url}/links").status_code == 401  # a staff action
    issued = client.post(f"{url}/links", headers=clinician)
    assert issued.status_code == 201
    token = issued.json()["token"]
    body = {"token": token, "pcl5": items(20, 30), "cssrs": {"1": "no", "2": "no", "6": "no"}}
    other = client.post(f"/api/v1/patients/{pid + 1000}/self-reports", json=body)
    assert other.status_code == 404  # the link belongs to its own patient only
    bad = client.post(url, json={**body, "cssrs": {"1": "no", "6": "no"}})
    assert bad.status_code == 422 and "cssrs.item_2" in bad.text
    done = client.post(url, json=body)
    assert done.status_code == 201
    assert done.json()["relapse_flagged"] is True and done.json()["crisis_text"] is None
    assert client.post(url, json=body).status_code == 410
    listed = client.get(url, headers=clinician).json()
    assert [r["pcl5_total"] for r in listed] == [30]
    assert listed[0]["submitted_by"].startswith("self-report link")
    status = client.get(f"{url}/status", headers=clinician).json()
    assert status["response_line"] == 28.0 and status["proposals"]
    alerts = client.get(f"/api/v1/patients/{pid}/alerts", headers=clinician)
    if alerts.status_code == 200:
        assert any(a["kind"] == "relapse_watch" for a in alerts.json())


@sqlite_only
def test_the_rct_offers_no_self_report_through_the_api(client, services, actors) -> None:  # type: ignore[no-untyped-def]
    from web_support import enrol  # type: ignore[import-not-found]

    pid = enrol(services, actors, "rct")
    investigator = _bearer(client, "investigator")
    refused = client.post(f"/api/v1/patients/{pid}/self-reports/links", headers=investigator)
    assert refused.status_code == 422 and "self_report" in refused.text
    rater = _bearer(client, "outcome-rater")
    assert client.get(f"/api/v1/patients/{pid}/self-reports", headers=rater).status_code == 403


@sqlite_only
def test_retreatment_through_the_api(client, services, actors, clock) -> None:  # type: ignore[no-untyped-def]
    pid = _responder(services, actors, clock)
    clinician = _bearer(client, "clinician")
    url = f"/api/v1/patients/{pid}/retreatment"
    body = {"starts_on": WEEK2.date().isoformat(), "reason": "relapse after the series"}
    assert client.post(url, json=body, headers=clinician).status_code == 409  # still responding
    clock.set(WEEK2 + dt.timedelta(days=7))
    services.assessments.record(
        actors[Role.CLINICIAN], pid,
        AssessmentInput("follow-up week 1", "caps5_past_week", clock.now().date(), items(20, 35)),
    )  # fmt: skip
    clinician, nurse = _bearer(client, "clinician"), _bearer(client, "nurse")  # a week later
    body["starts_on"] = clock.now().date().isoformat()
    assert client.post(url, json=body, headers=nurse).status_code == 403
    started = client.post(url, json=body, headers=clinician)
    assert started.status_code == 201, started.text
    assert started.json()["first_infusion_number"] == 2
    assert client.get(url, headers=clinician).json()[0]["course_number"] == 1


@sqlite_only
def test_the_physician_starts_a_retreatment_on_the_patient_page(
    login, services, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    pid = _responder(services, actors, clock)
    clock.set(WEEK2 + dt.timedelta(days=7))
    services.assessments.record(
        actors[Role.CLINICIAN], pid,
        AssessmentInput("follow-up week 1", "caps5_past_week", clock.now().date(), items(20, 35)),
    )  # fmt: skip
    clinician = login(Role.CLINICIAN)
    url = f"/patients/{pid}"
    page = clinician.get(url).text
    assert "relapse watch: the loss-of-response rule is met" in page  # the physician's task
    assert 'id="retreatment-form"' in page
    token = csrf_of(page)
    short = clinician.post(
        f"{url}/retreatment", data={"csrf_token": token, "starts_on": "2026-03-23", "reason": "no"}
    )
    assert short.status_code == 422 and 'value="no"' in short.text  # what was typed is kept
    done = clinician.post(
        f"{url}/retreatment",
        data={"csrf_token": token, "starts_on": "2026-03-23", "reason": "relapse after a week"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = clinician.get(url).text
    assert 'id="retreatment-1"' in page and "infusions 2–7" in page
    assert 'id="retreatment-next"' in page
    bedside = clinician.get(f"{url}/infusion/2")  # the series' next infusion day
    assert bedside.status_code == 200 and "Infusion 2" in bedside.text
    assert 'id="retreatment-form"' not in page
    assert "retreatment-form" not in login(Role.NURSE).get(url).text
