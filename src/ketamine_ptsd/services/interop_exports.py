"""Interoperability exports (CDISC SDTM, REDCap, FHIR R4), role-checked, blind-safe and audited.

SYSTEM.md capability 11 ("exports to … CDISC SDTM (DM, EX, VS, QS, AE, DS, SV) and analysis
datasets, REDCap data dictionary and records, FHIR R4") and §Data (exports are audit events).

The use case follows ``services/exports.py``: it needs ``data.export`` and
``analysis_dataset.read`` (today the statistician), extracts the analysis frames through
:class:`~ketamine_ptsd.services.datasets.DatasetService` — so the blind is exactly the actor's
sanction: no arm without one, "A"/"B" under a partial one, arm ids under a full one (PROTOCOL.md
§3) — adds the record detail the standards need and the analysis frames lack (assessment dates
and item answers, infusion dates, site, who decided a withdrawal), hands both to a converter and
writes one ``export`` audit event naming the format and row count, never a value.

The converters are pure functions in ``adapters/interop`` (one per standard). They are injected
(``converters``) rather than imported, so this layer keeps pointing inward (STYLE.md "Our shape"
§1): the CLI and the web app pass ``ketamine_ptsd.adapters.interop.CONVERTERS``.

What the detail adds cannot break the blind: dates, item answers of the outcome instruments
(which the statistician may read: ``assessment.read``), who entered them and when, the site and
the withdrawal decider.
Drug, dose, slot and allocation are never read here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select, true

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action

from ._workflow import core_protocol
from .access import Actor, require
from .audit import AuditService
from .context import ServiceContext
from .datasets import AnalysisFrames, DatasetService
from .errors import ValidationFailed
from .exports import ExportFile
from .meddra import CODING_COLUMNS, coding_frame
from .records import Assessment, InfusionDay, Patient, User, Withdrawal

__all__ = [
    "ASSESSMENT_COLUMNS",
    "INFUSION_COLUMNS",
    "PATIENT_COLUMNS",
    "Converter",
    "InteropExportService",
    "InteropSource",
]

#: One row per recorded outcome assessment (scheduled and follow-up): ``items`` and
#: ``subscales`` are dicts keyed as the instrument registry keys them; ``recorded_by`` (the
#: username) and ``recorded_at`` say who entered it and when (ODM's audit records).
ASSESSMENT_COLUMNS = (
    "subject",
    "time",
    "instrument",
    "date",
    "items",
    "total",
    "subscales",
    "recorded_by",
    "recorded_at",
)
#: One row per started infusion: the date only (never the drug or the dose).
INFUSION_COLUMNS = ("subject", "infusion", "date")
#: One row per patient of the protocol: the site, and who decided a withdrawal (or None).
PATIENT_COLUMNS = ("subject", "site", "withdrawal_decided_by")


@dataclass(frozen=True)
class InteropSource:
    """What a converter turns into a standard: the (blind-as-sanctioned) extract, the protocol
    it came from, and the record detail (frames with the columns above; may be empty, in which
    case converters fall back to the totals in the analysis frames and leave dates blank)."""

    protocol: Protocol
    extract: AnalysisFrames
    assessments: pd.DataFrame
    infusions: pd.DataFrame
    patients: pd.DataFrame
    #: MedDRA codings of the adverse events (services/meddra.CODING_COLUMNS; empty: uncoded).
    ae_codings: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(CODING_COLUMNS))
    )

    @property
    def blinded(self) -> bool:
        """True when the extract carries no arm (no sanction): the converters then write no
        arm, no drug name and no dose anywhere."""
        return self.extract.blinded


#: A converter: the source → the files of one standard (name, bytes, rows, media type).
Converter = Callable[[InteropSource], list[ExportFile]]


class InteropExportService:
    """Export a protocol's data in a standard format (``converters`` maps format → converter)."""

    def __init__(
        self,
        ctx: ServiceContext,
        datasets: DatasetService,
        audit: AuditService,
        converters: Mapping[str, Converter],
    ) -> None:
        self._ctx = ctx
        self._datasets = datasets
        self._audit = audit
        self._converters = dict(converters)

    @property
    def formats(self) -> tuple[str, ...]:
        return tuple(self._converters)

    def export(self, actor: Actor, *, protocol_name: str, fmt: str) -> list[ExportFile]:
        """The files of ``fmt`` for ``protocol_name``, as the actor's sanction allows."""
        require(actor, Action.EXPORT_DATA)
        require(actor, Action.ANALYSIS_DATASET_READ)
        convert = self._converters.get(fmt)
        if convert is None:
            raise ValidationFailed("fmt", f"one of {', '.join(self._converters)}", fmt)
        extract = self._datasets.extract(actor, protocol_name=protocol_name)
        protocol = core_protocol(self._ctx, protocol_name)
        assessments, infusions, patients, codings = self._detail(actor, protocol)
        files = convert(InteropSource(protocol, extract, assessments, infusions, patients, codings))
        self._audit.record_export(
            actor,
            f"{fmt} export of {extract.protocol_name} ({extract.unblinding}): "
            + ", ".join(f.name for f in files),
            sum(f.rows for f in files),
        )
        return files

    def _detail(
        self, actor: Actor, protocol: Protocol
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Dates, item answers, sites, withdrawal deciders and MedDRA codings of the protocol's
        live patients."""
        with self._ctx.uow(actor, write=False) as uow:
            patients = list(
                uow.session.scalars(
                    select(Patient)
                    .where(
                        Patient.protocol_name == protocol.name,
                        Patient.voided_at.is_(None),
                        Patient.site.in_(sorted(actor.sites))
                        if actor.sites is not None
                        else true(),
                    )
                    .order_by(Patient.study_id)
                )
            )
            subject = {p.id: p.study_id for p in patients}
            ids = list(subject)
            usernames = {i: name for i, name in uow.session.execute(select(User.id, User.username))}
            assessments: list[dict[str, Any]] = [
                {
                    "subject": subject[a.patient_id],
                    "time": a.time_point,
                    "instrument": a.instrument,
                    "date": a.assessed_on,
                    "items": dict(a.items),
                    "total": a.total,
                    "subscales": dict(a.subscales),
                    "recorded_by": usernames.get(a.recorded_by) if a.recorded_by else None,
                    "recorded_at": a.recorded_at,
                }
                for a in uow.session.scalars(
                    select(Assessment)
                    .where(Assessment.patient_id.in_(ids), Assessment.voided_at.is_(None))
                    .order_by(Assessment.id)
                )
            ]
            infusions = [
                {"subject": subject[pid], "infusion": number, "date": day}
                for pid, number, day in uow.session.execute(
                    select(
                        InfusionDay.patient_id,
                        InfusionDay.infusion_number,
                        InfusionDay.infusion_date,
                    )
                    .where(InfusionDay.patient_id.in_(ids), InfusionDay.voided_at.is_(None))
                    .order_by(InfusionDay.patient_id, InfusionDay.infusion_number)
                )
            ]
            decided = {
                pid: who
                for pid, who in uow.session.execute(
                    select(Withdrawal.patient_id, Withdrawal.decided_by).where(
                        Withdrawal.patient_id.in_(ids)
                    )
                )
            }
            people = [
                {
                    "subject": p.study_id,
                    "site": p.site,
                    "withdrawal_decided_by": decided.get(p.id),
                }
                for p in patients
            ]
            codings = coding_frame(uow.session, protocol.name, actor.sites)
        return (
            pd.DataFrame(assessments, columns=list(ASSESSMENT_COLUMNS)),
            pd.DataFrame(infusions, columns=list(INFUSION_COLUMNS)),
            pd.DataFrame(people, columns=list(PATIENT_COLUMNS)),
            codings,
        )
