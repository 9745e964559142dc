"""Response at week 2, follow-up of responders, loss of response, time to loss, withdrawal.

PROTOCOL.md §5 (follow-up: CAPS-5 weekly to 4 weeks, then monthly, until loss of response or 6
months), §8 (response: CAPS-5 total ≥ 30 % below baseline at week 2; loss: the first follow-up
visit where the reduction is no longer ≥ 30 %; time to loss from the primary outcome day,
right-censored at the last visit), §10 (a withdrawal and its reason, for CONSORT).

Everything is computed by the pure rules (:func:`assess_response`,
:func:`time_to_loss_of_response`, :func:`follow_up_visits`) from the stored, scored assessments —
exact on the entered values, so 29.9 % is not a response and 30.0 % is. The patient's status
follows (``responder`` / ``non_responder`` / ``lost_response`` / ``withdrawn``): the assessment
service calls :func:`apply_response_status` in the transaction that stores a response-relevant
score.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, select

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.rules import (
    FollowUpScore,
    PlannedVisit,
    assess_response,
    follow_up_visits,
    time_to_loss_of_response,
)
from ketamine_ptsd.core.workflow import ENROLLED, Event, PatientState, response_event

from ._workflow import core_call, not_in_future, require_open
from .access import Actor, require_patient
from .alerts import raise_relapse_task
from .context import ServiceContext
from .errors import ConflictError, NotFound, ValidationFailed
from .patients import load_patient
from .protocol_versions import patient_protocol
from .records import Assessment, InfusionDay, Patient, RetreatmentCourse, User, Withdrawal
from .uow import UnitOfWork
from .workflow import load_facts, series_facts, state_of, transition

__all__ = [
    "DurabilityView",
    "FollowUpService",
    "ResponseView",
    "WithdrawalDecider",
    "WithdrawalView",
    "apply_response_status",
    "is_follow_up_point",
    "response_facts",
    "retreatment_open",
]


class WithdrawalDecider(StrEnum):
    """Who decided the withdrawal (§10: "withdrawn by the team")."""

    PATIENT = "patient"
    INVESTIGATOR = "investigator"
    CLINICIAN = "clinician"
    TEAM = "team"
    SPONSOR = "sponsor"


@dataclass(frozen=True)
class ResponseView:
    responder: bool
    reduction_percent: float
    baseline: float
    value: float
    primary_day: dt.date
    reason: str


@dataclass(frozen=True)
class DurabilityView:
    """``event`` True: response lost at ``loss_day``; False: censored at ``time_days``."""

    event: bool
    time_days: int
    loss_day: dt.date | None
    last_day: dt.date
    reason: str


@dataclass(frozen=True)
class WithdrawalView:
    patient_id: int
    withdrawn_on: dt.date
    decided_by: str
    decided_by_name: str
    reason: str
    infusions_received: int
    version: int


def is_follow_up_point(protocol: Protocol, time_point: str) -> bool:
    """Follow-up visits are named as :func:`follow_up_visits` names them ("follow-up week 1")."""
    return time_point.startswith("follow-up ") and time_point not in {
        a.name for a in protocol.assessments
    }


def _measure(record: Assessment, measure: str) -> float | None:
    if measure == "total":
        return record.total
    value = record.subscales.get(measure)
    return None if value is None else float(value)


@functools.cache
def _scores_query() -> Any:
    """One patient's live scores on one instrument, in the order they were recorded."""
    return (
        select(Assessment)
        .where(
            Assessment.patient_id == bindparam("patient_id"),
            Assessment.instrument == bindparam("instrument"),
            Assessment.voided_at.is_(None),
        )
        .order_by(Assessment.id)
    )


