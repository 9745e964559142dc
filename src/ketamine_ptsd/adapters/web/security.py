"""Browser security: session cookie, CSRF tokens, idle timeout, login throttling, headers.

* **Session.** The service layer's opaque session token (``AuthService.login``) travels in an
  ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` behind HTTPS). Scripts on the page never
  see it; cross-site requests never carry it.
* **CSRF.** Every state-changing request made with the cookie must carry a token, in the form
  field ``csrf_token`` or the ``X-CSRF-Token`` header. The token is an HMAC of the session
  token's hash under the app's secret, so it needs no storage and dies with the session
  (OWASP CSRF Prevention Cheat Sheet, "signed double-submit cookie"). SameSite=Strict is the
  second line, not the only one. The login form gets a token bound to a pre-session cookie.
  Requests authenticated with ``Authorization: Bearer`` carry no ambient credential and need none.
* **Idle timeout.** A second cookie holds a signed "last active" stamp, re-issued on every page;
  a stamp older than the idle limit (or missing) closes the session. The clock is the services'
  injected clock, so tests can move time.
* **Headers.** A strict CSP (scripts and styles from this origin only — no inline script, so the
  page's JS lives in ``static/app.js``), ``frame-ancestors 'none'``, ``nosniff``, no referrer,
  and ``Cache-Control: no-store`` on everything except the static assets (every page may hold
  patient data).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
from collections import deque
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ACTIVE_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "PRELOGIN_COOKIE",
    "SESSION_COOKIE",
    "LoginThrottle",
    "SecurityHeadersMiddleware",
    "Signer",
]

SESSION_COOKIE = "kp_session"
ACTIVE_COOKIE = "kp_active"
PRELOGIN_COOKIE = "kp_pre"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class Signer:
    """HMAC-SHA256 tokens under the app's secret (CSRF tokens and the idle stamp)."""

    def __init__(self, secret_key: str, now: Callable[[], dt.datetime]) -> None:
        self._key = hashlib.sha256(("ketamine-ptsd web:" + secret_key).encode()).digest()
        self._now = now

    def _mac(self, purpose: str, message: str) -> str:
        return hmac.new(self._key, f"{purpose}:{message}".encode(), hashlib.sha256).hexdigest()

    def csrf_token(self, session_token: str) -> str:
        """The CSRF token of a session (or of a pre-login cookie value)."""
        return self._mac("csrf", hashlib.sha256(session_token.encode()).hexdigest())

    def csrf_ok(self, session_token: str | None, submitted: str | None) -> bool:
        if not session_token or not submitted:
            return False
        return hmac.compare_digest(self.csrf_token(session_token), submitted)

    def active_stamp(self, session_token: str) -> str:
        """``<unix seconds>.<mac>``: proof that the session was used at that moment."""
        seconds = int(self._now().timestamp())
        return f"{seconds}.{self._mac('active', f'{session_token}:{seconds}')}"

    def active_within(self, session_token: str, stamp: str | None, limit: dt.timedelta) -> bool:
        """True when ``stamp`` is genuine for this session and not older than ``limit``."""
        if not stamp or "." not in stamp:
            return False
        seconds_text, mac = stamp.split(".", 1)
        if not seconds_text.isdigit():
            return False
        expected = self._mac("active", f"{session_token}:{seconds_text}")
        if not hmac.compare_digest(expected, mac):
            return False
        age = self._now().timestamp() - int(seconds_text)
        return -60 <= age <= limit.total_seconds()

    @staticmethod
    def new_prelogin_value() -> str:
        return secrets.token_urlsafe(24)


class LoginThrottle:
    """Failed logins per client address in a sliding window (in memory, one process)."""

    def __init__(self, limit: int, window: dt.timedelta, now: Callable[[], dt.datetime]) -> None:
        self._limit = limit
        self._window = window
        self._now = now
        self._failures: dict[str, deque[dt.datetime]] = {}
        self._lock = threading.Lock()

    def _prune(self, client: str) -> deque[dt.datetime]:
        times = self._failures.setdefault(client, deque())
        cutoff = self._now() - self._window
        while times and times[0] <= cutoff:
            times.popleft()
        return times

    def blocked(self, client: str) -> bool:
        with self._lock:
            return len(self._prune(client)) >= self._limit

    def failed(self, client: str) -> None:
        with self._lock:
            self._prune(client).append(self._now())
            if len(self._failures) > 10_000:  # bound memory under a spray from many addresses
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response; no-store except for static assets."""

    def __init__(self, app: ASGIApp, static_prefix: str = "/static/") -> None:
        self.app = app
        self.static_prefix = static_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(self.static_prefix)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {h for h, _ in SECURITY_HEADERS}
                    and k.lower() not in (b"cache-control", b"pragma")
                ]
                headers.extend(SECURITY_HEADERS)
                if static:
                    headers.append((b"cache-control", b"public, max-age=3600"))
                else:
                    headers.append((b"cache-control", b"no-store"))
                    headers.append((b"pragma", b"no-cache"))
                state = scope.get("state") or {}
                for cookie in state.get("kp_set_cookies", ()):
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
