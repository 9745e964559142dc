"""Ids beyond the database's integer range (issue 16 §2): every route of the app, called with
huge, negative and zero ids, answers 404 or 422 — never a 5xx — on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from web_support import PASSWORD, csrf_of  # type: ignore[import-not-found]

from ketamine_ptsd.adapters.web.params import DB_INT_MAX, form_int
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import SessionKind, ValidationFailed

#: past SQLite's 64-bit range, past PostgreSQL's 32-bit range, the largest valid, negative, zero
IDS = (2**63, DB_INT_MAX + 1, DB_INT_MAX, -1, 0)
PARAM = re.compile(r"{(\w+)}")


def _routes(app) -> list[tuple[str, str, dict[str, type]]]:  # type: ignore[no-untyped-def]
    """(method, path, {parameter: annotation type}) of every route with an integer path
    parameter."""
    found = []
    for context in iter_route_contexts(app.routes):  # through included routers, with prefixes
        route, path = context.original_route, context.path
        if not isinstance(route, APIRoute) or not path or not PARAM.search(path):
            continue
        kinds = {p.name: p.field_info.annotation for p in route.dependant.path_params}
        if int not in kinds.values():
            continue
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, path, kinds))
    return found


def test_every_route_refuses_ids_beyond_the_database_range(app, login, services) -> None:  # type: ignore[no-untyped-def]
    web = {
        Role.INVESTIGATOR: login(Role.INVESTIGATOR),
        Role.ADMINISTRATOR: login(Role.ADMINISTRATOR),
    }
    tokens = {
        role: csrf_of(c.get("/patients" if role is Role.INVESTIGATOR else "/admin/users").text)
        for role, c in web.items()
    }
    bearer = {
        "Authorization": f"Bearer {services.auth.login('investigator', PASSWORD, kind=SessionKind.API).token}"
    }
    routes = _routes(app)
    assert len(routes) >= 40, "the walk must see the app's routes"
    failures = []
    for method, template, kinds in routes:
        for value in IDS:
            path = template
            for name, kind in kinds.items():
                path = path.replace("{" + name + "}", str(value) if kind is int else "caps5")
            if template.startswith("/api/"):
                client, headers = web[Role.INVESTIGATOR], bearer
                response = client.request(method, path, headers=headers, json={})
            else:
                role = Role.ADMINISTRATOR if template.startswith("/admin") else Role.INVESTIGATOR
                client = web[role]
                data = {"csrf_token": tokens[role]} if method == "POST" else None
                response = client.request(method, path, data=data, follow_redirects=False)
            if response.status_code >= 500:
                failures.append(f"{method} {path}: {response.status_code}")
            elif value != DB_INT_MAX and response.status_code not in (404, 422):
                failures.append(f"{method} {path}: {response.status_code}, not 404/422")
    assert not failures, failures


def test_form_int_names_the_field_and_bounds_the_value() -> None:
    assert form_int(" 42 ", "version", minimum=1) == 42
    for bad in ("2147483648", "-1", "1e3", "9" * 5000, ""):
        with pytest.raises(ValidationFailed) as caught:
            form_int(bad, "version", minimum=1)
        assert caught.value.field == "version"


def test_every_integer_path_parameter_is_bounded(app) -> None:  # type: ignore[no-untyped-def]
    """A new route with a plain ``int`` id fails here: use ``params.DbId`` (or another bounded
    type) so the database never sees an out-of-range integer."""
    unbounded = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        for param in route.dependant.path_params + route.dependant.query_params:
            if param.field_info.annotation is not int:
                continue
            bounds = {type(m).__name__ for m in param.field_info.metadata}
            if not {"Ge", "Le"} <= bounds:
                unbounded.append(f"{context.path} {param.name}")
    assert not unbounded, unbounded
