"""schemathesis against the OpenAPI schema (issue 5): no 5xx, invalid input refused.

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
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection
from web_support import add_role_users, enrol, make_services  # type: ignore[import-not-found]

from ketamine_ptsd.adapters.db.engine import open_database
from ketamine_ptsd.adapters.web.app import create_app
from ketamine_ptsd.adapters.web.config import WebSettings
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import FixedClock, SessionKind

TOKENS: dict[str, str] = {}
EXAMPLES = 4  # per operation and mode: bounded, derandomized (seeded) — seconds, not minutes


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path):  # type: ignore[no-untyped-def]
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
    yield schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    database.dispose()


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
