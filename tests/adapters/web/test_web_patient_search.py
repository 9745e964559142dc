"""The patient list searched, filtered, sorted and paged, on the page and through the API
(issue 13; services/patient_search.py)."""

from __future__ import annotations

import re

from web_support import PASSWORD, sqlite_only  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services.patients import IdentityInput


def _clinic(services, actors, n: int = 55) -> None:  # type: ignore[no-untyped-def]
    md = actors[Role.INVESTIGATOR]
    for i in range(n):
        patient = services.patients.register(md, protocol_name="rct", site="YAL")
        if i == 7:
            services.patients.set_identity(
                md, patient.id, IdentityInput("Okafor", "Ada", None), expected_version=None
            )


def _ids(page: str) -> list[str]:
    return re.findall(r'<a href="/patients/\d+">([A-Z]+-\d{4})</a>', page)


@sqlite_only
def test_the_list_pages_and_sorts_and_finds_a_name(login, services, actors) -> None:  # type: ignore[no-untyped-def]
    _clinic(services, actors)
    md = login(Role.INVESTIGATOR)
    page = md.get("/patients").text
    assert "55 patients · page 1 of 2" in page and len(_ids(page)) == 50
    assert 'rel="next"' in page and 'rel="prev"' not in page
    second = md.get("/patients?page=2").text
    assert _ids(second) == [f"YAL-{i:04d}" for i in range(51, 56)]
    reversed_ = md.get("/patients?sort=-study_id").text
    assert _ids(reversed_)[0] == "YAL-0055" and 'aria-sort="descending"' in reversed_
    found = md.get("/patients?q=okafor").text
    assert _ids(found) == ["YAL-0008"] and "1 patient found" in found
    assert 'placeholder="study id or name"' in found
    bad = md.get("/patients?sort=name").text  # a hand-edited address
    assert 'id="search-error"' in bad and "sort:" in bad and len(_ids(bad)) == 50


@sqlite_only
def test_a_role_that_may_not_read_names_never_finds_by_name(login, services, actors) -> None:  # type: ignore[no-untyped-def]
    _clinic(services, actors, n=3)
    rater = login(Role.SAFETY_RATER)
    page = rater.get("/patients?q=okafor").text
    assert _ids(page) == [] and "No patient matches." in page
    assert 'placeholder="study id"' in page
    assert _ids(rater.get("/patients?q=0002").text) == ["YAL-0002"]


@sqlite_only
def test_the_api_filters_pages_and_counts(client, services, actors) -> None:  # type: ignore[no-untyped-def]
    _clinic(services, actors, n=12)
    token = client.post(
        "/api/v1/auth/login", json={"username": "investigator", "password": PASSWORD}
    ).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    everyone = client.get("/api/v1/patients", headers=auth)
    assert everyone.status_code == 200 and len(everyone.json()) == 12  # no paging asked: all
    assert everyone.headers["X-Total-Count"] == "12"
    paged = client.get("/api/v1/patients", headers=auth, params={"per_page": 5, "page": 3})
    assert [p["study_id"] for p in paged.json()] == ["YAL-0011", "YAL-0012"]
    assert paged.headers["X-Total-Count"] == "12"
    named = client.get("/api/v1/patients", headers=auth, params={"q": "Ada Okafor"})
    assert [p["study_id"] for p in named.json()] == ["YAL-0008"]
    for params, field in (({"sort": "name"}, "sort"), ({"status": "cured"}, "status")):
        refused = client.get("/api/v1/patients", headers=auth, params=params)
        assert refused.status_code == 422 and refused.json()["detail"].startswith(f"{field}:")
    assert client.get("/api/v1/patients", headers=auth, params={"per_page": 0}).status_code == 422
