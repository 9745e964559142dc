"""What the patient use cases take in and show: identity, consent, screening outcomes, the patient as a role may see it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.core.workflow import (
    Event,
    Treatment,
    allowed_events,
)

from .records import (
    Consent,
    Patient,
    ScreeningOutcome,
)


class ScreeningResult(StrEnum):
    """What :meth:`PatientService.record_screening_outcome` records by hand; "eligible" is not
    one of them: the rules decide it (services/screening.py), or an investigator's override."""

    SCREEN_FAILED = "screen_failed"
    DECLINED = "declined"


@dataclass(frozen=True)
class IdentityInput:
    family_name: str
    given_name: str
    date_of_birth: dt.date | None = None
    contact: str | None = None


@dataclass(frozen=True)
class IdentityView:
    patient_id: int
    family_name: str
    given_name: str
    date_of_birth: dt.date | None
    contact: str | None
    version: int


@dataclass(frozen=True)
class PatientView:
    """A patient as the acting role may see it; ``treatment`` is "study drug" while blinded."""

    id: int
    study_id: str
    protocol_name: str
    mode: str
    site: str
    stratum: str | None
    status: str
    registered_at: dt.datetime
    voided: bool
    void_reason: str | None
    version: int
    treatment: str | None
    visibility: Treatment = Treatment.UNALLOCATED  # how the reader sees the treatment (§3)
    events: frozenset[Event] = frozenset()  # what the reader's role may do next (by state)
    protocol_version: str | None = None  # the version consented under
    reconsent_to: str | None = None  # an amendment in force since: re-consent is due
    #: An open-label, one-arm pathway's treatment (the clinic's "ketamine 0.5 mg/kg …"): there
    #: is no allocation to wait for and nothing to hide (§3), so the page names it; None where
    #: the treatment comes from an allocation (a trial) or the protocol cannot be read.
    regimen: str | None = None


@dataclass(frozen=True)
class ConsentInput:
    consent_version: str
    consent_date: dt.date
    capacity_assessed: bool
    capacity_assessor: str | None = None
    capacity_note: str | None = None
    topics: Sequence[str] = ()


@dataclass(frozen=True)
class ConsentView:
    id: int
    patient_id: int
    consent_version: str
    consent_date: dt.date
    capacity_assessed: bool
    capacity_assessor: str | None
    topics: tuple[str, ...]
    voided: bool
    version: int


@dataclass(frozen=True)
class ScreeningView:
    """A screening outcome; ``override_criteria`` names the criteria an investigator overrode
    (empty when the rules decided, or for a screen failure or refusal)."""

    id: int
    patient_id: int
    outcome: str
    decided_on: dt.date
    reasons: tuple[str, ...]
    voided: bool
    version: int
    override_criteria: tuple[str, ...] = ()


def patient_view(
    patient: Patient,
    treatment: str | None,
    visibility: Treatment,
    role: Role,
    reconsent_to: str | None = None,
    regimen: str | None = None,
) -> PatientView:
    return PatientView(
        id=patient.id,
        study_id=patient.study_id,
        protocol_name=patient.protocol_name,
        mode=patient.mode,
        site=patient.site,
        stratum=patient.stratum,
        status=patient.status,
        registered_at=patient.registered_at,
        voided=patient.voided_at is not None,
        void_reason=patient.void_reason,
        version=patient.version,
        treatment=treatment,
        visibility=visibility,
        events=allowed_events(patient.status, role),
        protocol_version=patient.protocol_version,
        reconsent_to=reconsent_to,
        regimen=regimen,
    )


def consent_view(record: Consent) -> ConsentView:
    return ConsentView(
        record.id,
        record.patient_id,
        record.consent_version,
        record.consent_date,
        record.capacity_assessed,
        record.capacity_assessor,
        tuple(record.topics),
        record.voided_at is not None,
        record.version,
    )


def screening_view(record: ScreeningOutcome) -> ScreeningView:
    return ScreeningView(
        record.id,
        record.patient_id,
        record.outcome,
        record.decided_on,
        tuple(record.reasons),
        record.voided_at is not None,
        record.version,
        tuple(record.override_criteria or ()),
    )
