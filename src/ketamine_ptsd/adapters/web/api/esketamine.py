"""``/patients/{id}/esketamine-sessions``: intranasal esketamine sessions of the clinic pathway
under the REMS (issue 13; PROTOCOL.md §8, §11), and ``/esketamine-forms/unsubmitted``, the
clinic's list of monitoring forms not yet submitted.

The nurse (``infusion.record``) starts a session with its REMS fields, records readings and
events, ends monitoring (not before 2 hours from the first device) and submits the form; the
prescriber discharges (``infusion.discharge_signoff``, password) and records the decisions that
release a blood-pressure hold or move a session (``infusion.physician_decision``, password and
reason). The form: ``/{n}/form`` (JSON) and ``/{n}/form.pdf``. Refusals: 403 role, 404 no such
session, 409 a rule of §11 (its name and § in ``detail``), 422 naming the field. A trial patient
is refused with 409 (the clinic pathway only), naming no drug or arm.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from ketamine_ptsd.adapters.reports.rems_form import form_data, form_pdf
from ketamine_ptsd.services.esketamine import SessionStart

from ..deps import ApiAuth, State
from ..params import DbId, Version

router = APIRouter(prefix="/patients/{patient_id}/esketamine-sessions", tags=["esketamine"])
forms = APIRouter(prefix="/esketamine-forms", tags=["esketamine"])

Name = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$")]
Text = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=256)]
SessionNumber = Annotated[int, Field(ge=1, le=9999)]
Mmhg = Annotated[int, Field(ge=0, le=400)]
Small = Annotated[int, Field(ge=0, le=400)]
ConcomitantClass = Literal[
    "benzodiazepine", "non_benzodiazepine_sedative_hypnotic", "psychostimulant", "maoi", "opioid"
]


class SessionCreate(BaseModel):
    rems_patient_enrolled: bool
    rems_patient_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    setting_name: Name
    setting_certified: bool
    monitoring_provider: Name
    prescriber: Name
    concomitant_classes: list[ConcomitantClass] = Field(default_factory=list, max_length=5)
    concomitant_notes: Text | None = None
    dose_mg: Annotated[int, Field(ge=0, le=1000)]
    other_dose_reason: Text | None = None
    device_lot: Annotated[str, StringConstraints(max_length=64)]
    bp_before_systolic: Mmhg
    bp_before_diastolic: Mmhg
    pulse_before: Small | None = None
    spo2_before: Small | None = None
    first_device_at: AwareDatetime | None = None


class ReadingCreate(BaseModel):
    systolic: Mmhg | None = None
    diastolic: Mmhg | None = None
    pulse: Small | None = None
    spo2_percent: Small | None = None
    moaas: Annotated[int, Field(ge=0, le=9)] | None = None
    taken_at: AwareDatetime | None = None


class EventCreate(BaseModel):
    kind: Literal["sedation", "dissociation", "respiratory_depression"]
    onset_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    notes: Text | None = None


class EventResolve(BaseModel):
    resolved_at: AwareDatetime | None = None
    version: Version


class MonitoringEnd(BaseModel):
    ready_to_leave_at: AwareDatetime | None
    version: Version


class Signed(BaseModel):
    password: Secret
    version: Version


class VersionOnly(BaseModel):
    version: Version


class BpHoldRelease(BaseModel):
    systolic: Mmhg
    diastolic: Mmhg
    reason: Text
    password: Secret


class SessionMove(BaseModel):
    day: dt.date
    reason: Text
    password: Secret


class ReadingRead(BaseModel):
    id: int
    taken_at: dt.datetime
    minute: int
    systolic: int | None
    diastolic: int | None
    pulse: int | None
    spo2_percent: int | None
    moaas: int | None


class EventRead(BaseModel):
    id: int
    kind: str
    onset_at: dt.datetime
    resolved_at: dt.datetime | None
    notes: str | None
    version: int


class DecisionRead(BaseModel):
    id: int
    session_number: int
    kind: str
    day: dt.date
    released: str
    reason: str
    decided_by: str
    decided_at: dt.datetime


class SessionRead(BaseModel):
    id: int
    patient_id: int
    study_id: str
    session_number: int
    session_date: dt.date
    phase: str
    rems_patient_enrolled: bool
    rems_patient_id: str | None
    setting_name: str
    setting_certified: bool
    monitoring_provider: str
    prescriber: str
    concomitant_classes: list[str]
    concomitant_notes: str | None
    dose_choice: str
    dose_mg: int
    other_dose_reason: str | None
    device_lot: str
    bp_before_systolic: int
    bp_before_diastolic: int
    pulse_before: int | None
    spo2_before: int | None
    first_device_at: dt.datetime
    ended_at: dt.datetime | None
    ready_to_leave_at: dt.datetime | None
    total_monitoring_minutes: int | None
    earliest_end: dt.datetime | None
    discharged_at: dt.datetime | None
    discharged_by: str | None
    form_submitted_at: dt.datetime | None
    form_submitted_by: str | None
    form_due_on: dt.date
    form_overdue: bool
    version: int
    readings: list[ReadingRead]
    events: list[EventRead]
    decisions: list[DecisionRead]
    #: what still keeps monitoring from ending, each "rule: message (§)"
    end_refusals: list[str]


class FormDueRead(BaseModel):
    patient_id: int
    study_id: str
    session_number: int
    session_date: dt.date
    due_on: dt.date
    overdue: bool


def _read(view: object) -> Any:
    return SessionRead.model_validate(view, from_attributes=True)


@router.get("", response_model=list[SessionRead])
def sessions(patient_id: DbId, auth: ApiAuth, state: State) -> Any:
    return [_read(v) for v in state.services.esketamine.sessions(auth.actor, patient_id)]


@router.post("", response_model=SessionRead, status_code=201)
def start(patient_id: DbId, body: SessionCreate, auth: ApiAuth, state: State) -> Any:
    given = SessionStart(
        **{**body.model_dump(), "concomitant_classes": tuple(body.concomitant_classes)}
    )
    return _read(state.services.esketamine.start(auth.actor, patient_id, given))


@router.post("/decisions/release-bp-hold", response_model=DecisionRead, status_code=201)
def release_bp_hold(patient_id: DbId, body: BpHoldRelease, auth: ApiAuth, state: State) -> Any:
    view = state.services.esketamine.release_bp_hold(
        auth.actor, patient_id, systolic=body.systolic, diastolic=body.diastolic,
        reason=body.reason, password=body.password,
    )  # fmt: skip
    return DecisionRead.model_validate(view, from_attributes=True)


@router.post("/decisions/move-session", response_model=DecisionRead, status_code=201)
def move_session(patient_id: DbId, body: SessionMove, auth: ApiAuth, state: State) -> Any:
    view = state.services.esketamine.move_session(
        auth.actor, patient_id, day=body.day, reason=body.reason, password=body.password
    )
    return DecisionRead.model_validate(view, from_attributes=True)


@router.get("/{number}", response_model=SessionRead)
def session(patient_id: DbId, number: SessionNumber, auth: ApiAuth, state: State) -> Any:
    return _read(state.services.esketamine.session(auth.actor, patient_id, number))


@router.post("/{number}/readings", response_model=SessionRead, status_code=201)
def reading(
    patient_id: DbId, number: SessionNumber, body: ReadingCreate, auth: ApiAuth, state: State
) -> Any:
    view = state.services.esketamine.record_reading(
        auth.actor, patient_id, number, **body.model_dump()
    )
    return _read(view)


@router.post("/{number}/events", response_model=SessionRead, status_code=201)
def event(
    patient_id: DbId, number: SessionNumber, body: EventCreate, auth: ApiAuth, state: State
) -> Any:
    view = state.services.esketamine.record_event(
        auth.actor, patient_id, number, **body.model_dump()
    )
    return _read(view)


@router.post("/{number}/events/{event_id}/resolve", response_model=SessionRead)
def resolve(
    patient_id: DbId,
    number: SessionNumber,
    event_id: DbId,
    body: EventResolve,
    auth: ApiAuth,
    state: State,
) -> Any:
    view = state.services.esketamine.resolve_event(
        auth.actor, patient_id, number, event_id,
        expected_version=body.version, resolved_at=body.resolved_at,
    )  # fmt: skip
    return _read(view)


@router.post("/{number}/end", response_model=SessionRead)
def end(
    patient_id: DbId, number: SessionNumber, body: MonitoringEnd, auth: ApiAuth, state: State
) -> Any:
    view = state.services.esketamine.end_monitoring(
        auth.actor, patient_id, number,
        ready_to_leave_at=body.ready_to_leave_at, expected_version=body.version,
    )  # fmt: skip
    return _read(view)


@router.post("/{number}/discharge", response_model=SessionRead)
def discharge(
    patient_id: DbId, number: SessionNumber, body: Signed, auth: ApiAuth, state: State
) -> Any:
    view = state.services.esketamine.discharge(
        auth.actor, patient_id, number, password=body.password, expected_version=body.version
    )
    return _read(view)


@router.post("/{number}/form/submit", response_model=SessionRead)
def submit_form(
    patient_id: DbId, number: SessionNumber, body: VersionOnly, auth: ApiAuth, state: State
) -> Any:
    view = state.services.esketamine.submit_form(
        auth.actor, patient_id, number, expected_version=body.version
    )
    return _read(view)


@router.get("/{number}/form")
def form(patient_id: DbId, number: SessionNumber, auth: ApiAuth, state: State) -> Any:
    """The monitoring form's fields (JSON export; PROTOCOL.md §11)."""
    service = state.services.esketamine
    view = service.session(auth.actor, patient_id, number)
    return form_data(view, service.plan(auth.actor, patient_id))


@router.get("/{number}/form.pdf", response_class=Response)
def form_as_pdf(patient_id: DbId, number: SessionNumber, auth: ApiAuth, state: State) -> Response:
    """The monitoring form as a one-page PDF."""
    service = state.services.esketamine
    view = service.session(auth.actor, patient_id, number)
    data = form_data(view, service.plan(auth.actor, patient_id))
    name = f"rems-form-{view.study_id}-{number}.pdf"
    return Response(
        form_pdf(data),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@forms.get("/unsubmitted", response_model=list[FormDueRead])
def unsubmitted(auth: ApiAuth, state: State) -> Any:
    """Monitoring forms not yet submitted, oldest first (``overdue`` past 7 days, §11)."""
    rows = state.services.esketamine.unsubmitted_forms(auth.actor)
    return [FormDueRead.model_validate(r, from_attributes=True) for r in rows]
