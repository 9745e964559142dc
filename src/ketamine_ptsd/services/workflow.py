"""The workflow service: loads a patient's facts, asks the core's state machine, writes the state.

This is the only code that writes ``patients.status`` (a test walks the source to keep it so).
Every use case that moves a patient calls :func:`transition` inside its unit of work; activities
that change no state but may only happen in some states (consent, an assessment, a stratum
correction) call it too, so one table decides.

A refusal becomes the service layer's error: one about the patient's state or the protocol's
rules is a :class:`ConflictError` (409) whose message names the rule and §; one about what the
user gave (a missing reason, an unnamed criterion) is a :class:`ValidationFailed` (422) naming
the field. A transition that changes the state writes the change and a ``workflow.<event>`` audit
row (old and new state, the rule's source), from which the status can be replayed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, func, select

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import CriterionStatus, EligibilityStatus
from ketamine_ptsd.core.workflow import (
    TRANSITIONS,
    Decision,
    Event,
    PatientState,
    WorkflowFacts,
    apply,
)

from .access import Actor
from .audit import AuditEvent, encode_value
from .errors import ConflictError, PermissionDenied, ValidationFailed
from .records import Allocation, Consent, EligibilityDecisionRecord, InfusionDay, Patient
from .uow import UnitOfWork

__all__ = [
    "AUDIT_PREFIX",
    "consent_event",
    "is_randomized",
    "load_facts",
    "series_facts",
    "state_of",
    "transition",
]

#: Audit events of the workflow are named ``workflow.<event>``.
AUDIT_PREFIX = "workflow."


def state_of(patient: Patient) -> PatientState:
    return PatientState(patient.status)


def is_randomized(patient: Patient) -> bool:
    """The patient's protocol allocates from a sealed list: a trial (its mode was copied from the
    protocol at registration); a clinic's single open-label arm needs no allocation."""
    return patient.mode == "trial"


@functools.cache
def _consent_query() -> Any:
    return (
        select(Consent.id)
        .where(Consent.patient_id == bindparam("patient_id"), Consent.voided_at.is_(None))
        .limit(1)
    )


@functools.cache
def _allocation_query() -> Any:
    return select(Allocation.id).where(Allocation.patient_id == bindparam("patient_id"))


@functools.cache
def _infusions_query() -> Any:
    return select(func.count(InfusionDay.id)).where(
        InfusionDay.patient_id == bindparam("patient_id"), InfusionDay.voided_at.is_(None)
    )


@functools.cache
def _decision_query() -> Any:
    return (
        select(EligibilityDecisionRecord)
        .where(EligibilityDecisionRecord.patient_id == bindparam("patient_id"))
        .order_by(EligibilityDecisionRecord.id.desc())
        .limit(1)
    )


@functools.cache
def _series_discharged_query() -> Any:
    """How many infusions of the acute series (numbers 1..count) are discharged."""
    return select(func.count(InfusionDay.id)).where(
        InfusionDay.patient_id == bindparam("patient_id"),
        InfusionDay.voided_at.is_(None),
        InfusionDay.discharged_at.is_not(None),
        InfusionDay.infusion_number <= bindparam("count"),
    )


def series_facts(uow: UnitOfWork, protocol: Protocol, patient: Patient) -> dict[str, int]:
    """The acute series' length and how many of its infusions are discharged (§5, §6): the
    facts that say whether the series is complete."""
    count = protocol.schedule.infusion_count
    discharged = uow.session.scalar(
        _series_discharged_query(), {"patient_id": patient.id, "count": count}
    )
    return {"acute_infusion_count": count, "acute_infusions_discharged": int(discharged or 0)}


def consent_event(patient: Patient) -> Event:
    """The first consent begins screening; any later one (a corrected form, a re-consent after
    an amendment) renews it."""
    return Event.CONSENT if state_of(patient) is PatientState.REGISTERED else Event.RENEW_CONSENT


#: What each event's guards and target read, beyond what the caller passes.
_NEEDS: dict[Event, frozenset[str]] = {
    Event.DECIDE_ELIGIBILITY: frozenset({"consent"}),
    Event.OVERRIDE_ELIGIBILITY: frozenset({"consent", "eligibility"}),
    Event.ALLOCATE: frozenset({"consent"}),
    Event.START_INFUSION: frozenset({"consent", "allocation"}),
    Event.RECORD_PRIMARY_OUTCOME: frozenset({"allocation", "infusions"}),
    Event.REVISE_RESPONSE: frozenset({"allocation", "infusions"}),
}
_ALL = frozenset({"consent", "eligibility", "allocation", "infusions"})


def load_facts(
    uow: UnitOfWork,
    patient: Patient,
    needs: Iterable[str] = _ALL,
    **given: Any,
) -> WorkflowFacts:
    """The patient's :class:`WorkflowFacts`: what ``needs`` names read from the record, the
    rest as ``given`` by the caller (reasons, named criteria, the scored response)."""
    needs = frozenset(needs)
    values: dict[str, Any] = {"randomized_protocol": is_randomized(patient)}
    params = {"patient_id": patient.id}
    if "consent" in needs:
        values["consent_recorded"] = uow.session.scalar(_consent_query(), params) is not None
    if "allocation" in needs:
        values["allocated"] = uow.session.scalar(_allocation_query(), params) is not None
    if "infusions" in needs:
        values["infusions_started"] = int(uow.session.scalar(_infusions_query(), params) or 0)
    if "eligibility" in needs:
        record = uow.session.scalar(_decision_query(), params)
        if record is not None:
            values["eligibility"] = EligibilityStatus(record.status)
            values["open_criteria"] = tuple(
                c["criterion_id"]
                for c in record.criteria
                if c["status"] != CriterionStatus.PASS.value
            )
    values.update(given)
    return WorkflowFacts(**values)


def transition(
    uow: UnitOfWork,
    patient: Patient,
    event: Event,
    *,
    actor: Actor | None = None,
    facts: WorkflowFacts | None = None,
    **given: Any,
) -> Decision:
    """Apply ``event`` to ``patient`` (refusing as the table says) and write the new state."""
    actor = actor or uow.actor
    if facts is None:
        facts = load_facts(uow, patient, _NEEDS.get(event, frozenset()), **given)
    decision = apply(patient.status, event, actor.role, facts)
    if not decision.allowed:
        _refuse(actor, patient, decision)
    if decision.changed:
        assert decision.new_state is not None
        old = patient.status
        patient.status = decision.new_state.value
        uow.reason = uow.reason or decision.audit_reason()
        uow.events(
            [
                AuditEvent(
                    AUDIT_PREFIX + event.value,
                    "patients",
                    str(patient.id),
                    None,  # the field-level row of the same change says "status"
                    encode_value(old),
                    encode_value(decision.new_state.value),
                    decision.audit_reason(),
                )
            ]
        )
    return decision


def _refuse(actor: Actor, patient: Patient, decision: Decision) -> None:
    first = decision.refusals[0]
    if first.rule == "role":
        raise PermissionDenied(
            TRANSITIONS[decision.event].action.value, actor.role.value, patient.study_id
        )
    fields = [r for r in decision.refusals if r.field is not None]
    if fields and len(fields) == len(decision.refusals):
        message = "; ".join(f"{r.message} ({r.source})" for r in fields)
        raise ValidationFailed(fields[0].field or "", message, None)
    raise ConflictError(
        "patient",
        patient.study_id,
        "; ".join(f"{r.message} ({r.source})" for r in decision.refusals),
    )
