"""Role pages, patient workflow pages, user admin and the infusion-day screen (issue 5)."""

from __future__ import annotations

import datetime as dt

from web_support import PASSWORD, csrf_of, enrol, sqlite_only  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from screening_support import screen_eligible  # type: ignore[import-not-found]


def _post(client, path: str, data: dict, page: str = "/") -> object:
    token = csrf_of(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def test_investigator_registers_consents_and_screens_a_patient(login, services, actors) -> None:
    client = login(Role.INVESTIGATOR)
    response = _post(
        client,
        "/patients",
        {"protocol_name": "rct", "site": "yal", "family_name": "Doe", "given_name": "Jo"},
    )
    assert response.status_code == 303
    path = response.headers["location"]
    page = client.get(path)
    assert "YAL-0001" in page.text and "Jo Doe" in page.text
    consent = _post(
        client,
        f"{path}/consent",
        {
            "consent_version": "v1",
            "consent_date": "2026-03-01",
            "capacity_assessed": "yes",
            "capacity_assessor": "Dr Other",
        },
        path,
    )
    assert consent.status_code == 303
    bare = _post(
        client, f"{path}/screening", {"outcome": "eligible", "decided_on": "2026-03-01"}, path
    )
    assert bare.status_code == 422 and "screening visit" in bare.text  # issue 11
    assert 'value="eligible"' not in client.get(path).text  # the form no longer offers it
    pid = int(path.rsplit("/", 1)[1])
    screen_eligible(services, actors[Role.INVESTIGATOR], pid, "rct")
    home = client.get("/").text
    assert "Awaiting allocation" in home and "YAL-0001" in home


def test_refused_consent_keeps_what_was_typed_and_names_the_field(login, services, actors) -> None:
    pid = services.patients.register(actors[Role.INVESTIGATOR], protocol_name="rct", site="YAL").id
    client = login(Role.INVESTIGATOR)
    response = _post(
        client,
        f"/patients/{pid}/consent",
        {
            "consent_version": "v1",
            "consent_date": "2026-03-01",
            "capacity_assessed": "yes",
            "capacity_note": "note typed here",
        },
        f"/patients/{pid}",
    )
    assert response.status_code == 422
    assert "capacity_assessor" in response.text  # the refused field is named
    assert '<option value="v1" selected' in response.text  # the protocol's form, still chosen
    assert 'value="note typed here"' in response.text


def test_allocation_from_the_patient_page_shows_study_drug_to_the_investigator(
    login, services, actors
) -> None:
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="L1", slots_per_stratum=4
    )
    pid = enrol(services, actors)
    client = login(Role.INVESTIGATOR)
    response = _post(client, f"/patients/{pid}/allocate", {}, f"/patients/{pid}")
    assert response.status_code == 303
    page = client.get(f"/patients/{pid}").text
    assert '<dd id="treatment">study drug</dd>' in page
    assert "Infusion 6" in page and "Week 2 (primary outcome)" in page  # timeline from §5
    pharmacist = login(Role.PHARMACIST).get(f"/patients/{pid}").text
    assert "study drug" not in pharmacist.split('id="treatment">')[1][:40]


def test_nurse_home_lists_todays_infusions_and_outcome_rater_home_lists_due_assessments(
    login, services, actors, clock
) -> None:
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="L1", slots_per_stratum=4
    )
    pid = enrol(services, actors)
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
    )
    nurse = login(Role.NURSE).get("/").text
    assert f"/patients/{pid}/infusion/1" in nurse
    rater = login(Role.OUTCOME_RATER).get("/").text
    assert "Baseline, just before infusion 1" in rater and "due today" in rater
    assert "Infusions today" not in rater


