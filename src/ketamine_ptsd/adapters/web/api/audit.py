"""The audit trail, read (issue 17): ``GET /audit`` for the monitor, the investigator and the
administrator — the rows of a patient (``study_id``), a form (``table_name``, ``record_id``), a
user, from ``occurred_from`` to before ``occurred_before`` (instants with their offset), newest
first, ``limit`` rows from ``offset``. Values are redacted by the reader's role exactly as
``AuditService.entries`` redacts them, and a site's member sees no row of another site's patient.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ketamine_ptsd.services import ValidationFailed

from ..deps import ApiAuth, State
from ..params import DB_INT_MAX

router = APIRouter(tags=["audit"])

#: Rows per page, at most.
MAX_LIMIT = 1000


class AuditRowRead(BaseModel):
    seq: int
    occurred_at: dt.datetime
    actor_username: str
    actor_role: str
    event: str
    table_name: str | None
    record_id: str | None
    field: str | None
    old_value: Any
    new_value: Any
    reason: str | None
    redacted: bool


def _instant(value: dt.datetime | None, field: str) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValidationFailed(field, "give the instant with its offset (e.g. Z)", str(value))
    return value


@router.get("/audit", response_model=list[AuditRowRead])
def audit(
    auth: ApiAuth,
    state: State,
    study_id: Annotated[str | None, Query(max_length=32, pattern=r"^[A-Za-z0-9-]+$")] = None,
    table_name: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_]+$")] = None,
    record_id: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9]+$")] = None,
    user: Annotated[str | None, Query(max_length=64)] = None,
    occurred_from: dt.datetime | None = None,
    occurred_before: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
) -> list[Any]:
    rows = state.services.audit.entries(
        auth.actor,
        study_id=study_id,
        table_name=table_name,
        record_id=record_id,
        username=user,
        occurred_from=_instant(occurred_from, "occurred_from"),
        occurred_before=_instant(occurred_before, "occurred_before"),
        limit=limit,
        offset=offset,
        newest_first=True,
    )
    return [AuditRowRead.model_validate(r, from_attributes=True) for r in rows]
