"""``/users``: account administration (``user.manage``)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..deps import ApiAuth, State

router = APIRouter(prefix="/users", tags=["users"])


class UserCreate(BaseModel):
    username: str = Field(max_length=64)
    full_name: str = Field(max_length=200)
    role: str = Field(max_length=32)
    password: str = Field(max_length=1024)


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
