"""Fixtures for the web app: the app factory over a migrated database (SQLite and PostgreSQL),
a fixed clock, cheap password hashing, one account per role, and signed-in clients."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from ketamine_ptsd.adapters.db.engine import Database, open_database
from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.adapters.web.app import create_app
from ketamine_ptsd.adapters.web.config import WebSettings
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, FixedClock, ServiceContext, Services
from ketamine_ptsd.services.patients import CLINIC_CONSENT_TOPICS, ConsentInput

PASSWORD = "correct horse battery"
#: For route tests whose PostgreSQL variant adds nothing the module's first test does not cover
#: (keeps the web suite inside its time budget on a 2-core runner).
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_services(db: Database, clock: FixedClock) -> Services:
    return Services(
        ServiceContext(
            session_factory=db.session_factory,
            protocols=load_protocol,
            clock=clock,
            password_hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
            seed_source=lambda: 20260302,
        )
    )


def add_role_users(services: Services) -> dict[Role, Actor]:
    """One account per role, username = role with '-' (e.g. ``outcome-rater``)."""
    admin = Actor.system("test-setup")
    actors = {}
    for role in Role:
        view = services.users.add(
            admin,
            username=role.value.replace("_", "-"),
            role=role.value,
            password=PASSWORD,
            full_name=f"Test {role.value}",
        )
        actors[role] = Actor(view.id, view.username, role)
    return actors


def enrol(services: Services, actors: dict[Role, Actor], protocol_name: str = "rct") -> int:
    """Register, consent and pass screening (PROTOCOL.md §1); returns the patient id."""
    actor = actors[Role.INVESTIGATOR] if protocol_name == "rct" else actors[Role.CLINICIAN]
    patient = services.patients.register(actor, protocol_name=protocol_name, site="YAL")
    services.patients.record_consent(
        actor,
        patient.id,
        ConsentInput(
            "v1.0", dt.date(2026, 3, 1), True, "Dr Independent", None, CLINIC_CONSENT_TOPICS
        ),
    )
    services.patients.record_screening_outcome(
        actor, patient.id, outcome="eligible", decided_on=dt.date(2026, 3, 1)
    )
    return patient.id


@pytest.fixture
def clock(start_time: dt.datetime) -> FixedClock:
    return FixedClock(start_time)


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = open_database(db_url)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def services(database: Database, clock: FixedClock) -> Services:
    return make_services(database, clock)


@pytest.fixture
def actors(services: Services) -> dict[Role, Actor]:
    return add_role_users(services)


@pytest.fixture
def settings(db_url: str) -> WebSettings:
    return WebSettings(
        database_url=db_url,
        secret_key="test-secret",
        login_failures_per_client=8,
    )


@pytest.fixture
def app(settings: WebSettings, services: Services):  # type: ignore[no-untyped-def]
    return create_app(settings, services=services)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def login(app, actors) -> Callable[[Role], TestClient]:  # type: ignore[no-untyped-def]
    """``login(Role.NURSE)`` → a new client signed in as that role."""
    clients: list[TestClient] = []

    def _login(role: Role) -> TestClient:
        test_client = TestClient(app, base_url="http://testserver")
        clients.append(test_client)
        return sign_in(test_client, role.value.replace("_", "-"))

    yield _login
    for c in clients:
        c.close()