def response_facts(
    uow: UnitOfWork, protocol: Protocol, patient: Patient
) -> tuple[ResponseView | None, list[FollowUpScore]]:
    """The week-2 response (None until baseline and week 2 are scored) and follow-up scores.

    One read of the patient's live scores on the response instrument: at each time point the
    latest recorded score counts; follow-up scores in date order.
    """
    definition = protocol.response
    scores = list(
        uow.session.scalars(
            _scores_query(), {"patient_id": patient.id, "instrument": definition.instrument}
        )
    )
    latest = {a.time_point: a for a in scores}  # by id: a later record replaces an earlier one
    base = latest.get(definition.baseline_assessment)
    primary = latest.get(definition.assessment)
    if base is None or primary is None:
        return None, []
    b, v = _measure(base, definition.measure), _measure(primary, definition.measure)
    if b is None or v is None:
        return None, []
    result = core_call(assess_response, definition, b, v)
    view = ResponseView(
        result.responder, result.reduction_percent, b, v, primary.assessed_on, result.reason
    )
    visits = [
        FollowUpScore(a.assessed_on, m)
        for a in sorted(scores, key=lambda a: a.assessed_on)  # stable: same day in id order
        if is_follow_up_point(protocol, a.time_point)
        for m in [_measure(a, definition.measure)]
        if m is not None
    ]
    return view, visits


def apply_response_status(uow: UnitOfWork, protocol: Protocol, patient: Patient) -> None:
    """Move the patient by what the stored scores say, through the workflow (same transaction
    as the score): the primary outcome recorded, the response lost, or revised after a deciding
    score was corrected or voided (PROTOCOL.md §8)."""
    state = state_of(patient)
    if state not in ENROLLED:
        return
    response, visits = response_facts(uow, protocol, patient)
    scored: PatientState | None = None
    if response is not None:
        scored = PatientState.RESPONDER if response.responder else PatientState.NON_RESPONDER
        if response.responder and visits:
            outcome = core_call(
                time_to_loss_of_response,
                protocol.response,
                response.baseline,
                response.primary_day,
                response.value,
                visits,
            )
            if outcome.event:
                scored = PatientState.LOST_RESPONSE
    facts = load_facts(
        uow,
        patient,
        ("allocation", "infusions"),
        response=scored,
        **series_facts(uow, protocol, patient),
        retreatment_open=retreatment_open(uow, patient),
    )
    event = response_event(state, facts)
    if event is not None:
        transition(uow, patient, event, facts=facts)
    if event is Event.LOSE_RESPONSE:
        # the relapse watch (issue 13): the loss-of-response rule is met; the physician's task
        # proposes the protocol's maintenance or retreatment options
        uow.flush()
        raise_relapse_task(
            uow,
            protocol,
            patient,
            message="relapse watch: the loss-of-response rule is met (a follow-up visit under "
            f"{protocol.response.min_reduction_fraction * 100:g} % below baseline, PROTOCOL.md §8)",
            source_table="patients",
            source_id=patient.id,
            raised_by=uow.actor.user_id,
        )


def retreatment_open(uow: UnitOfWork, patient: Patient) -> bool:
    """A retreatment series is under way: the patient is in treatment after a retreatment
    started (its first series' response no longer decides the state; issue 13)."""
    if state_of(patient) is not PatientState.IN_TREATMENT:
        return False
    return (
        uow.session.scalar(
            select(RetreatmentCourse.id).where(RetreatmentCourse.patient_id == patient.id).limit(1)
        )
        is not None
    )


