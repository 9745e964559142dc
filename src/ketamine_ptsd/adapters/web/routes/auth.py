"""Sign in and sign out (the session cookie; see :mod:`..security`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from ketamine_ptsd.services import SessionKind

from ..deps import CheckedForm, Session, State, cookie_header, queue_cookie, render, see_other
from ..security import ACTIVE_COOKIE, PRELOGIN_COOKIE, SESSION_COOKIE, Signer
from ..signin import SignInRefused, sign_in

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a local path (no open redirect to another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(
    request: Request,
    state: State,
    *,
    error: str | None = None,
    username: str = "",
    status_code: int = 200,
) -> Response:
    pre = request.cookies.get(PRELOGIN_COOKIE)
    if not pre:
        pre = Signer.new_prelogin_value()
        queue_cookie(
            request, cookie_header(PRELOGIN_COOKIE, pre, secure=state.settings.cookie_secure)
        )
    return render(
        request,
        "login.html",
        {
            "login_csrf": state.signer.csrf_token("pre:" + pre),
            "error": error,
            "username": username,
            "next": _safe_next(request.query_params.get("next")),
            "expired": request.query_params.get("expired") == "1",
        },
        status_code=status_code,
    )


@router.get("/login")
def login_form(request: Request, state: State) -> Response:
    return _login_page(request, state)


@router.post("/login")
def login(
    request: Request,
    state: State,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=512)] = "/",
) -> Response:
    pre = request.cookies.get(PRELOGIN_COOKIE)
    if not pre or not state.signer.csrf_ok("pre:" + pre, csrf_token):
        return _login_page(
            request,
            state,
            error="The sign-in form had expired; please try again.",
            username=username,
            status_code=403,
        )
    result = sign_in(request, state, username, password, SessionKind.BROWSER)
    if isinstance(result, SignInRefused):
        page = _login_page(
            request, state, error=result.message, username=username, status_code=result.status
        )
        if result.retry_after is not None:
            page.headers["retry-after"] = str(result.retry_after)
        return page
    secure = state.settings.cookie_secure
    response = see_other(_safe_next(next))
    response.headers.append(
        "set-cookie", cookie_header(SESSION_COOKIE, result.token, secure=secure)
    )
    response.headers.append(
        "set-cookie",
        cookie_header(ACTIVE_COOKIE, state.signer.active_stamp(result.token), secure=secure),
    )
    response.headers.append(
        "set-cookie", cookie_header(PRELOGIN_COOKIE, "", secure=secure, max_age=0)
    )
    return response


@router.post("/session/site")
def switch_site(request: Request, session: Session, state: State, form: CheckedForm) -> Response:
    """Work at another of the user's sites, with the role they hold there (issue 17: a role per
    site; services/auth.py). Back to the home page: the other site's patients are not these."""
    site = form.get("site")
    state.services.auth.switch_site(session.token, site if isinstance(site, str) else "")
    return see_other("/")


@router.post("/logout")
def logout(request: Request, session: Session, state: State, _form: CheckedForm) -> Response:
    state.services.auth.logout(session.token)
    request.scope["state"]["kp_set_cookies"] = []  # no fresh activity stamp after sign-out
    response = see_other("/login")
    for name in (SESSION_COOKIE, ACTIVE_COOKIE):
        response.headers.append(
            "set-cookie", cookie_header(name, "", secure=state.settings.cookie_secure, max_age=0)
        )
    return response
