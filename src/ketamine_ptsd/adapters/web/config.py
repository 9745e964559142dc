"""Settings of the web app, built in the entry point and passed to ``create_app`` (STYLE.md §6).

Nothing here reads the environment at import time. ``secret_key`` signs the CSRF tokens and the
idle-timeout stamp; when none is given a random one is drawn at start-up, so a restart signs
everyone out (the safe failure). ``cookie_secure`` must be on behind HTTPS; it is off by default
because ``serve`` binds to the loopback interface (SYSTEM.md §Main commands).
"""

from __future__ import annotations

import ipaddress
import secrets
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .limits import RequestLimits

__all__ = ["WebSettings"]


def _random_key() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class WebSettings:
    """How one web instance runs.

    ``idle_timeout_minutes``: a browser session unused this long is closed (the bedside tablet
    left on a trolley); the service layer's own session expiry (12 h) still applies on top.
    Sign-in throttling (:func:`.signin.sign_in`), each with exponential back-off up to
    ``login_window_minutes``: after ``login_failures_per_client`` failures from one client
    address (password spraying across accounts), and after ``login_failures_per_account``
    failures for one username from one client address (guessing one account). Both are answered
    429 before any password is checked; the service's own per-account back-off (short, so a
    stranger cannot lock a user out) sits behind them. ``trusted_proxies``: addresses or
    networks of reverse proxies whose ``X-Forwarded-For`` names the client; empty (the default)
    means the header is ignored and the TCP peer is the client.
    ``self_report_failures_per_client``: unknown self-report tokens from one client before it is
    made to wait (429, back-off up to ``login_window_minutes``; issue 13).
    ``limits``: body size, form and JSON limits (:mod:`.limits`).
    ``site_timezone``: the IANA zone the pages show times in (the bedside reads local time; the
    record stores UTC). An unknown zone is refused at start-up.
    """

    database_url: str
    secret_key: str = field(default_factory=_random_key, repr=False)
    idle_timeout_minutes: int = 30
    cookie_secure: bool = False
    login_failures_per_client: int = 20
    login_failures_per_account: int = 5
    #: Unknown self-report link tokens one client may try before it waits (issue 13).
    self_report_failures_per_client: int = 5
    login_window_minutes: int = 15
    trusted_proxies: Sequence[str] = ()
    protocol_dirs: Sequence[Path] = ()
    site: str = "SITE"
    limits: RequestLimits = field(default_factory=RequestLimits)
    site_timezone: str = "UTC"

    def __post_init__(self) -> None:
        try:
            zoneinfo.ZoneInfo(self.site_timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"site_timezone: {self.site_timezone!r} is not a time zone (e.g. Europe/London)"
            ) from None
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: {proxy!r} is not an IP address or network"
                ) from None
