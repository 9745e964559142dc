"""Source-data verification (issue 17): a monitor marks a patient's record verified against
source; a later change to it shows as "changed" until verified again (core/conduct/sdv.py), and
the monitor sees what changed since their last verification of that patient, from the audit
trail, as far as their role may see it (no arm: the audit's own redaction applies).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketamine_ptsd.core.conduct import SdvStatus, sdv_status
from ketamine_ptsd.core.roles import Action

from .access import Actor, require, require_patient
from .audit import AuditService, AuditView, read_head
from .context import ServiceContext
from .errors import NotFound, ValidationFailed
from .patient_records import form_class, patient_of
from .records import (
    AdverseEvent,
    Assessment,
    AuditEntry,
    Consent,
    EligibilityDecisionRecord,
    InfusionDay,
    Patient,
    SdvMark,
    User,
)

__all__ = ["SdvItem", "SdvProgress", "SdvService"]


@dataclass(frozen=True)
class SdvItem:
    """One critical record of a patient and its verification."""

    table_name: str
    record_id: str
    label: str
    status: str  # SdvStatus
    verified_by: str | None
    verified_at: dt.datetime | None


@dataclass(frozen=True)
class SdvProgress:
    """Critical records verified (and still as verified), per patient and per site."""

    by_patient: dict[str, tuple[int, int, int]]  # study id → (verified, changed, total)
    by_site: dict[str, tuple[int, int, int]]


def _critical(
    session: Session, patient: Patient, instrument: str, baseline: str, primary: str
) -> list[tuple[str, str, str]]:
    """(table, record id, label) of every critical record of the patient (core/conduct/sdv.py)."""
    found: list[tuple[str, str, str]] = []
    pid = patient.id
    for c in session.scalars(select(Consent).where(Consent.patient_id == pid).order_by(Consent.id)):
        found.append(("consents", str(c.id), f"consent {c.id}"))
    for d in session.scalars(
        select(EligibilityDecisionRecord)
        .where(EligibilityDecisionRecord.patient_id == pid)
        .order_by(EligibilityDecisionRecord.id)
    ):
        found.append(("eligibility_decisions", str(d.id), f"eligibility decision {d.id}"))
    for a in session.scalars(
        select(Assessment)
        .where(
            Assessment.patient_id == pid,
            Assessment.instrument == instrument,
            Assessment.time_point.in_([baseline, primary]),
        )
        .order_by(Assessment.id)
    ):
        found.append(("assessments", str(a.id), f"{a.instrument} at {a.time_point}"))
    for day in session.scalars(
        select(InfusionDay)
        .where(InfusionDay.patient_id == pid)
        .order_by(InfusionDay.infusion_number)
    ):
        found.append(("infusion_days", str(day.id), f"infusion {day.infusion_number}"))
    for e in session.scalars(
        select(AdverseEvent)
        .where(AdverseEvent.patient_id == pid, AdverseEvent.serious.is_(True))
        .order_by(AdverseEvent.id)
    ):
        found.append(("adverse_events", str(e.id), f"serious adverse event {e.id}"))
    return found


class SdvService:
    """``verify`` (monitor), ``items`` and ``progress``, ``changes_since_last_visit``."""

    def __init__(self, ctx: ServiceContext, audit: AuditService) -> None:
        self._ctx = ctx
        self._audit = audit

    def verify(
        self,
        actor: Actor,
        patient_id: int,
        *,
        table_name: str,
        record_id: str,
        note: str | None = None,
    ) -> SdvItem:
        """Mark one record of the patient verified against source, as it stands now."""
        require(actor, Action.SDV_RECORD)
        cls = form_class(table_name)
        try:
            key = int(record_id)
        except (TypeError, ValueError):
            raise ValidationFailed("record_id", "a record number", record_id) from None
        with self._ctx.uow(actor, write=True) as uow:
            patient = uow.session.get(Patient, patient_id)
            if patient is None:
                raise NotFound("patient", patient_id)
            require_patient(actor, Action.SDV_RECORD, patient)
            obj = uow.session.get(cls, key)
            if obj is None or patient_of(uow.session, obj) != patient.id:
                raise NotFound(f"{table_name} record of patient {patient.study_id}", record_id)
            seq, _head = read_head(uow.session)
            mark = SdvMark(
                patient_id=patient.id,
                table_name=table_name,
                record_id=str(key),
                verified_by=actor.user_id,
                verified_at=uow.now,
                audit_seq=seq,
                note=(note or "").strip() or None,
            )
            uow.session.add(mark)
            uow.flush()
            item = SdvItem(
                table_name, str(key), table_name, SdvStatus.VERIFIED.value, actor.username, uow.now
            )
            uow.commit()
            return item

    def items(self, actor: Actor, patient_id: int) -> list[SdvItem]:
        """The patient's critical records, each unverified, verified or changed since."""
        require(actor, Action.PATIENT_READ)
        with self._ctx.uow(actor, write=False) as uow:
            patient = uow.session.get(Patient, patient_id)
            if patient is None:
                raise NotFound("patient", patient_id)
            require_patient(actor, Action.PATIENT_READ, patient)
            return self._items(uow.session, patient)

    def progress(self, actor: Actor) -> SdvProgress:
        """Verified / changed / total critical records per patient and per site."""
        require(actor, Action.PATIENT_READ)
        by_patient: dict[str, tuple[int, int, int]] = {}
        by_site: dict[str, tuple[int, int, int]] = {}
        with self._ctx.uow(actor, write=False) as uow:
            patients = uow.session.scalars(
                select(Patient).where(Patient.voided_at.is_(None)).order_by(Patient.study_id)
            ).all()
            for patient in patients:
                if not actor.sees_site(patient.site):
                    continue
                items = self._items(uow.session, patient)
                verified = sum(i.status == SdvStatus.VERIFIED.value for i in items)
                changed = sum(i.status == SdvStatus.CHANGED.value for i in items)
                by_patient[patient.study_id] = (verified, changed, len(items))
                v, c, t = by_site.get(patient.site, (0, 0, 0))
                by_site[patient.site] = (v + verified, c + changed, t + len(items))
        return SdvProgress(by_patient, by_site)

    def changes_since_last_visit(self, actor: Actor, patient_id: int) -> list[AuditView]:
        """Audit rows of the patient's critical records made after the actor's last
        verification on this patient (all of them before the first), redacted by role."""
        require(actor, Action.AUDIT_READ)
        with self._ctx.uow(actor, write=False) as uow:
            patient = uow.session.get(Patient, patient_id)
            if patient is None:
                raise NotFound("patient", patient_id)
            require_patient(actor, Action.PATIENT_READ, patient)
            since = uow.session.scalar(
                select(func.max(SdvMark.audit_seq)).where(
                    SdvMark.patient_id == patient.id, SdvMark.verified_by == actor.user_id
                )
            )
            records = [
                (t, r) for t, r, _label in _critical(uow.session, patient, *self._primary(patient))
            ]
        rows: list[AuditView] = []
        for table, record in [("patients", str(patient_id)), *records]:
            rows.extend(
                self._audit.entries(
                    actor, table_name=table, record_id=record, since_seq=int(since or 0)
                )
            )
        return sorted(rows, key=lambda r: r.seq)

    # --- helpers -----------------------------------------------------------------------------

    def _primary(self, patient: Patient) -> tuple[str, str, str]:
        """The protocol's primary outcome: instrument, baseline and primary time points."""
        response = self._ctx.protocol(patient.protocol_name).response
        return response.instrument, response.baseline_assessment, response.assessment

    def _items(self, session: Session, patient: Patient) -> list[SdvItem]:
        critical = _critical(session, patient, *self._primary(patient))
        items: list[SdvItem] = []
        for table, record, label in critical:
            mark = session.scalars(
                select(SdvMark)
                .where(
                    SdvMark.patient_id == patient.id,
                    SdvMark.table_name == table,
                    SdvMark.record_id == record,
                )
                .order_by(SdvMark.id.desc())  # type: ignore[attr-defined]
                .limit(1)
            ).first()
            last_change = session.scalar(
                select(func.max(AuditEntry.seq)).where(
                    AuditEntry.table_name == table, AuditEntry.record_id == record
                )
            )
            status = sdv_status(None if mark is None else mark.audit_seq, last_change)
            who = None
            if mark is not None and mark.verified_by is not None:
                user = session.get(User, mark.verified_by)
                who = None if user is None else user.username
            items.append(
                SdvItem(
                    table,
                    record,
                    label,
                    status.value,
                    who,
                    None if mark is None else mark.verified_at,
                )
            )
        return items
