"""``/locks``, a patient's record lock on the patient's page, and ``/audit`` (issue 17): forms
with CSRF, refusals at their field with the reason kept (never the password), read-only for the
monitor, and the audit trail redacted for the blind and scoped to the reader's sites."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from web_support import PASSWORD, csrf_of, enrol, sqlite_only  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, Services

REASON = "all patients past week 2; data cleaned"
#: As the blind's crawl (test_web_blind.py): a drug name, a milligram dose or an arm id.
CANARY = re.compile(r"ketamine(?!-ptsd)|midazolam|\d\s?mg\b(?!/kg)|mg/mL", re.IGNORECASE)


def _post(client: TestClient, path: str, data: dict[str, str], page: str) -> object:
    token = csrf_of(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def test_the_database_is_locked_and_unlocked_on_the_locks_page(login) -> None:  # type: ignore[no-untyped-def]
    md = login(Role.INVESTIGATOR)
    page = md.get("/locks")
    assert page.status_code == 200 and "The record is not locked" in page.text
    assert '<a href="/locks">Locks</a>' in page.text and '<a href="/audit">' in page.text
    # no CSRF token: refused, nothing locked
    forged = md.post("/locks/database", data={"reason": REASON, "password": PASSWORD})
    assert forged.status_code == 403 and "The record is not locked" in md.get("/locks").text
    short = _post(md, "/locks/database", {"reason": "too short", "password": PASSWORD}, "/locks")
    assert short.status_code == 422  # type: ignore[attr-defined]
    assert "at least 10 characters" in short.text and ">too short</textarea>" in short.text  # type: ignore[attr-defined]
    wrong = _post(md, "/locks/database", {"reason": REASON, "password": "not-it-at-all"}, "/locks")
    assert wrong.status_code == 422 and "password not accepted" in wrong.text  # type: ignore[attr-defined]
    assert f">{REASON}</textarea>" in wrong.text and "not-it-at-all" not in wrong.text  # type: ignore[attr-defined]
    done = _post(md, "/locks/database", {"reason": REASON, "password": PASSWORD}, "/locks")
    assert done.status_code == 303  # type: ignore[attr-defined]
    locked = md.get("/locks").text
    assert "locked</span> since" in locked and REASON in locked and "Unlock the database" in locked
    # the monitor reads it, with no form; a nurse may not open it
    monitor = login(Role.MONITOR).get("/locks").text
    assert REASON in monitor and 'action="/locks/database' not in monitor
    assert login(Role.NURSE).get("/locks").status_code == 403
    again = _post(
        md,
        "/locks/database/unlock",
        {"reason": "a correction after a query", "password": PASSWORD},
        "/locks",
    )
    assert again.status_code == 303  # type: ignore[attr-defined]
    twice = _post(
        md,
        "/locks/database/unlock",
        {"reason": "a correction after a query", "password": PASSWORD},
        "/locks",
    )
    assert twice.status_code == 409 and "is not locked" in twice.text  # type: ignore[attr-defined]
    assert "a correction after a query" in md.get("/locks").text


@sqlite_only
def test_a_patients_record_is_locked_on_the_patients_page(
    login, services: Services, actors: dict[Role, Actor]
) -> None:  # type: ignore[no-untyped-def]
    pid = enrol(services, actors)
    page = f"/patients/{pid}"
    query = services.queries.raise_query(
        actors[Role.MONITOR],
        patient_id=pid,
        table_name="patients",
        record_id=str(pid),
        field="site",
        question="Is YAL the right site code?",
    )
    md = login(Role.INVESTIGATOR)
    assert "Lock this record" in md.get(page).text
    assert "Lock this record" not in login(Role.NURSE).get(page).text
    pending = _post(md, f"{page}/lock", {"reason": REASON, "password": PASSWORD}, page)
    assert pending.status_code == 409 and "1 query(ies) not closed" in pending.text  # type: ignore[attr-defined]
    assert f">{REASON}</textarea>" in pending.text  # type: ignore[attr-defined]
    answered = services.queries.answer(
        actors[Role.INVESTIGATOR], query.id, answer="Yes, YAL", corrected=False, expected_version=1
    )
    services.queries.close(actors[Role.MONITOR], query.id, expected_version=answered.version)
    wrong = _post(md, f"{page}/lock", {"reason": REASON, "password": "wrong-password"}, page)
    assert wrong.status_code == 422 and "password not accepted" in wrong.text  # type: ignore[attr-defined]
    assert "wrong-password" not in wrong.text  # type: ignore[attr-defined]
    # the emergency unblinding form below keeps its own reason, not this one
    assert wrong.text.count(f">{REASON}</textarea>") == 1  # type: ignore[attr-defined]
    done = _post(md, f"{page}/lock", {"reason": REASON, "password": PASSWORD}, page)
    assert done.status_code == 303  # type: ignore[attr-defined]
    shown = md.get(page).text
    assert "Unlock this record" in shown and REASON in shown
    assert "patient YAL-0001" in md.get("/locks").text
    lifted = _post(
        md, f"{page}/unlock", {"reason": "a late lab value to enter", "password": PASSWORD}, page
    )
    assert lifted.status_code == 303 and "Lock this record" in md.get(page).text  # type: ignore[attr-defined]


@sqlite_only
def test_the_audit_page_filters_pages_and_refuses_at_the_field(
    login, services: Services, actors: dict[Role, Actor]
) -> None:  # type: ignore[no-untyped-def]
    pid = enrol(services, actors)
    study = services.patients.get(actors[Role.MONITOR], pid).study_id
    monitor = login(Role.MONITOR)
    assert login(Role.NURSE).get("/audit").status_code == 403
    page = monitor.get("/audit", params={"study_id": study, "form": "patient_identities"})
    assert page.status_code == 200 and "family_name" in page.text and "[redacted]" in page.text
    assert "Doe" not in page.text
    unknown = monitor.get("/audit", params={"study_id": "YAL-9999", "user": "nurse"})
    assert unknown.status_code == 422 and "no patient with this study id" in unknown.text
    assert 'value="YAL-9999"' in unknown.text and 'value="nurse"' in unknown.text
    bad = monitor.get("/audit", params={"date_from": "02/03/2026"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text
    backwards = monitor.get("/audit", params={"date_from": "2026-03-05", "date_to": "2026-03-01"})
    assert backwards.status_code == 422 and "is before the first day" in backwards.text
    day = monitor.get("/audit", params={"date_from": "2026-03-02", "date_to": "2026-03-02"})
    assert day.status_code == 200 and 'id="audit-' in day.text
    none = monitor.get("/audit", params={"date_from": "2027-01-01"})
    assert "No audit rows." in none.text
    # pages of 100, newest first, the filters kept in the links
    total = len(services.audit.entries(actors[Role.MONITOR], limit=10_000))
    assert total > 100
    first = monitor.get("/audit").text
    assert first.count('<tr id="audit-') == 100 and 'rel="next"' in first
    second = monitor.get("/audit", params={"page": "2"}).text
    assert second.count('<tr id="audit-') == min(100, total - 100) and 'rel="prev"' in second
    filtered = monitor.get("/audit", params={"user": "investigator"}).text
    assert "user=investigator" in filtered or 'rel="next"' not in filtered


@sqlite_only
def test_a_sites_user_sees_no_audit_row_of_another_sites_patient_on_the_page(
    login, services: Services, actors: dict[Role, Actor]
) -> None:  # type: ignore[no-untyped-def]
    from ketamine_ptsd.services.patients import IdentityInput

    admin = Actor.system("test-admin")
    for code in ("YAL", "BOS"):
        services.sites.add(admin, code=code, name=code, time_zone="UTC")
    md = actors[Role.INVESTIGATOR]
    bos = services.patients.register(
        md,
        protocol_name="rct",
        site="BOS",
        identity=IdentityInput("Doe", "Bo", dt.date(1980, 1, 1)),
    )
    services.sites.add_member(admin, username="monitor", site="YAL")
    page = login(Role.MONITOR).get("/audit").text
    assert f"patients {bos.id}<" not in page.replace("</td>", "<")
    refused = login(Role.MONITOR).get("/audit", params={"study_id": bos.study_id})
    assert refused.status_code == 422 and "no patient with this study id" in refused.text
    central = login(Role.INVESTIGATOR).get("/audit").text
    assert f"patients {bos.id}<" in central.replace("</td>", "<")


@sqlite_only
def test_blinded_readers_of_the_audit_page_see_no_arm(
    login, services: Services, actors: dict[Role, Actor]
) -> None:  # type: ignore[no-untyped-def]
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="canary", slots_per_stratum=8
    )
    ids = []
    for _ in range(4):
        pid = enrol(services, actors)
        services.randomization.allocate(
            actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
        )
        ids.append(pid)
    arms = {services.randomization.allocation(actors[Role.PHARMACIST], p).treatment for p in ids}
    assert arms == {"ketamine", "midazolam"}, "the canary needs both arms"
    # The eligibility criteria name ketamine (a recreational-use exclusion, §1) for every
    # patient alike: the screening forms are left out; every other form is crawled.
    tables = {
        r.table_name
        for r in services.audit.entries(actors[Role.ADMINISTRATOR], limit=10_000)
        if r.table_name not in {None, "screening_visits", "eligibility_decisions"}
    }
    assert {"allocations", "patients"} <= tables
    for role in (Role.MONITOR, Role.INVESTIGATOR, Role.ADMINISTRATOR):
        client = login(role)
        for table in sorted(tables):  # type: ignore[type-var]
            for page in ("1", "2"):
                body = client.get("/audit", params={"form": table, "page": page}).text
                found = CANARY.search(body)
                assert found is None, f"{role.value} sees {found.group(0)!r} in {table}"
        allocations = client.get("/audit", params={"form": "allocations"}).text
        assert "[redacted]" in allocations
        api = client.get("/api/v1/audit", params={"table_name": "allocations"}).text
        assert CANARY.search(api) is None and "[redacted]" in api


@sqlite_only
def test_a_verified_form_is_locked_on_the_monitoring_visit(
    login, services: Services, actors: dict[Role, Actor]
) -> None:  # type: ignore[no-untyped-def]
    pid = enrol(services, actors)
    page = f"/patients/{pid}/monitoring"
    consent = next(
        i for i in services.sdv.items(actors[Role.MONITOR], pid) if i.table_name == "consents"
    )
    form = {"table_name": "consents", "record_id": consent.record_id}
    monitor = login(Role.MONITOR)
    assert "Lock this form" not in monitor.get(page).text  # not verified yet
    early = _post(
        monitor, f"{page}/lock-form", {**form, "reason": REASON, "password": PASSWORD}, page
    )
    assert early.status_code == 409 and "not verified against source" in early.text  # type: ignore[attr-defined]
    services.sdv.verify(actors[Role.MONITOR], pid, **form)
    assert "Lock this form" in monitor.get(page).text
    assert "Lock this form" not in login(Role.NURSE).get(page).text
    wrong = _post(
        monitor, f"{page}/lock-form", {**form, "reason": REASON, "password": "nope-nope-nope"}, page
    )
    assert wrong.status_code == 422 and "password not accepted" in wrong.text  # type: ignore[attr-defined]
    assert f">{REASON}</textarea>" in wrong.text and "nope-nope-nope" not in wrong.text  # type: ignore[attr-defined]
    assert f'id="lock-consents-{consent.record_id}" open' in wrong.text  # type: ignore[attr-defined]
    done = _post(
        monitor, f"{page}/lock-form", {**form, "reason": REASON, "password": PASSWORD}, page
    )
    assert done.status_code == 303  # type: ignore[attr-defined]
    shown = monitor.get(page).text
    assert "Unlock this form" in shown and REASON in shown
    forged = monitor.post(
        f"{page}/unlock-form", data={**form, "reason": REASON, "password": PASSWORD}
    )
    assert forged.status_code == 403 and "Unlock this form" in monitor.get(page).text
    lifted = _post(
        login(Role.INVESTIGATOR),
        f"{page}/unlock-form",
        {**form, "reason": "consent date to be corrected", "password": PASSWORD},
        page,
    )
    assert lifted.status_code == 303 and "Unlock this form" not in monitor.get(page).text  # type: ignore[attr-defined]
    assert monitor.post(f"{page}/other-form", data={}).status_code in (403, 404)
