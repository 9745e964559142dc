"""REST: ``/api/v1/patients/{id}/maintenance`` (issue 13; PROTOCOL.md §8): the plan through the
same services and workflow as the pages; the sessions are infusion days numbered after the
series."""

from __future__ import annotations

import datetime as dt

from web_support import PASSWORD, sqlite_only  # type: ignore[import-not-found]

from maintenance_support import WEEK2, clinic_responder, infuse  # type: ignore[import-not-found]


def _bearer(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['token']}"}


@sqlite_only
def test_the_plan_through_the_api(client, services, actors, clock) -> None:  # type: ignore[no-untyped-def]
    pid = clinic_responder(services, actors, clock)
    url = f"/api/v1/patients/{pid}/maintenance"
    clinician, nurse = _bearer(client, "clinician"), _bearer(client, "nurse")
    assert client.get(url, headers=clinician).status_code == 404  # none yet
    body = {"option_id": "iv_ketamine_periodic", "interval_days": 7, "starts_on": "2026-03-16"}
    assert client.post(url, headers=nurse, json=body).status_code == 403
    odd = client.post(url, headers=clinician, json={**body, "interval_days": 10})
    assert odd.status_code == 422 and odd.json()["detail"].startswith("interval_days:")
    wrong = client.post(url, headers=clinician, json={**body, "option_id": "esketamine_intranasal"})
    assert wrong.status_code == 422 and wrong.json()["detail"].startswith("option_id:")
    started = client.post(url, headers=clinician, json=body)
    assert started.status_code == 201, started.text
    plan = started.json()
    assert (plan["active"], plan["next_number"], plan["next_due"]) == (True, 7, "2026-03-16")
    assert client.post(url, headers=clinician, json=body).status_code == 409  # already started
    patient = client.get(f"/api/v1/patients/{pid}", headers=nurse).json()
    assert patient["status"] == "in_maintenance"
    infuse(services, actors, clock, pid, 7)
    # the morning took hours on the test's clock: sign in again (tokens time out when idle)
    clinician, nurse = _bearer(client, "clinician"), _bearer(client, "nurse")
    read = client.get(url, headers=nurse)  # the nurse reads the plan
    assert read.status_code == 200, read.text
    seen = read.json()
    assert seen["given"] == [[7, "2026-03-16"]] and seen["next_number"] == 8
    assert seen["next_due"] == (WEEK2.date() + dt.timedelta(days=7)).isoformat()
    day = client.get(f"/api/v1/patients/{pid}/infusions/7", headers=nurse).json()
    assert day["infusion_number"] == 7 and day["discharged_at"] is not None
    changed = client.post(
        f"{url}/interval", headers=clinician,
        json={"interval_days": 14, "reason": "stable for two weeks", "version": seen["version"]},
    )  # fmt: skip
    assert changed.status_code == 200 and changed.json()["interval_days"] == 14
    stale = client.post(
        f"{url}/stop", headers=clinician,
        json={"stopped_on": "2026-03-16", "reason": "patient moves abroad", "version": seen["version"]},
    )  # fmt: skip
    assert stale.status_code == 409  # changed since it was read
    stopped = client.post(
        f"{url}/stop", headers=clinician,
        json={"stopped_on": "2026-03-16", "reason": "patient moves abroad",
              "version": changed.json()["version"]},
    )  # fmt: skip
    assert stopped.status_code == 200 and stopped.json()["active"] is False
    assert client.get(f"/api/v1/patients/{pid}", headers=nurse).json()["status"] == "responder"
