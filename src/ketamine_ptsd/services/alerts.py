"""Owned safety alerts: raised where a reading crosses a line, held open until acknowledged.

Vitals beyond a threshold (PROTOCOL.md §6) and a C-SSRS result at the protocol's review level
(§7) raise a :class:`SafetyAlert`. The alert stays open until someone acknowledges it by name
(services/infusions/safety.py): an open alert of the day holds the discharge (§12), an open
suicide-risk alert holds the next infusion until a physician has reviewed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import suicide_risk_alert

from ._workflow import core_call
from .records import Patient, SafetyAlert
from .uow import UnitOfWork

__all__ = [
    "PHYSICIAN_TASKS",
    "RELAPSE_WATCH",
    "SUICIDE_RISK",
    "SYMPTOM_RISE",
    "VITAL_SIGNS",
    "open_alert_messages",
    "raise_alert",
    "raise_relapse_task",
    "raise_suicide_risk_alert",
    "relapse_proposals",
    "unreviewed_suicide_risk",
]

VITAL_SIGNS = "vital_signs"
SUICIDE_RISK = "suicide_risk"
#: A PCL-5 rise of the protocol's clinically meaningful change in a self-report (§7; issue 13).
SYMPTOM_RISE = "symptom_rise"
#: The relapse watch: the loss-of-response rule met, or a self-report above the response's line
#: (§8; issue 13); the task proposes the protocol's maintenance or retreatment options.
RELAPSE_WATCH = "relapse_watch"
#: Alerts that are a physician's task: only a physician acknowledges them (the review).
PHYSICIAN_TASKS = frozenset({SUICIDE_RISK, SYMPTOM_RISE, RELAPSE_WATCH})


def raise_alert(
    uow: UnitOfWork,
    patient: Patient,
    *,
    infusion_number: int | None,
    kind: str,
    source_table: str,
    source_id: int,
    messages: list[str],
    raised_by: int | None,
) -> SafetyAlert:
    """Store an open alert (audited with the rest of the record; never deleted)."""
    alert = SafetyAlert(
        patient_id=patient.id,
        infusion_number=infusion_number,
        kind=kind,
        source_table=source_table,
        source_id=source_id,
        messages=list(messages),
        raised_at=uow.now,
        raised_by=raised_by,
        acknowledged_at=None,
        acknowledged_by=None,
        physician_called=None,
        physician_called_at=None,
        action_taken=None,
    )
    uow.session.add(alert)
    return alert


def _open(uow: UnitOfWork, patient: Patient, kind: str, infusion_number: int | None) -> list[str]:
    query = select(SafetyAlert).where(
        SafetyAlert.patient_id == patient.id,
        SafetyAlert.kind == kind,
        SafetyAlert.acknowledged_at.is_(None),
    )
    if infusion_number is not None:
        query = query.where(SafetyAlert.infusion_number == infusion_number)
    return [m for a in uow.session.scalars(query.order_by(SafetyAlert.id)) for m in a.messages]


def open_alert_messages(uow: UnitOfWork, patient: Patient, infusion_number: int) -> tuple[str, ...]:
    """The day's vital-sign alerts nobody acknowledged yet (they hold the discharge, §12)."""
    return tuple(_open(uow, patient, VITAL_SIGNS, infusion_number))


def unreviewed_suicide_risk(uow: UnitOfWork, patient: Patient) -> tuple[str, ...]:
    """C-SSRS alerts no physician has reviewed (they hold the next infusion, §7)."""
    return tuple(_open(uow, patient, SUICIDE_RISK, None))


def raise_suicide_risk_alert(
    uow: UnitOfWork,
    protocol: Protocol,
    patient: Patient,
    *,
    derived: Mapping[str, Any],
    where: str,
    source_table: str,
    source_id: int,
    raised_by: int | None,
) -> SafetyAlert | None:
    """Raise the physician's task for a C-SSRS at or above the protocol's review level (§7).

    None when the result is below it. The open alert holds the next infusion (core.workflow,
    ``suicide_risk_review``) until a physician acknowledges it with the action taken.
    """
    message = core_call(suicide_risk_alert, protocol, derived, where)
    if message is None:
        return None
    already = uow.session.scalar(
        select(SafetyAlert).where(
            SafetyAlert.source_table == source_table,
            SafetyAlert.source_id == source_id,
            SafetyAlert.kind == SUICIDE_RISK,
            SafetyAlert.acknowledged_at.is_(None),
        )
    )
    if already is not None:  # a correction of a record whose task is still open
        return already
    return raise_alert(
        uow,
        patient,
        infusion_number=None,
        kind=SUICIDE_RISK,
        source_table=source_table,
        source_id=source_id,
        messages=[message],
        raised_by=raised_by,
    )


def relapse_proposals(protocol: Protocol) -> tuple[str, ...]:
    """The protocol's maintenance or retreatment options, as the relapse task proposes them."""
    if protocol.retreatment is None:
        ids: tuple[str, ...] = tuple(
            o.id for o in (protocol.maintenance.options if protocol.maintenance else ())
        )
    else:
        ids = protocol.retreatment.proposed_options
    labels = {o.id: o.label for o in (protocol.maintenance.options if protocol.maintenance else ())}
    out = []
    for option in ids:
        if option == "retreatment":
            out.append(
                f"Retreatment: a new series of {protocol.schedule.infusion_count} infusions "
                "(PROTOCOL.md §8)"
            )
        elif option in labels:
            out.append(labels[option])
    return tuple(out)


def raise_relapse_task(
    uow: UnitOfWork,
    protocol: Protocol,
    patient: Patient,
    *,
    message: str,
    source_table: str,
    source_id: int,
    raised_by: int | None,
) -> SafetyAlert | None:
    """The relapse watch's physician task (§8), proposing the protocol's options; one open task
    per patient at a time (a second finding is added to nothing: the open task still stands)."""
    if protocol.mode != "clinic":
        return None  # the trial's follow-up ends at loss of response; it treats no relapse
    already = uow.session.scalar(
        select(SafetyAlert).where(
            SafetyAlert.patient_id == patient.id,
            SafetyAlert.kind == RELAPSE_WATCH,
            SafetyAlert.acknowledged_at.is_(None),
        )
    )
    if already is not None:
        return already
    offered = relapse_proposals(protocol)
    text = message if not offered else f"{message}; consider: {'; '.join(offered)}"
    return raise_alert(
        uow,
        patient,
        infusion_number=None,
        kind=RELAPSE_WATCH,
        source_table=source_table,
        source_id=source_id,
        messages=[text],
        raised_by=raised_by,
    )
