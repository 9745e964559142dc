"""``/api/v1/locks`` and ``/api/v1/audit`` (issue 17): the database, a patient's record and a
verified form locked and unlocked with a reason and the password again — 403 for a role that
may not, 409 when the lock does not apply, 422 naming the field — and the audit trail read
through the same redaction and site scope as the service's."""

from __future__ import annotations

from fastapi.testclient import TestClient
from web_support import PASSWORD, enrol, sqlite_only  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, Services

REASON = "all patients past week 2; data cleaned"
DECISION = {"reason": REASON, "password": PASSWORD}


def _bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_the_database_lock_through_the_api(client: TestClient, services: Services, actors) -> None:  # type: ignore[no-untyped-def]
    md, nurse, monitor = (_bearer(client, u) for u in ("investigator", "nurse", "monitor"))
    assert client.get("/api/v1/locks", headers=nurse).status_code == 403
    assert client.post("/api/v1/locks/database", json=DECISION, headers=nurse).status_code == 403
    assert client.post("/api/v1/locks/database", json=DECISION, headers=monitor).status_code == 403
    short = client.post("/api/v1/locks/database", json={**DECISION, "reason": "short"}, headers=md)
    assert short.status_code == 422 and short.json()["detail"].startswith("reason: ")
    wrong = client.post(
        "/api/v1/locks/database", json={**DECISION, "password": "not my password"}, headers=md
    )
    assert wrong.status_code == 422 and wrong.json()["detail"].startswith("password: ")
    assert "not my password" not in wrong.text
    assert client.get("/api/v1/locks", headers=monitor).json() == {"database": None, "history": []}
    locked = client.post("/api/v1/locks/database", json=DECISION, headers=md)
    assert locked.status_code == 201, locked.text
    view = locked.json()
    assert view["open"] and view["locked_by"] == "investigator" and view["digest"].startswith("#")
    again = client.post("/api/v1/locks/database", json=DECISION, headers=md)
    assert again.status_code == 409 and "is locked already" in again.text
    now = client.get("/api/v1/locks", headers=monitor).json()
    assert now["database"]["id"] == view["id"] and len(now["history"]) == 1
    unlock = {"reason": "a correction after a query", "password": PASSWORD}
    unlocked = client.post("/api/v1/locks/database/unlock", json=unlock, headers=md)
    assert unlocked.status_code == 200 and unlocked.json()["unlocked_by"] == "investigator"
    assert not unlocked.json()["open"]
    twice = client.post("/api/v1/locks/database/unlock", json=unlock, headers=md)
    assert twice.status_code == 409 and "is not locked" in twice.text
    after = client.get("/api/v1/locks", headers=md).json()
    assert after["database"] is None and after["history"][0]["unlock_reason"] == unlock["reason"]


