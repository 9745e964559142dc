"""Fixtures for the web app: the app factory over a migrated database (SQLite and PostgreSQL),
a fixed clock, cheap password hashing, one account per role, and signed-in clients."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from web_support import add_role_users, make_services, sign_in  # type: ignore[import-not-found]

from ketamine_ptsd.adapters.db.engine import Database, open_database
from ketamine_ptsd.adapters.web.app import create_app
from ketamine_ptsd.adapters.web.config import WebSettings
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, FixedClock, Services


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
