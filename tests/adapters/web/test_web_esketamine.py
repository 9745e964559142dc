"""The esketamine pages (issue 13; PROTOCOL.md §8, §11): the BP hold on the start form keeps what
was typed and names the rule and §, the prescriber's decision releases it, the form's exports;
and the blind canary: a trial patient's pages, the Today page and the refused esketamine page
show nothing of this and nothing of the arms (PROTOCOL.md §3)."""

from __future__ import annotations

import datetime as dt
import re

from web_support import PASSWORD, csrf_of, enrol, sqlite_only  # type: ignore[import-not-found]

from esketamine_support import SESSION_DAY  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from maintenance_support import clinic_responder  # type: ignore[import-not-found]

#: The browser tests' canary: a drug name or an mg dose (PROTOCOL.md §3).
CANARY = re.compile(r"ketamine(?!-ptsd)|midazolam|\d\s?mg\b(?!/kg)|\barm\b", re.IGNORECASE)
#: ... and this feature's own words, which a trial's pages never show.
FEATURE = re.compile(CANARY.pattern + r"|intranasal|REMS", re.IGNORECASE)

START = {
    "rems_patient_enrolled": "yes",
    "rems_patient_id": "REMS-000123",
    "setting_name": "Clinic suite B",
    "setting_certified": "yes",
    "monitoring_provider": "Nurse Okafor",
    "prescriber": "Dr Ames",
    "concomitant_classes": ["benzodiazepine", "maoi"],
    "dose_choice": "84",
    "device_lot": "LOT-24A17",
    "bp_before_systolic": "152",
    "bp_before_diastolic": "86",
}


@sqlite_only
def test_the_bp_hold_on_the_page_and_the_prescribers_release(
    login, services, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    pid = clinic_responder(services, actors, clock)
    clock.set(SESSION_DAY)
    nurse, clinician = login(Role.NURSE), login(Role.CLINICIAN)
    assert 'id="esketamine-link"' in nurse.get(f"/patients/{pid}").text
    url = f"/patients/{pid}/esketamine"
    page = nurse.get(url).text
    assert 'id="start-form"' in page and 'id="decisions"' not in page  # the prescriber's
    held = nurse.post(url, data={**START, "csrf_token": csrf_of(page)}, follow_redirects=False)
    assert held.status_code == 409
    assert "bp_before_dosing" in held.text and "PROTOCOL.md §11" in held.text
    assert 'value="152"' in held.text and 'value="LOT-24A17"' in held.text  # kept
    assert re.search(r'value="maoi"\s+checked', held.text)
    page = clinician.get(url).text
    release = {"csrf_token": csrf_of(page), "systolic": "152", "diastolic": "86",
               "reason": "rechecked twice, asymptomatic", "password": PASSWORD}  # fmt: skip
    done = clinician.post(f"{url}/release-bp-hold", data=release, follow_redirects=False)
    assert done.status_code == 303, done.text
    token = csrf_of(nurse.get(url).text)
    started = nurse.post(url, data={**START, "csrf_token": token}, follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"].startswith(f"{url}/1")
    session = nurse.get(f"{url}/1").text
    assert "dosed by the prescriber" in session and "84 mg" in session
    pdf = nurse.get(f"{url}/1/form.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    data = nurse.get(f"{url}/1/form.json").json()
    assert data["concomitant_medicines"]["maoi"] and data["dose"]["choice"] == "84"
    assert data["prescriber_decisions"][0]["kind"] == "release_bp_hold"
    printable = nurse.get(f"{url}/1/form").text
    assert 'id="rems-form"' in printable and "Monoamine oxidase inhibitors" in printable


@sqlite_only
def test_blind_canary_the_trial_shows_and_leaks_nothing(login, services, actors) -> None:  # type: ignore[no-untyped-def]
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="rct-1", slots_per_stratum=4
    )
    pid = enrol(services, actors)
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
    )
    for role in (Role.NURSE, Role.INVESTIGATOR, Role.SAFETY_RATER, Role.OUTCOME_RATER):
        client = login(role)
        for path in ("/", f"/patients/{pid}"):
            page = client.get(path)
            assert page.status_code == 200, (role, path)
            found = FEATURE.search(page.text)
            assert found is None, (role, path, page.text[found.start() - 200 : found.end() + 50])
        refused = client.get(f"/patients/{pid}/esketamine")
        assert refused.status_code in (403, 409), (role, refused.status_code)
        body = refused.text.replace("/esketamine", "")  # the address the user typed
        found = CANARY.search(body)
        assert found is None, (role, body[found.start() - 200 : found.end() + 50])
