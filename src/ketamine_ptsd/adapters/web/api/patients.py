"""``/patients``: registration, consent, screening outcome, allocation, schedule, dose.

The allocation and dose read exactly as the services let the caller see them: "study drug" and
the arm-independent volume for blinded roles (PROTOCOL.md §3; :mod:`..dosing`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from ketamine_ptsd.core.protocol import WEIGHT_KG_LIMITS
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.rules import plan_schedule
from ketamine_ptsd.services import PermissionDenied
from ketamine_ptsd.services.patient_search import PatientQuery
from ketamine_ptsd.services.patients import ConsentInput

from ..deps import ApiAuth, State
from ..dosing import dose_display
from ..params import DbId

router = APIRouter(prefix="/patients", tags=["patients"])


class PatientCreate(BaseModel):
    protocol_name: str = Field(max_length=64)
    site: str = Field(max_length=8)
    stratum: str | None = Field(default=None, max_length=64)


class PatientRead(BaseModel):
    id: int
    study_id: str
    protocol_name: str
    mode: str
    site: str
    stratum: str | None
    status: str
    registered_at: dt.datetime
    voided: bool
    version: int
    treatment: str | None
    protocol_version: str | None = Field(None, description="the version consented under")
    reconsent_to: str | None = Field(
        None, description="an amendment in force since the patient consented: re-consent due"
    )
    regimen: str | None = Field(
        None, description="an open-label one-arm pathway's treatment (no allocation needed)"
    )


class ConsentCreate(BaseModel):
    consent_version: str = Field(max_length=32)
    consent_date: dt.date
    capacity_assessed: bool
    capacity_assessor: str | None = Field(default=None, max_length=200)
    capacity_note: str | None = Field(default=None, max_length=2000)
    topics: list[str] = Field(default_factory=list, max_length=20)


class ConsentRead(BaseModel):
    id: int
    consent_version: str
    consent_date: dt.date
    capacity_assessed: bool
    capacity_assessor: str | None
    topics: list[str]
    voided: bool


class ScreeningCreate(BaseModel):
    outcome: str = Field(max_length=32)
    decided_on: dt.date
    reasons: list[str] = Field(default_factory=list, max_length=50)


class ScreeningRead(BaseModel):
    id: int
    outcome: str
    decided_on: dt.date
    reasons: list[str]
    voided: bool
    override_criteria: list[str] = Field(
        default_factory=list, description="the criteria an investigator's override named"
    )


class EligibilityOverrideCreate(BaseModel):
    """An investigator's override: every failed or missing criterion of the latest decision,
    named by id, and the reason (audited; issue 11)."""

    criteria: list[str] = Field(min_length=1, max_length=50)
    reason: str = Field(max_length=4000)
    decided_on: dt.date


class AllocationRead(BaseModel):
    study_id: str
    allocated_at: dt.datetime
    infusion_date: dt.date
    treatment: str
    stratum: str


class AssessmentWindowRead(BaseModel):
    name: str
    target: dt.date
    window_start: dt.date
    window_end: dt.date
    instruments: list[str]


class ScheduleRead(BaseModel):
    infusions: list[dt.date]
    assessments: list[AssessmentWindowRead]
    follow_up: list[dt.date]


class DoseRead(BaseModel):
    treatment: str
    blinded: bool
    volume_ml: float | None
    rate_ml_per_h: float | None
    minutes: int | None
    arithmetic: str | None
    dose_mg: float | None = None
    drug_arithmetic: str | None = None
    problem: str | None = None


def _patient(view: object) -> PatientRead:
    return PatientRead.model_validate(view, from_attributes=True)


@router.get("", response_model=list[PatientRead])
def list_patients(
    auth: ApiAuth,
    state: State,
    response: Response,
    q: Annotated[str, Query(max_length=100)] = "",
    status: str | None = None,
    protocol: str | None = None,
    sort: str = "study_id",
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
    per_page: Annotated[int | None, Query(ge=1, le=200)] = None,
) -> list[PatientRead]:
    """The patients the caller may read: ``q`` searches the study id (and the name, for a role
    that may read identities), ``status``/``protocol`` filter, ``sort`` is one of study_id,
    registered, status, protocol (``-`` reverses); without ``per_page`` every match is
    returned. ``X-Total-Count`` carries the number of matches."""
    found = state.services.patients.search(
        auth.actor,
        PatientQuery(
            text=q, status=status, protocol=protocol, sort=sort, page=page, per_page=per_page
        ),
    )
    response.headers["X-Total-Count"] = str(found.total)
    return [_patient(p) for p in found.items]


@router.post("", response_model=PatientRead, status_code=201)
def register(body: PatientCreate, auth: ApiAuth, state: State) -> PatientRead:
    return _patient(
        state.services.patients.register(
            auth.actor, protocol_name=body.protocol_name, site=body.site, stratum=body.stratum
        )
    )


@router.get("/{patient_id}", response_model=PatientRead)
def get_patient(patient_id: DbId, auth: ApiAuth, state: State) -> PatientRead:
    return _patient(state.services.patients.get(auth.actor, patient_id))


@router.get("/{patient_id}/consents", response_model=list[ConsentRead])
def consents(patient_id: DbId, auth: ApiAuth, state: State) -> list[ConsentRead]:
    return [
        ConsentRead.model_validate(c, from_attributes=True)
        for c in state.services.patients.consents(auth.actor, patient_id)
    ]


@router.post("/{patient_id}/consents", response_model=ConsentRead, status_code=201)
def record_consent(
    patient_id: DbId, body: ConsentCreate, auth: ApiAuth, state: State
) -> ConsentRead:
    view = state.services.patients.record_consent(
        auth.actor,
        patient_id,
        ConsentInput(
            body.consent_version,
            body.consent_date,
            body.capacity_assessed,
            body.capacity_assessor,
            body.capacity_note,
            tuple(body.topics),
        ),
    )
    return ConsentRead.model_validate(view, from_attributes=True)


@router.get("/{patient_id}/screening", response_model=list[ScreeningRead])
def screening(patient_id: DbId, auth: ApiAuth, state: State) -> list[ScreeningRead]:
    return [
        ScreeningRead.model_validate(s, from_attributes=True)
        for s in state.services.patients.screening_outcomes(auth.actor, patient_id)
    ]


@router.post("/{patient_id}/screening", response_model=ScreeningRead, status_code=201)
def record_screening(
    patient_id: DbId, body: ScreeningCreate, auth: ApiAuth, state: State
) -> ScreeningRead:
    view = state.services.patients.record_screening_outcome(
        auth.actor,
        patient_id,
        outcome=body.outcome,
        decided_on=body.decided_on,
        reasons=body.reasons,
    )
    return ScreeningRead.model_validate(view, from_attributes=True)


@router.post("/{patient_id}/eligibility-override", response_model=ScreeningRead, status_code=201)
def override_eligibility(
    patient_id: DbId, body: EligibilityOverrideCreate, auth: ApiAuth, state: State
) -> ScreeningRead:
    view = state.services.screening.override_eligibility(
        auth.actor,
        patient_id,
        criteria=body.criteria,
        reason=body.reason,
        decided_on=body.decided_on,
    )
    return ScreeningRead.model_validate(view, from_attributes=True)


@router.get("/{patient_id}/allocation", response_model=AllocationRead)
def allocation(patient_id: DbId, auth: ApiAuth, state: State) -> AllocationRead:
    view = state.services.randomization.allocation(auth.actor, patient_id)
    return AllocationRead.model_validate(view, from_attributes=True)


@router.post("/{patient_id}/allocation", response_model=AllocationRead, status_code=201)
def allocate(patient_id: DbId, auth: ApiAuth, state: State) -> AllocationRead:
    view = state.services.randomization.allocate(
        auth.actor, patient_id, infusion_date=state.now().date()
    )
    return AllocationRead.model_validate(view, from_attributes=True)


@router.get("/{patient_id}/schedule", response_model=ScheduleRead)
def schedule(patient_id: DbId, auth: ApiAuth, state: State) -> ScheduleRead:
    """The calendar from infusion 1 (the allocation date, PROTOCOL.md §3, §5)."""
    patient = state.services.patients.get(auth.actor, patient_id)
    view = state.services.randomization.allocation(auth.actor, patient_id)
    plan = plan_schedule(state.protocol(patient.protocol_name), view.infusion_date)
    return ScheduleRead(
        infusions=list(plan.infusions),
        assessments=[
            AssessmentWindowRead(
                name=a.name,
                target=a.target,
                window_start=a.window_start,
                window_end=a.window_end,
                instruments=list(a.instruments),
            )
            for a in plan.assessments
        ],
        follow_up=[v.target for v in plan.follow_up],
    )


@router.get("/{patient_id}/dose", response_model=DoseRead)
def dose(
    patient_id: DbId,
    auth: ApiAuth,
    state: State,
    weight_kg: float = Query(ge=WEIGHT_KG_LIMITS[0], le=WEIGHT_KG_LIMITS[1]),
) -> DoseRead:
    """Volume and pump rate as the caller may see them (blinded: "study drug", PROTOCOL.md §4)."""
    from ketamine_ptsd.core.roles import is_allowed

    if not is_allowed(auth.actor.role, Action.INFUSION_READ):
        raise PermissionDenied(Action.INFUSION_READ.value, auth.actor.role.value)
    patient = state.services.patients.get(auth.actor, patient_id)
    shown = dose_display(
        state.protocol(patient.protocol_name), patient.treatment, patient.visibility, weight_kg
    )
    return DoseRead(
        treatment=shown.treatment,
        blinded=shown.blinded,
        volume_ml=shown.volume_ml,
        rate_ml_per_h=shown.rate_ml_per_h,
        minutes=shown.minutes,
        arithmetic=shown.volume_arithmetic,
        dose_mg=shown.dose_mg,
        drug_arithmetic=shown.drug_arithmetic,
        problem=shown.problem,
    )
