"""Patients: registration under a pseudonym, identifying data, consent, screening outcomes.

* A patient is known to the record by a pseudonymous study id (site prefix + sequence, e.g.
  ``YAL-0007``); name, date of birth and contact live in a separate table that only roles with
  ``identity.read`` may read (administrator, investigator, clinician).
* The protocol's name, mode (trial/clinic) and blinding are copied onto the patient at
  registration, so access decisions do not change if a protocol file changes later.
* Consent: version, date, capacity assessment (PROTOCOL.md §1 "independent capacity
  assessment, written informed consent"); in clinic mode the topics of PROTOCOL.md §2 must all
  be covered (off-label use, dissociation, post-infusion monitoring, limited durability, need
  for a maintenance plan).
* Screen failures and refusals are kept with their reasons (CONSORT flow, SYSTEM.md §9).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import bindparam, select

from ketamine_ptsd.core.roles import Action, Role
from ketamine_ptsd.core.workflow import (
    BLINDED_LABEL,
    Event,
    PatientState,
    Treatment,
)

from ._workflow import check_stratum, entered, need_reason
from .access import Actor, allocation_visibility, require, require_patient, treatment_of
from .context import ServiceContext
from .errors import ConflictError, NotFound, ValidationFailed
from .patient_search import PatientPage, PatientQuery, search_patients
from .patient_views import (
    ConsentInput,
    ConsentView,
    IdentityInput,
    IdentityView,
    PatientView,
    ScreeningResult,
    ScreeningView,
    consent_view,
    patient_view,
    screening_view,
)
from .protocol_versions import in_force, patient_protocol, reconsent_due
from .records import (
    Allocation,
    Consent,
    Patient,
    PatientIdentity,
    ProtocolVersion,
    RandomizationSlot,
    ScreeningOutcome,
    StudyIdSequence,
    Unblinding,
)
from .sites import check_registration_site
from .uow import UnitOfWork
from .workflow import consent_event, transition

__all__ = [
    "CLINIC_CONSENT_TOPICS",
    "ConsentInput",
    "ConsentView",
    "IdentityInput",
    "IdentityView",
    "PatientService",
    "PatientView",
    "ScreeningView",
    "load_patient",
    "screening_view",
]

SITE_PATTERN = re.compile(r"^[A-Z0-9]{2,8}$")

#: PROTOCOL.md §2: what informed consent must cover on the clinical pathway. A protocol may
#: declare its own list as ``consent_topics``; this is the fallback for clinic-mode protocols.
CLINIC_CONSENT_TOPICS = (
    "off_label_use",
    "dissociation",
    "post_infusion_monitoring",
    "limited_durability",
    "maintenance_plan",
)


#: The event each hand-recorded outcome is, in the workflow's table.
_OUTCOME_EVENTS = {
    ScreeningResult.SCREEN_FAILED: Event.SCREEN_FAIL,
    ScreeningResult.DECLINED: Event.DECLINE,
}


@functools.cache
def _patient_query(lock: bool) -> Any:
    """Built once: nearly every use case starts here, and building the statement costs as
    much as running it."""
    query = select(Patient).where(Patient.id == bindparam("patient_id"))
    return query.with_for_update() if lock else query


def load_patient(uow: UnitOfWork, patient_id: int, *, lock: bool = False) -> Patient:
    """The patient with ``patient_id`` or NotFound."""
    patient = uow.session.scalar(_patient_query(lock), {"patient_id": patient_id})
    if patient is None:
        raise NotFound("patient", patient_id)
    return patient


def _check_version(entity: str, key: Any, record: Any, expected_version: int) -> None:
    if record.version != expected_version:
        raise ConflictError(
            entity, key, "changed by someone else since it was read; reload and retry"
        )


def treatment_label(
    uow: UnitOfWork, actor: Actor, patient: Patient, arms: dict[str, str]
) -> tuple[str | None, Treatment]:
    """What the actor may read as the patient's treatment — the drug, "study drug", or None —
    and how (:func:`~.access.treatment_of`, the blind's one policy)."""
    allocation = uow.session.scalar(select(Allocation).where(Allocation.patient_id == patient.id))
    if allocation is None:
        return None, Treatment.UNALLOCATED
    visibility = treatment_of(uow.session, actor, patient)
    if visibility is not Treatment.NAMED:
        return BLINDED_LABEL, visibility
    slot = uow.session.get(RandomizationSlot, allocation.slot_id)
    assert slot is not None
    return arms.get(slot.arm, slot.arm), visibility


def allocation_visibility_for_many(uow: UnitOfWork, actor: Actor) -> Callable[[Patient], bool]:
    """:func:`~.access.allocation_visibility` for any number of patients, at most one query.

    Why: the patient list asked the question once per patient, and for an investigator each
    answer was a query (an emergency unblinding of that patient, PROTOCOL.md §3). Here the
    investigator's unblinded patients are read once; every other role's answer depends on the
    role and the patient row alone, so it is delegated to ``allocation_visibility`` itself,
    which then runs no query — the rule stays declared in one place (services/access.py).
    ``tests/services/test_patients.py`` checks the list against ``get`` for every role.
    """
    if actor.role is Role.INVESTIGATOR:
        unblinded = frozenset(uow.session.scalars(select(Unblinding.patient_id).distinct()))
        return lambda patient: not patient.blinded or patient.id in unblinded
    return functools.partial(allocation_visibility, uow.session, actor)


class PatientService:
    """Register patients, keep their identity apart, record consent and screening outcomes."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    # --- views -------------------------------------------------------------------------------

    def _arms(self, protocol_name: str) -> dict[str, str]:
        try:
            protocol = self._ctx.protocol(protocol_name)
        except ValidationFailed:
            return {}
        return {arm.id: arm.drug for arm in protocol.arms}

    def _regimen(self, protocol_name: str) -> str | None:
        """The treatment of an open-label pathway with one arm, as its protocol labels it."""
        try:
            protocol = self._ctx.protocol(protocol_name)
        except ValidationFailed:
            return None
        if protocol.blinded or len(protocol.arms) != 1:
            return None
        return protocol.arms[0].label

    def _view(self, uow: UnitOfWork, actor: Actor, patient: Patient) -> PatientView:
        treatment, visibility = treatment_label(
            uow, actor, patient, self._arms(patient.protocol_name)
        )
        return patient_view(
            patient,
            treatment,
            visibility,
            actor.role,
            reconsent_due(uow, patient),
            self._regimen(patient.protocol_name),
        )

    # --- registration ------------------------------------------------------------------------

    def register(
        self,
        actor: Actor,
        *,
        protocol_name: str,
        site: str,
        identity: IdentityInput | None = None,
        stratum: str | None = None,
    ) -> PatientView:
        """Register a patient; the study id is the site prefix and the site's next number."""
        require(actor, Action.PATIENT_REGISTER)
        protocol = self._ctx.protocol(protocol_name)
        if not SITE_PATTERN.match(site):
            raise ValidationFailed("site", "2-8 upper-case letters or digits", site)
        if protocol.blinded and actor.role.value == "clinician":
            raise ValidationFailed(
                "protocol_name", "clinicians register clinic-mode patients only", protocol_name
            )
        if identity is not None:
            require(actor, Action.IDENTITY_EDIT)
            self._check_identity(identity)
        with self._ctx.uow(actor, write=True) as uow:
            check_registration_site(uow.session, actor, site, uow.now.date())
            check_stratum(uow, protocol, stratum)
            sequence = uow.session.scalar(
                select(StudyIdSequence).where(StudyIdSequence.prefix == site).with_for_update()
            )
            if sequence is None:
                sequence = StudyIdSequence(prefix=site, last_value=0)
                uow.session.add(sequence)
            sequence.last_value += 1
            patient = Patient(
                study_id=f"{site}-{sequence.last_value:04d}",
                protocol_name=protocol.name,
                mode=protocol.mode,
                blinded=bool(protocol.blinded),
                site=site,
                stratum=stratum,
                status=PatientState.REGISTERED.value,
                registered_at=uow.now,
                registered_by=actor.user_id,
                voided_at=None,
                voided_by=None,
                void_reason=None,
            )
            uow.session.add(patient)
            uow.flush()
            if identity is not None:
                uow.session.add(PatientIdentity(patient_id=patient.id, **identity.__dict__))
            uow.flush()
            view = self._view(uow, actor, patient)
            uow.commit()
            return view

    @staticmethod
    def _check_identity(identity: IdentityInput) -> None:
        if not identity.family_name.strip():
            raise ValidationFailed("family_name", "must not be blank", identity.family_name)
        if not identity.given_name.strip():
            raise ValidationFailed("given_name", "must not be blank", identity.given_name)

    def get(self, actor: Actor, patient_id: int) -> PatientView:
        with self._ctx.uow(actor, write=False) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.PATIENT_READ, patient)
            return self._view(uow, actor, patient)

    def find(self, actor: Actor, study_id: str) -> PatientView:
        with self._ctx.uow(actor, write=False) as uow:
            patient = uow.session.scalar(select(Patient).where(Patient.study_id == study_id))
            if patient is None:
                raise NotFound("patient", study_id)
            require_patient(actor, Action.PATIENT_READ, patient)
            return self._view(uow, actor, patient)

    def list(self, actor: Actor, *, include_voided: bool = False) -> list[PatientView]:
        """Patients the actor may read (a clinician sees clinic-mode patients only).

        One query for the patients with their allocations and slots (outer joins: most
        patients are not allocated) and at most one for the visibility of all of them
        (:func:`allocation_visibility_for_many`), instead of up to three per patient. Each
        view is the one :meth:`get` returns; a blinded reader's arm is read but never leaves
        this method (as in ``RandomizationService.allocation``).
        """
        require(actor, Action.PATIENT_READ)
        with self._ctx.uow(actor, write=False) as uow:
            in_force = (
                select(ProtocolVersion.protocol_version)
                .where(ProtocolVersion.name == Patient.protocol_name)
                .order_by(ProtocolVersion.id.desc())
                .limit(1)
                .scalar_subquery()
            )
            query = (
                select(Patient, Allocation.id, RandomizationSlot.arm, in_force)
                .outerjoin(Allocation, Allocation.patient_id == Patient.id)
                .outerjoin(RandomizationSlot, RandomizationSlot.id == Allocation.slot_id)
                .order_by(Patient.id)
            )
            if not include_voided:
                query = query.where(Patient.voided_at.is_(None))
            if actor.role is Role.CLINICIAN:
                query = query.where(Patient.blinded.is_(False))
            if actor.sites is not None:  # a site's users: their sites' patients only
                query = query.where(Patient.site.in_(sorted(actor.sites)))
            rows = uow.session.execute(query).all()
            visible = allocation_visibility_for_many(uow, actor) if rows else None
            arms_of: dict[str, dict[str, str]] = {}
            regimens: dict[str, str | None] = {}
            views = []
            for patient, allocation_id, arm, latest in rows:
                treatment: str | None = None
                visibility = Treatment.UNALLOCATED
                if allocation_id is not None:
                    assert visible is not None and arm is not None
                    if visible(patient):
                        if patient.protocol_name not in arms_of:
                            arms_of[patient.protocol_name] = self._arms(patient.protocol_name)
                        treatment = arms_of[patient.protocol_name].get(arm, arm)
                        visibility = Treatment.NAMED
                    else:
                        treatment, visibility = BLINDED_LABEL, Treatment.BLINDED
                due = latest if patient.protocol_version not in (None, latest) else None
                if patient.protocol_name not in regimens:
                    regimens[patient.protocol_name] = self._regimen(patient.protocol_name)
                views.append(
                    patient_view(
                        patient,
                        treatment,
                        visibility,
                        actor.role,
                        due,
                        regimens[patient.protocol_name],
                    )
                )
            return views

    def search(self, actor: Actor, query: PatientQuery) -> PatientPage:
        """The list searched (study id; name where the role may read it), filtered, sorted and
        paged (services/patient_search.py)."""
        return search_patients(self, self._ctx, actor, query)

    def edit(
        self,
        actor: Actor,
        patient_id: int,
        *,
        expected_version: int,
        reason: str,
        site: str | None = None,
        stratum: str | None = None,
    ) -> PatientView:
        """Correct the stratum (before allocation only) — the study id never changes."""
        reason = need_reason(reason)
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.PATIENT_EDIT, patient)
            _check_version("patient", patient.study_id, patient, expected_version)
            if patient.voided_at is not None:
                raise ConflictError("patient", patient.study_id, "voided records cannot be edited")
            if stratum is not None:
                transition(uow, patient, Event.EDIT_STRATUM)
                check_stratum(uow, self._ctx.protocol(patient.protocol_name), stratum)
                patient.stratum = stratum
            if site is not None and site != patient.site:
                raise ValidationFailed(
                    "site", "the site is part of the study id and cannot change", site
                )
            uow.reason = reason
            uow.flush()
            view = self._view(uow, actor, patient)
            uow.commit()
            return view

    def void(
        self, actor: Actor, patient_id: int, *, expected_version: int, reason: str
    ) -> PatientView:
        """Void a registration made in error (nothing is deleted; the reason is audited)."""
        reason = need_reason(reason)
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.PATIENT_VOID, patient)
            _check_version("patient", patient.study_id, patient, expected_version)
            if patient.voided_at is not None:
                raise ConflictError("patient", patient.study_id, "already voided")
            transition(uow, patient, Event.VOID_REGISTRATION)
            uow.reason = reason
            patient.voided_at = uow.now
            patient.voided_by = actor.user_id
            patient.void_reason = reason
            uow.flush()
            view = self._view(uow, actor, patient)
            uow.commit()
            return view

    # --- identity ------------------------------------------------------------------------------

    def identity(self, actor: Actor, patient_id: int) -> IdentityView:
        with self._ctx.uow(actor, write=False) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.IDENTITY_READ, patient)
            record = uow.session.scalar(
                select(PatientIdentity).where(PatientIdentity.patient_id == patient_id)
            )
            if record is None:
                raise NotFound("identity of patient", patient.study_id)
            return IdentityView(
                patient_id,
                record.family_name,
                record.given_name,
                record.date_of_birth,
                record.contact,
                record.version,
            )

    def set_identity(
        self,
        actor: Actor,
        patient_id: int,
        identity: IdentityInput,
        *,
        expected_version: int | None,
        reason: str | None = None,
    ) -> IdentityView:
        """Create (``expected_version=None``) or correct (with a reason) the identifying data."""
        self._check_identity(identity)
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.IDENTITY_EDIT, patient)
            record = uow.session.scalar(
                select(PatientIdentity).where(PatientIdentity.patient_id == patient_id)
            )
            if record is None:
                if expected_version is not None:
                    raise NotFound("identity of patient", patient.study_id)
                record = PatientIdentity(patient_id=patient_id, **identity.__dict__)
                uow.session.add(record)
            else:
                if expected_version is None:
                    raise ConflictError(
                        "identity of patient", patient.study_id, "already recorded; edit it"
                    )
                _check_version("identity of patient", patient.study_id, record, expected_version)
                uow.reason = need_reason(reason)
                for name, value in identity.__dict__.items():
                    setattr(record, name, value)
            uow.flush()
            view = IdentityView(
                patient_id,
                record.family_name,
                record.given_name,
                record.date_of_birth,
                record.contact,
                record.version,
            )
            uow.commit()
            return view

    # --- consent -------------------------------------------------------------------------------

    def record_consent(self, actor: Actor, patient_id: int, consent: ConsentInput) -> ConsentView:
        """Record informed consent; refused without a capacity assessment or missing topics."""
        if not consent.consent_version.strip():
            raise ValidationFailed("consent_version", "must not be blank", consent.consent_version)
        if not consent.capacity_assessed:
            raise ValidationFailed(
                "capacity_assessed",
                "consent needs a documented capacity assessment (PROTOCOL.md §1)",
                False,
            )
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.CONSENT_RECORD, patient)
            if patient.voided_at is not None:
                raise ConflictError("patient", patient.study_id, "voided")
            transition(uow, patient, consent_event(patient))
            if consent.consent_date > uow.now.date():
                raise ValidationFailed(
                    "consent_date", "cannot be in the future", consent.consent_date
                )
            if patient.mode == "trial" and not (consent.capacity_assessor or "").strip():
                raise ValidationFailed(
                    "capacity_assessor",
                    "the trial needs an independent capacity assessor (PROTOCOL.md §1)",
                    None,
                )
            required = self._required_topics(patient)
            missing = [t for t in required if t not in consent.topics]
            if missing:
                raise ValidationFailed(
                    "topics",
                    f"consent must cover {', '.join(missing)} (PROTOCOL.md §2)",
                    list(consent.topics),
                )
            # Bound to the protocol version in force at this consent (a re-consent after an
            # amendment moves the patient to the new version; services/protocol_versions.py),
            # and the form must be one that version approves.
            bound = in_force(self._ctx, uow, patient.protocol_name)
            if patient.protocol_version != bound:
                uow.reason = uow.reason or f"consent under {patient.protocol_name} {bound}"
                patient.protocol_version = bound
            forms = patient_protocol(self._ctx, uow, patient).consent_forms
            if forms and consent.consent_version.strip() not in forms:
                raise ValidationFailed(
                    "consent_version",
                    f"one of the consent forms of {patient.protocol_name} {bound}: "
                    f"{', '.join(forms)}",
                    consent.consent_version,
                )
            record = Consent(
                patient_id=patient_id,
                consent_version=consent.consent_version.strip(),
                consent_date=consent.consent_date,
                capacity_assessed=True,
                capacity_assessor=consent.capacity_assessor,
                capacity_note=consent.capacity_note,
                topics=list(consent.topics),
                **entered(actor, uow.now),
            )
            uow.session.add(record)
            uow.flush()
            view = consent_view(record)
            uow.commit()
            return view

    def _required_topics(self, patient: Patient) -> tuple[str, ...]:
        try:
            protocol = self._ctx.protocol(patient.protocol_name)
        except ValidationFailed:
            protocol = None
        declared = getattr(protocol, "consent_topics", None)
        if declared:
            return tuple(declared)
        return CLINIC_CONSENT_TOPICS if patient.mode == "clinic" else ()

    def consents(self, actor: Actor, patient_id: int) -> list[ConsentView]:
        with self._ctx.uow(actor, write=False) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.CONSENT_READ, patient)
            rows = uow.session.scalars(
                select(Consent).where(Consent.patient_id == patient_id).order_by(Consent.id)
            )
            return [consent_view(c) for c in rows]

    # --- screening outcomes ------------------------------------------------------------------

    def record_screening_outcome(
        self,
        actor: Actor,
        patient_id: int,
        *,
        outcome: str,
        decided_on: dt.date,
        reasons: Sequence[str] = (),
    ) -> ScreeningView:
        """A screen failure or a refusal, each with its reasons (CONSORT).

        "eligible" is refused: eligibility is decided by the protocol's rules from a recorded
        screening visit (:meth:`ScreeningService.record_visit`), or by an investigator's audited
        override of named criteria (:meth:`ScreeningService.override_eligibility`).
        """
        if outcome == "eligible":
            raise ValidationFailed(
                "outcome",
                "eligibility is decided by the protocol's rules from a recorded screening visit "
                "(PROTOCOL.md §1, §2): record the screening visit, or an investigator's override "
                "that names the failed or missing criteria with a reason",
                outcome,
            )
        try:
            result = ScreeningResult(outcome)
        except ValueError:
            raise ValidationFailed(
                "outcome", f"one of {', '.join(s.value for s in ScreeningResult)}", outcome
            ) from None
        cleaned = [r.strip() for r in reasons if r.strip()]
        if not cleaned:
            raise ValidationFailed(
                "reasons", f"a {result.value} outcome needs at least one reason", list(reasons)
            )
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id, lock=True)
            require_patient(actor, Action.SCREENING_RECORD, patient)
            if patient.voided_at is not None:
                raise ConflictError("patient", patient.study_id, "voided")
            if decided_on > uow.now.date():
                raise ValidationFailed("decided_on", "cannot be in the future", decided_on)
            record = ScreeningOutcome(
                patient_id=patient_id,
                outcome=result.value,
                decided_on=decided_on,
                reasons=cleaned,
                override_criteria=None,
                **entered(actor, uow.now),
            )
            uow.session.add(record)
            uow.reason = f"screening outcome: {result.value}"
            transition(uow, patient, _OUTCOME_EVENTS[result], reasons=tuple(cleaned))
            uow.flush()
            view = screening_view(record)
            uow.commit()
            return view

    def screening_outcomes(self, actor: Actor, patient_id: int) -> list[ScreeningView]:
        with self._ctx.uow(actor, write=False) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.SCREENING_READ, patient)
            rows = uow.session.scalars(
                select(ScreeningOutcome)
                .where(ScreeningOutcome.patient_id == patient_id)
                .order_by(ScreeningOutcome.id)
            )
            return [screening_view(s) for s in rows]
