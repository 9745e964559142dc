"""The protocol's edit checks as automatic queries (issue 17).

The checks are the core's (:mod:`ketamine_ptsd.core.conduct.edit_checks`); this module raises
their findings on the record: inside the writing unit of work when vitals or an assessment are
entered (at the bedside, late from paper, or through the API), and over the whole record when
a monitor or statistician (whoever may raise a query: ``query.raise``) sweeps it
(:meth:`EditCheckService.run`: data entered before a check existed, or changed since) — from the
queries page, ``POST /api/v1/queries/sweep`` or ``ketamine-ptsd queries sweep``. A finding is raised once: not again while its query
is open or answered, nor after it was closed on the same value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketamine_ptsd.core.conduct import (
    EditFinding,
    assessment_window_finding,
    missing_items_finding,
    vitals_findings,
)
from ketamine_ptsd.core.roles import Action, Role

from .access import Actor, require
from .audit.hooks import audited_columns, stored_value
from .context import ServiceContext
from .protocol_versions import patient_protocol
from .queries import raise_rule_query
from .records import Assessment, DataQuery, Patient, Record, VitalSignsRecord

__all__ = [
    "CheckRun",
    "EditCheckService",
    "assessment_findings",
    "raise_findings",
    "vitals_values",
]

_VITALS = (
    "systolic_mmhg",
    "diastolic_mmhg",
    "heart_rate_bpm",
    "spo2_percent",
    "respiratory_rate_per_min",
    "moaas",
)


@dataclass
class CheckRun:
    """What a sweep found: records checked and queries raised, by rule."""

    records_checked: int = 0
    raised: dict[str, int] = field(default_factory=dict)

    @property
    def total_raised(self) -> int:
        return sum(self.raised.values())


def vitals_values(record: VitalSignsRecord) -> dict[str, int | None]:
    return {name: getattr(record, name) for name in _VITALS}


def raise_findings(
    session: Session,
    now: dt.datetime,
    *,
    patient_id: int,
    record: Record,
    table_name: str,
    findings: Iterable[EditFinding],
) -> list[DataQuery]:
    """Raise each finding on ``record`` not raised already (open or answered, or closed on
    the value the field holds now); the queries raised."""
    raised = []
    for finding in findings:
        origin = f"rule:{finding.rule}"
        earlier = session.scalars(
            select(DataQuery).where(
                DataQuery.table_name == table_name,
                DataQuery.record_id == str(record.id),
                DataQuery.field == finding.field,
                DataQuery.origin == origin,
            )
        ).all()
        if earlier:
            column = next(c for c in audited_columns(type(record)) if c.key == finding.field)
            now_value = stored_value(getattr(record, finding.field), column.sensitivity)
            if any(q.state != "closed" or q.value_raised == now_value for q in earlier):
                continue
        raised.append(
            raise_rule_query(
                session,
                now,
                patient_id=patient_id,
                record=record,
                table_name=table_name,
                field=finding.field,
                question=finding.question,
                rule=finding.rule,
            )
        )
    return raised


def assessment_findings(record: Assessment) -> list[EditFinding]:
    found = [
        assessment_window_finding(
            record.instrument,
            record.time_point,
            record.assessed_on,
            record.window_start,
            record.window_end,
        ),
        missing_items_finding(record.instrument, record.time_point, record.derived or {}),
    ]
    return [f for f in found if f is not None]


class EditCheckService:
    """Sweep the record with the protocol's edit checks (monitor or statistician: whoever may
    raise a query), over the patients of the sweeper's sites."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def run(self, actor: Actor) -> CheckRun:
        """Check every vitals reading and assessment of the patients the actor may see, and
        raise what is found and not raised already."""
        require(actor, Action.QUERY_RAISE)
        result = CheckRun()
        with self._ctx.uow(actor, write=True) as uow:
            session = uow.session
            patients = {
                p.id: p
                for p in session.scalars(select(Patient)).all()
                if actor.sees_site(p.site) and not (actor.role is Role.CLINICIAN and p.blinded)
            }
            protocols = {pid: patient_protocol(self._ctx, uow, p) for pid, p in patients.items()}
            readings = session.scalars(
                select(VitalSignsRecord)
                .where(VitalSignsRecord.voided_at.is_(None))
                .order_by(VitalSignsRecord.id)  # type: ignore[attr-defined]
            ).all()
            for r in readings:
                if r.patient_id not in patients:
                    continue
                result.records_checked += 1
                checks = protocols[r.patient_id].monitoring.data_checks
                self._count(
                    result,
                    raise_findings(
                        session,
                        uow.now,
                        patient_id=r.patient_id,
                        record=r,
                        table_name="vital_signs",
                        findings=vitals_findings(vitals_values(r), r.minute, checks),
                    ),
                )
            assessments = session.scalars(
                select(Assessment).where(Assessment.voided_at.is_(None)).order_by(Assessment.id)  # type: ignore[attr-defined]
            ).all()
            for a in assessments:
                if a.patient_id not in patients:
                    continue
                result.records_checked += 1
                self._count(
                    result,
                    raise_findings(
                        session,
                        uow.now,
                        patient_id=a.patient_id,
                        record=a,
                        table_name="assessments",
                        findings=assessment_findings(a),
                    ),
                )
            uow.flush()
            uow.commit()
        return result

    @staticmethod
    def _count(result: CheckRun, raised: list[DataQuery]) -> None:
        for q in raised:
            rule = q.origin.removeprefix("rule:")
            result.raised[rule] = result.raised.get(rule, 0) + 1
