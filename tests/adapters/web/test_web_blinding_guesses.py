"""Blinding guesses on the web and REST (issue 15): ``/patients/{id}/blinding-guesses`` — the
core's rules as 403/404/409/422 naming the field, the form's answers the same for every patient
whatever the arm, and no page or API response that reveals an arm."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from web_support import PASSWORD, csrf_of, enrol, sqlite_only  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role

CANARY = re.compile(r"ketamine(?!-ptsd)|midazolam", re.IGNORECASE)


def _bearer(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def by_arm(services, actors, clock) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """One allocated patient of each arm, both withdrawn early: the end of treatment (§3, §5)."""
    pharmacist = actors[Role.PHARMACIST]
    services.randomization.generate_list(
        pharmacist, protocol_name="rct", list_version="guess", slots_per_stratum=8
    )
    found: dict[str, int] = {}
    for _ in range(4):
        pid = enrol(services, actors)
        services.randomization.allocate(
            actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
        )
        found.setdefault(services.randomization.allocation(pharmacist, pid).treatment, pid)
    assert set(found) == {"ketamine", "midazolam"}
    for pid in found.values():
        services.followup.withdraw(
            actors[Role.INVESTIGATOR],
            pid,
            withdrawn_on=clock.now().date(),
            decided_by="team",
            reason="left treatment early",
        )
    return found


@sqlite_only
def test_the_api_records_refuses_and_corrects_as_the_core_says(client, by_arm) -> None:  # type: ignore[no-untyped-def]
    pid = by_arm["ketamine"]
    url = f"/api/v1/patients/{pid}/blinding-guesses"
    rater, nurse = _bearer(client, "outcome-rater"), _bearer(client, "nurse")
    investigator = _bearer(client, "investigator")
    read = client.get(url, headers=rater)
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["due"] and [s["respondent"] for s in body["slots"]] == [
        "patient",
        "outcome_rater",
        "infusion_nurse",
    ]
    assert [s["may_record"] for s in body["slots"]] == [True, True, False]
    made = client.post(url, headers=rater, json={"respondent": "patient", "guess": "ketamine"})
    assert made.status_code == 201, made.text
    assert made.json()["guess"] == "ketamine" and made.json()["version"] == 1
    again = client.post(url, headers=rater, json={"respondent": "patient", "guess": "midazolam"})
    assert again.status_code == 409 and "reason" in again.json()["detail"]
    wrong = client.post(url, headers=nurse, json={"respondent": "patient", "guess": "ketamine"})
    assert wrong.status_code == 403 and "guess_recorder" in wrong.json()["detail"]
    assert (
        client.post(
            url, headers=investigator, json={"respondent": "patient", "guess": "ketamine"}
        ).status_code
        == 403
    )
    odd = client.post(url, headers=nurse, json={"respondent": "infusion_nurse", "guess": "saline"})
    assert odd.status_code == 422 and odd.json()["detail"].startswith("guess:")
    who = client.post(url, headers=rater, json={"respondent": "doctor", "guess": "dont_know"})
    assert who.status_code == 422 and who.json()["detail"].startswith("respondent:")
    fixed = client.post(
        url,
        headers=rater,
        json={
            "respondent": "patient",
            "guess": "dont_know",
            "reason": "patient changed the answer on reflection",
            "expected_version": 1,
        },
    )
    assert fixed.status_code == 201 and fixed.json()["version"] == 2
    # others see that it is recorded, never what
    seen = client.get(url, headers=investigator).json()
    assert seen["slots"][0]["recorded"] and seen["slots"][0]["guess"] is None
    assert client.get("/api/v1/patients/999999/blinding-guesses", headers=rater).status_code == 404


def test_before_the_end_of_treatment_the_api_answers_409_naming_the_rule(
    client, services, actors
) -> None:  # type: ignore[no-untyped-def]
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="early", slots_per_stratum=4
    )
    pid = enrol(services, actors)
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
    )
    url = f"/api/v1/patients/{pid}/blinding-guesses"
    rater = _bearer(client, "outcome-rater")
    refused = client.post(url, headers=rater, json={"respondent": "patient", "guess": "dont_know"})
    assert refused.status_code == 409
    assert "end of treatment" in refused.json()["detail"] and "§5" in refused.json()["detail"]
    assert client.get(url, headers=rater).json()["due"] is False


@sqlite_only
def test_the_form_records_and_keeps_what_was_typed_when_refused(login, by_arm) -> None:  # type: ignore[no-untyped-def]
    pid = by_arm["midazolam"]
    rater = login(Role.OUTCOME_RATER)
    page = rater.get(f"/patients/{pid}")
    assert f'href="/patients/{pid}/blinding-guesses"' in page.text
    assert CANARY.search(page.text) is None  # the patient page names no drug
    form = rater.get(f"/patients/{pid}/blinding-guesses")
    assert form.status_code == 200
    assert 'id="guess-form-patient"' in form.text and 'id="guess-form-outcome_rater"' in form.text
    assert 'id="guess-form-infusion_nurse"' not in form.text
    token = csrf_of(form.text)
    path = f"/patients/{pid}/blinding-guesses"
    bad = rater.post(path, data={"csrf_token": token, "respondent": "patient", "guess": "x"})
    assert bad.status_code == 422 and "choose one of the form" in bad.text
    saved = rater.post(
        path,
        data={"csrf_token": token, "respondent": "patient", "guess": "midazolam"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    after = rater.get(path).text
    assert "Correct the patient" in after and "(your entry)" in after
    # a correction without the reason is refused at its field, the choice kept
    refused = rater.post(
        path,
        data={
            "csrf_token": token,
            "respondent": "patient",
            "guess": "ketamine",
            "version": "1",
            "reason": "",
        },
    )
    assert refused.status_code == 409
    assert 'value="ketamine" required checked' in refused.text


def test_the_guess_form_is_the_same_whichever_arm_and_status_pages_name_no_drug(
    login, by_arm
) -> None:  # type: ignore[no-untyped-def]
    """The canary for this feature: the form's answers are the protocol's drugs in a fixed
    order, identical for both arms; every other view of the guesses names no drug."""
    nurse = login(Role.NURSE)
    pages = {}
    for arm, pid in by_arm.items():
        body = nurse.get(f"/patients/{pid}/blinding-guesses").text
        study_id = nurse.get(f"/api/v1/patients/{pid}").json()["study_id"]
        pages[arm] = body.replace(study_id, "SID").replace(f"/patients/{pid}", "/patients/PID")
        pages[arm] = re.sub(r'name="csrf_token" value="[^"]*"', "", pages[arm])
    assert pages["ketamine"] == pages["midazolam"]
    assert pages["ketamine"].index("Ketamine") < pages["ketamine"].index("Midazolam")
    for role in (Role.INVESTIGATOR, Role.MONITOR, Role.SAFETY_RATER, Role.STATISTICIAN):
        client = login(role)
        for pid in by_arm.values():
            for path in (
                f"/patients/{pid}",
                f"/patients/{pid}/blinding-guesses",
                f"/api/v1/patients/{pid}/blinding-guesses",
            ):
                response = client.get(path)
                assert response.status_code == 200, (role, path)
                found = CANARY.search(response.text)
                assert found is None, f"{role.value} sees {found.group(0)!r} on {path}"
