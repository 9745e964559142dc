"""Helpers shared by the web tests: the service stack over a test database, one account per
role, an eligible patient, the CSRF token of a page, signing in.

A module of its own, imported as ``from web_support import ...``: ``conftest`` is not importable
by name (tests/services has a conftest too, and whichever is imported first would win), so
fixtures stay in conftest.py and everything a test imports lives here — as tests/services does
with service_support.py.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from bedside_support import TEST_IDENTITY  # type: ignore[import-not-found]
from ketamine_ptsd.adapters.db.engine import Database
from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, FixedClock, ServiceContext, Services
from ketamine_ptsd.services.patients import CLINIC_CONSENT_TOPICS, ConsentInput, IdentityInput
from screening_support import screen_eligible  # type: ignore[import-not-found]

__all__ = [
    "CSRF_RE",
    "PASSWORD",
    "add_role_users",
    "csrf_of",
    "enrol",
    "make_services",
    "sign_in",
    "sqlite_only",
]

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


def enrol(
    services: Services, actors: dict[Role, Actor], protocol_name: str = "rct", site: str = "YAL"
) -> int:
    """Register at ``site``, consent and pass screening (PROTOCOL.md §1); returns the patient
    id."""
    actor = actors[Role.INVESTIGATOR] if protocol_name == "rct" else actors[Role.CLINICIAN]
    family, given, born = TEST_IDENTITY  # two identifiers for the bedside (PROTOCOL.md §12)
    patient = services.patients.register(
        actor,
        protocol_name=protocol_name,
        site=site,
        identity=IdentityInput(family, given, born),
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
