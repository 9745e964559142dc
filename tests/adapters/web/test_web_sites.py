"""The site canary (issue 17): a user of site YAL gets "not found" — never data — for a BOS
patient through the pages and the API, and lists show only YAL."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from web_support import PASSWORD  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, Services


def test_a_site_nurse_sees_no_other_sites_patient(
    login, client: TestClient, services: Services, actors
) -> None:  # type: ignore[no-untyped-def]
    admin = Actor.system("test-admin")
    services.sites.add(admin, code="YAL", name="Yale", time_zone="America/New_York")
    services.sites.add(admin, code="BOS", name="Boston", time_zone="America/New_York")
    md = actors[Role.INVESTIGATOR]
    yal = services.patients.register(md, protocol_name="rct", site="YAL")
    bos = services.patients.register(md, protocol_name="rct", site="BOS")
    services.sites.add_member(admin, username="nurse", site="YAL")
    nurse = login(Role.NURSE)
    listed = nurse.get("/patients")
    assert yal.study_id in listed.text and bos.study_id not in listed.text
    for path in (
        f"/patients/{bos.id}",
        f"/patients/{bos.id}/infusion/1",
        f"/patients/{bos.id}/monitoring",
        f"/patients/{bos.id}/screening-visit",
    ):
        page = nurse.get(path)
        assert page.status_code in (403, 404), path
        assert bos.study_id not in page.text, path
    token = client.post(
        "/api/v1/auth/login", json={"username": "nurse", "password": PASSWORD}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    api = client.get("/api/v1/patients", headers=headers).json()
    assert [p["study_id"] for p in api] == [yal.study_id]
    one = client.get(f"/api/v1/patients/{bos.id}", headers=headers)
    assert one.status_code == 404 and bos.study_id not in one.text
    # the central investigator (no membership) still sees both
    central = login(Role.INVESTIGATOR).get("/patients").text
    assert yal.study_id in central and bos.study_id in central


# --- the site canary over every route and export (issue 17) -----------------------------------

#: The roles whose users work at a site (the administrator stays central: it manages the sites).
SITE_ROLES = tuple(r for r in Role if r is not Role.ADMINISTRATOR)
#: Path parameters that name one patient's record.
RECORD_PARAMS = frozenset({"patient_id", "query_id", "assessment_id", "event_id", "booking_id"})
#: The other path parameters, filled with a value that exists.
OTHER_VALUES = {
    "number": "1",
    "instrument_id": "caps5_past_week",
    "step": "answer",
    "alert_id": "1",
}


@pytest.fixture
def two_sites(services: Services, actors, clock):  # type: ignore[no-untyped-def]
    """A YAL and a BOS patient, each with infusion 1 given (a late reading, its automatic
    queries, an adverse event at BOS), a verified BOS consent, then every non-administrator
    account made a member of YAL only."""
    from web_support import enrol  # type: ignore[import-not-found]

    from conduct_support import unchecked_reading  # type: ignore[import-not-found]
    from ketamine_ptsd.services.infusions import AdverseEventInput

    admin = Actor.system("test-admin")
    services.sites.add(admin, code="YAL", name="Yale", time_zone="America/New_York")
    services.sites.add(admin, code="BOS", name="Boston", time_zone="America/New_York")
    yal = enrol(services, actors, site="YAL")
    bos = enrol(services, actors, site="BOS")
    unchecked_reading(services, actors, clock, bos)
    unchecked_reading(services, actors, clock, yal, new_list=False)
    monitor, md = actors[Role.MONITOR], actors[Role.INVESTIGATOR]
    services.edit_checks.run(monitor)
    event = services.infusions.record_adverse_event(
        md,
        bos,
        AdverseEventInput(
            "nausea", clock.now().date(), False, "mild", "possible", "none", "recovered", 1
        ),
    )
    [consent] = [i for i in services.sdv.items(monitor, bos) if i.table_name == "consents"]
    services.sdv.verify(monitor, bos, table_name="consents", record_id=consent.record_id)
    booking = services.bookings.book(  # a BOS booking (issue 13) this week, on the lists
        md, bos, kind="infusion", number=2, day=clock.now().date() + dt.timedelta(days=2),
        start=dt.time(9, 0), minutes=120, room="Room 2", nurse_id=actors[Role.NURSE].user_id,
    )  # fmt: skip
    ids = {
        "booking_id": booking.id,
        "patient_id": bos,
        "query_id": services.queries.list(monitor, patient_id=bos)[0].id,
        "assessment_id": services.assessments.list(actors[Role.OUTCOME_RATER], bos)[0].id,
        "event_id": event.id,
    }
    for role in SITE_ROLES:
        services.sites.add_member(admin, username=role.value.replace("_", "-"), site="YAL")
    study = {p.id: p.study_id for p in services.patients.list(md)}
    return {"yal": study[yal], "bos": study[bos], "ids": ids}


def _walk(app):  # type: ignore[no-untyped-def]
    """(method, path template, path parameter names) of every route of the app."""
    import re

    from fastapi.routing import APIRoute, iter_route_contexts

    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path
        if not isinstance(route, APIRoute) or not path:
            continue
        names = frozenset(re.findall(r"{(\w+)}", path))
        for method in sorted(route.methods - {"HEAD"}):
            yield method, path, names


def _clients(client: TestClient, login, role: Role):  # type: ignore[no-untyped-def]
    from web_support import csrf_of  # type: ignore[import-not-found]

    web = login(role)
    token = csrf_of(web.get("/login").text) if "csrf" in web.get("/login").text else ""
    page = web.get("/")
    if "csrf_token" in page.text:
        token = csrf_of(page.text)
    bearer = client.post(
        "/api/v1/auth/login",
        json={"username": role.value.replace("_", "-"), "password": PASSWORD},
    ).json()["token"]
    return web, token, {"Authorization": f"Bearer {bearer}"}


def test_every_route_answers_a_sites_user_403_or_404_for_another_sites_record(
    app, client: TestClient, login, two_sites
) -> None:  # type: ignore[no-untyped-def]
    bos_id = two_sites["bos"]
    routes = [(m, p, n) for m, p, n in _walk(app) if n & RECORD_PARAMS]
    assert len(routes) >= 60, "the walk must see the app's record routes"
    leaks = []
    for role in SITE_ROLES:
        web, token, bearer = _clients(client, login, role)
        for method, template, names in routes:
            path = template
            for name in names:
                value = two_sites["ids"].get(name, OTHER_VALUES.get(name, "1"))
                path = path.replace("{" + name + "}", str(value))
            if template.startswith("/api/"):
                response = web.request(method, path, headers=bearer, json={})
            else:
                data = {"csrf_token": token} if method == "POST" else None
                response = web.request(method, path, data=data, follow_redirects=False)
            if response.status_code not in (403, 404, 422) or bos_id in response.text:
                leaks.append(f"{role.value} {method} {path}: {response.status_code}")
    assert not leaks, leaks


def test_no_list_page_api_list_or_export_of_the_web_names_another_sites_patient(
    app, client: TestClient, login, two_sites
) -> None:  # type: ignore[no-untyped-def]
    yal_id, bos_id = two_sites["yal"], two_sites["bos"]
    lists = [p for m, p, n in _walk(app) if m == "GET" and not n and not p.startswith("/login")]
    for expected in ("/pharmacy/accountability.csv", "/api/v1/drug-accountability.csv"):
        assert expected in lists
    leaks, seen_own = [], set()
    for role in SITE_ROLES:
        web, _, bearer = _clients(client, login, role)
        for path in lists:
            response = web.get(path, headers=bearer if path.startswith("/api/") else None)
            if bos_id in response.text:
                leaks.append(f"{role.value} GET {path}")
            if response.status_code == 200 and yal_id in response.text:
                seen_own.add(path)
    assert not leaks, leaks
    # not vacuous: the same lists and exports name the user's own site's patient
    for path in (
        "/patients",
        "/queries",
        "/pharmacy/accountability.csv",
        "/api/v1/drug-accountability.csv",
        "/api/v1/queries",
        "/api/v1/sdv/progress",
    ):
        assert path in seen_own, path


def test_a_sites_statistician_exports_only_their_sites_patients_in_every_format(
    services: Services, two_sites
) -> None:  # type: ignore[no-untyped-def]
    import io

    import pandas as pd

    from ketamine_ptsd.adapters.interop import CONVERTERS
    from ketamine_ptsd.services.interop_exports import InteropExportService

    yal_id, bos_id = two_sites["yal"], two_sites["bos"]
    statistician = services.auth.login("statistician", PASSWORD).actor
    assert statistician.sites == frozenset({"YAL"})
    interop = InteropExportService(services.context, services.datasets, services.audit, CONVERTERS)
    for fmt in ("csv", "parquet", "sdtm", "adam", "odm", "redcap", "fhir"):
        if fmt in ("csv", "parquet"):
            files = services.exports.analysis_dataset(statistician, protocol_name="rct", fmt=fmt)
        else:
            files = interop.export(statistician, protocol_name="rct", fmt=fmt)
        texts = []
        for f in files:
            if f.name.endswith(".parquet"):
                frame = pd.read_parquet(io.BytesIO(f.content))
                texts.append(frame.astype(str).to_csv(index=False))
            else:
                texts.append(f.content.decode("latin-1"))
        everything = "\n".join(texts)
        assert bos_id not in everything, fmt
        assert yal_id in everything, fmt


def test_the_command_line_export_is_scoped_to_the_users_sites(
    db_url: str, services: Services, two_sites, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from ketamine_ptsd.adapters.cli.app import build_app

    if not db_url.startswith("sqlite"):
        pytest.skip("the command line reads the SQLite file of this test")
    for fmt in ("csv", "odm", "redcap", "fhir"):
        out = tmp_path / fmt
        result = CliRunner().invoke(
            build_app(),
            ["export", "--db", db_url, "--format", fmt, "--out", str(out), "--user",
             "statistician", "--password-stdin"],
            input=PASSWORD + "\n",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        written = "\n".join(p.read_bytes().decode("latin-1") for p in out.iterdir())
        assert two_sites["bos"] not in written and two_sites["yal"] in written, fmt


def test_the_trial_dashboard_built_for_the_whole_trial_is_not_served_to_a_sites_user(
    app, services: Services, login, two_sites
) -> None:  # type: ignore[no-untyped-def]
    from web_support import sign_in  # type: ignore[import-not-found]

    services.users.add(
        Actor.system("test-admin"),
        username="central-md",
        role="investigator",
        password=PASSWORD,
        full_name="Central Investigator",
    )
    site_md = login(Role.INVESTIGATOR)  # signed in first: sign-ins are written to the record
    with TestClient(app, base_url="http://testserver") as central:
        board = sign_in(central, "central-md").get("/dashboard").text
        assert "<td>BOS</td>" in board and "<td>YAL</td>" in board
    mine = site_md.get("/dashboard").text  # the same role and record version as the board above
    assert "<td>YAL</td>" in mine and "<td>BOS</td>" not in mine
    assert two_sites["bos"] not in mine


def test_a_user_with_a_role_per_site_switches_site_in_the_header_and_at_the_api(
    app, client: TestClient, services: Services, actors
) -> None:  # type: ignore[no-untyped-def]
    from web_support import csrf_of, enrol, sign_in  # type: ignore[import-not-found]

    admin = Actor.system("test-admin")
    services.sites.add(admin, code="YAL", name="Yale", time_zone="America/New_York")
    services.sites.add(admin, code="BOS", name="Boston", time_zone="America/New_York")
    yal = services.patients.get(actors[Role.INVESTIGATOR], enrol(services, actors, site="YAL"))
    bos = services.patients.get(actors[Role.INVESTIGATOR], enrol(services, actors, site="BOS"))
    services.sites.add_member(admin, username="nurse", site="YAL", role="investigator")
    services.sites.add_member(admin, username="nurse", site="BOS")
    with TestClient(app, base_url="http://testserver") as web:
        home = sign_in(web, "nurse").get("/patients").text  # the first site: BOS, as a nurse
        assert 'id="site-switch"' in home and "nurse · nurse" in home
        assert bos.study_id in home and yal.study_id not in home
        switched = web.post(
            "/session/site",
            data={"csrf_token": csrf_of(home), "site": "YAL"},
            follow_redirects=False,
        )
        assert switched.status_code == 303
        now = web.get("/patients").text
        assert "nurse · investigator" in now
        assert yal.study_id in now and bos.study_id not in now
        elsewhere = web.post("/session/site", data={"csrf_token": csrf_of(now), "site": "NYC"})
        assert elsewhere.status_code == 404
    token = client.post(
        "/api/v1/auth/login", json={"username": "nurse", "password": PASSWORD, "site": "YAL"}
    ).json()["token"]
    listed = client.get("/api/v1/patients", headers={"Authorization": f"Bearer {token}"}).json()
    assert [p["study_id"] for p in listed] == [yal.study_id]
