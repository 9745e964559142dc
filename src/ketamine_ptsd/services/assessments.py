"""Outcome assessments at the protocol's time points, with windows, scored by the instruments.

SYSTEM.md capability 6; PROTOCOL.md §5 (the assessment plan and its anchors: baseline just before
infusion 1, 24 h after it, week 1 before infusion 4, week 2 after infusion 6 — usually the next
Monday; follow-up of responders), §7 (instruments).

* The calendar comes from :func:`ketamine_ptsd.core.rules.plan_schedule` laid out from the date of
  infusion 1, with each anchor moved to the date the infusion was actually given; follow-up
  visits from the day the primary outcome was assessed.
* An assessment outside its window is **stored and flagged** (``in_window`` False), never
  refused: a late week-2 visit is still the patient's week-2 data (§9 ITT).
* Items are validated and scored by :func:`ketamine_ptsd.core.instruments.score` before anything
  is written; an invalid item is refused with the item named (``caps5.item_7``) and nothing
  changes.
* One live assessment per (time point, instrument); corrections are edits with the version read
  and a reason, which invalidate a signature on the old values (services/audit.py).
* The response instrument at the primary time point (or a follow-up visit) updates the patient's
  responder status in the same transaction (services/followup.py, §8).

Assessments carry no allocation and no infusion-day rating: outcome raters record and read them
(§3).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from ketamine_ptsd.core.instruments import score
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.rules import (
    PlannedAssessment,
    PlannedVisit,
    assessment_target,
    follow_up_visits,
    infusion_dates,
)
from ketamine_ptsd.core.workflow import Event, PatientState

from ._workflow import (
    check_editable,
    core_call,
    entered,
    need_reason,
    not_in_future,
    require_open,
    void_record,
)
from .access import Actor, require_patient
from .alerts import raise_suicide_risk_alert
from .context import ServiceContext
from .edit_checks import assessment_findings, raise_findings
from .errors import ConflictError, NotFound, ValidationFailed
from .followup import (
    apply_response_status,
    is_follow_up_point,
    response_facts,
)
from .patients import load_patient
from .protocol_versions import patient_protocol
from .records import Assessment, InfusionDay, Patient
from .uow import UnitOfWork
from .workflow import state_of, transition

__all__ = [
    "AssessmentInput",
    "AssessmentService",
    "AssessmentView",
    "ScheduleView",
]


@dataclass(frozen=True)
class AssessmentInput:
    """One instrument at one time point (a name of the protocol's plan or a follow-up visit)."""

    time_point: str
    instrument: str
    assessed_on: dt.date
    items: Mapping[str, Any]


@dataclass(frozen=True)
class AssessmentView:
    id: int
    patient_id: int
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


@dataclass(frozen=True)
class ScheduleView:
    """The patient's calendar: infusion dates (actual where given) and assessment windows."""

    infusions: tuple[dt.date, ...]
    infusions_given: int
    assessments: tuple[PlannedAssessment, ...]
    follow_up: tuple[PlannedVisit, ...]


def _view(r: Assessment) -> AssessmentView:
    return AssessmentView(
        r.id,
        r.patient_id,
        r.time_point,
        r.instrument,
        r.assessed_on,
        r.target_date,
        r.window_start,
        r.window_end,
        r.in_window,
        r.total,
        dict(r.subscales),
        dict(r.derived),
        dict(r.items),
        r.voided_at is not None,
        r.version,
    )


def _scored(instrument: str, items: Mapping[str, Any]) -> dict[str, Any]:
    result = core_call(score, instrument, items)
    return {
        "items": dict(result.items),
        "total": None if result.total is None else float(result.total),
        "subscales": dict(result.subscales),
        "derived": dict(result.derived),
    }


@functools.cache
def _given_query() -> Any:
    """Number and date of each live infusion day of one patient (the calendar's anchors)."""
    return select(InfusionDay.infusion_number, InfusionDay.infusion_date).where(
        InfusionDay.patient_id == bindparam("patient_id"), InfusionDay.voided_at.is_(None)
    )


@functools.cache
def _duplicate_query() -> Any:
    return select(Assessment.id).where(
        Assessment.patient_id == bindparam("patient_id"),
        Assessment.time_point == bindparam("time_point"),
        Assessment.instrument == bindparam("instrument"),
        Assessment.voided_at.is_(None),
    )


class AssessmentService:
    """Schedule, record, edit, void and read outcome assessments."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    # --- the calendar ----------------------------------------------------------------------------

    @staticmethod
    def _calendar(
        uow: UnitOfWork, protocol: Protocol, patient: Patient, first_infusion: dt.date | None
    ) -> ScheduleView | None:
        given = {
            d.infusion_number: d.infusion_date
            for d in uow.session.execute(_given_query(), {"patient_id": patient.id})
        }
        start = given.get(1, first_infusion)
        if start is None:
            return None
        planned = list(core_call(infusion_dates, protocol, start))
        for number, day in given.items():
            planned[number - 1] = day
        dates = tuple(planned)
        points = []
        for point in protocol.assessments:
            target = assessment_target(point, dates)
            points.append(
                PlannedAssessment(
                    point.name,
                    point.label,
                    target,
                    target - dt.timedelta(days=point.window_days_before),
                    target + dt.timedelta(days=point.window_days_after),
                    point.instruments,
                )
            )
        response, _ = response_facts(uow, protocol, patient)
        follow: tuple[PlannedVisit, ...] = ()
        if response is not None and (response.responder or not protocol.follow_up.responders_only):
            follow = core_call(follow_up_visits, protocol, response.primary_day)
        return ScheduleView(dates, len(given), tuple(points), follow)

    def schedule(
        self, actor: Actor, patient_id: int, *, first_infusion: dt.date | None = None
    ) -> ScheduleView:
        """The calendar from infusion 1 (given, or ``first_infusion`` when planning)."""
        with self._ctx.uow(actor, write=False) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.ASSESSMENT_READ, patient)
            protocol = patient_protocol(self._ctx, uow, patient)
            view = self._calendar(uow, protocol, patient, first_infusion)
            if view is None:
                raise NotFound("first infusion of patient", patient.study_id)
            return view

    def _window(
        self, uow: UnitOfWork, protocol: Protocol, patient: Patient, data: AssessmentInput
    ) -> tuple[dt.date | None, dt.date | None, dt.date | None]:
        """(target, window start, window end); None where the calendar cannot place it yet."""
        point = next((p for p in protocol.assessments if p.name == data.time_point), None)
        if point is not None:
            if data.instrument not in point.instruments:
                raise ValidationFailed(
                    "instrument",
                    f"{data.time_point} measures {', '.join(point.instruments)}",
                    data.instrument,
                )
            first = None
            if point.anchor.infusion == 1 and point.anchor.timing == "before":
                first = data.assessed_on  # baseline is taken on the morning of infusion 1
            calendar = self._calendar(uow, protocol, patient, first)
            if calendar is None:
                return None, None, None
            planned = next(a for a in calendar.assessments if a.name == data.time_point)
            return planned.target, planned.window_start, planned.window_end
        if is_follow_up_point(protocol, data.time_point):
            if data.instrument not in protocol.follow_up.instruments:
                raise ValidationFailed(
                    "instrument",
                    f"follow-up measures {', '.join(protocol.follow_up.instruments)}",
                    data.instrument,
                )
            response, _ = response_facts(uow, protocol, patient)
            if response is None:
                raise ConflictError(
                    "patient", patient.study_id, "follow-up starts after the week-2 response (§5)"
                )
            if protocol.follow_up.responders_only and not response.responder:
                raise ConflictError(
                    "patient", patient.study_id, "follow-up is for responders only (§5, §8)"
                )
            if (
                protocol.follow_up.stop_at_loss_of_response
                and state_of(patient) is PatientState.LOST_RESPONSE
            ):
                raise ConflictError(
                    "patient", patient.study_id, "follow-up ended at loss of response (§5)"
                )
            visits = core_call(follow_up_visits, protocol, response.primary_day)
            visit = next((v for v in visits if v.name == data.time_point), None)
            if visit is None:
                raise ValidationFailed(
                    "time_point",
                    f"follow-up visits are {', '.join(v.name for v in visits)}",
                    data.time_point,
                )
            return visit.target, visit.window_start, visit.window_end
        names = [p.name for p in protocol.assessments]
        raise ValidationFailed(
            "time_point", f"one of {', '.join(names)} or a follow-up visit", data.time_point
        )

    # --- recording -------------------------------------------------------------------------------

    def record(self, actor: Actor, patient_id: int, data: AssessmentInput) -> AssessmentView:
        """Score and store one assessment; out of window is flagged, not refused."""
        scored = _scored(data.instrument, data.items)
        with self._ctx.uow(actor, write=True) as uow:
            patient = load_patient(uow, patient_id, lock=True)
            require_patient(actor, Action.ASSESSMENT_RECORD, patient)
            require_open(patient)
            transition(uow, patient, Event.RECORD_ASSESSMENT)
            not_in_future("assessed_on", data.assessed_on, uow.now.date())
            protocol = patient_protocol(self._ctx, uow, patient)
            target, start, end = self._window(uow, protocol, patient, data)
            duplicate = uow.session.scalar(
                _duplicate_query(),
                {
                    "patient_id": patient.id,
                    "time_point": data.time_point,
                    "instrument": data.instrument,
                },
            )
            if duplicate:
                raise ConflictError("assessment", duplicate, "already recorded; edit it")
            in_window = start is not None and end is not None and start <= data.assessed_on <= end
            record = Assessment(
                patient_id=patient.id,
                time_point=data.time_point,
                instrument=data.instrument,
                assessed_on=data.assessed_on,
                target_date=target,
                window_start=start,
                window_end=end,
                in_window=in_window,
                **entered(actor, uow.now),
                **scored,
            )
            uow.session.add(record)
            uow.flush()
            # The protocol's edit checks (issue 17): outside its window (§5), or an item its
            # judgement needs left out (§7), raises a query for the site.
            raise_findings(
                uow.session,
                uow.now,
                patient_id=patient.id,
                record=record,
                table_name="assessments",
                findings=assessment_findings(record),
            )
            if data.instrument == "cssrs":
                raise_suicide_risk_alert(
                    uow,
                    protocol,
                    patient,
                    derived=record.derived,
                    where=f"{data.time_point} on {data.assessed_on:%Y-%m-%d}",
                    source_table="assessments",
                    source_id=record.id,
                    raised_by=actor.user_id,
                )
            apply_response_status(uow, protocol, patient)
            uow.flush()
            view = _view(record)
            uow.commit()
            return view

    def edit(
        self,
        actor: Actor,
        assessment_id: int,
        *,
        expected_version: int,
        reason: str,
        items: Mapping[str, Any],
        assessed_on: dt.date | None = None,
    ) -> AssessmentView:
        """Correct the items (rescored) or date, with the version read and a reason."""
        reason = need_reason(reason)
        with self._ctx.uow(actor, write=True) as uow:
            record = uow.session.get(Assessment, assessment_id)
            if record is None:
                raise NotFound("assessment", assessment_id)
            patient = load_patient(uow, record.patient_id, lock=True)
            require_patient(actor, Action.ASSESSMENT_RECORD, patient)
            check_editable("assessment", record, expected_version)
            scored = _scored(record.instrument, items)
            uow.reason = reason
            for name, value in scored.items():
                setattr(record, name, value)
            if assessed_on is not None and assessed_on != record.assessed_on:
                not_in_future("assessed_on", assessed_on, uow.now.date())
                record.assessed_on = assessed_on
                record.in_window = (
                    record.window_start is not None
                    and record.window_end is not None
                    and record.window_start <= assessed_on <= record.window_end
                )
            uow.flush()
            protocol = patient_protocol(self._ctx, uow, patient)
            if record.instrument == "cssrs":
                # A corrected screener that now reaches the review level raises its task too (§7).
                raise_suicide_risk_alert(
                    uow,
                    protocol,
                    patient,
                    derived=record.derived,
                    where=f"{record.time_point} on {record.assessed_on:%Y-%m-%d} (corrected)",
                    source_table="assessments",
                    source_id=record.id,
                    raised_by=actor.user_id,
                )
            apply_response_status(uow, protocol, patient)
            uow.flush()
            view = _view(record)
            uow.commit()
            return view

    def void(
        self, actor: Actor, assessment_id: int, *, expected_version: int, reason: str
    ) -> AssessmentView:
        """Void an assessment entered in error (kept, marked, audited)."""
        with self._ctx.uow(actor, write=True) as uow:
            record = uow.session.get(Assessment, assessment_id)
            if record is None:
                raise NotFound("assessment", assessment_id)
            patient = load_patient(uow, record.patient_id, lock=True)
            require_patient(actor, Action.ASSESSMENT_RECORD, patient)
            void_record(uow, "assessment", record, expected_version=expected_version, reason=reason)
            uow.flush()
            # A voided baseline, week-2 or follow-up score changes the response (§8).
            apply_response_status(uow, patient_protocol(self._ctx, uow, patient), patient)
            uow.flush()
            view = _view(record)
            uow.commit()
            return view

    # --- reads -----------------------------------------------------------------------------------

    def get(self, actor: Actor, assessment_id: int) -> AssessmentView:
        with self._ctx.uow(actor, write=False) as uow:
            record = uow.session.get(Assessment, assessment_id)
            if record is None:
                raise NotFound("assessment", assessment_id)
            require_patient(actor, Action.ASSESSMENT_READ, load_patient(uow, record.patient_id))
            return _view(record)

    def list(
        self, actor: Actor, patient_id: int, *, include_voided: bool = False
    ) -> list[AssessmentView]:
        """The patient's assessments in date order."""
        with self._ctx.uow(actor, write=False) as uow:
            patient = load_patient(uow, patient_id)
            require_patient(actor, Action.ASSESSMENT_READ, patient)
            query = select(Assessment).where(Assessment.patient_id == patient.id)
            if not include_voided:
                query = query.where(Assessment.voided_at.is_(None))
            rows = uow.session.scalars(query.order_by(Assessment.assessed_on, Assessment.id))
            return [_view(r) for r in rows]
