"""Analysis datasets and the statistician's sanctioned unblinding (PROTOCOL.md §3, §9).

The statistician is blinded. For a sanctioned analysis an administrator (recording the DSMB's
or steering committee's decision) grants a time-limited sanction: ``partial`` shows the arms
coded "A"/"B" (the interim analysis of §3 was run that way), ``full`` shows arm ids (the final
analysis). Every dataset extraction is an audit event; an unblinded one says so.

This is the skeleton the later phases extend with assessments and infusion-day data (one row per
patient now: status, stratum, allocation group as the sanction allows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ketamine_ptsd.core.roles import Action, AnalysisUnblinding, Role

from .access import Actor, analysis_unblinding, require
from .audit import AuditEvent, encode_value
from .context import ServiceContext
from .datasets import AnalysisFrames, DatasetService
from .errors import NotFound, ValidationFailed
from .randomization import trial_arm_codes
from .records import (
    Allocation,
    AnalysisSanction,
    Patient,
    RandomizationList,
    RandomizationSlot,
    User,
)

__all__ = ["AnalysisRow", "AnalysisService", "SanctionView"]


@dataclass(frozen=True)
class SanctionView:
    id: int
    statistician_user_id: int
    level: str
    purpose: str
    granted_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True)
class AnalysisRow:
    """One patient in the analysis dataset; ``group`` is None while blinded."""

    study_id: str
    protocol_name: str
    site: str
    stratum: str | None
    status: str
    allocated: bool
    group: str | None


class AnalysisService:
    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def sanction(
        self,
        actor: Actor,
        *,
        statistician_user_id: int,
        level: str,
        purpose: str,
        reason: str,
        expires_at: dt.datetime,
    ) -> SanctionView:
        """Record a sanctioned unblinding for one statistician until ``expires_at``."""
        require(actor, Action.ANALYSIS_SANCTION)
        try:
            grade = AnalysisUnblinding(level)
        except ValueError:
            raise ValidationFailed("level", "partial or full", level) from None
        if grade is AnalysisUnblinding.NONE:
            raise ValidationFailed("level", "partial or full", level)
        if not purpose.strip():
            raise ValidationFailed("purpose", "must not be blank", purpose)
        if len(reason.strip()) < 10:
            raise ValidationFailed(
                "reason", "state the decision that sanctions it (at least 10 characters)", reason
            )
        with self._ctx.uow(actor, write=True) as uow:
            if expires_at <= uow.now:
                raise ValidationFailed("expires_at", "must be in the future", expires_at)
            user = uow.session.get(User, statistician_user_id)
            if user is None:
                raise NotFound("user", statistician_user_id)
            if user.role != Role.STATISTICIAN.value:
                raise ValidationFailed(
                    "statistician_user_id", "the user is not a statistician", statistician_user_id
                )
            record = AnalysisSanction(
                statistician_user_id=user.id,
                level=grade.value,
                purpose=purpose.strip(),
                reason=reason.strip(),
                granted_by=actor.user_id,
                granted_at=uow.now,
                expires_at=expires_at,
                revoked_at=None,
            )
            uow.session.add(record)
            uow.flush()
            view = SanctionView(
                record.id,
                user.id,
                record.level,
                record.purpose,
                record.granted_at,
                record.expires_at,
            )
            uow.commit()
            return view

    def dataset(self, actor: Actor, *, protocol_name: str) -> list[AnalysisRow]:
        """Per-patient rows of one protocol (of the actor's sites, issue 17), blinded unless a
        live sanction says otherwise."""
        require(actor, Action.ANALYSIS_DATASET_READ)
        with self._ctx.uow(actor, write=True) as uow:
            level = analysis_unblinding(uow.session, actor, uow.now)
            query = (
                select(Patient, Allocation, RandomizationSlot, RandomizationList)
                .outerjoin(Allocation, Allocation.patient_id == Patient.id)
                .outerjoin(RandomizationSlot, RandomizationSlot.id == Allocation.slot_id)
                .outerjoin(RandomizationList, RandomizationList.id == Allocation.list_id)
                .where(Patient.protocol_name == protocol_name, Patient.voided_at.is_(None))
                .order_by(Patient.study_id)
            )
            if actor.sites is not None:
                query = query.where(Patient.site.in_(sorted(actor.sites)))  # type: ignore[attr-defined]
            rows = uow.session.execute(query).all()
            codes = trial_arm_codes(uow.session, protocol_name)
            result = []
            for patient, allocation, slot, record in rows:
                group = None
                if slot is not None and record is not None:
                    if level is AnalysisUnblinding.FULL:
                        group = slot.arm
                    elif level is AnalysisUnblinding.PARTIAL:
                        group = codes[slot.arm]
                result.append(
                    AnalysisRow(
                        patient.study_id,
                        patient.protocol_name,
                        patient.site,
                        patient.stratum,
                        patient.status,
                        allocation is not None,
                        group,
                    )
                )
            uow.events(
                [
                    AuditEvent(
                        "analysis_dataset" if level is AnalysisUnblinding.NONE else "unblind",
                        None,
                        None,
                        None,
                        None,
                        encode_value(
                            {
                                "protocol": protocol_name,
                                "rows": len(result),
                                "unblinding": level.value,
                            }
                        ),
                    )
                ]
            )
            uow.commit()
            return result

    def frames(self, actor: Actor, *, protocol_name: str) -> AnalysisFrames:
        """The full long-format analysis dataset (outcomes, subjects, durability, safety),
        blinded as :meth:`dataset` is; extracted by services/datasets.py."""
        return DatasetService(self._ctx).extract(actor, protocol_name=protocol_name)
