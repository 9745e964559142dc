"""``/auth``: sign in for a bearer token, sign out, who am I."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ketamine_ptsd.services import SessionKind

from ..deps import ApiAuth, State
from ..signin import SignInRefused, sign_in

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    #: the site to work at, for a user with different roles at different sites (issue 17)
    site: str | None = Field(default=None, max_length=16, pattern=r"^[A-Z0-9]+$")


class TokenRead(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: dt.datetime
    username: str
    role: str


class MeRead(BaseModel):
    username: str
    role: str


@router.post("/login", response_model=TokenRead, responses={401: {}, 429: {}})
def login(body: LoginRequest, request: Request, state: State) -> Response | TokenRead:
    result = sign_in(request, state, body.username, body.password, SessionKind.API, body.site)
    if isinstance(result, SignInRefused):
        headers = {} if result.retry_after is None else {"retry-after": str(result.retry_after)}
        return JSONResponse({"error": result.message}, result.status, headers=headers)
    return TokenRead(
        token=result.token,
        expires_at=result.expires_at,
        username=result.actor.username,
        role=result.actor.role.value,
    )


@router.post("/logout", status_code=204)
def logout(auth: ApiAuth, state: State) -> Response:
    """Revoke the token (or the browser session) this request was made with."""
    state.services.auth.logout(auth.token)
    return Response(status_code=204)


@router.get("/me", response_model=MeRead)
def me(auth: ApiAuth) -> MeRead:
    return MeRead(username=auth.actor.username, role=auth.actor.role.value)