class FollowUpService:
    """Response, follow-up plan, durability and withdrawal of one patient."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def _scored_response(
        self, uow: UnitOfWork, actor: Actor, patient_id: int
    ) -> tuple[Protocol, ResponseView, list[FollowUpScore]]:
        """The protocol, the week-2 response and the follow-up scores, or NotFound until the
        response is scored (the read use cases below share this)."""
        patient = load_patient(uow, patient_id)
        require_patient(actor, Action.ASSESSMENT_READ, patient)
        protocol = patient_protocol(self._ctx, uow, patient)
        view, visits = response_facts(uow, protocol, patient)
        if view is None:
            raise NotFound("week-2 response of patient", patient.study_id)
        return protocol, view, visits

    def response(self, actor: Actor, patient_id: int) -> ResponseView:
        """Responder status at the primary time point (§8), or NotFound until it is scored."""
        with self._ctx.uow(actor, write=False) as uow:
            return self._scored_response(uow, actor, patient_id)[1]

    def follow_up_plan(self, actor: Actor, patient_id: int) -> tuple[PlannedVisit, ...]:
        """The responder's follow-up visits from the primary outcome day (§5)."""
        with self._ctx.uow(actor, write=False) as uow:
            protocol, view, _ = self._scored_response(uow, actor, patient_id)
            if protocol.follow_up.responders_only and not view.responder:
                return ()
            return core_call(follow_up_visits, protocol, view.primary_day)

    def durability(self, actor: Actor, patient_id: int) -> DurabilityView:
        """Time to loss of response from the primary outcome day, or censoring (§8)."""
        with self._ctx.uow(actor, write=False) as uow:
            protocol, view, visits = self._scored_response(uow, actor, patient_id)
            if not view.responder:
                raise ValidationFailed(
                    "patient_id", "durability applies to responders (PROTOCOL.md §8)", patient_id
                )
            outcome = core_call(
                time_to_loss_of_response,
                protocol.response,
                view.baseline,
                view.primary_day,
                view.value,
                visits,
            )
            return DurabilityView(
                outcome.event, outcome.time_days, outcome.loss_day, outcome.last_day, outcome.reason
            )

    # --- withdrawal -----------------------------------------------------------------------------

    def withdraw(
        self,
        actor: Actor,
        patient_id: int,
        *,
        withdrawn_on: dt.date,
        decided_by: str,
        reason: str,
        decided_by_name: str | None = None,
    ) -> WithdrawalView:
        """Withdraw the patient, with the reason and who decided (§10 CONSORT)."""
        try:
            decider = WithdrawalDecider(decided_by)
        except ValueError:
            raise ValidationFailed(
                "decided_by", f"one of {', '.join(d.value for d in WithdrawalDecider)}", decided_by
            ) from None
        if len(reason.strip()) < 5:
            raise ValidationFailed("reason", "state the reason for withdrawal", reason)
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id, lock=True)
            require_patient(actor, Action.WITHDRAWAL_RECORD, patient)
            require_open(patient)
            not_in_future("withdrawn_on", withdrawn_on, uow.now.date())
            if uow.session.scalar(select(Withdrawal.id).where(Withdrawal.patient_id == patient.id)):
                raise ConflictError("patient", patient.study_id, "already withdrawn")
            transition(uow, patient, Event.WITHDRAW)
            name = (decided_by_name or "").strip()
            if not name:
                user = uow.session.get(User, actor.user_id) if actor.user_id else None
                name = user.full_name if user is not None else actor.username
            received = len(
                uow.session.scalars(
                    select(InfusionDay.id).where(
                        InfusionDay.patient_id == patient.id, InfusionDay.voided_at.is_(None)
                    )
                ).all()
            )
            record = Withdrawal(
                patient_id=patient.id,
                withdrawn_on=withdrawn_on,
                decided_by=decider.value,
                decided_by_name=name,
                reason=reason.strip(),
                infusions_received=received,
                recorded_by=actor.user_id,
                recorded_at=uow.now,
            )
            uow.session.add(record)
            uow.reason = f"withdrawn: {reason.strip()}"
            uow.flush()
            view = _withdrawal_view(record)
            uow.commit()
            return view

    def withdrawal(self, actor: Actor, patient_id: int) -> WithdrawalView:
        with self._ctx.uow(actor, write=False) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.PATIENT_READ, patient)
            record = uow.session.scalar(
                select(Withdrawal).where(Withdrawal.patient_id == patient.id)
            )
            if record is None:
                raise NotFound("withdrawal of patient", patient.study_id)
            return _withdrawal_view(record)


def _withdrawal_view(r: Withdrawal) -> WithdrawalView:
    return WithdrawalView(
        r.patient_id,
        r.withdrawn_on,
        r.decided_by,
        r.decided_by_name,
        r.reason,
        r.infusions_received,
        r.version,
    )
