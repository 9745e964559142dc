"""The site canary (issue 17): a user of site YAL gets "not found" — never data — for a BOS
patient through the pages and the API, and lists show only YAL."""

from __future__ import annotations

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
