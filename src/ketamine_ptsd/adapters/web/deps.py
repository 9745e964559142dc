"""Dependencies of the routes: the app's state, who is signed in, CSRF-checked forms, rendering.

Routes stay thin (STYLE.md §6): parse the request, call a service, render. Everything about
sessions and tokens is decided here and in :mod:`.security`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action, Role, is_allowed
from ketamine_ptsd.services import Actor, AuthenticationFailed, Services, SessionKind

from .config import WebSettings
from .security import (
    ACTIVE_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    LoginThrottle,
    Signer,
)

__all__ = [
    "ApiSession",
    "CheckedForm",
    "CsrfRejected",
    "LoginRequired",
    "PageSession",
    "WebState",
    "api_session",
    "checked_form",
    "page_session",
    "render",
    "see_other",
]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LoginRequired(Exception):
    """No live browser session: the handler redirects to the login page."""

    def __init__(self, expired: bool = False) -> None:
        self.expired = expired


class CsrfRejected(Exception):
    """A state-changing request without a valid CSRF token (403, nothing changed)."""


class ApiUnauthorized(Exception):
    """No valid bearer token or session for an API call (401)."""


@dataclass
class WebState:
    """What every request needs, built once by ``create_app``."""

    settings: WebSettings
    services: Services
    templates: Jinja2Templates
    signer: Signer
    #: failed sign-ins per client address, and per (client address, username)
    client_throttle: LoginThrottle
    account_throttle: LoginThrottle
    #: unknown self-report link tokens per client address (issue 13)
    link_throttle: LoginThrottle
    _protocols: dict[str, Protocol] = field(default_factory=dict)
    #: patient id → date of infusion 1 (allocations never change) and the calendars from it
    infusion_one: dict[int, dt.date] = field(default_factory=dict)
    plans: dict[tuple[str, dt.date], Any] = field(default_factory=dict)
    #: (role, sites, protocol, day, record version) → the trial dashboard built for that role at
    #: those sites; the record version (audit chain head) changes with every write, so an entry
    #: is never stale
    dashboards: dict[tuple[str, tuple[str, ...] | None, str, dt.date, int], Any] = field(
        default_factory=dict
    )

    def now(self) -> dt.datetime:
        return self.services.context.clock.now()

    def protocol(self, name: str) -> Protocol:
        """The full protocol (the clinical rules need dosing, monitoring, schedule)."""
        if name not in self._protocols:
            self._protocols[name] = load_protocol(name, self.settings.protocol_dirs)
        return self._protocols[name]

    @functools.cached_property
    def idle_limit(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.settings.idle_timeout_minutes)


def get_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


State = Annotated[WebState, Depends(get_state)]


@dataclass(frozen=True)
class PageSession:
    """A signed-in browser user: the actor, the token, and the page's CSRF token."""

    actor: Actor
    token: str
    csrf: str

    @property
    def role(self) -> Role:
        return self.actor.role

    def can(self, action: Action) -> bool:
        return is_allowed(self.actor.role, action)


def cookie_header(
    name: str, value: str, *, secure: bool, max_age: int | None = None, http_only: bool = True
) -> str:
    cookie: SimpleCookie = SimpleCookie()
    cookie[name] = value
    morsel = cookie[name]
    morsel["path"] = "/"
    morsel["samesite"] = "Strict"
    if http_only:
        morsel["httponly"] = True
    if secure:
        morsel["secure"] = True
    if max_age is not None:
        morsel["max-age"] = max_age
    return morsel.OutputString()


def queue_cookie(request: Request, header: str) -> None:
    """Have :class:`~.security.SecurityHeadersMiddleware` add ``Set-Cookie: header``."""
    pending: list[str] = request.scope.setdefault("state", {}).setdefault("kp_set_cookies", [])
    pending.append(header)


def _authenticate(state: WebState, token: str | None, kind: SessionKind) -> Actor | None:
    if not token:
        return None
    try:
        return state.services.auth.authenticate(token, kind=kind)
    except AuthenticationFailed:
        return None


