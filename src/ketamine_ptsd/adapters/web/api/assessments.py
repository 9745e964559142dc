"""``/patients/{id}/assessments``: outcome assessments at the protocol's time points (§5, §7).

Through :class:`~ketamine_ptsd.services.AssessmentService`: items are scored by the instrument
before anything is stored, an invalid item is refused naming it (``caps5.item_7``), an
assessment outside its window is stored with ``in_window: false`` (never refused), and the
week-2 response follows from the stored CAPS-5 (§8). Assessments carry no allocation and no
infusion-day rating, so outcome raters read and write them (§3).

``/assessments/{id}``: corrections, as on the correction page. ``PATCH`` replaces the items
(rescored; the date too if given) and ``POST .../void`` marks an assessment entered in error;
both need the ``version`` read (409 if someone changed it since) and a reason, which the audit
trail keeps with the old and new values. Nothing is deleted.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints

from ketamine_ptsd.services.assessments import AssessmentInput

from ..deps import ApiAuth, State
from ..params import DbId, Version

router = APIRouter(prefix="/patients/{patient_id}", tags=["assessments"])
corrections = APIRouter(prefix="/assessments", tags=["assessments"])

ShortText = Annotated[str, StringConstraints(max_length=100, pattern=r"^[^\x00]*$")]
Reason = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")]


class AssessmentCreate(BaseModel):
    time_point: ShortText
    instrument: ShortText
    assessed_on: dt.date
    items: dict[ShortText, int | float | ShortText] = Field(max_length=100)


class AssessmentEdit(BaseModel):
    """A correction: every item again (the instrument rescores them), and why."""

    expected_version: Version
    reason: Reason
    items: dict[ShortText, int | float | ShortText] = Field(max_length=100)
    assessed_on: dt.date | None = None


class AssessmentVoid(BaseModel):
    expected_version: Version
    reason: Reason


class AssessmentRead(BaseModel):
    id: int
    time_point: str
    instrument: str
    assessed_on: dt.date
    target_date: dt.date | None
    window_start: dt.date | None
    window_end: dt.date | None
    in_window: bool
    total: float | None
    subscales: dict[str, Any]
    derived: dict[str, Any]
    items: dict[str, Any]
    voided: bool
    version: int


class ResponseRead(BaseModel):
    responder: bool
    reduction_percent: float
    baseline: float
    value: float
    primary_day: dt.date
    reason: str


@router.get("/assessments", response_model=list[AssessmentRead])
def assessments(patient_id: DbId, auth: ApiAuth, state: State) -> list[Any]:
    rows = state.services.assessments.list(auth.actor, patient_id)
    return [AssessmentRead.model_validate(a, from_attributes=True) for a in rows]


@router.post("/assessments", response_model=AssessmentRead, status_code=201)
def record(patient_id: DbId, body: AssessmentCreate, auth: ApiAuth, state: State) -> Any:
    view = state.services.assessments.record(
        auth.actor,
        patient_id,
        AssessmentInput(body.time_point, body.instrument, body.assessed_on, body.items),
    )
    return AssessmentRead.model_validate(view, from_attributes=True)


@router.get("/response", response_model=ResponseRead)
def response(patient_id: DbId, auth: ApiAuth, state: State) -> Any:
    """The week-2 response (§8); 404 until baseline and week 2 are stored."""
    view = state.services.followup.response(auth.actor, patient_id)
    return ResponseRead.model_validate(view, from_attributes=True)


@corrections.patch("/{assessment_id}", response_model=AssessmentRead)
def correct(assessment_id: DbId, body: AssessmentEdit, auth: ApiAuth, state: State) -> Any:
    """Correct an assessment's items (and date); the response status follows the new scores."""
    view = state.services.assessments.edit(
        auth.actor,
        assessment_id,
        expected_version=body.expected_version,
        reason=body.reason,
        items=body.items,
        assessed_on=body.assessed_on,
    )
    return AssessmentRead.model_validate(view, from_attributes=True)


@corrections.post("/{assessment_id}/void", response_model=AssessmentRead)
def void(assessment_id: DbId, body: AssessmentVoid, auth: ApiAuth, state: State) -> Any:
    """Void an assessment entered in error: kept, marked, left out of the analysis."""
    view = state.services.assessments.void(
        auth.actor, assessment_id, expected_version=body.expected_version, reason=body.reason
    )
    return AssessmentRead.model_validate(view, from_attributes=True)
