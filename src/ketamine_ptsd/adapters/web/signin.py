"""One sign-in attempt, shared by the sign-in page and ``POST /api/v1/auth/login``.

The answer never tells an unknown username from a known one: a wrong password, an unknown
username, an inactive account and the service's per-account back-off all give the same 401 and
text after one Argon2 verification (:class:`~ketamine_ptsd.services.AuthService`); the web
layer's throttles key on the client address and on the typed username whether or not it
exists, so their 429 is the same for both too.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from ketamine_ptsd.services import AuthenticationFailed, SessionKind
from ketamine_ptsd.services.auth import LoginResult

from .deps import WebState
from .security import client_address

__all__ = ["NOT_RECOGNISED", "SignInRefused", "account_key", "sign_in"]

NOT_RECOGNISED = (
    "Username or password not recognised. After repeated failures sign-in is slowed down for a "
    "while; if you are sure of your password, wait a minute and try again."
)


@dataclass(frozen=True)
class SignInRefused:
    """Why a sign-in was refused: the HTTP status, the text to show, when to retry."""

    status: int
    message: str
    retry_after: int | None = None


def account_key(client: str, username: str) -> str:
    """The account throttle's key: the client address and the (normalised) username."""
    return f"{client}|{username}"


def sign_in(
    request: Request,
    state: WebState,
    username: str,
    password: str,
    kind: SessionKind,
    site: str | None = None,
) -> LoginResult | SignInRefused:
    """Throttle, then ask the service; count a failure against the client and the account."""
    client = client_address(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        state.settings.trusted_proxies,
    )
    name = username.strip().lower()
    key = account_key(client, name)
    waits = [state.client_throttle.retry_after(client), state.account_throttle.retry_after(key)]
    wait = max((w for w in waits if w is not None), default=None)
    if wait is not None:
        return SignInRefused(
            429, f"Too many failed sign-ins; wait {wait} seconds and try again.", wait
        )
    try:
        result = state.services.auth.login(name, password, kind=kind, site=site)
    except AuthenticationFailed:
        state.client_throttle.failed(client)
        state.account_throttle.failed(key)
        return SignInRefused(401, NOT_RECOGNISED)
    state.account_throttle.forget(key)
    return result