@sqlite_only
def test_a_patient_and_a_form_lock_through_the_api(
    client: TestClient, services: Services, actors: dict[Role, Actor]
) -> None:
    pid = enrol(services, actors)
    md, monitor, nurse = (_bearer(client, u) for u in ("investigator", "monitor", "nurse"))
    query = services.queries.raise_query(
        actors[Role.MONITOR],
        patient_id=pid,
        table_name="patients",
        record_id=str(pid),
        field="site",
        question="Is YAL the right site code?",
    )
    assert (
        client.post(f"/api/v1/patients/{pid}/lock", json=DECISION, headers=nurse).status_code == 403
    )
    pending = client.post(f"/api/v1/patients/{pid}/lock", json=DECISION, headers=md)
    assert pending.status_code == 409 and "1 query(ies) not closed" in pending.text
    answered = services.queries.answer(
        actors[Role.INVESTIGATOR], query.id, answer="Yes, YAL", corrected=False, expected_version=1
    )
    services.queries.close(actors[Role.MONITOR], query.id, expected_version=answered.version)
    locked = client.post(f"/api/v1/patients/{pid}/lock", json=DECISION, headers=md)
    assert locked.status_code == 201 and locked.json()["patient"] == "YAL-0001"
    assert client.get("/api/v1/locks", headers=md).json()["database"] is None
    unlocked = client.post(f"/api/v1/patients/{pid}/unlock", json=DECISION, headers=md)
    assert unlocked.status_code == 200 and unlocked.json()["patient"] == "YAL-0001"
    missing = client.post("/api/v1/patients/999999/lock", json=DECISION, headers=md)
    assert missing.status_code == 404
    # a form: locked only once verified against source as it stands (monitor or investigator)
    consent = next(
        i for i in services.sdv.items(actors[Role.MONITOR], pid) if i.table_name == "consents"
    )
    form = f"/api/v1/patients/{pid}/forms/consents/{consent.record_id}"
    unverified = client.post(f"{form}/lock", json=DECISION, headers=monitor)
    assert unverified.status_code == 409 and "not verified against source" in unverified.text
    services.sdv.verify(
        actors[Role.MONITOR], pid, table_name="consents", record_id=consent.record_id
    )
    assert client.post(f"{form}/lock", json=DECISION, headers=nurse).status_code == 403
    wrong = client.post(f"{form}/lock", json={**DECISION, "password": "x" * 12}, headers=monitor)
    assert wrong.status_code == 422 and wrong.json()["detail"].startswith("password: ")
    made = client.post(f"{form}/lock", json=DECISION, headers=monitor)
    assert made.status_code == 201 and made.json()["form"] == f"consents {consent.record_id}"
    bad = client.post(f"/api/v1/patients/{pid}/forms/users/1/lock", json=DECISION, headers=monitor)
    assert bad.status_code == 422 and "table_name" in bad.text
    lifted = client.post(f"{form}/unlock", json=DECISION, headers=md)
    assert lifted.status_code == 200 and not lifted.json()["open"]
    assert client.post(f"{form}/unlock", json=DECISION, headers=md).status_code == 409
    history = client.get("/api/v1/locks", headers=monitor).json()["history"]
    assert [h["form"] for h in history] == [f"consents {consent.record_id}", None]


@sqlite_only
def test_the_audit_trail_through_the_api(
    client: TestClient, services: Services, actors: dict[Role, Actor]
) -> None:
    pid = enrol(services, actors)
    study = services.patients.get(actors[Role.MONITOR], pid).study_id
    monitor = _bearer(client, "monitor")
    assert client.get("/api/v1/audit", headers=_bearer(client, "nurse")).status_code == 403
    rows = client.get(
        "/api/v1/audit",
        params={"study_id": study, "table_name": "patient_identities"},
        headers=monitor,
    ).json()
    assert rows and {r["new_value"] for r in rows if r["field"] == "family_name"} == {"[redacted]"}
    page = client.get("/api/v1/audit", params={"limit": 3}, headers=monitor).json()
    assert len(page) == 3 and page[0]["seq"] > page[-1]["seq"]  # newest first
    following = client.get(
        "/api/v1/audit", params={"limit": 3, "offset": 3}, headers=monitor
    ).json()
    assert following[0]["seq"] < page[-1]["seq"]
    mine = client.get("/api/v1/audit", params={"user": "monitor"}, headers=monitor).json()
    assert {r["actor_username"] for r in mine} <= {"monitor"}
    naive = client.get(
        "/api/v1/audit", params={"occurred_from": "2026-03-01T00:00:00"}, headers=monitor
    )
    assert naive.status_code == 422 and "occurred_from" in naive.text
    later = client.get(
        "/api/v1/audit", params={"occurred_from": "2030-01-01T00:00:00Z"}, headers=monitor
    )
    assert later.status_code == 200 and later.json() == []
    assert (
        client.get("/api/v1/audit", params={"study_id": "YAL-9999"}, headers=monitor).status_code
        == 404
    )
