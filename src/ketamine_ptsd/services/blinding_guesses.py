"""Blinding guesses at the end of treatment: record, correct and show them without revealing
anything (issue 15; SYSTEM.md capability 14; PROTOCOL.md §3).

The rules are the core's (:mod:`ketamine_ptsd.core.workflow.guesses` and the transition table's
``record_blinding_guess``): a blinded protocol, an allocated patient, the end of treatment (the
acute series' last infusion discharged, or the patient withdrawn early; §5, §6); the outcome rater
records the patient's guess and their own, the infusion nurse her own; one guess per patient and
respondent, a correction with a reason (audited: old and new value, who, when, why), a
respondent's own guess corrected only by its author.

Who reads a guess. A guess set beside the arm measures the blind, and one person's guess can
sway another's, so the record treats it like the allocation (its column's sensitivity is
``allocation``: the audit views, data queries and exports hide it from blinded readers):

* the person who entered a guess sees what they entered (and nothing else);
* every other reader of the patient — blinded staff, the monitor, the investigator, even the
  pharmacy — sees only *whether* each respondent's guess is recorded, when and by whom;
* the tallies exist only in a statistician's sanctioned analysis (services/datasets.py): coded
  A/B in the DSMB packet, named in the final report. There is no action that reads them.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, select

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.workflow import (
    Event,
    GuessOption,
    Refusal,
    Respondent,
    WorkflowFacts,
    apply,
    check_correction,
    check_guess,
    check_recorder,
    guess_options,
    respondents_recorded_by,
)

from ._workflow import check_editable, require_open
from .access import Actor, require_patient
from .context import ServiceContext
from .errors import ConflictError, PermissionDenied, ValidationFailed
from .patients import load_patient
from .protocol_versions import patient_protocol
from .records import BlindingGuess, Patient, User
from .uow import UnitOfWork
from .workflow import load_facts, series_facts, transition

__all__ = ["BlindingGuessService", "GuessInput", "GuessSlot", "GuessesView"]


@dataclass(frozen=True)
class GuessInput:
    """One respondent's answer; ``reason`` (and the version read) only to correct one."""

    respondent: str
    guess: str
    reason: str = ""
    expected_version: int | None = None


@dataclass(frozen=True)
class GuessSlot:
    """One respondent of one patient as a reader sees it: whether the guess is recorded, when
    and by whom; ``guess`` only for the user who entered it (None for everyone else)."""

    respondent: str
    label: str
    recorded: bool
    recorded_at: dt.datetime | None
    recorded_by: str | None
    guess: str | None
    version: int | None
    may_record: bool  # this reader records (or corrects) this respondent's guess now


@dataclass(frozen=True)
class GuessesView:
    """A patient's guesses for one reader. ``due``: the end of treatment is reached and the
    protocol is blinded; otherwise ``not_due`` says why (the core's message)."""

    patient_id: int
    study_id: str
    blinded: bool
    due: bool
    not_due: str | None
    slots: tuple[GuessSlot, ...]


@functools.cache
def _guesses_query() -> Any:
    return (
        select(BlindingGuess, User.username)
        .outerjoin(User, User.id == BlindingGuess.recorded_by)
        .where(BlindingGuess.patient_id == bindparam("patient_id"))
    )


def _facts(uow: UnitOfWork, protocol: Protocol, patient: Patient) -> WorkflowFacts:
    return load_facts(
        uow,
        patient,
        {"allocation"},
        blinded_protocol=bool(patient.blinded),
        **series_facts(uow, protocol, patient),
    )


def _refuse_field(refusal: Refusal, value: Any) -> ValidationFailed:
    return ValidationFailed(refusal.field or "", f"{refusal.message} ({refusal.source})", value)


