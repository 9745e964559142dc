"""``/auth``: sign in for a bearer token, sign out, who am I."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ketamine_ptsd.services import AccountLocked, AuthenticationFailed

from ..deps import ApiAuth, State

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


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
    client = request.client.host if request.client else "unknown"
    if state.throttle.blocked(client):
        return JSONResponse({"error": "too many failed logins from this client"}, 429)
    try:
        result = state.services.auth.login(body.username.strip().lower(), body.password)
    except AccountLocked:
        state.throttle.failed(client)
        return JSONResponse({"error": "account locked after repeated failed logins"}, 401)
    except AuthenticationFailed:
        state.throttle.failed(client)
        return JSONResponse({"error": "invalid username or password"}, 401)
    state.throttle.succeeded(client)
    return TokenRead(
        token=result.token,
        expires_at=result.expires_at,
        username=result.actor.username,
        role=result.actor.role.value,
    )


@router.post("/logout", status_code=204)
def logout(auth: ApiAuth, state: State) -> Response:
    state.services.auth.logout(auth.token)
    return Response(status_code=204)


@router.get("/me", response_model=MeRead)
def me(auth: ApiAuth) -> MeRead:
    return MeRead(username=auth.actor.username, role=auth.actor.role.value)
