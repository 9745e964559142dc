"""Concomitant medications: the list per patient, and the classes the checklist flags (§1, §11)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action
from ketamine_ptsd.core.rules import Medication, check_medication, medication_flags

from .._workflow import check_editable, core_call, entered, need_reason, require_open
from ..access import Actor
from ..errors import NotFound
from ..records import ConcomitantMedication, Patient
from ..uow import UnitOfWork
from .base import InfusionBase


@dataclass(frozen=True)
class MedicationInput:
    """A medication the patient takes: drug, class (core.rules.MEDICATION_CLASSES), dose (with
    how often), and the dates; ``stopped_on`` None while it is taken."""

    drug: str
    drug_class: str
    dose: str
    started_on: dt.date
    stopped_on: dt.date | None = None


@dataclass(frozen=True)
class MedicationView:
    id: int
    patient_id: int
    drug: str
    drug_class: str
    dose: str
    started_on: dt.date
    stopped_on: dt.date | None
    flagged: bool  # in a class the protocol flags (changes sedation or blood pressure)
    version: int


def _view(protocol: Protocol, r: ConcomitantMedication) -> MedicationView:
    return MedicationView(
        r.id,
        r.patient_id,
        r.drug,
        r.drug_class,
        r.dose,
        r.started_on,
        r.stopped_on,
        r.drug_class in protocol.pre_infusion.flag_medication_classes,
        r.version,
    )


def medications_of(uow: UnitOfWork, patient: Patient) -> list[ConcomitantMedication]:
    return list(
        uow.session.scalars(
            select(ConcomitantMedication)
            .where(
                ConcomitantMedication.patient_id == patient.id,
                ConcomitantMedication.voided_at.is_(None),
            )
            .order_by(ConcomitantMedication.started_on, ConcomitantMedication.id)
        )
    )


def flags_today(uow: UnitOfWork, protocol: Protocol, patient: Patient) -> tuple[str, ...]:
    """The checklist's medication flags for today (PROTOCOL.md §1, §11)."""
    meds = [
        Medication(m.drug, m.drug_class, m.dose, m.started_on, m.stopped_on)
        for m in medications_of(uow, patient)
    ]
    return medication_flags(protocol, meds, uow.now.date())


class MedicationUseCases(InfusionBase):
    """Concomitant medications: the list per patient, and the classes the checklist flags."""

    def record_medication(
        self, actor: Actor, patient_id: int, data: MedicationInput
    ) -> MedicationView:
        """Add a medication to the patient's list (audited field by field)."""
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_RECORD)
            require_open(patient)
            med = Medication(
                data.drug.strip(),
                data.drug_class,
                data.dose.strip(),
                data.started_on,
                data.stopped_on,
            )
            core_call(check_medication, med, uow.now.date())
            record = ConcomitantMedication(
                patient_id=patient.id,
                drug=med.drug,
                drug_class=med.drug_class,
                dose=med.dose,
                started_on=med.started_on,
                stopped_on=med.stopped_on,
                **entered(actor, uow.now),
            )
            uow.session.add(record)
            uow.flush()
            view = _view(protocol, record)
            uow.commit()
            return view

    def stop_medication(
        self,
        actor: Actor,
        patient_id: int,
        medication_id: int,
        *,
        stopped_on: dt.date,
        expected_version: int,
        reason: str,
    ) -> MedicationView:
        """Record when a medication was stopped (an edit of the list: the reason is audited)."""
        with self._ctx.uow(actor, write=True) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_RECORD)
            record = uow.session.get(ConcomitantMedication, medication_id)
            if record is None or record.patient_id != patient.id:
                raise NotFound("medication", medication_id)
            check_editable("medication", record, expected_version)
            uow.reason = need_reason(reason)
            med = Medication(
                record.drug, record.drug_class, record.dose, record.started_on, stopped_on
            )
            core_call(check_medication, med, uow.now.date())
            record.stopped_on = stopped_on
            uow.flush()
            view = _view(protocol, record)
            uow.commit()
            return view

    def medications(self, actor: Actor, patient_id: int) -> list[MedicationView]:
        with self._ctx.uow(actor, write=False) as uow:
            patient, protocol = self._patient(uow, actor, patient_id, Action.INFUSION_READ)
            return [_view(protocol, m) for m in medications_of(uow, patient)]
