"""Request limits (issue 16 §1): body size per route class, form fields, JSON depth — refused
before the body is read in full."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from web_support import csrf_of, sqlite_only  # type: ignore[import-not-found]

from ketamine_ptsd.adapters.web.limits import RequestLimits, json_depth
from ketamine_ptsd.core.roles import Role

MIB = 1024 * 1024
CHUNK = 64 * 1024


def _drive(app, path: str, headers: list[tuple[bytes, bytes]], total: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Send ``total`` bytes in 64 KiB chunks straight into the ASGI app; (status, bytes the app
    pulled). Measures what the app consumes, not what a client buffered."""
    pulled = 0
    status: list[int] = []

    async def receive():  # type: ignore[no-untyped-def]
        nonlocal pulled
        if pulled >= total:
            return {"type": "http.disconnect"}
        pulled += CHUNK
        return {"type": "http.request", "body": b"a" * CHUNK, "more_body": pulled < total}

    async def send(message) -> None:  # type: ignore[no-untyped-def]
        if message["type"] == "http.response.start":
            status.append(message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }
    asyncio.run(app(scope, receive, send))
    return status[0], pulled


@sqlite_only
@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/v1/auth/login", b"application/json"),
        ("/login", b"application/x-www-form-urlencoded"),
        ("/api/v1/patients", b"application/json"),
    ],
)
def test_streamed_64_mib_body_without_content_length_is_cut_off(app, path, content_type) -> None:  # type: ignore[no-untyped-def]
    status, pulled = _drive(app, path, [(b"content-type", content_type)], 64 * MIB)
    assert status == 413
    assert pulled <= RequestLimits().body_limit(path) + CHUNK  # stopped at the limit


@sqlite_only
def test_lying_content_length_is_counted_not_trusted(app) -> None:  # type: ignore[no-untyped-def]
    headers = [(b"content-type", b"application/json"), (b"content-length", b"100")]
    status, pulled = _drive(app, "/api/v1/auth/login", headers, 64 * MIB)
    assert status == 413
    assert pulled <= 8 * 1024 + CHUNK


@sqlite_only
def test_declared_oversize_body_is_refused_before_reading(app) -> None:  # type: ignore[no-untyped-def]
    headers = [(b"content-type", b"application/json"), (b"content-length", b"314572800")]
    status, pulled = _drive(app, "/api/v1/auth/login", headers, 300 * MIB)
    assert status == 413
    assert pulled == 0


@sqlite_only
def test_oversize_login_over_http_is_413_with_a_clear_message(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(64):  # 4 MiB, chunked (no Content-Length)
            yield b"x" * CHUNK

    response = client.post(
        "/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "exceeds the limit of 8192 bytes" in response.json()["detail"]
    response = client.post("/api/v1/auth/login", content=b"{" + b" " * 20_000 + b"}")
    assert response.status_code == 413
    assert response.headers["x-content-type-options"] == "nosniff"  # headers still applied


@sqlite_only
def test_deeply_nested_json_is_refused_with_422(login) -> None:  # type: ignore[no-untyped-def]
    body = "[" * 5000 + "]" * 5000
    response = login(Role.INVESTIGATOR).post(
        "/api/v1/patients", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "nested deeper than 16" in response.json()["detail"]


def test_json_depth_skips_brackets_inside_strings() -> None:
    assert json_depth(json.dumps({"a": "[[[[{{{{", "b": [[1]]}).encode()) == 3
    assert json_depth(b'"\\"[["') == 0


@sqlite_only
def test_form_with_too_many_fields_is_413(login) -> None:  # type: ignore[no-untyped-def]
    client = login(Role.INVESTIGATOR)
    token = csrf_of(client.get("/patients").text)
    data = {f"f{i}": "1" for i in range(500)} | {"csrf_token": token}
    response = client.post("/patients", data=data)
    assert response.status_code == 413
    assert "Too many fields" in response.text


@sqlite_only
def test_oversize_form_field_on_the_sign_in_form_is_413(client: TestClient) -> None:
    page = client.get("/login")
    data = {"username": "x", "password": "p" * 6000, "csrf_token": csrf_of(page.text)}
    data["next"] = "/" + "a" * 3000
    response = client.post("/login", data=data)
    assert response.status_code == 413


@sqlite_only
def test_ordinary_requests_pass(login) -> None:  # type: ignore[no-untyped-def]
    client = login(Role.INVESTIGATOR)
    assert client.get("/api/v1/auth/me").status_code == 200
    assert client.get("/patients").status_code == 200
