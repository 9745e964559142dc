"""Adverse events: recorded on a day or between them, and followed up."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ketamine_ptsd.core.roles import Action

from .._workflow import (
    check_editable,
    entered,
    need_reason,
    not_in_future,
    require_open,
)
from ..access import Actor
from ..audit import AuditEvent
from ..errors import NotFound, ValidationFailed
from ..records import (
    AdverseEvent,
)
from .base import InfusionBase
from .views import (
    AdverseEventInput,
    AdverseEventView,
    ae_view,
    check_ae,
)


class AdverseEventUseCases(InfusionBase):
    """Adverse events: recorded on a day or between them, and followed up."""

    def record_adverse_event(
        self, actor: Actor, patient_id: int, data: AdverseEventInput
    ) -> AdverseEventView:
        """Record an adverse event (seriousness, severity, relatedness, action, outcome)."""
        check_ae(data.term, data.severity, data.relatedness, data.outcome, data.action)
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.ADVERSE_EVENT_RECORD)
            require_open(patient)
            not_in_future("onset_date", data.onset_date, uow.now.date())
            if data.infusion_number is not None:
                self._check_number(protocol, data.infusion_number)
            if data.resolved_on is not None and data.resolved_on < data.onset_date:
                raise ValidationFailed("resolved_on", "before the onset", data.resolved_on)
            record = AdverseEvent(
                patient_id=patient.id,
                infusion_number=data.infusion_number,
                term=data.term.strip(),
                onset_date=data.onset_date,
                serious=bool(data.serious),
                severity=data.severity,
                relatedness=data.relatedness,
                action=data.action.strip(),
                outcome=data.outcome,
                resolved_on=data.resolved_on,
                **entered(actor, uow.now),
            )
            uow.session.add(record)
            uow.flush()
            if record.serious:
                uow.events([AuditEvent("serious_adverse_event", "adverse_events", str(record.id))])
            view = ae_view(record)
            uow.commit()
            return view

    def update_adverse_event(
        self,
        actor: Actor,
        event_id: int,
        *,
        expected_version: int,
        reason: str,
        outcome: str,
        resolved_on: dt.date | None = None,
        severity: str | None = None,
        serious: bool | None = None,
    ) -> AdverseEventView:
        """Follow an event up (outcome, resolution, re-graded severity) — with a reason."""
        reason = need_reason(reason)
        with self._ctx.uow(actor, write=True) as uow:
            record = uow.session.get(AdverseEvent, event_id)
            if record is None:
                raise NotFound("adverse event", event_id)
            self._patient(uow, actor, record.patient_id, Action.ADVERSE_EVENT_RECORD)
            check_editable("adverse event", record, expected_version)
            check_ae(
                record.term, severity or record.severity, record.relatedness, outcome, record.action
            )
            if resolved_on is not None and resolved_on < record.onset_date:
                raise ValidationFailed("resolved_on", "before the onset", resolved_on)
            uow.reason = reason
            became_serious = serious is True and not record.serious
            record.outcome = outcome
            record.resolved_on = resolved_on
            if severity is not None:
                record.severity = severity
            if serious is not None:
                record.serious = serious
            uow.flush()
            if became_serious:  # the same event a serious event gets when first recorded
                uow.events(
                    [
                        AuditEvent(
                            "serious_adverse_event", "adverse_events", str(record.id), reason=reason
                        )
                    ]
                )
            view = ae_view(record)
            uow.commit()
            return view

    def adverse_event(self, actor: Actor, event_id: int) -> AdverseEventView:
        """One live adverse event (``adverse_event.read``), e.g. to follow it up."""
        with self._ctx.uow(actor, write=False) as uow:
            record = uow.session.get(AdverseEvent, event_id)
            if record is None or record.voided_at is not None:
                raise NotFound("adverse event", event_id)
            self._patient(uow, actor, record.patient_id, Action.ADVERSE_EVENT_READ)
            return ae_view(record)

    def adverse_events(self, actor: Actor, patient_id: int) -> list[AdverseEventView]:
        with self._ctx.uow(actor, write=False) as uow:
            patient, _ = self._patient(uow, actor, patient_id, Action.ADVERSE_EVENT_READ)
            rows = uow.session.scalars(
                select(AdverseEvent)
                .where(AdverseEvent.patient_id == patient.id, AdverseEvent.voided_at.is_(None))
                .order_by(AdverseEvent.id)
            )
            return [ae_view(a) for a in rows]
