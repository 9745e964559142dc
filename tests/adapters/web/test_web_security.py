"""Sign-in, sessions, CSRF, headers, throttling and error pages (issue 5, "What to build" §1)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from fastapi.testclient import TestClient
from web_support import PASSWORD, csrf_of, sign_in, sqlite_only  # type: ignore[import-not-found]

from ketamine_ptsd.adapters.web.app import create_app
from ketamine_ptsd.adapters.web.security import client_address
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import FixedClock, SessionKind


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


def _attempt(client: TestClient, username: str, password: str, **headers: str):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        headers=headers,
        follow_redirects=False,
    )


def _answer(response) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    match = re.search(r'<p class="error"[^>]*>(.*?)</p>', response.text, re.S)
    return response.status_code, (match.group(1).strip() if match else response.text)


@sqlite_only
def test_known_and_unknown_usernames_get_the_same_answers(app, client, actors) -> None:  # type: ignore[no-untyped-def]
    answers = {}
    for n, name in enumerate(("nurse", "nobody")):
        with TestClient(app, base_url="http://testserver", client=(f"10.1.1.{n}", 1)) as one:
            answers[name] = [_answer(_attempt(one, name, "wrong-password")) for _ in range(7)]
    assert answers["nurse"] == answers["nobody"]
    assert [status for status, _ in answers["nurse"]] == [401] * 5 + [429] * 2
    api = [
        client.post("/api/v1/auth/login", json={"username": name, "password": "wrong-password"})
        for name in ("pharmacist", "nobody2")
    ]
    assert api[0].status_code == api[1].status_code == 401
    assert api[0].json() == api[1].json()


@sqlite_only
def test_a_stranger_cannot_lock_a_user_out_for_long(client, app, actors, services, clock) -> None:  # type: ignore[no-untyped-def]
    failures = 0
    while failures < 13:  # a stranger guesses at the nurse's account from one address
        response = _attempt(client, "nurse", "guess-guess")
        if response.status_code == 429:  # and waits as told
            clock.advance(dt.timedelta(seconds=int(response.headers["retry-after"])))
        else:
            failures += 1
    stranger_wait = int(_attempt(client, "nurse", PASSWORD).headers["retry-after"])
    account_cap = services.context.security.backoff_max
    assert stranger_wait > account_cap.total_seconds()  # the stranger's address backs off long
    clock.advance(account_cap)  # the account's own back-off is short
    with TestClient(app, base_url="http://testserver", client=("10.9.9.9", 4000)) as nurse:
        assert _attempt(nurse, "nurse", PASSWORD).status_code == 303


@sqlite_only
def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(services, settings, actors) -> None:  # type: ignore[no-untyped-def]
    def spray(app) -> int:  # type: ignore[no-untyped-def]
        with TestClient(app, base_url="http://testserver", client=("10.0.0.1", 1)) as proxy:
            for n in range(settings.login_failures_per_client):
                _attempt(proxy, f"user{n}", "guess-guess", **{"x-forwarded-for": f"192.0.2.{n}"})
            return _attempt(
                proxy, "nurse", PASSWORD, **{"x-forwarded-for": "198.51.100.7"}
            ).status_code

    # not configured: the header is the client's word, so every request is the proxy's address
    assert spray(create_app(settings, services=services)) == 429
    trusted = dataclasses.replace(settings, trusted_proxies=("10.0.0.0/8",))
    assert spray(create_app(trusted, services=services)) == 303  # each client on its own


def test_client_address_takes_the_rightmost_untrusted_hop() -> None:
    trusted = ("10.0.0.0/8", "127.0.0.1")
    assert client_address("10.0.0.1", "1.2.3.4, 5.6.7.8, 10.0.0.2", trusted) == "5.6.7.8"
    assert client_address("9.9.9.9", "1.2.3.4", trusted) == "9.9.9.9"  # peer not a proxy
    assert client_address("10.0.0.1", "1.2.3.4", ()) == "10.0.0.1"  # nothing configured
    assert client_address("10.0.0.1", "not-an-ip", trusted) == "10.0.0.1"


@sqlite_only
def test_an_administrator_unlock_clears_the_web_throttle_too(client, login, actors) -> None:  # type: ignore[no-untyped-def]
    for _ in range(6):
        _attempt(client, "nurse", "guess-guess")
    assert _attempt(client, "nurse", PASSWORD).status_code == 429
    admin = login(Role.ADMINISTRATOR)
    page = admin.get("/admin/users")
    nurse = actors[Role.NURSE]
    response = admin.post(
        f"/admin/users/{nurse.user_id}",
        data={
            "change": "unlock",
            "reason": "phoned the helpdesk",
            "version": "1",
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert _attempt(client, "nurse", PASSWORD).status_code == 303


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


@sqlite_only
def test_a_live_browser_token_is_not_a_bearer_token(login) -> None:  # type: ignore[no-untyped-def]
    client = login(Role.NURSE)
    cookie = client.cookies.get("kp_session")
    assert client.get("/api/v1/auth/me").status_code == 200  # fine as the cookie
    bare = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {cookie}"})
    assert bare.status_code == 401


@sqlite_only
def test_bearer_tokens_idle_out_and_logout_revokes_them(client, actors, clock, services) -> None:  # type: ignore[no-untyped-def]
    def token() -> dict[str, str]:
        body = {"username": "nurse", "password": PASSWORD}
        answer = client.post("/api/v1/auth/login", json=body).json()
        return {"Authorization": f"Bearer {answer['token']}"}

    client.cookies.clear()
    idle = services.context.security.session_idle
    bearer = token()
    for _ in range(3):
        clock.advance(idle - dt.timedelta(minutes=2))
        assert client.get("/api/v1/auth/me", headers=bearer).status_code == 200
    clock.advance(idle + dt.timedelta(seconds=1))
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 401
    bearer = token()
    assert client.post("/api/v1/auth/logout", headers=bearer).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 401


@sqlite_only
def test_an_administrator_unlocks_through_the_api(client, actors, services) -> None:  # type: ignore[no-untyped-def]
    for _ in range(6):
        _attempt(client, "nurse", "guess-guess")
    assert _attempt(client, "nurse", PASSWORD).status_code == 429
    body = {"username": "administrator", "password": PASSWORD}
    token = client.post("/api/v1/auth/login", json=body).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    nurse = actors[Role.NURSE]
    unlock = {"expected_version": 1, "reason": "phoned the helpdesk"}
    response = client.post(f"/api/v1/users/{nurse.user_id}/unlock", json=unlock, headers=bearer)
    assert response.status_code == 200 and response.json()["locked_until"] is None
    assert _attempt(client, "nurse", PASSWORD).status_code == 303
    refused = client.post(
        f"/api/v1/users/{nurse.user_id}/unlock",
        json=unlock | {"expected_version": 2},
        headers={
            "Authorization": f"Bearer {services.auth.login('nurse', PASSWORD, kind=SessionKind.API).token}"
        },
    )
    assert refused.status_code == 403
