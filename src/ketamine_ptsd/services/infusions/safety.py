"""Owned alerts and the physician's infusion-day decisions (issue 12 items 1, 2, 6, 8, 10).

* **Alerts.** Vitals beyond a threshold (PROTOCOL.md §6) and a C-SSRS screener at the protocol's
  review level (§7) raise a :class:`SafetyAlert`. Each stays open until acknowledged by name: which
  physician was called, at what time, and what was done (§12). An open alert of the day holds
  the discharge (core.rules.discharge); an open suicide-risk alert holds the next infusion until
  a physician reviews it (core.workflow.table, ``suicide_risk_review``), and only a physician
  may acknowledge that one.
* **Releasing a held morning.** The checklist's holds accumulate over the morning (every blood
  pressure reading counts, a positive screen stays positive; services/infusions/checklist.py);
  a physician's recorded release (reason, password) lets that hold start. A hold for a finding
  nobody recorded, or a positive pregnancy test where pregnancy is an absolute exclusion, is not
  releasable (core.rules.hold_release_refusal).
* **Moving a day.** The start's schedule guards (minimum interval, weekly maximum, weekday; §5)
  yield to a physician's recorded decision to give infusion n on a given day, with the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.rules import ChecklistItem, hold_release_refusal

from .._workflow import check_editable
from ..access import Actor, require
from ..alerts import (
    PHYSICIAN_TASKS,
    open_alert_messages,
    raise_alert,
    unreviewed_suicide_risk,
)
from ..errors import ConflictError, NotFound, PermissionDenied, ValidationFailed
from ..records import Patient, PhysicianDecision, PreInfusionCheck, SafetyAlert
from ..uow import UnitOfWork
from .base import InfusionBase, user_names
from .queries import day_id_query, todays_checklist_query

__all__ = [
    "AlertView",
    "DecisionView",
    "SafetyUseCases",
    "open_alert_messages",
    "raise_alert",
    "released_holds",
    "unreviewed_suicide_risk",
]

#: A physician's decision is a sentence, not a tick (as the discharge decisions).
MIN_DECISION_REASON = 10
MIN_ACTION_CHARS = 5
#: How long before an alert was raised the physician may have been called (the nurse rang
#: while the monitor alarmed, then entered the reading).
CALLED_BEFORE_ALERT = dt.timedelta(minutes=30)

RELEASE_HOLD = "release_hold"
MOVE_DAY = "move_day"


@dataclass(frozen=True)
class AlertView:
    id: int
    patient_id: int
    study_id: str
    infusion_number: int | None
    kind: str
    messages: tuple[str, ...]
    raised_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    physician_called: str | None
    physician_called_at: dt.datetime | None
    action_taken: str | None
    version: int

    @property
    def open(self) -> bool:
        return self.acknowledged_at is None

    @property
    def physician_only(self) -> bool:
        """A suicide-risk alert is a physician's review, not a nurse's acknowledgement (§7)."""
        return self.kind in PHYSICIAN_TASKS


@dataclass(frozen=True)
class DecisionView:
    id: int
    patient_id: int
    infusion_number: int
    kind: str
    day: dt.date
    released: tuple[str, ...]
    reason: str
    decided_by: str
    decided_at: dt.datetime


def _decisions(
    uow: UnitOfWork, patient: Patient, infusion_number: int, kind: str, day: dt.date
) -> list[PhysicianDecision]:
    return list(
        uow.session.scalars(
            select(PhysicianDecision)
            .where(
                PhysicianDecision.patient_id == patient.id,
                PhysicianDecision.infusion_number == infusion_number,
                PhysicianDecision.kind == kind,
                PhysicianDecision.day == day,
                PhysicianDecision.voided_at.is_(None),
            )
            .order_by(PhysicianDecision.id)
        )
    )


def released_holds(
    uow: UnitOfWork, patient: Patient, infusion_number: int, day: dt.date
) -> tuple[str, ...]:
    """The hold reasons a physician released for this infusion on ``day``."""
    return tuple(
        r for d in _decisions(uow, patient, infusion_number, RELEASE_HOLD, day) for r in d.released
    )


def day_moved(uow: UnitOfWork, patient: Patient, infusion_number: int, day: dt.date) -> bool:
    """A physician decided that infusion ``infusion_number`` is given on ``day`` (§5)."""
    return bool(_decisions(uow, patient, infusion_number, MOVE_DAY, day))


def _alert_view(uow: UnitOfWork, alert: SafetyAlert, study_id: str) -> AlertView:
    names = user_names(uow, {alert.acknowledged_by})
    return AlertView(
        alert.id,
        alert.patient_id,
        study_id,
        alert.infusion_number,
        alert.kind,
        tuple(alert.messages),
        alert.raised_at,
        alert.acknowledged_at,
        None if alert.acknowledged_by is None else names.get(alert.acknowledged_by),
        alert.physician_called,
        alert.physician_called_at,
        alert.action_taken,
        alert.version,
    )


def _decision_view(uow: UnitOfWork, d: PhysicianDecision) -> DecisionView:
    names = user_names(uow, {d.decided_by})
    return DecisionView(
        d.id,
        d.patient_id,
        d.infusion_number,
        d.kind,
        d.day,
        tuple(d.released),
        d.reason,
        names.get(d.decided_by, str(d.decided_by)),
        d.decided_at,
    )


def _reason(reason: object) -> str:
    if not isinstance(reason, str) or len(reason.strip()) < MIN_DECISION_REASON:
        raise ValidationFailed(
            "reason", f"the physician's reason (at least {MIN_DECISION_REASON} characters)", reason
        )
    return reason.strip()


class SafetyUseCases(InfusionBase):
    """Alerts and their acknowledgement; the physician's release of a hold and move of a day."""

    # --- alerts ------------------------------------------------------------------------------

    def alerts(self, actor: Actor, patient_id: int, *, open_only: bool = False) -> list[AlertView]:
        """The patient's alerts, newest first (open ones only when asked)."""
        with self._ctx.uow(actor, write=False) as uow:
            patient, _ = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            query = select(SafetyAlert).where(SafetyAlert.patient_id == patient.id)
            if open_only:
                query = query.where(SafetyAlert.acknowledged_at.is_(None))
            rows = uow.session.scalars(query.order_by(SafetyAlert.id.desc()))
            return [_alert_view(uow, a, patient.study_id) for a in rows]

    def open_alerts(self, actor: Actor) -> list[AlertView]:
        """Every open alert of the patients this user may see (the investigator's Today page),
        oldest first: the physician's task list."""
        with self._ctx.uow(actor, write=False) as uow:
            rows = list(
                uow.session.scalars(
                    select(SafetyAlert)
                    .where(SafetyAlert.acknowledged_at.is_(None))
                    .order_by(SafetyAlert.id)
                )
            )
            views = []
            for alert in rows:
                try:
                    patient, _ = self._patient(uow, actor, alert.patient_id, Action.INFUSION_READ)
                except (NotFound, PermissionDenied):
                    continue  # another site's patient: not this user's task
                views.append(_alert_view(uow, alert, patient.study_id))
            return views

    def acknowledge_alert(
        self,
        actor: Actor,
        patient_id: int,
        alert_id: int,
        *,
        physician_called: str | None,
        called_at: dt.datetime | None,
        action_taken: str,
        expected_version: int,
    ) -> AlertView:
        """Acknowledge an alert by name (PROTOCOL.md §12): which physician was called and when,
        and what was done. A suicide-risk alert is the physician's review (§7): only a
        physician acknowledges it, and the reviewer is the physician of record."""
        require(actor, Action.ALERT_ACKNOWLEDGE)
        if not isinstance(action_taken, str) or len(action_taken.strip()) < MIN_ACTION_CHARS:
            raise ValidationFailed(
                "action_taken",
                f"what was done (at least {MIN_ACTION_CHARS} characters)",
                action_taken,
            )
        with self._ctx.uow(actor, write=True) as uow:
            patient, _ = self._patient(uow, actor, patient_id, Action.ALERT_ACKNOWLEDGE)
            alert = uow.session.get(SafetyAlert, alert_id)
            if alert is None or alert.patient_id != patient.id:
                raise NotFound("alert", alert_id)
            if alert.acknowledged_at is not None:
                raise ConflictError("alert", alert.id, "already acknowledged")
            check_editable("alert", alert, expected_version)
            me = user_names(uow, {actor.user_id}).get(actor.user_id or 0, actor.username)
            if alert.kind in PHYSICIAN_TASKS:
                require(actor, Action.PHYSICIAN_DECISION)  # the physician reviews (§7)
                called, when = physician_called or me, called_at or uow.now
            else:
                called, when = physician_called, called_at
            if not isinstance(called, str) or not 2 <= len(called.strip()) <= 200:
                raise ValidationFailed(
                    "physician_called", "the name of the physician who was called", called
                )
            if not isinstance(when, dt.datetime) or when.tzinfo is None:
                raise ValidationFailed(
                    "called_at", "the time the physician was called (hh:mm)", called_at
                )
            if when > uow.now:
                raise ValidationFailed("called_at", "is in the future", called_at)
            if when < alert.raised_at - CALLED_BEFORE_ALERT:
                raise ValidationFailed(
                    "called_at",
                    "is more than 30 minutes before the alert was raised; give the time of "
                    "the call about this alert",
                    called_at,
                )
            alert.acknowledged_at = uow.now
            alert.acknowledged_by = actor.user_id
            alert.physician_called = called.strip()
            alert.physician_called_at = when
            alert.action_taken = action_taken.strip()
            uow.flush()
            view = _alert_view(uow, alert, patient.study_id)
            uow.commit()
            return view

    # --- the physician's decisions ------------------------------------------------------------

    def decisions(self, actor: Actor, patient_id: int) -> list[DecisionView]:
        with self._ctx.uow(actor, write=False) as uow:
            patient, _ = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            rows = uow.session.scalars(
                select(PhysicianDecision)
                .where(
                    PhysicianDecision.patient_id == patient.id,
                    PhysicianDecision.voided_at.is_(None),
                )
                .order_by(PhysicianDecision.id)
            )
            return [_decision_view(uow, d) for d in rows]

    def release_hold(
        self, actor: Actor, patient_id: int, infusion_number: int, *, reason: str, password: str
    ) -> DecisionView:
        """A physician's recorded release of today's held checklist (PROTOCOL.md §6): every
        failed check of the latest checklist, with the reason, re-authenticated. Refused when
        nothing is held, or when a check cannot be released (a finding not recorded, a positive
        pregnancy test where pregnancy is an absolute exclusion)."""
        require(actor, Action.PHYSICIAN_DECISION)
        why = _reason(reason)
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(
                uow, actor, patient_id, Action.PHYSICIAN_DECISION, lock=True
            )
            self._check_number(protocol, infusion_number)
            if uow.session.scalar(
                day_id_query(), {"patient_id": patient.id, "infusion_number": infusion_number}
            ):
                raise ConflictError(
                    "infusion", f"{patient.study_id} #{infusion_number}", "already started"
                )
            today = uow.now.date()
            check: PreInfusionCheck | None = uow.session.scalars(
                todays_checklist_query(),
                {"patient_id": patient.id, "infusion_number": infusion_number, "checked_on": today},
            ).first()
            if check is None or check.passed:
                raise ConflictError(
                    "infusion",
                    f"{patient.study_id} #{infusion_number}",
                    "today's checklist holds nothing; nothing to release (PROTOCOL.md §6)",
                )
            already = set(released_holds(uow, patient, infusion_number, today))
            held = [r for r in check.hold_reasons if r not in already]
            if not held:
                raise ConflictError(
                    "infusion",
                    f"{patient.study_id} #{infusion_number}",
                    "every hold of today's checklist is already released",
                )
            refusals = self._unreleasable(protocol, check)
            if refusals:
                raise ConflictError(
                    "infusion",
                    f"{patient.study_id} #{infusion_number}",
                    "cannot be released: " + "; ".join(refusals) + " (PROTOCOL.md §1, §6)",
                )
            user = self._auth.reauthenticate(uow, password)
            uow.reason = f"hold released: {why}"
            return _record_decision(
                uow, patient, infusion_number, RELEASE_HOLD, today, held, why, user.id
            )

    @staticmethod
    def _unreleasable(protocol: Protocol, check: PreInfusionCheck) -> list[str]:
        out = []
        for raw in check.items:
            item = ChecklistItem(
                str(raw["id"]),
                bool(raw["passed"]),
                str(raw["reason"]),
                str(raw["section"]),
                bool(raw.get("missing", False)),
            )
            if item.passed:
                continue
            refusal = hold_release_refusal(protocol, item)
            if refusal is not None:
                out.append(refusal)
        return out

    def move_day(
        self,
        actor: Actor,
        patient_id: int,
        infusion_number: int,
        *,
        day: dt.date,
        reason: str,
        password: str,
    ) -> DecisionView:
        """A physician's recorded decision to give infusion ``infusion_number`` on ``day``
        although the schedule's interval, weekly maximum or weekdays say otherwise (PROTOCOL.md
        §5), with the reason, re-authenticated. The previous infusion must still be discharged
        (§6): moving a day never lets two infusions overlap."""
        require(actor, Action.PHYSICIAN_DECISION)
        why = _reason(reason)
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise ValidationFailed("day", "the date the infusion is moved to", day)
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(
                uow, actor, patient_id, Action.PHYSICIAN_DECISION, lock=True
            )
            self._check_number(protocol, infusion_number)
            if day < uow.now.date():
                raise ValidationFailed("day", "is in the past", day)
            if uow.session.scalar(
                day_id_query(), {"patient_id": patient.id, "infusion_number": infusion_number}
            ):
                raise ConflictError(
                    "infusion", f"{patient.study_id} #{infusion_number}", "already started"
                )
            if day_moved(uow, patient, infusion_number, day):
                raise ConflictError(
                    "infusion",
                    f"{patient.study_id} #{infusion_number}",
                    f"already moved to {day.isoformat()}",
                )
            user = self._auth.reauthenticate(uow, password)
            uow.reason = f"infusion {infusion_number} moved to {day.isoformat()}: {why}"
            return _record_decision(uow, patient, infusion_number, MOVE_DAY, day, [], why, user.id)


def _record_decision(
    uow: UnitOfWork,
    patient: Patient,
    infusion_number: int,
    kind: str,
    day: dt.date,
    released: list[str],
    reason: str,
    decided_by: int,
) -> DecisionView:
    """Store a physician's decision (audited with the record) and commit it."""
    decision = PhysicianDecision(
        patient_id=patient.id,
        infusion_number=infusion_number,
        kind=kind,
        day=day,
        released=released,
        reason=reason,
        decided_by=decided_by,
        decided_at=uow.now,
        voided_at=None,
        voided_by=None,
        void_reason=None,
    )
    uow.session.add(decision)
    uow.flush()
    view = _decision_view(uow, decision)
    uow.commit()
    return view
