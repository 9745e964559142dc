"""``/users``: account administration (``user.manage``)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..deps import ApiAuth, State
from ..params import DbId, Version
from ..signin import account_key

router = APIRouter(prefix="/users", tags=["users"])


class UserCreate(BaseModel):
    username: str = Field(max_length=64)
    full_name: str = Field(max_length=200)
    role: str = Field(max_length=32)
    password: str = Field(max_length=1024)


class UserUnlock(BaseModel):
    expected_version: Version
    reason: str = Field(min_length=1, max_length=500, pattern=r"^[^\x00]*$")


class UserRead(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    active: bool
    locked_until: dt.datetime | None
    version: int


@router.get("", response_model=list[UserRead])
def list_users(auth: ApiAuth, state: State) -> list[UserRead]:
    return [UserRead(**u.__dict__) for u in state.services.users.list(auth.actor)]


@router.post("", response_model=UserRead, status_code=201)
def add_user(body: UserCreate, auth: ApiAuth, state: State) -> UserRead:
    view = state.services.users.add(
        auth.actor,
        username=body.username,
        role=body.role,
        password=body.password,
        full_name=body.full_name,
    )
    return UserRead(**view.__dict__)


@router.post("/{user_id}/unlock", response_model=UserRead)
def unlock_user(user_id: DbId, body: UserUnlock, auth: ApiAuth, state: State) -> UserRead:
    """Clear the account's failed logins and back-off, and this server's sign-in throttle for
    its username."""
    view = state.services.users.unlock(
        auth.actor, user_id, expected_version=body.expected_version, reason=body.reason
    )
    state.account_throttle.forget_matching(account_key("", view.username))
    return UserRead(**view.__dict__)
