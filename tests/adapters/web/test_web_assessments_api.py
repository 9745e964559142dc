"""Assessment entry from the registry metadata, the scoring endpoint, and the REST API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from web_support import PASSWORD, csrf_of, enrol, sqlite_only  # type: ignore[import-not-found]

from ketamine_ptsd.core.instruments import REGISTRY
from ketamine_ptsd.core.roles import Role


@pytest.fixture
def patient_id(services, actors) -> int:
    return enrol(services, actors)


@sqlite_only
def test_every_instrument_form_is_built_from_the_registry(login, patient_id) -> None:
    rater = login(Role.OUTCOME_RATER)
    safety = login(Role.SAFETY_RATER)
    for instrument_id, instrument in REGISTRY.items():
        client = (
            safety if instrument_id in {"cadss", "bprs_positive", "ymrs_item1", "prise"} else rater
        )
        page = client.get(f"/patients/{patient_id}/assess/{instrument_id}")
        assert page.status_code == 200, instrument_id
        for item in instrument.items:
            assert f'name="item_{item.key}"' in page.text
            if item.kind == "rating":
                assert f'min="{item.minimum}" max="{item.maximum}"' in page.text


def test_caps5_scores_and_shows_the_total(login, patient_id) -> None:
    client = login(Role.OUTCOME_RATER)
    path = f"/patients/{patient_id}/assess/caps5_past_week"
    token = csrf_of(client.get(path).text)
    items = {f"item_{k}": "2" for k in range(1, 21)}
    response = client.post(path, data={"csrf_token": token, **items})
    assert response.status_code == 200
    assert '<strong id="result-total">40</strong>' in response.text


@sqlite_only
def test_out_of_range_item_is_refused_by_name_and_everything_typed_is_kept(
    login, patient_id
) -> None:
    client = login(Role.OUTCOME_RATER)
    path = f"/patients/{patient_id}/assess/madrs"
    token = csrf_of(client.get(path).text)
    items = {f"item_{k}": str(k % 5) for k in range(1, 11)}
    items["item_7"] = "9"
    response = client.post(path, data={"csrf_token": token, **items})
    assert response.status_code == 422
    assert 'id="err-7"' in response.text and "must be 0–6, got 9" in response.text
    for key, value in items.items():
        assert (
            f'name="{key}" type="number" inputmode="numeric" step="1" min="0" max="6" value="{value}"'
            in response.text
        )


@sqlite_only
def test_missing_items_are_all_marked(login, patient_id) -> None:
    client = login(Role.OUTCOME_RATER)
    path = f"/patients/{patient_id}/assess/caps5_past_week"
    token = csrf_of(client.get(path).text)
    response = client.post(path, data={"csrf_token": token, "item_1": "3", "item_2": "1"})
    assert response.status_code == 422
    assert 'id="err-3"' in response.text and 'id="err-20"' in response.text
    assert 'id="err-1"' not in response.text


def _bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["role"]
    return {"Authorization": f"Bearer {body['token']}"}


def test_api_token_auth_and_role_checks(client: TestClient, actors, patient_id) -> None:
    assert client.get("/api/v1/patients").status_code == 401
    nurse = _bearer(client, "nurse")
    assert client.get("/api/v1/auth/me", headers=nurse).json() == {
        "username": "nurse",
        "role": "nurse",
    }
    listed = client.get("/api/v1/patients", headers=nurse).json()
    assert [p["study_id"] for p in listed] == ["YAL-0001"]
    refused = client.post(
        "/api/v1/patients", json={"protocol_name": "rct", "site": "YAL"}, headers=nurse
    )
    assert refused.status_code == 403
    investigator = _bearer(client, "investigator")
    created = client.post(
        "/api/v1/patients", json={"protocol_name": "rct", "site": "YAL"}, headers=investigator
    )
    assert created.status_code == 201 and created.json()["study_id"] == "YAL-0002"
    assert client.get("/api/v1/users", headers=nurse).status_code == 403
    assert client.get("/api/v1/users", headers=_bearer(client, "administrator")).status_code == 200


@sqlite_only
def test_api_login_failure_does_not_echo_the_password(client: TestClient, actors) -> None:
    response = client.post(
        "/api/v1/auth/login", json={"username": "nurse", "password": "hunter2-x"}
    )
    assert response.status_code == 401 and "hunter2" not in response.text
    invalid = client.post("/api/v1/auth/login", json={"username": "nurse", "password": 12345678901})
    assert invalid.status_code == 422 and "12345678901" not in invalid.text


@sqlite_only
def test_api_validation_errors_name_the_field(client: TestClient, actors, patient_id) -> None:
    headers = _bearer(client, "investigator")
    response = client.post(
        f"/api/v1/patients/{patient_id}/consents",
        headers=headers,
        json={"consent_version": "v1", "consent_date": "2026-03-01", "capacity_assessed": False},
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("capacity_assessed:")


@sqlite_only
def test_scoring_endpoint_reports_running_sum_then_total(client: TestClient, actors) -> None:
    headers = _bearer(client, "outcome-rater")
    partial = client.post(
        "/api/v1/instruments/madrs/score", headers=headers, json={"items": {"1": 3, "2": 4}}
    ).json()
    assert partial["complete"] is False and partial["running_sum"] == 7 and partial["answered"] == 2
    full = client.post(
        "/api/v1/instruments/madrs/score",
        headers=headers,
        json={"items": {str(k): 2 for k in range(1, 11)}},
    ).json()
    assert full["complete"] is True and full["total"] == 20
    bad = client.post("/api/v1/instruments/madrs/score", headers=headers, json={"items": {"3": 7}})
    assert bad.status_code == 422 and bad.json()["field"] == "madrs.item_3"
    assert (
        client.post(
            "/api/v1/instruments/nope/score", headers=headers, json={"items": {}}
        ).status_code
        == 404
    )


@sqlite_only
def test_openapi_schema_lists_the_api(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in [
        "/api/v1/auth/login",
        "/api/v1/patients",
        "/api/v1/patients/{patient_id}/allocation",
        "/api/v1/instruments/{instrument_id}/score",
        "/api/v1/users",
    ]:
        assert path in paths
    assert not any(p.startswith("/patients") for p in paths)  # pages stay out of the API schema