def page_session(request: Request, state: State) -> PageSession:
    """The signed-in user of a page, or LoginRequired (idle too long: the session is closed)."""
    token = request.cookies.get(SESSION_COOKIE)
    actor = _authenticate(state, token, SessionKind.BROWSER)
    if actor is None or token is None:
        raise LoginRequired(expired=token is not None)
    if not state.signer.active_within(token, request.cookies.get(ACTIVE_COOKIE), state.idle_limit):
        with contextlib.suppress(AuthenticationFailed):
            state.services.auth.logout(token)
        raise LoginRequired(expired=True)
    queue_cookie(
        request,
        cookie_header(
            ACTIVE_COOKIE, state.signer.active_stamp(token), secure=state.settings.cookie_secure
        ),
    )
    session = PageSession(actor, token, state.signer.csrf_token(token))
    request.state.page_session = session
    return session


Session = Annotated[PageSession, Depends(page_session)]


async def checked_form(request: Request, session: Session, state: State) -> FormData:
    """The submitted form, after checking its CSRF token against the session."""
    try:
        form = await request.form(**state.settings.limits.form_limits())
    except HTTPException as exc:
        limit_hit = "Too many" in str(exc.detail) or "maximum size" in str(exc.detail)
        if exc.status_code == 400 and limit_hit:  # Starlette's form parser, at our limits
            raise HTTPException(413, exc.detail) from None
        raise
    submitted = form.get(CSRF_FIELD)
    if not isinstance(submitted, str) or not state.signer.csrf_ok(session.token, submitted):
        raise CsrfRejected()
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


@dataclass(frozen=True)
class ApiSession:
    actor: Actor
    token: str
    via_cookie: bool


def api_session(request: Request, state: State) -> ApiSession:
    """``Authorization: Bearer <token>`` (an API token: a browser session's token is refused
    there), or the browser's cookie plus a CSRF header on writes."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
        actor = _authenticate(state, token, SessionKind.API)
        if actor is None:
            raise ApiUnauthorized()
        return ApiSession(actor, token, via_cookie=False)
    token = request.cookies.get(SESSION_COOKIE)
    actor = _authenticate(state, token, SessionKind.BROWSER)
    if actor is None or token is None:
        raise ApiUnauthorized()
    if not state.signer.active_within(token, request.cookies.get(ACTIVE_COOKIE), state.idle_limit):
        raise ApiUnauthorized()
    if request.method in UNSAFE_METHODS and not state.signer.csrf_ok(
        token, request.headers.get(CSRF_HEADER)
    ):
        raise CsrfRejected()
    return ApiSession(actor, token, via_cookie=True)


ApiAuth = Annotated[ApiSession, Depends(api_session)]


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Response:
    """Render a template with the signed-in user, the CSRF token and the navigation."""
    state = get_state(request)
    session: PageSession | None = getattr(request.state, "page_session", None)
    full: dict[str, Any] = {
        "session": session,
        "csrf_token": session.csrf if session else None,
        "nav": navigation(session) if session else [],
        "Action": Action,
        "today": state.now().date(),
    }
    full.update(context or {})
    return state.templates.TemplateResponse(request, name, full, status_code=status_code)


def see_other(url: str) -> RedirectResponse:
    """Post/redirect/get: a 303 to ``url``."""
    return RedirectResponse(url, status_code=303)


def navigation(session: PageSession) -> list[tuple[str, str]]:
    """The menu of a role: only what it may open."""
    items = [("/", "Today")]
    if session.can(Action.PATIENT_READ):
        items.append(("/patients", "Patients"))
    if session.can(Action.INFUSION_READ) or session.can(Action.ASSESSMENT_RECORD):
        items.append(("/calendar", "Calendar"))
    if session.can(Action.RANDOMIZATION_LIST_READ):
        items.append(("/pharmacy", "Pharmacy"))
    if session.can(Action.DRUG_ACCOUNTABILITY_READ):
        items.append(("/pharmacy/accountability", "Drug accountability"))
    if session.role in (Role.INVESTIGATOR, Role.STATISTICIAN, Role.MONITOR, Role.ADMINISTRATOR):
        items.append(("/dashboard", "Trial dashboard"))
    if session.can(Action.QUERY_READ):
        items.append(("/queries", "Queries"))
    if any(session.can(a) for a in (Action.DATABASE_LOCK, Action.SDV_RECORD, Action.AUDIT_READ)):
        items.append(("/locks", "Locks"))
    if session.can(Action.AUDIT_READ):
        items.append(("/audit", "Audit trail"))
    if session.can(Action.ANALYSIS_DATASET_READ):
        items.append(("/analysis", "Analysis"))
    if session.can(Action.USER_MANAGE):
        items.append(("/admin/users", "Users"))
    return items
