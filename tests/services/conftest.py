"""Fixtures for service tests: an opened database, a fixed clock, cheap hashing, one user per role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from service_support import PASSWORD, make_context  # type: ignore[import-not-found]

from ketamine_ptsd.adapters.db.engine import Database, open_database
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, FixedClock, Services


@pytest.fixture
def clock(start_time: dt.datetime) -> FixedClock:
    return FixedClock(start_time)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def services(db: Database, clock: FixedClock) -> Services:
    return Services(make_context(db, clock))


@pytest.fixture
def actors(services: Services) -> dict[Role, Actor]:
    """One account per role (username = role value), all with :data:`PASSWORD`."""
    admin = Actor.system("test-setup")
    result = {}
    for role in Role:
        view = services.users.add(
            admin,
            username=role.value.replace("_", "-"),
            role=role.value,
            password=PASSWORD,
            full_name=f"Test {role.value}",
        )
        result[role] = Actor(view.id, view.username, role)
    return result


@pytest.fixture
def enrol(services: Services, actors: dict[Role, Actor]):  # type: ignore[no-untyped-def]
    """``enrol(protocol_name="rct", stratum=None) -> patient id`` (see :func:`enrol_eligible`)."""

    def _enrol(protocol_name: str = "rct", stratum: str | None = None) -> int:
        return enrol_eligible(services, actors, protocol_name=protocol_name, stratum=stratum)

    return _enrol


def enrol_eligible(
    services: Services,
    actors: dict[Role, Actor],
    *,
    protocol_name: str = "rct",
    stratum: str | None = None,
) -> int:
    """Register, consent and pass screening; return the patient id (ready for allocation)."""
    from workflow_support import screen_eligible  # type: ignore[import-not-found]

    from ketamine_ptsd.services.patients import CLINIC_CONSENT_TOPICS, ConsentInput

    investigator = actors[Role.INVESTIGATOR]
    actor = investigator if protocol_name == "rct" else actors[Role.CLINICIAN]
    patient = services.patients.register(
        actor, protocol_name=protocol_name, site="YAL", stratum=stratum
    )
    services.patients.record_consent(
        actor,
        patient.id,
        ConsentInput(
            "v1", dt.date(2026, 3, 1), True, "Dr Independent", None, CLINIC_CONSENT_TOPICS
        ),
    )
    screen_eligible(services, actor, patient.id, protocol_name)
    return patient.id
