"""Sign-in, sessions, CSRF, headers, throttling and error pages (issue 5, "What to build" §1)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from web_support import PASSWORD, csrf_of, sign_in, sqlite_only  # type: ignore[import-not-found]

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import FixedClock


@sqlite_only
def test_pages_redirect_to_login_without_a_session(client: TestClient) -> None:
    response = client.get("/patients", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/patients")


@sqlite_only
def test_session_cookie_is_httponly_and_samesite_strict(client: TestClient, actors) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "nurse", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    session = next(c for c in cookies if c.startswith("kp_session="))
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/" in session


@sqlite_only
def test_login_without_csrf_token_is_refused(client: TestClient, actors) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "nurse", "password": PASSWORD})
    assert response.status_code == 403
    assert "kp_session" not in client.cookies


def test_wrong_password_names_nothing_and_keeps_the_username(client: TestClient, actors) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "nurse", "password": "wrong-password", "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 401
    assert "Username or password not recognised" in response.text
    assert 'value="nurse"' in response.text
    assert "wrong-password" not in response.text


def test_state_changing_form_without_csrf_token_is_refused_and_changes_nothing(
    login, services, actors
) -> None:
    client = login(Role.INVESTIGATOR)
    response = client.post("/patients", data={"protocol_name": "rct", "site": "YAL"})
    assert response.status_code == 403
    assert "Nothing was changed" in response.text
    assert services.patients.list(actors[Role.INVESTIGATOR]) == []
    forged = client.post(
        "/patients", data={"protocol_name": "rct", "site": "YAL", "csrf_token": "0" * 64}
    )
    assert forged.status_code == 403
    assert services.patients.list(actors[Role.INVESTIGATOR]) == []


@sqlite_only
def test_api_write_with_cookie_needs_the_csrf_header(login) -> None:
    client = login(Role.OUTCOME_RATER)
    body = {"items": {"1": 2}}
    refused = client.post("/api/v1/instruments/madrs/score", json=body)
    assert refused.status_code == 403
    token = csrf_of(client.get("/").text)
    accepted = client.post(
        "/api/v1/instruments/madrs/score", json=body, headers={"X-CSRF-Token": token}
    )
    assert accepted.status_code == 200


@sqlite_only
def test_security_headers_and_no_store_on_pages(login) -> None:
    client = login(Role.NURSE)
    response = client.get("/patients")
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    assert "<script>" not in response.text  # no inline script anywhere
    static = client.get("/static/app.js")
    assert static.status_code == 200 and "no-store" not in static.headers["cache-control"]


def test_idle_session_times_out_and_is_revoked(login, clock: FixedClock, settings) -> None:
    client = login(Role.NURSE)
    assert client.get("/patients", follow_redirects=False).status_code == 200
    clock.advance(dt.timedelta(minutes=settings.idle_timeout_minutes + 1))
    response = client.get("/patients", follow_redirects=False)
    assert response.status_code == 303
    assert "expired=1" in response.headers["location"]
    clock.advance(dt.timedelta(minutes=-settings.idle_timeout_minutes))
    # the session was closed server-side: a fresh activity stamp does not bring it back
    assert client.get("/patients", follow_redirects=False).status_code == 303


@sqlite_only
def test_activity_keeps_the_session_alive(login, clock: FixedClock, settings) -> None:
    client = login(Role.NURSE)
    for _ in range(4):
        clock.advance(dt.timedelta(minutes=settings.idle_timeout_minutes - 5))
        assert client.get("/", follow_redirects=False).status_code == 200


def test_logout_revokes_the_session(login) -> None:
    client = login(Role.NURSE)
    token = csrf_of(client.get("/").text)
    old_cookie = client.cookies.get("kp_session")
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    client.cookies.set("kp_session", old_cookie)
    assert client.get("/", follow_redirects=False).status_code == 303
    api = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old_cookie}"})
    assert api.status_code == 401


@sqlite_only
def test_login_throttle_answers_429_after_repeated_failures(
    client: TestClient, actors, settings
) -> None:
    statuses = []
    for attempt in range(settings.login_failures_per_client + 1):
        page = client.get("/login")
        response = client.post(
            "/login",
            data={
                "username": f"nobody{attempt}",
                "password": "x" * 12,
                "csrf_token": csrf_of(page.text),
            },
        )
        statuses.append(response.status_code)
    assert statuses[:-1] == [401] * settings.login_failures_per_client
    assert statuses[-1] == 429
    # even the right password is refused while throttled
    page = client.get("/login")
    response = client.post(
        "/login", data={"username": "nurse", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 429


def test_account_locks_after_five_wrong_passwords(client: TestClient, actors) -> None:
    for _ in range(5):
        page = client.get("/login")
        client.post(
            "/login",
            data={
                "username": "nurse",
                "password": "wrong-password",
                "csrf_token": csrf_of(page.text),
            },
        )
    page = client.get("/login")
    response = client.post(
        "/login", data={"username": "nurse", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 401
    assert "locked" in response.text


@sqlite_only
def test_open_redirect_after_login_is_refused(client: TestClient, actors) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": "nurse",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


@sqlite_only
def test_unexpected_error_shows_a_generic_page_without_traceback(app, actors) -> None:
    @app.get("/boom-for-test")
    def _boom() -> None:
        raise RuntimeError("secret detail YAL-0001 ketamine")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        sign_in(test_client, "nurse")
        response = test_client.get("/boom-for-test")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "Traceback" not in response.text and "secret detail" not in response.text
    assert "YAL-0001" not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


@sqlite_only
def test_unknown_page_is_a_plain_404(login) -> None:
    client = login(Role.NURSE)
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "There is no page here" in response.text