class BlindingGuessService:
    """Record, correct and show the end-of-treatment guesses of one patient."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def options(self, actor: Actor, patient_id: int) -> tuple[GuessOption, ...]:
        """The answers the form offers: the same for every patient of the protocol (the arms'
        drugs alphabetically, then "don't know"); for the roles that record guesses only."""
        with self._ctx.uow(actor, write=False) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.BLINDING_GUESS_RECORD, patient)
            return guess_options(patient_protocol(self._ctx, uow, patient))

    def view(self, actor: Actor, patient_id: int) -> GuessesView:
        """Which respondents have answered; the answer only to whoever entered it."""
        with self._ctx.uow(actor, write=False) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.PATIENT_READ, patient)
            protocol = patient_protocol(self._ctx, uow, patient)
            decision = apply(
                patient.status,
                Event.RECORD_BLINDING_GUESS,
                actor.role,
                _facts(uow, protocol, patient),
            )
            blocking = [r for r in decision.refusals if r.rule != "role"]
            due = not blocking
            not_due = "; ".join(f"{r.message} ({r.source})" for r in blocking) or None
            rows = {
                g.respondent: (g, username)
                for g, username in uow.session.execute(_guesses_query(), {"patient_id": patient.id})
            }
            mine = set(respondents_recorded_by(actor.role))
            slots = []
            for respondent in Respondent if patient.blinded else ():
                found = rows.get(respondent.value)
                own = found is not None and (
                    actor.user_id is not None and found[0].recorded_by == actor.user_id
                )
                slots.append(
                    GuessSlot(
                        respondent=respondent.value,
                        label=respondent.label,
                        recorded=found is not None,
                        recorded_at=None if found is None else found[0].recorded_at,
                        recorded_by=None if found is None else found[1],
                        guess=found[0].guess if own and found is not None else None,
                        version=None if found is None else found[0].version,
                        may_record=due and respondent in mine,
                    )
                )
            return GuessesView(
                patient.id, patient.study_id, bool(patient.blinded), due, not_due, tuple(slots)
            )

    def record(self, actor: Actor, patient_id: int, data: GuessInput) -> GuessSlot:
        """Record one respondent's guess, or correct it (with the reason and the version read)."""
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id, lock=True)
            require_patient(actor, Action.BLINDING_GUESS_RECORD, patient)
            require_open(patient)
            protocol = patient_protocol(self._ctx, uow, patient)
            transition(
                uow, patient, Event.RECORD_BLINDING_GUESS, facts=_facts(uow, protocol, patient)
            )
            refusal = check_recorder(actor.role, data.respondent)
            if refusal is not None:
                if refusal.rule == "guess_recorder":
                    raise PermissionDenied(
                        f"record this guess: {refusal.message} [{refusal.rule}, {refusal.source}]",
                        actor.role.value,
                        patient.study_id,
                    )
                raise _refuse_field(refusal, data.respondent)
            refusal = check_guess(protocol, data.guess)
            if refusal is not None:
                raise _refuse_field(refusal, data.guess)
            record = uow.session.scalar(
                select(BlindingGuess).where(
                    and_(
                        BlindingGuess.patient_id == patient.id,
                        BlindingGuess.respondent == data.respondent,
                    )
                )
            )
            if record is None:
                record = BlindingGuess(
                    patient_id=patient.id,
                    respondent=data.respondent,
                    guess=data.guess,
                    recorded_by=actor.user_id,
                    recorded_at=uow.now,
                )
                uow.session.add(record)
            else:
                self._correct(uow, actor, record, data)
            uow.flush()
            slot = GuessSlot(
                respondent=record.respondent,
                label=Respondent(record.respondent).label,
                recorded=True,
                recorded_at=record.recorded_at,
                recorded_by=actor.username,
                guess=record.guess,
                version=record.version,
                may_record=True,
            )
            uow.commit()
            return slot

    @staticmethod
    def _correct(uow: UnitOfWork, actor: Actor, record: BlindingGuess, data: GuessInput) -> None:
        refusal = check_correction(
            record.respondent,
            author_id=record.recorded_by,
            actor_id=actor.user_id,
            reason=data.reason,
        )
        if refusal is not None:
            if refusal.rule == "guess_own_author":
                raise PermissionDenied(
                    f"correct this guess: {refusal.message} [{refusal.rule}, {refusal.source}]",
                    actor.role.value,
                )
            raise ConflictError(
                "blinding guess",
                record.id,
                f"{refusal.message} [{refusal.rule}, {refusal.source}]",
            )
        if data.expected_version is None:
            raise ValidationFailed("expected_version", "a correction needs the version read", None)
        check_editable("blinding guess", record, data.expected_version)
        uow.reason = data.reason.strip()
        record.guess = data.guess
        record.recorded_by = actor.user_id
        record.recorded_at = uow.now
