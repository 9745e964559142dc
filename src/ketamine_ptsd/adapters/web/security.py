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
* **Sign-in throttling.** :class:`LoginThrottle` backs off exponentially per key (the client
  address; the client address and typed username); :func:`client_address` believes
  ``X-Forwarded-For`` only from configured trusted proxies (docs/security.md).
* **Headers.** A strict CSP (scripts and styles from this origin only — no inline script, so the
  page's JS lives in ``static/app.js``), ``frame-ancestors 'none'``, ``nosniff``, no referrer,
  and ``Cache-Control: no-store`` on everything except the static assets (every page may hold
  patient data).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import secrets
import threading
from collections.abc import Callable, Sequence

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
    "client_address",
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
    """Failed logins per key with exponential back-off (in memory, one process).

    The first ``free`` failures of a key cost nothing; then each failure shuts the key out for
    ``base`` doubling per further failure, up to ``cap``. A key's count is forgotten ``cap``
    after its last failure, and on a success.
    """

    def __init__(
        self,
        free: int,
        base: dt.timedelta,
        cap: dt.timedelta,
        now: Callable[[], dt.datetime],
    ) -> None:
        self._free = free
        self._base = base
        self._cap = cap
        self._now = now
        self._failures: dict[str, tuple[int, dt.datetime]] = {}  # key -> (count, last failure)
        self._lock = threading.Lock()

    def _count(self, key: str, now: dt.datetime) -> tuple[int, dt.datetime | None]:
        count, last = self._failures.get(key, (0, None))
        if last is not None and now - last > self._cap:
            self._failures.pop(key, None)
            return 0, None
        return count, last

    def retry_after(self, key: str) -> int | None:
        """Seconds until ``key`` may try again, or None when it may try now."""
        with self._lock:
            now = self._now()
            count, last = self._count(key, now)
            if last is None or count < self._free:
                return None
            wait = min(self._cap, self._base * 2 ** min(count - self._free, 30))
            remaining = (last + wait - now).total_seconds()
            return max(1, int(remaining + 0.999)) if remaining > 0 else None

    def failed(self, key: str) -> None:
        with self._lock:
            now = self._now()
            count, _last = self._count(key, now)
            self._failures[key] = (count + 1, now)
            if len(self._failures) > 10_000:  # bound memory under a spray from many addresses
                for old in [k for k, (_, t) in self._failures.items() if now - t > self._cap]:
                    del self._failures[old]

    def forget(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def forget_matching(self, suffix: str) -> None:
        """Forget every key ending in ``suffix`` (an administrator's unlock of a username)."""
        with self._lock:
            for key in [k for k in self._failures if k.endswith(suffix)]:
                del self._failures[key]


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[str]) -> str:
    """The client's address: the TCP peer, unless the peer is a trusted proxy, then the
    right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy.

    ``X-Forwarded-For`` is written by whoever sends the request: it is believed only from the
    proxies named in ``WebSettings.trusted_proxies`` (addresses or networks), never otherwise.
    """
    networks = [ipaddress.ip_network(t, strict=False) for t in trusted]

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    if not peer:
        return "unknown"
    if not networks or not is_trusted(peer) or not forwarded_for:
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a garbled header: fall back to the proxy itself
    return peer


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
