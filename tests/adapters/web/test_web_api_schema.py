"""schemathesis against the OpenAPI schema (issue 5): no 5xx, invalid input refused; and the web
pages' path ids (issue 16 §2), from an OpenAPI document of the pages' GET routes.

Every operation of ``/api/v1`` is called with generated valid and invalid bodies, paths and
queries, signed in as the investigator (the broadest clinical role); a bounded number of
examples per operation keeps the run to seconds. Checks: no server error, and data that does
not match the schema is refused with a 4xx (``negative_data_rejection``).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import schemathesis
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection
from web_support import (  # type: ignore[import-not-found]
    add_role_users,
    enrol,
    make_services,
    sign_in,
)

from ketamine_ptsd.adapters.db.engine import open_database
from ketamine_ptsd.adapters.web.app import create_app
from ketamine_ptsd.adapters.web.config import WebSettings
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import FixedClock, SessionKind

TOKENS: dict[str, str] = {}
EXAMPLES = 4  # per operation and mode: bounded, derandomized (seeded) — seconds, not minutes


@pytest.fixture(scope="module")
def record_app(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path):  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("schemathesis") / "record.sqlite"
    shutil.copyfile(_sqlite_template, path)
    url = f"sqlite:///{path}"
    database = open_database(url)
    services = make_services(database, FixedClock(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)))
    actors = add_role_users(services)
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="S1", slots_per_stratum=4
    )
    pid = enrol(services, actors)
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
    )
    TOKENS["investigator"] = services.auth.login(
        "investigator", "correct horse battery", kind=SessionKind.API
    ).token
    app = create_app(WebSettings(database_url=url, secret_key="schema"), services=services)
    with TestClient(app, base_url="http://testserver") as browser:
        sign_in(browser, "investigator")
        TOKENS["cookie"] = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    yield app
    database.dispose()


@pytest.fixture(scope="module")
def api_schema(record_app):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", record_app)


@pytest.fixture(scope="module")
def web_schema(record_app):  # type: ignore[no-untyped-def]
    """The web pages' GET routes with path parameters, as an OpenAPI document of their own (the
    pages are left out of the API's schema), served on a test-only path."""
    routes = [
        context.original_route
        for context in iter_route_contexts(record_app.routes)
        if isinstance(context.original_route, APIRoute)
        and not (context.path or "").startswith("/api/")
        and "{" in (context.path or "")
        and "GET" in context.original_route.methods
    ]
    document = get_openapi(title="web pages", version="1", routes=routes)
    assert len(document["paths"]) >= 6
    record_app.get("/test-only/web-openapi.json", include_in_schema=False)(lambda: document)
    return schemathesis.openapi.from_asgi("/test-only/web-openapi.json", record_app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_has_no_server_errors_and_refuses_invalid_input(api_schema, mode) -> None:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {TOKENS['investigator']}"}
    checks = [not_a_server_error] + (
        [negative_data_rejection] if mode is GenerationMode.NEGATIVE else []
    )
    tried = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v1/auth/logout":
            continue  # would revoke the token every other operation uses

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=headers, checks=checks)

        try:
            call()
        except Unsatisfiable:
            # an operation without parameters or body has no invalid form to generate
            assert mode is GenerationMode.NEGATIVE, operation.path
            continue
        tried += 1
    assert tried >= (30 if mode is GenerationMode.POSITIVE else 20)  # not a silent empty run


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_web_pages_have_no_server_errors_for_any_path_id(web_schema, mode) -> None:  # type: ignore[no-untyped-def]
    """Ids (and other path parameters) of the pages, generated from their declared types and
    bounds, with the investigator's session cookie: no 5xx."""
    headers = {"cookie": TOKENS["cookie"]}
    tried = 0
    for result in web_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(headers=headers, allow_redirects=False)
            assert response.status_code < 500, (case.path, case.path_parameters)

        try:
            call()
        except Unsatisfiable:  # a free-text path parameter has no invalid form
            assert mode is GenerationMode.NEGATIVE, operation.path
            continue
        tried += 1
    assert tried >= 6
