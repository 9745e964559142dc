"""The overview pages reuse the patient list briefly per role, and never across a write
(adapters/web/deps.py ``WebState.patient_list``; the load target in docs/benchmarks.md)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from conftest import csrf_of, enrol, sqlite_only
from ketamine_ptsd.adapters.web.app import create_app
from ketamine_ptsd.core.roles import Role


@pytest.fixture
def cached_app(settings, services):  # type: ignore[no-untyped-def]
    return create_app(dataclasses.replace(settings, list_cache_seconds=60), services=services)


def _counting(services, monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    original = services.patients.list

    def counted(actor, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(actor.role.value)
        return original(actor, **kwargs)

    monkeypatch.setattr(services.patients, "list", counted)
    return calls


@sqlite_only
def test_same_role_reuses_the_list_other_roles_do_not(
    cached_app, services, actors, monkeypatch
) -> None:
    from fastapi.testclient import TestClient

    from conftest import sign_in

    enrol(services, actors)
    calls = _counting(services, monkeypatch)
    nurses = [sign_in(TestClient(cached_app), "nurse") for _ in range(2)]
    investigator = sign_in(TestClient(cached_app), "investigator")
    for client in nurses:
        assert "YAL-0001" in client.get("/patients").text
    assert "YAL-0001" in investigator.get("/patients").text
    assert calls == ["nurse", "investigator"]


@sqlite_only
def test_a_write_through_the_app_drops_the_cached_list(
    cached_app, services, actors, monkeypatch
) -> None:
    from fastapi.testclient import TestClient

    from conftest import sign_in

    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="K1", slots_per_stratum=4
    )
    pid = enrol(services, actors)
    calls = _counting(services, monkeypatch)
    investigator = sign_in(TestClient(cached_app), "investigator")
    assert "study drug" not in investigator.get("/patients").text
    page = investigator.get(f"/patients/{pid}").text
    investigator.post(f"/patients/{pid}/allocate", data={"csrf_token": csrf_of(page)})
    listed = investigator.get("/patients").text
    assert "study drug" in listed  # the allocation shows at once
    assert calls == ["investigator", "investigator"]
    assert services.randomization.allocation(actors[Role.PHARMACIST], pid).infusion_date == (
        dt.date(2026, 3, 2)
    )
