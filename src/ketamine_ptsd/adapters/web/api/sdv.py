"""Source-data verification under the records they verify (issue 17).

``GET /patients/{id}/sdv`` lists the patient's critical records (consent, eligibility, the
primary outcome at baseline and the primary time point, infusion days, serious adverse events),
each ``unverified``, ``verified`` or ``changed`` since it was verified; ``POST`` marks one
verified (monitor). ``GET /patients/{id}/changes`` is what changed since the monitor's last
verification on that patient, from the audit trail, redacted as the audit listing is.
``GET /sdv/progress`` counts verified, changed and total critical records by patient and site.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, StringConstraints

from ..deps import ApiAuth, State
from ..params import DbId

router = APIRouter(tags=["source-data verification"])

Name = Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9_]+$")]


class SdvMarkCreate(BaseModel):
    table_name: Name
    record_id: Annotated[str, StringConstraints(max_length=20, pattern=r"^[0-9]+$")]
    note: Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")] | None = None


class SdvItemRead(BaseModel):
    table_name: str
    record_id: str
    label: str
    status: str
    verified_by: str | None
    verified_at: dt.datetime | None


class ChangeRead(BaseModel):
    seq: int
    occurred_at: dt.datetime
    actor_username: str
    event: str
    table_name: str | None
    record_id: str | None
    field: str | None
    old_value: Any
    new_value: Any
    reason: str | None
    redacted: bool


class Counts(BaseModel):
    verified: int
    changed: int
    total: int


class ProgressRead(BaseModel):
    by_patient: dict[str, Counts]
    by_site: dict[str, Counts]


@router.get("/patients/{patient_id}/sdv", response_model=list[SdvItemRead])
def sdv_items(patient_id: DbId, auth: ApiAuth, state: State) -> list[Any]:
    rows = state.services.sdv.items(auth.actor, patient_id)
    return [SdvItemRead.model_validate(r, from_attributes=True) for r in rows]


@router.post("/patients/{patient_id}/sdv", response_model=SdvItemRead, status_code=201)
def verify(patient_id: DbId, body: SdvMarkCreate, auth: ApiAuth, state: State) -> Any:
    item = state.services.sdv.verify(
        auth.actor, patient_id, table_name=body.table_name, record_id=body.record_id, note=body.note
    )
    return SdvItemRead.model_validate(item, from_attributes=True)


@router.get("/patients/{patient_id}/changes", response_model=list[ChangeRead])
def changes(patient_id: DbId, auth: ApiAuth, state: State) -> list[Any]:
    rows = state.services.sdv.changes_since_last_visit(auth.actor, patient_id)
    return [ChangeRead.model_validate(r, from_attributes=True) for r in rows]


@router.get("/sdv/progress", response_model=ProgressRead)
def progress(auth: ApiAuth, state: State) -> Any:
    p = state.services.sdv.progress(auth.actor)

    def counts(rows: dict[str, tuple[int, int, int]]) -> dict[str, Counts]:
        return {k: Counts(verified=v, changed=c, total=t) for k, (v, c, t) in rows.items()}

    return ProgressRead(by_patient=counts(p.by_patient), by_site=counts(p.by_site))
