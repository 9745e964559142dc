"""Drug accountability for a Schedule III/IV drug: the pharmacy's reconciliation (issue 12 item 4).

One row per infusion given: the bag (lot, expiry, volume), who prepared it and who checked the
pump, the volume given and the volume wasted with who witnessed the waste, and what is still
unaccounted for (bag − given − wasted). The drug, the concentration and the mg given are shown
only to a reader who may see this patient's drug (the pharmacist; everyone in the open-label
clinic; an investigator after an emergency unblinding): otherwise "study drug" and no mg
(PROTOCOL.md §3, docs/blinding.md). The CSV export is spreadsheet-safe (services/spreadsheet.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import pandas as pd
from sqlalchemy import select

from ketamine_ptsd.core.roles import Action, Role
from ketamine_ptsd.core.workflow import BLINDED_LABEL

from ..access import Actor, allocation_visibility, require
from ..records import DrugAdministration, InfusionDay, Patient
from ..spreadsheet import csv_bytes
from .base import InfusionBase, user_names


@dataclass(frozen=True)
class AccountabilityRow:
    """One infusion's drug, as the reader may see it."""

    study_id: str
    infusion_number: int
    infusion_date: dt.date
    drug: str
    bag_lot: str
    bag_expiry: dt.date
    bag_volume_ml: float
    bag_concentration_mg_per_ml: float | None
    prepared_by: str
    started_by: str
    checked_by: str
    supervising_physician: str
    volume_given_ml: float | None
    dose_given_mg: float | None
    stopped_early: bool | None
    volume_wasted_ml: float | None
    waste_witnessed_by: str | None
    #: bag − given − wasted (mL); None until both are recorded. Anything but 0 is a discrepancy.
    unaccounted_ml: float | None


class AccountabilityUseCases(InfusionBase):
    """The pharmacy's reconciliation page and its export."""

    def accountability(self, actor: Actor) -> list[AccountabilityRow]:
        """Every infusion given at the actor's sites, oldest first (``drug_accountability.read``;
        a site's member never sees another site's infusions, issue 17; a clinician works in
        clinic mode only, so a blinded trial's infusions are not theirs to list, services/
        access.py)."""
        require(actor, Action.DRUG_ACCOUNTABILITY_READ)
        with self._ctx.uow(actor, write=False) as uow:
            query = (
                select(DrugAdministration, InfusionDay, Patient)
                .join(InfusionDay, InfusionDay.id == DrugAdministration.infusion_day_id)
                .join(Patient, Patient.id == DrugAdministration.patient_id)
                .where(InfusionDay.voided_at.is_(None))
                .order_by(InfusionDay.started_at, DrugAdministration.id)
            )
            if actor.sites is not None:
                query = query.where(Patient.site.in_(sorted(actor.sites)))  # type: ignore[attr-defined]
            if actor.role is Role.CLINICIAN:
                query = query.where(Patient.blinded.is_(False))  # type: ignore[attr-defined]
            rows = uow.session.execute(query).all()
            names = user_names(
                uow,
                {
                    u
                    for a, _, _ in rows
                    for u in (
                        a.prepared_by,
                        a.recorded_by,
                        a.checked_by,
                        a.supervising_physician_id,
                        a.waste_witnessed_by,
                    )
                },
            )
            out = []
            for a, day, patient in rows:
                visible = allocation_visibility(uow.session, actor, patient)
                unaccounted = None
                if a.volume_given_ml is not None and a.volume_wasted_ml is not None:
                    unaccounted = round(a.bag_volume_ml - a.volume_given_ml - a.volume_wasted_ml, 6)
                out.append(
                    AccountabilityRow(
                        study_id=patient.study_id,
                        infusion_number=a.infusion_number,
                        infusion_date=day.infusion_date,
                        drug=day.drug if visible else BLINDED_LABEL,
                        bag_lot=a.bag_lot,
                        bag_expiry=a.bag_expiry,
                        bag_volume_ml=a.bag_volume_ml,
                        bag_concentration_mg_per_ml=a.bag_concentration_mg_per_ml
                        if visible
                        else None,
                        prepared_by=names.get(a.prepared_by, ""),
                        started_by="" if a.recorded_by is None else names.get(a.recorded_by, ""),
                        checked_by=names.get(a.checked_by, ""),
                        supervising_physician=names.get(a.supervising_physician_id, ""),
                        volume_given_ml=a.volume_given_ml,
                        dose_given_mg=a.dose_given_mg if visible else None,
                        stopped_early=a.stopped_early,
                        volume_wasted_ml=a.volume_wasted_ml,
                        waste_witnessed_by=None
                        if a.waste_witnessed_by is None
                        else names.get(a.waste_witnessed_by, ""),
                        unaccounted_ml=unaccounted,
                    )
                )
            return out

    def accountability_csv(self, actor: Actor) -> bytes:
        """The reconciliation as spreadsheet-safe CSV (free text such as a lot number that
        begins with ``=`` is neutralised; services/spreadsheet.py)."""
        rows = self.accountability(actor)
        columns = list(AccountabilityRow.__dataclass_fields__)
        frame = pd.DataFrame([asdict(r) for r in rows], columns=columns)
        return csv_bytes(frame)
