"""Owned alerts and the physician's infusion-day decisions (issue 12 items 1, 2, 6, 8, 10):
``/patients/{id}/alerts`` (list, acknowledge by name: who was called, when, what was done;
PROTOCOL.md §6, §7, §12), ``/patients/{id}/decisions``, and the physician's
``/patients/{id}/infusions/{n}/release-hold`` and ``.../move`` (reason and password; §5, §6).
The same services as the bedside screen; a wrong password is a 422 on ``password``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, StringConstraints

from ketamine_ptsd.services import AuthenticationFailed, ValidationFailed

from ..deps import ApiAuth, State
from ..params import DbId, InfusionNumber, Version

router = APIRouter(tags=["alerts"])

#: Text without NUL (PostgreSQL refuses it in text columns) and of bounded length.
Text = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")]
ShortText = Annotated[str, StringConstraints(max_length=100, pattern=r"^[^\x00]*$")]


def _as(model: type[BaseModel], view: object) -> Any:
    return model.model_validate(view, from_attributes=True)


class AlertRead(BaseModel):
    """An alert the record raised (``kind``: ``vital_signs`` §6 or ``suicide_risk`` §7); open
    while ``acknowledged_at`` is null. ``physician_only``: a suicide-risk review (§7)."""

    id: int
    patient_id: int
    infusion_number: int | None
    kind: str
    messages: list[str]
    raised_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    physician_called: str | None
    physician_called_at: dt.datetime | None
    action_taken: str | None
    physician_only: bool
    version: int


class AlertAcknowledge(BaseModel):
    """Who was called, when (timezone-aware), and what was done (PROTOCOL.md §12). A physician
    reviewing a suicide-risk alert may leave the first two out: the reviewer and now."""

    version: Version
    physician_called: ShortText | None = None
    called_at: dt.datetime | None = None
    action_taken: Text


class DecisionRead(BaseModel):
    id: int
    patient_id: int
    infusion_number: int
    kind: str
    day: dt.date
    released: list[str]
    reason: str
    decided_by: str
    decided_at: dt.datetime


class ReleaseHoldCreate(BaseModel):
    reason: Text
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class MoveDayCreate(BaseModel):
    day: dt.date
    reason: Text
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


@router.get("/patients/{patient_id}/alerts", response_model=list[AlertRead])
def list_alerts(
    patient_id: DbId, auth: ApiAuth, state: State, open_only: bool = False
) -> list[Any]:
    """The patient's alerts, newest first (``open_only``: those not yet acknowledged)."""
    rows = state.services.infusions.alerts(auth.actor, patient_id, open_only=open_only)
    return [_as(AlertRead, a) for a in rows]


@router.post("/patients/{patient_id}/alerts/{alert_id}/acknowledge", response_model=AlertRead)
def acknowledge_alert(
    patient_id: DbId, alert_id: DbId, body: AlertAcknowledge, auth: ApiAuth, state: State
) -> Any:
    view = state.services.infusions.acknowledge_alert(
        auth.actor,
        patient_id,
        alert_id,
        physician_called=body.physician_called,
        called_at=body.called_at,
        action_taken=body.action_taken,
        expected_version=body.version,
    )
    return _as(AlertRead, view)


@router.get("/patients/{patient_id}/decisions", response_model=list[DecisionRead])
def list_decisions(patient_id: DbId, auth: ApiAuth, state: State) -> list[Any]:
    """The physician's recorded releases and moved days, oldest first."""
    return [
        _as(DecisionRead, d) for d in state.services.infusions.decisions(auth.actor, patient_id)
    ]


@router.post(
    "/patients/{patient_id}/infusions/{number}/release-hold",
    response_model=DecisionRead,
    status_code=201,
)
def release_hold(
    patient_id: DbId, number: InfusionNumber, body: ReleaseHoldCreate, auth: ApiAuth, state: State
) -> Any:
    """A physician releases today's held checklist (§6), with the reason and their password."""
    try:
        view = state.services.infusions.release_hold(
            auth.actor, patient_id, number, reason=body.reason, password=body.password
        )
    except AuthenticationFailed as exc:  # counted and audited by the service
        raise ValidationFailed("password", exc.message, None) from None
    return _as(DecisionRead, view)


@router.post(
    "/patients/{patient_id}/infusions/{number}/move", response_model=DecisionRead, status_code=201
)
def move_day(
    patient_id: DbId, number: InfusionNumber, body: MoveDayCreate, auth: ApiAuth, state: State
) -> Any:
    """A physician gives infusion ``number`` on ``day`` outside the schedule (§5), with the
    reason and their password."""
    try:
        view = state.services.infusions.move_day(
            auth.actor, patient_id, number, day=body.day, reason=body.reason, password=body.password
        )
    except AuthenticationFailed as exc:
        raise ValidationFailed("password", exc.message, None) from None
    return _as(DecisionRead, view)
