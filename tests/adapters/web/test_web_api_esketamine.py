"""REST: ``/api/v1/patients/{id}/esketamine-sessions`` (issue 13; PROTOCOL.md §8, §11): a session
through the API to discharge, its refusals with rule and §, the form as JSON and PDF, the
unsubmitted list; a trial patient is refused with nothing of the blind in the answer."""

from __future__ import annotations

import datetime as dt
import re

from web_support import PASSWORD, enrol, sqlite_only  # type: ignore[import-not-found]

from esketamine_support import SESSION_DAY  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from maintenance_support import clinic_responder  # type: ignore[import-not-found]

LEAK = re.compile(r"(?<!es)ketamine|midazolam|\barm\b|allocat", re.IGNORECASE)

START = {
    "rems_patient_enrolled": True,
    "rems_patient_id": "REMS-000123",
    "setting_name": "Clinic suite B",
    "setting_certified": True,
    "monitoring_provider": "Nurse Okafor",
    "prescriber": "Dr Ames",
    "concomitant_classes": ["opioid"],
    "dose_mg": 84,
    "device_lot": "LOT-24A17",
    "bp_before_systolic": 150,
    "bp_before_diastolic": 85,
}


def _bearer(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _at(minutes: int) -> str:
    return (SESSION_DAY + dt.timedelta(minutes=minutes)).isoformat()


@sqlite_only
def test_a_session_through_the_api_to_discharge_and_its_form(
    client, services, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    pid = clinic_responder(services, actors, clock)
    clock.set(SESSION_DAY)
    url = f"/api/v1/patients/{pid}/esketamine-sessions"
    nurse, prescriber = _bearer(client, "nurse"), _bearer(client, "clinician")
    assert client.get(url, headers=nurse).json() == []
    held = client.post(url, headers=nurse, json=START)
    assert held.status_code == 409, held.text
    assert held.json()["detail"].startswith("bp_before_dosing: ")
    assert (
        "bp_before_dosing" in held.json()["detail"] and "PROTOCOL.md §11" in held.json()["detail"]
    )
    bad = client.post(url, headers=nurse, json={**START, "dose_mg": 30})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("other_dose_reason:")
    release = {
        "systolic": 150,
        "diastolic": 85,
        "reason": "rechecked, asymptomatic",
        "password": PASSWORD,
    }
    assert (
        client.post(f"{url}/decisions/release-bp-hold", headers=nurse, json=release).status_code
        == 403
    )
    released = client.post(f"{url}/decisions/release-bp-hold", headers=prescriber, json=release)
    assert released.status_code == 201, released.text
    started = client.post(url, headers=nurse, json=START)
    assert started.status_code == 201, started.text
    s = started.json()
    assert (s["session_number"], s["dose_choice"], s["concomitant_classes"]) == (
        1,
        "84",
        ["opioid"],
    )
    assert s["decisions"][0]["kind"] == "release_bp_hold"
    one = f"{url}/1"
    for minute, body in (
        (40, {"systolic": 152, "diastolic": 88, "spo2_percent": 97, "moaas": 4}),
        (110, {"systolic": 130, "diastolic": 80, "spo2_percent": 98, "moaas": 5}),
    ):
        clock.set(SESSION_DAY + dt.timedelta(minutes=minute))
        nurse = _bearer(client, "nurse")
        assert client.post(f"{one}/readings", headers=nurse, json=body).status_code == 201
    event = client.post(
        f"{one}/events", headers=nurse,
        json={"kind": "sedation", "onset_at": _at(20), "resolved_at": _at(55)},
    )  # fmt: skip
    assert event.status_code == 201, event.text
    clock.set(SESSION_DAY + dt.timedelta(minutes=119))
    nurse, prescriber = _bearer(client, "nurse"), _bearer(client, "clinician")
    version = client.get(one, headers=nurse).json()["version"]
    early = client.post(
        f"{one}/end", headers=nurse, json={"ready_to_leave_at": _at(60), "version": version}
    )
    assert early.status_code == 409 and "two_hour_monitoring" in early.json()["detail"]
    clock.set(SESSION_DAY + dt.timedelta(minutes=120))
    nurse, prescriber = _bearer(client, "nurse"), _bearer(client, "clinician")
    ended = client.post(
        f"{one}/end", headers=nurse, json={"ready_to_leave_at": _at(60), "version": version}
    )
    assert ended.status_code == 200 and ended.json()["total_monitoring_minutes"] == 120
    signed = {"password": PASSWORD, "version": ended.json()["version"]}
    assert client.post(f"{one}/discharge", headers=nurse, json=signed).status_code == 403
    out = client.post(f"{one}/discharge", headers=prescriber, json=signed)
    assert out.status_code == 200 and out.json()["discharged_by"] == "Test clinician"
    due = client.get("/api/v1/esketamine-forms/unsubmitted", headers=nurse).json()
    assert [(d["study_id"], d["session_number"], d["overdue"]) for d in due] == [
        (s["study_id"], 1, False)
    ]
    form = client.get(f"{one}/form", headers=nurse).json()
    assert form["dose"] == {"choice": "84", "mg": 84, "other_reason": None}
    assert form["blood_pressure"]["about_40_minutes"]["minute"] == 40
    assert form["blood_pressure"]["before_end"]["systolic"] == 130
    assert form["total_monitoring_minutes"] == 120 and form["ready_to_leave_minutes"] == 60
    assert form["concomitant_medicines"]["opioid"] is True
    assert form["events"]["sedation"][0]["resolved_at"] == _at(55)
    assert form["vital_signs_acceptable"] == {"before_dosing": True, "at_end": True}
    pdf = client.get(f"{one}/form.pdf", headers=nurse)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 2000
    submitted = client.post(
        f"{one}/form/submit", headers=nurse, json={"version": out.json()["version"]}
    )
    assert submitted.status_code == 200 and submitted.json()["form_submitted_at"] is not None
    assert client.get("/api/v1/esketamine-forms/unsubmitted", headers=nurse).json() == []
    assert client.get(f"{url}/9", headers=nurse).status_code == 404


@sqlite_only
def test_the_trial_refuses_sessions_and_the_answers_keep_the_blind(
    client, services, actors
) -> None:  # type: ignore[no-untyped-def]
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="rct-1", slots_per_stratum=4
    )
    pid = enrol(services, actors)
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
    )
    url = f"/api/v1/patients/{pid}/esketamine-sessions"
    for user in ("nurse", "investigator"):
        headers = _bearer(client, user)
        for response in (
            client.get(url, headers=headers),
            client.post(url, headers=headers, json=START),
            client.get(f"{url}/1/form", headers=headers),
        ):
            assert response.status_code in (403, 409), response.text
            assert LEAK.search(response.text) is None, response.text
        listed = client.get("/api/v1/esketamine-forms/unsubmitted", headers=headers)
        assert listed.status_code == 200 and listed.json() == []
