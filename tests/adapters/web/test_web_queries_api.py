"""``/api/v1/queries`` (issue 17): a monitor raises, the site answers, the monitor closes —
the same service and rules as the pages, 4xx naming the field, 409 for a step that does not
apply."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from web_support import PASSWORD, enrol  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Services
from ketamine_ptsd.services.records import Demographics
from ketamine_ptsd.services.screening_views import DemographicsInput


def _bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _demographics(services: Services, actors, patient_id: int) -> int:  # type: ignore[no-untyped-def]
    md = actors[Role.INVESTIGATOR]
    services.screening.record_demographics(
        md, patient_id, DemographicsInput(age_years=82, sex="female", race="White")
    )
    with services.context.uow(md, write=False) as uow:
        return int(
            uow.session.scalar(select(Demographics.id).where(Demographics.patient_id == patient_id))
        )


def test_a_query_through_the_api(client: TestClient, services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    pid = enrol(services, actors)
    rid = _demographics(services, actors, pid)
    monitor, nurse = _bearer(client, "monitor"), _bearer(client, "nurse")
    body = {
        "patient_id": pid,
        "table_name": "demographics",
        "record_id": str(rid),
        "field": "age_years",
        "question": "Age 82: please check against the consent form",
    }
    assert client.post("/api/v1/queries", json=body, headers=nurse).status_code == 403
    bad = client.post("/api/v1/queries", json={**body, "field": "no_field"}, headers=monitor)
    assert bad.status_code == 422 and "field: not a recorded field of demographics" in bad.text
    raised = client.post("/api/v1/queries", json=body, headers=monitor)
    assert raised.status_code == 201, raised.text
    q = raised.json()
    assert (q["state"], q["value_raised"], q["study_id"]) == ("open", 82, "YAL-0001")
    early = client.post(
        f"/api/v1/queries/{q['id']}/close", json={"expected_version": 1}, headers=monitor
    )
    assert early.status_code == 409 and "cannot close a query that is open" in early.text
    answered = client.post(
        f"/api/v1/queries/{q['id']}/answer",
        json={"expected_version": 1, "answer": "82 is right: born 1944", "corrected": False},
        headers=nurse,
    )
    assert answered.status_code == 200 and answered.json()["state"] == "answered"
    listed = client.get(
        "/api/v1/queries",
        params={"patient_id": pid, "table_name": "demographics", "record_id": str(rid)},
        headers=nurse,
    ).json()
    assert [x["id"] for x in listed] == [q["id"]]
    counts = client.get("/api/v1/queries/counts", headers=monitor).json()
    assert counts["by_state"] == {"open": 0, "answered": 1, "closed": 0}
    closed = client.post(
        f"/api/v1/queries/{q['id']}/close",
        json={"expected_version": answered.json()["version"]},
        headers=monitor,
    )
    assert closed.status_code == 200 and closed.json()["closed_by"] == "monitor"
    assert (
        client.get("/api/v1/queries", params={"state": "nonsense"}, headers=monitor).status_code
        == 422
    )
    assert client.get("/api/v1/queries/999999", headers=monitor).status_code == 404
    assert client.get("/api/v1/queries", headers=_bearer(client, "pharmacist")).status_code == 403


def test_source_data_verification_through_the_api(
    client: TestClient, services: Services, actors
) -> None:  # type: ignore[no-untyped-def]
    pid = enrol(services, actors)
    monitor, nurse = _bearer(client, "monitor"), _bearer(client, "nurse")
    listed = client.get(f"/api/v1/patients/{pid}/sdv", headers=monitor).json()
    consent = next(i for i in listed if i["table_name"] == "consents")
    assert consent["status"] == "unverified"
    body = {"table_name": "consents", "record_id": consent["record_id"], "note": "ICF seen"}
    assert client.post(f"/api/v1/patients/{pid}/sdv", json=body, headers=nurse).status_code == 403
    made = client.post(f"/api/v1/patients/{pid}/sdv", json=body, headers=monitor)
    assert made.status_code == 201 and made.json()["status"] == "verified"
    progress = client.get("/api/v1/sdv/progress", headers=monitor).json()
    assert progress["by_site"]["YAL"]["verified"] == 1
    assert client.get(f"/api/v1/patients/{pid}/changes", headers=monitor).json() == []
    bad = client.post(
        f"/api/v1/patients/{pid}/sdv", json={**body, "table_name": "users"}, headers=monitor
    )
    assert bad.status_code == 422 and "table_name" in bad.text


def test_an_open_query_shows_where_the_value_is_shown(login, services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from ketamine_ptsd.services.assessments import AssessmentInput
    from screening_support import items  # type: ignore[import-not-found]

    pid = enrol(services, actors)
    baseline = services.assessments.record(
        actors[Role.OUTCOME_RATER],
        pid,
        AssessmentInput("baseline", "caps5_past_week", dt.date(2026, 3, 2), items(20, 50)),
    )
    services.queries.raise_query(
        actors[Role.MONITOR],
        patient_id=pid,
        table_name="assessments",
        record_id=str(baseline.id),
        field="total",
        question="Total 50: item 7 is blank on the source",
    )
    page = login(Role.INVESTIGATOR).get(f"/patients/{pid}")
    assert page.status_code == 200
    assert "open query (1)" in page.text and "total: Total 50: item 7 is blank" in page.text


def test_the_edit_check_sweep_through_the_api(
    client: TestClient, services: Services, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    from conduct_support import unchecked_reading  # type: ignore[import-not-found]

    pid = enrol(services, actors)
    _, reading_id = unchecked_reading(services, actors, clock, pid)
    nurse, monitor = _bearer(client, "nurse"), _bearer(client, "monitor")
    refused = client.post("/api/v1/queries/sweep", headers=nurse)
    assert refused.status_code == 403
    swept = client.post("/api/v1/queries/sweep", headers=monitor)
    assert swept.status_code == 200, swept.text
    body = swept.json()
    assert body["raised"] == {"vitals_implausible": 1, "vitals_incomplete": 1}
    assert body["total_raised"] == 2 and body["records_checked"] >= 2
    listed = client.get(
        "/api/v1/queries",
        params={"table_name": "vital_signs", "record_id": str(reading_id)},
        headers=monitor,
    ).json()
    assert {(q["field"], q["origin"]) for q in listed} == {
        ("heart_rate_bpm", "rule:vitals_implausible"),
        ("spo2_percent", "rule:vitals_incomplete"),
    }
    again = client.post("/api/v1/queries/sweep", headers=_bearer(client, "statistician"))
    assert again.status_code == 200 and again.json()["total_raised"] == 0
