"""``/patients/{id}/maintenance``: periodic IV maintenance after the series (PROTOCOL.md §8,
§11; issue 13) — the plan (option, interval, start, stop, reason). The sessions themselves are
infusion days (``/patients/{id}/infusions/{n}``, numbered after the series).

The physician's decisions (``clinic_plan.record``): start (a responder; anyone else with the
reason), change the interval (with the reason), stop (with the reason). Refusals: 403 role, 404
no schedule, 409 the workflow's state or an open infusion, 422 naming the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints

from ..deps import ApiAuth, State
from ..params import DbId, Version

router = APIRouter(prefix="/patients/{patient_id}/maintenance", tags=["maintenance"])

Text = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")]


class MaintenanceRead(BaseModel):
    id: int
    patient_id: int
    option_id: str
    option_label: str
    interval_days: int
    window_days: int
    starts_on: dt.date
    reason: str | None
    stopped_on: dt.date | None
    stop_reason: str | None
    version: int
    active: bool
    acute_count: int
    #: the maintenance infusions given: [number, date]
    given: list[tuple[int, dt.date]]
    next_number: int | None
    next_due: dt.date | None


class MaintenanceStart(BaseModel):
    option_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    interval_days: Annotated[int, Field(ge=1, le=365)]
    starts_on: dt.date
    reason: Text | None = None


class IntervalChange(BaseModel):
    interval_days: Annotated[int, Field(ge=1, le=365)]
    reason: Text
    version: Version


class MaintenanceStop(BaseModel):
    stopped_on: dt.date
    reason: Text
    version: Version


def _read(view: object) -> Any:
    return MaintenanceRead.model_validate(view, from_attributes=True)


@router.get("", response_model=MaintenanceRead)
def schedule(patient_id: DbId, auth: ApiAuth, state: State) -> Any:
    """The latest maintenance schedule (open or stopped); 404 before one is started."""
    return _read(state.services.maintenance.schedule(auth.actor, patient_id))


@router.post("", response_model=MaintenanceRead, status_code=201)
def start(patient_id: DbId, body: MaintenanceStart, auth: ApiAuth, state: State) -> Any:
    view = state.services.maintenance.start(
        auth.actor,
        patient_id,
        option_id=body.option_id,
        interval_days=body.interval_days,
        starts_on=body.starts_on,
        reason=body.reason,
    )
    return _read(view)


@router.post("/interval", response_model=MaintenanceRead)
def change_interval(patient_id: DbId, body: IntervalChange, auth: ApiAuth, state: State) -> Any:
    view = state.services.maintenance.change_interval(
        auth.actor,
        patient_id,
        interval_days=body.interval_days,
        reason=body.reason,
        expected_version=body.version,
    )
    return _read(view)


@router.post("/stop", response_model=MaintenanceRead)
def stop(patient_id: DbId, body: MaintenanceStop, auth: ApiAuth, state: State) -> Any:
    view = state.services.maintenance.stop(
        auth.actor,
        patient_id,
        stopped_on=body.stopped_on,
        reason=body.reason,
        expected_version=body.version,
    )
    return _read(view)
