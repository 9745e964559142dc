"""Locks of the record (issue 17): the database, one patient's record, one verified form.

``GET /locks`` is the database lock in force and every lock, newest first (a site's member sees
the database's and their own sites' locks). ``POST /locks/database`` and
``POST /locks/database/unlock`` lock and unlock the record (investigator);
``POST /patients/{id}/lock`` and ``/unlock`` one patient's record (investigator; refused 409
while a query on it is not closed); ``POST /patients/{id}/forms/{table}/{record}/lock`` and
``/unlock`` one form once verified against source (monitor or investigator; 409 when it is not
verified as it stands). Each takes a reason (at least 10 characters) and the password again, as
for a signature: a wrong one is 422 naming ``password`` (counted and audited by the service).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, StringConstraints

from ketamine_ptsd.services import AuthenticationFailed, ValidationFailed
from ketamine_ptsd.services.locks import LockView

from ..deps import ApiAuth, State
from ..params import DbId

router = APIRouter(tags=["locks"])

Name = Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9_]+$")]
RecordId = Annotated[str, StringConstraints(max_length=20, pattern=r"^[0-9]+$")]


class LockDecision(BaseModel):
    """Why, and the password again (the re-authentication of an electronic signature)."""

    reason: Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00]*$")]
    password: Annotated[str, StringConstraints(max_length=1024)]


class LockRead(BaseModel):
    id: int
    patient: str | None
    form: str | None
    locked_at: dt.datetime
    locked_by: str
    reason: str
    digest: str
    unlocked_at: dt.datetime | None
    unlocked_by: str | None
    unlock_reason: str | None
    open: bool


class LocksRead(BaseModel):
    database: LockRead | None
    history: list[LockRead]


def _read(view: LockView) -> LockRead:
    return LockRead.model_validate(view, from_attributes=True)


def _signed(act: Callable[[], LockView]) -> LockRead:
    """Run a lock decision; a password not accepted is a 422 naming ``password``."""
    try:
        return _read(act())
    except AuthenticationFailed as exc:  # counted and audited by the service
        raise ValidationFailed("password", exc.message, None) from None


@router.get("/locks", response_model=LocksRead)
def locks(auth: ApiAuth, state: State) -> Any:
    history = state.services.locks.history(auth.actor)
    database = next((v for v in history if v.open and v.patient is None), None)
    return LocksRead(
        database=None if database is None else _read(database),
        history=[_read(v) for v in history],
    )


@router.post("/locks/database", response_model=LockRead, status_code=201)
def lock_database(body: LockDecision, auth: ApiAuth, state: State) -> Any:
    return _signed(
        lambda: state.services.locks.lock(auth.actor, reason=body.reason, password=body.password)
    )


@router.post("/locks/database/unlock", response_model=LockRead)
def unlock_database(body: LockDecision, auth: ApiAuth, state: State) -> Any:
    return _signed(
        lambda: state.services.locks.unlock(auth.actor, reason=body.reason, password=body.password)
    )


@router.post("/patients/{patient_id}/lock", response_model=LockRead, status_code=201)
def lock_patient(patient_id: DbId, body: LockDecision, auth: ApiAuth, state: State) -> Any:
    return _signed(
        lambda: state.services.locks.lock(
            auth.actor, reason=body.reason, password=body.password, patient_id=patient_id
        )
    )


@router.post("/patients/{patient_id}/unlock", response_model=LockRead)
def unlock_patient(patient_id: DbId, body: LockDecision, auth: ApiAuth, state: State) -> Any:
    return _signed(
        lambda: state.services.locks.unlock(
            auth.actor, reason=body.reason, password=body.password, patient_id=patient_id
        )
    )


@router.post(
    "/patients/{patient_id}/forms/{table_name}/{record_id}/lock",
    response_model=LockRead,
    status_code=201,
)
def lock_form(
    patient_id: DbId,
    table_name: Name,
    record_id: RecordId,
    body: LockDecision,
    auth: ApiAuth,
    state: State,
) -> Any:
    return _signed(
        lambda: state.services.locks.lock_form(
            auth.actor,
            patient_id,
            table_name=table_name,
            record_id=record_id,
            reason=body.reason,
            password=body.password,
        )
    )


@router.post(
    "/patients/{patient_id}/forms/{table_name}/{record_id}/unlock", response_model=LockRead
)
def unlock_form(
    patient_id: DbId,
    table_name: Name,
    record_id: RecordId,
    body: LockDecision,
    auth: ApiAuth,
    state: State,
) -> Any:
    return _signed(
        lambda: state.services.locks.unlock_form(
            auth.actor,
            table_name=table_name,
            record_id=record_id,
            reason=body.reason,
            password=body.password,
            patient_id=patient_id,
        )
    )
