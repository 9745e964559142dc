"""``/patients/{id}/self-reports`` and ``/patients/{id}/retreatment`` (issue 13; PROTOCOL.md
§5, §7, §8; services/self_reports.py, services/retreatment.py).

* ``GET /patients/{id}/self-reports`` — the patient's self-reports, newest first (``assessment.read``;
  a blinded protocol's blinded raters only where the protocol allows: 403).
* ``GET /patients/{id}/self-reports/status`` — the schedule, the trajectory against the
  response's line, the relapse-watch dates and the options the relapse task proposes.
* ``POST /patients/{id}/self-reports/links`` — issue a single-use, expiring link (a staff action,
  ``assessment.record``, audited); the token is in this answer only (201). 422 ``self_report``
  where the protocol offers none (the RCT).
* ``POST /patients/{id}/self-reports`` — the patient's submission: the link's ``token`` in the
  body authenticates it (no session); 404 for an unknown token or another patient's, 410 for a
  used, replaced or expired link, 422 naming the item. Its alerts and physician tasks are raised
  as on the page; the answer says whether to show the crisis text (and gives it).
* ``GET``/``POST /patients/{id}/retreatment`` — the retreatment series, and the physician's start
  (``clinic_plan.record``; 409 the workflow's refusal, 422 naming the field).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints

from ketamine_ptsd.services import NotFound
from ketamine_ptsd.services.self_reports import LinkUnusable

from ..deps import ApiAuth, State
from ..params import DbId

router = APIRouter(prefix="/patients/{patient_id}", tags=["self-report"])

Text = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")]
Token = Annotated[
    str, StringConstraints(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
]
YesNo = Literal["yes", "no"]


class SelfReportRead(BaseModel):
    id: int
    patient_id: int
    study_id: str
    reported_on: dt.date
    submitted_at: dt.datetime
    pcl5_total: int
    pcl5_subscales: dict[str, Any]
    pcl5_items: dict[str, Any]
    risk_level: str
    cssrs_items: dict[str, Any]
    previous_pcl5_total: int | None
    baseline_pcl5_total: int | None
    findings: list[str]
    submitted_by: str


class TrajectoryPointRead(BaseModel):
    day: dt.date
    total: int
    source: str
    within_response: bool | None


class RelapseWatchRead(BaseModel):
    day: dt.date
    days_after_primary: float
    share_lost: float
    label: str


class SelfReportStatusRead(BaseModel):
    interval_days: int
    last_reported_on: dt.date | None
    next_due: dt.date
    live_link_expires_at: dt.datetime | None
    points: list[TrajectoryPointRead]
    response_line: float | None
    watch: list[RelapseWatchRead]
    proposals: list[str]


class IssuedLinkRead(BaseModel):
    link_id: int
    patient_id: int
    study_id: str
    token: str
    path: str
    expires_at: dt.datetime


class SelfReportSubmit(BaseModel):
    """The patient's answers: PCL-5 items "1"–"20" (0–4) and the C-SSRS screener ("1"–"6",
    "6_recent"; yes/no, with the screener's skip logic)."""

    token: Token
    pcl5: dict[Annotated[str, StringConstraints(max_length=2)], Annotated[int, Field(ge=0, le=4)]]
    cssrs: dict[Annotated[str, StringConstraints(max_length=8)], YesNo]


class SubmittedRead(BaseModel):
    show_crisis_text: bool
    crisis_text: str | None
    pcl5_total: int
    relapse_flagged: bool
    points: list[TrajectoryPointRead]
    response_line: float | None


class RetreatmentRead(BaseModel):
    id: int
    patient_id: int
    course_number: int
    first_infusion_number: int
    last_infusion_number: int
    from_state: str
    starts_on: dt.date
    reason: str
    given: list[tuple[int, dt.date]]


class RetreatmentStart(BaseModel):
    starts_on: dt.date
    reason: Text


def _m(model: type[BaseModel], view: object) -> Any:
    return model.model_validate(view, from_attributes=True)


@router.get("/self-reports", response_model=list[SelfReportRead])
def list_reports(patient_id: DbId, auth: ApiAuth, state: State) -> Any:
    return [_m(SelfReportRead, v) for v in state.services.self_reports.list(auth.actor, patient_id)]


@router.get("/self-reports/status", response_model=SelfReportStatusRead)
def status(patient_id: DbId, auth: ApiAuth, state: State) -> Any:
    return _m(SelfReportStatusRead, state.services.self_reports.status(auth.actor, patient_id))


@router.post("/self-reports/links", response_model=IssuedLinkRead, status_code=201)
def issue_link(patient_id: DbId, auth: ApiAuth, state: State) -> Any:
    issued = state.services.self_reports.issue_link(auth.actor, patient_id)
    return IssuedLinkRead(
        link_id=issued.link_id,
        patient_id=issued.patient_id,
        study_id=issued.study_id,
        token=issued.token,
        path=f"/self-report/{issued.token}",
        expires_at=issued.expires_at,
    )


@router.post(
    "/self-reports",
    response_model=SubmittedRead,
    status_code=201,
    responses={404: {"description": "unknown link"}, 410: {"description": "link used or expired"}},
)
def submit(patient_id: DbId, body: SelfReportSubmit, state: State) -> Any:
    """The patient's submission through their link (the token authenticates it)."""
    services = state.services.self_reports
    try:
        if services.link_patient(body.token) != patient_id:
            raise NotFound("self-report link", None)
        cssrs = {k: v == "yes" for k, v in body.cssrs.items()}
        result = services.submit(body.token, pcl5_items=body.pcl5, cssrs_items=cssrs)
    except LinkUnusable as exc:
        return JSONResponse({"error": "gone", "detail": exc.message}, status_code=410)
    return SubmittedRead(
        show_crisis_text=result.show_crisis_text,
        crisis_text=result.crisis_text if result.show_crisis_text else None,
        pcl5_total=result.pcl5_total,
        relapse_flagged=result.relapse_flagged,
        points=[_m(TrajectoryPointRead, p) for p in result.points],
        response_line=result.response_line,
    )


@router.get("/retreatment", response_model=list[RetreatmentRead])
def courses(patient_id: DbId, auth: ApiAuth, state: State) -> Any:
    return [
        _m(RetreatmentRead, c) for c in state.services.retreatment.courses(auth.actor, patient_id)
    ]


@router.post("/retreatment", response_model=RetreatmentRead, status_code=201)
def start(patient_id: DbId, body: RetreatmentStart, auth: ApiAuth, state: State) -> Any:
    view = state.services.retreatment.start(
        auth.actor, patient_id, starts_on=body.starts_on, reason=body.reason
    )
    return _m(RetreatmentRead, view)