def test_admin_adds_a_user_and_a_weak_password_is_refused_with_values_kept(login) -> None:
    client = login(Role.ADMINISTRATOR)
    weak = _post(
        client,
        "/admin/users",
        {"username": "new.nurse", "full_name": "New Nurse", "role": "nurse", "password": "short"},
        "/admin/users",
    )
    assert weak.status_code == 422
    assert "at least 10 characters" in weak.text and 'value="new.nurse"' in weak.text
    assert "short" not in weak.text.split("Add a user")[1].split("</form>")[0].replace(
        "autocapitalize", ""
    )
    ok = _post(
        client,
        "/admin/users",
        {
            "username": "new.nurse",
            "full_name": "New Nurse",
            "role": "nurse",
            "password": "long enough pw",
        },
        "/admin/users",
    )
    assert ok.status_code == 303
    assert "new.nurse" in client.get("/admin/users").text


@sqlite_only
def test_roles_without_permission_get_403_pages(login) -> None:
    assert login(Role.NURSE).get("/admin/users").status_code == 403
    assert login(Role.NURSE).get("/pharmacy").status_code == 403
    assert login(Role.OUTCOME_RATER).get("/analysis").status_code == 403


def test_pharmacist_generates_a_list_and_reads_it(login) -> None:
    client = login(Role.PHARMACIST)
    response = _post(
        client,
        "/pharmacy/lists",
        {
            "protocol_name": "rct",
            "list_version": "P1",
            "slots_per_stratum": "8",
            "block_sizes": "2,4",
            "strata": "",
        },
        "/pharmacy",
    )
    assert response.status_code == 200 and "List P1 sealed" in response.text
    listing = client.get("/pharmacy", params={"list_id": 1}).text
    assert "ketamine" in listing and "midazolam" in listing


def test_statistician_analysis_page_is_blinded_without_a_sanction(login, services, actors) -> None:
    enrol(services, actors)
    page = login(Role.STATISTICIAN).get("/analysis").text
    assert "blinded" in page and "YAL-0001" in page


@sqlite_only
def test_emergency_unblinding_on_the_patient_page_asks_for_the_password(
    login, services, actors
) -> None:
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="L1", slots_per_stratum=4
    )
    pid = enrol(services, actors)
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
    )
    client = login(Role.INVESTIGATOR)
    assert 'name="password"' in client.get(f"/patients/{pid}").text.split("Emergency unblinding")[1]
    reason = {"reason": "suspected serious reaction"}
    for refused in ({}, {"password": "not my password"}):
        response = _post(client, f"/patients/{pid}/unblind", reason | refused, f"/patients/{pid}")
        assert response.status_code == 422 and "password" in response.text
    assert '<dd id="treatment">study drug</dd>' in client.get(f"/patients/{pid}").text
    response = _post(
        client, f"/patients/{pid}/unblind", reason | {"password": PASSWORD}, f"/patients/{pid}"
    )
    assert response.status_code == 303
    assert '<dd id="treatment">study drug</dd>' not in client.get(f"/patients/{pid}").text


def test_clinic_patient_page_names_the_pathway_treatment_not_an_allocation(
    login, services, actors
) -> None:
    """A clinic patient has no allocation: the page names the open-label pathway's treatment
    (§3, §4) instead of "not allocated"; a trial patient before allocation still reads so."""
    clinic = services.patients.register(
        actors[Role.INVESTIGATOR], protocol_name="clinical", site="YAL"
    )
    assert clinic.treatment is None  # no allocation: nothing feeds schedule or calendar
    assert clinic.regimen is not None and clinic.regimen.startswith("Ketamine 0.5 mg/kg")
    trial = services.patients.register(actors[Role.INVESTIGATOR], protocol_name="rct", site="YAL")
    assert trial.regimen is None
    client = login(Role.INVESTIGATOR)
    page = client.get(f"/patients/{clinic.id}").text
    cell = page.split('<dd id="treatment">')[1].split("</dd>")[0]
    assert cell.startswith("Ketamine 0.5 mg/kg IV over 40 min") and "no allocation" in cell
    assert '<dd id="treatment">not allocated</dd>' in client.get(f"/patients/{trial.id}").text
    listed = {v.id: v.regimen for v in services.patients.list(actors[Role.INVESTIGATOR])}
    assert listed[clinic.id] == clinic.regimen and listed[trial.id] is None
