"""Drug accountability and the supervising physicians (issue 12 items 4, 5; PROTOCOL.md §3, §6).

``GET /drug-accountability`` (JSON) and ``/drug-accountability.csv`` (spreadsheet-safe) give
the pharmacy's reconciliation to roles with ``drug_accountability.read``, with the drug and the
mg only where the blind allows; ``GET /physicians`` lists who may supervise an infusion (the
ids a start names).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel

from ..deps import ApiAuth, State

router = APIRouter(tags=["pharmacy"])


class AccountabilityRead(BaseModel):
    study_id: str
    infusion_number: int
    infusion_date: dt.date
    drug: str
    bag_lot: str
    bag_expiry: dt.date
    bag_volume_ml: float
    bag_concentration_mg_per_ml: float | None
    prepared_by: str
    started_by: str
    checked_by: str
    supervising_physician: str
    volume_given_ml: float | None
    dose_given_mg: float | None
    stopped_early: bool | None
    volume_wasted_ml: float | None
    waste_witnessed_by: str | None
    unaccounted_ml: float | None


class PhysicianRead(BaseModel):
    id: int
    name: str


@router.get("/drug-accountability", response_model=list[AccountabilityRead])
def accountability(auth: ApiAuth, state: State) -> Any:
    rows = state.services.infusions.accountability(auth.actor)
    return [AccountabilityRead.model_validate(r, from_attributes=True) for r in rows]


@router.get("/drug-accountability.csv", response_class=Response)
def accountability_csv(auth: ApiAuth, state: State) -> Response:
    body = state.services.infusions.accountability_csv(auth.actor)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="drug-accountability.csv"'},
    )


@router.get("/physicians", response_model=list[PhysicianRead])
def physicians(auth: ApiAuth, state: State) -> Any:
    return [PhysicianRead(id=i, name=n) for i, n in state.services.infusions.physicians(auth.actor)]
