"""REST: a bare "eligible" is refused saying what is missing; the override is audited (issue 11)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from web_support import PASSWORD  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services.screening import ScreeningVisitInput
from screening_support import RCT_FACTS, caps5_past_month  # type: ignore[import-not-found]


def _bearer(client: TestClient, role: Role) -> dict[str, str]:
    username = role.value.replace("_", "-")
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_bare_eligible_is_refused_and_an_override_is_visible(client, services, actors) -> None:  # type: ignore[no-untyped-def]
    investigator = _bearer(client, Role.INVESTIGATOR)
    created = client.post(
        "/api/v1/patients", json={"protocol_name": "rct", "site": "YAL"}, headers=investigator
    )
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    consent = {
        "consent_version": "v1",
        "consent_date": "2026-03-01",
        "capacity_assessed": True,
        "capacity_assessor": "Dr C",
    }
    made = client.post(f"/api/v1/patients/{pid}/consents", json=consent, headers=investigator)
    assert made.status_code == 201, made.text
    bare = client.post(
        f"/api/v1/patients/{pid}/screening",
        json={"outcome": "eligible", "decided_on": "2026-03-01"},
        headers=investigator,
    )
    assert bare.status_code == 422, bare.text
    assert "screening visit" in bare.text and "outcome" in bare.text

    services.screening.record_visit(
        actors[Role.INVESTIGATOR],
        pid,
        ScreeningVisitInput(
            dt.date(2026, 3, 1), facts=RCT_FACTS, caps5_past_month=caps5_past_month(29)
        ),
    )
    body = {
        "criteria": ["caps5_severity"],
        "reason": "marked impairment; benefit outweighs",
        "decided_on": "2026-03-01",
    }
    path = f"/api/v1/patients/{pid}/eligibility-override"
    nurse = client.post(path, json=body, headers=_bearer(client, Role.NURSE))
    assert nurse.status_code == 403
    wrong = client.post(path, json={**body, "criteria": ["age"]}, headers=investigator)
    assert wrong.status_code == 422 and "caps5_severity" in wrong.text
    override = client.post(path, json=body, headers=investigator)
    assert override.status_code == 201, override.text
    assert override.json()["override_criteria"] == ["caps5_severity"]
    listed = client.get(f"/api/v1/patients/{pid}/screening", headers=investigator).json()
    assert [o["override_criteria"] for o in listed] == [[], ["caps5_severity"]]
    assert (
        client.get(f"/api/v1/patients/{pid}", headers=investigator).json()["status"] == "eligible"
    )


def test_an_amendment_is_published_by_an_administrator_over_rest(client, services, actors) -> None:  # type: ignore[no-untyped-def]
    investigator = _bearer(client, Role.INVESTIGATOR)
    created = client.post(
        "/api/v1/patients", json={"protocol_name": "rct", "site": "YAL"}, headers=investigator
    ).json()
    consent = {
        "consent_version": "v1",
        "consent_date": "2026-03-01",
        "capacity_assessed": True,
        "capacity_assessor": "Dr C",
    }
    client.post(f"/api/v1/patients/{created['id']}/consents", json=consent, headers=investigator)
    patient = client.get(f"/api/v1/patients/{created['id']}", headers=investigator).json()
    versions = client.get("/api/v1/protocols/rct/versions", headers=investigator).json()
    assert patient["protocol_version"] == versions[0]["version"] and patient["reconsent_to"] is None
    body = {"reason": "nothing changed in the file"}
    refused = client.post("/api/v1/protocols/rct/versions", json=body, headers=investigator)
    assert refused.status_code == 403
    admin = _bearer(client, Role.ADMINISTRATOR)
    same = client.post("/api/v1/protocols/rct/versions", json=body, headers=admin)
    assert same.status_code == 409 and "already the version in force" in same.text
