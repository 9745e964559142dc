"""Running the protocol's analysis plan: one use case for the web's "Run analysis" and the CLI's
``report`` (issue 11: the two were written twice).

As the acting statistician: extract the analysis dataset (the blind as their sanction allows:
partial → the DSMB interim with arms coded A/B, full or open label → the final analysis), check
that the final analysis may run, and analyse with the protocol's own analysis plan and response
definition (``protocol.analysis``, ``protocol.response``; core/analysis). Writing
the report is the adapters' part.

The final analysis waits for the trial: while a randomized patient who has not withdrawn has
neither the primary outcome nor a primary window that has passed, it is refused (run the
interim, or wait); CONSORT then counts as lost to follow-up only the patients whose window has
passed without the primary outcome, and an interim shows the others as still within it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import select

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action, AnalysisUnblinding
from ketamine_ptsd.core.rules import plan_schedule
from ketamine_ptsd.core.workflow import PRE_RESPONSE, PatientState

from ._workflow import core_protocol
from .access import Actor, require
from .context import ServiceContext
from .datasets import DatasetService
from .errors import ConflictError
from .freezes import read_freeze, write_freeze
from .lock_guard import ActiveLock, active_lock, protocol_lock
from .meddra import coding_frame
from .records import Allocation, Patient

if TYPE_CHECKING:
    from ketamine_ptsd.core.analysis import AnalysisDataset, AnalysisResults

__all__ = [
    "INTERIM_CONFIRMATION",
    "AnalysisRun",
    "AnalysisRunService",
    "DataCutoff",
    "Readiness",
    "latest_data_date",
]

#: What the DSMB statistician confirms before the coded results are revealed: the CLI's
#: ``report --interim`` asks it (or takes ``--confirm``), the web's analysis page has it ticked.
INTERIM_CONFIRMATION = (
    "The DSMB interim packet reveals the arms' results coded A/B (PROTOCOL.md §3). Confirm that "
    "you are the DSMB's independent statistician and that the packet goes only to the DSMB's "
    "closed session."
)

#: The analysis frames' dated columns: the latest of them is the data cut-off of a record that
#: is neither locked nor frozen (the other frames date their rows relative to these).
DATED_COLUMNS = (
    ("screening", "screening_date"),
    ("subjects", "allocation_date"),
    ("adverse_events", "onset_date"),
)


@dataclass(frozen=True)
class DataCutoff:
    """The data cut-off of a report (adapters/reports/builder.py ``CUTOFF_RULE``): the database
    lock's time, the DSMB freeze's time, or the latest date recorded in the analysed data."""

    at: dt.datetime | dt.date | None
    source: str

    def describe(self) -> str:
        if self.at is None:
            return f"not known ({self.source})"
        if isinstance(self.at, dt.datetime):
            at = self.at.astimezone(dt.UTC) if self.at.tzinfo else self.at
            return f"{at:%Y-%m-%d %H:%M} UTC ({self.source})"
        return f"{self.at.isoformat()} ({self.source})"


def latest_data_date(frames: Mapping[str, pd.DataFrame]) -> DataCutoff:
    """The latest date in the frames' :data:`DATED_COLUMNS`."""
    dates: list[dt.date] = []
    for name, column in DATED_COLUMNS:
        frame = frames.get(name)
        if frame is None or column not in frame:
            continue
        values = pd.to_datetime(frame[column], errors="coerce").dropna()
        if not values.empty:
            dates.append(values.max().date())
    if not dates:
        return DataCutoff(None, "no dated record in the analysed data")
    return DataCutoff(max(dates), "latest date recorded in the analysed data")


def _lock_cutoff(lock: ActiveLock) -> DataCutoff:
    return DataCutoff(
        lock.locked_at, "database lock" if lock.scope == "database" else "last patient lock"
    )


@dataclass(frozen=True)
class Readiness:
    """Randomized patients still within their primary window without the primary outcome."""

    ongoing: tuple[str, ...]
    primary: str  # the protocol's primary time point (e.g. week2)

    @property
    def final_may_run(self) -> bool:
        return not self.ongoing


@dataclass(frozen=True)
class AnalysisRun:
    """What the analysis gave, at which level of the blind, and whether it is the interim."""

    results: AnalysisResults
    level: str  # partial | full | open_label
    interim: bool
    readiness: Readiness
    lock: ActiveLock | None = None  # the database lock the final (unblinded) analysis ran on
    freeze_id: int | None = None  # the frozen extract of a DSMB interim (services/freezes.py)
    freeze_digest: str | None = None
    generated_on: dt.date | None = None
    cutoff: DataCutoff | None = None  # the data cut-off the report states


class AnalysisRunService:
    def __init__(self, ctx: ServiceContext, datasets: DatasetService) -> None:
        self._ctx = ctx
        self._datasets = datasets

    def readiness(self, actor: Actor, protocol_name: str, today: dt.date) -> Readiness:
        """Who keeps the final analysis waiting (read-only; no arm is read)."""
        require(actor, Action.ANALYSIS_DATASET_READ)
        protocol = core_protocol(self._ctx, protocol_name)
        with self._ctx.uow(actor, write=False) as uow:
            query = (
                select(Patient.study_id, Patient.status, Allocation.infusion_date)
                .join(Allocation, Allocation.patient_id == Patient.id)
                .where(Patient.protocol_name == protocol_name, Patient.voided_at.is_(None))
                .order_by(Patient.study_id)
            )
            if actor.sites is not None:  # another site's patients are not named (issue 17)
                query = query.where(Patient.site.in_(sorted(actor.sites)))  # type: ignore[attr-defined]
            rows = uow.session.execute(query).all()
        ongoing = tuple(
            study_id
            for study_id, status, first in rows
            if PatientState(status) in PRE_RESPONSE
            and today <= _primary_window_end(protocol, first)
        )
        return Readiness(ongoing, protocol.response.assessment)

    def _lock(self, actor: Actor, protocol_name: str) -> ActiveLock | None:
        """The database lock in force, else the protocol's patients all locked one by one."""
        with self._ctx.uow(actor, write=False) as uow:
            return active_lock(uow.session) or protocol_lock(uow.session, protocol_name)

    def run(
        self,
        actor: Actor,
        protocol_name: str,
        *,
        today: dt.date,
        planned_patients: int | None = None,
        freeze: bool = False,
    ) -> AnalysisRun | None:
        """Extract and analyse as ``actor``; None when the extract is blinded (no sanction).

        Refuses the final analysis while :meth:`readiness` names ongoing patients, and the
        unblinded (full) one on a record that is not locked (issue 17; services/locks.py).
        """
        # The statistics load scipy: imported when an analysis runs, not at start-up.
        from ketamine_ptsd.core.analysis import AnalysisDataset, analyse

        lock_before = self._lock(actor, protocol_name)
        extract = self._datasets.extract(actor, protocol_name=protocol_name)
        level = extract.unblinding
        if level not in ("partial", "full", "open_label") or not extract.arms:
            return None
        interim = level == AnalysisUnblinding.PARTIAL.value
        readiness = self.readiness(actor, protocol_name, today)
        if not interim and not readiness.final_may_run:
            shown = ", ".join(readiness.ongoing[:10])
            more = f" and {len(readiness.ongoing) - 10} more" if len(readiness.ongoing) > 10 else ""
            raise ConflictError(
                "final analysis",
                protocol_name,
                f"{len(readiness.ongoing)} randomized patients have neither the primary outcome "
                f"({readiness.primary}) nor a window that has passed ({shown}{more}); the final "
                "report waits for them (a DSMB interim may run now)",
            )
        lock = None
        if level == AnalysisUnblinding.FULL.value:
            # The blind is broken only on frozen data (issue 17): the record must have been
            # locked before the extract, and still be under the same lock after it.
            lock = self._lock(actor, protocol_name)
            if (
                lock is None
                or lock_before is None
                or (lock.id, lock.scope) != (lock_before.id, lock_before.scope)
            ):
                raise ConflictError(
                    "database",
                    None,
                    "is not locked: the final (unblinded) analysis runs only on a locked record; "
                    "an investigator locks it first (`ketamine-ptsd db lock`, or each of the "
                    "protocol's patients), or run the DSMB interim",
                )
        protocol: Protocol = core_protocol(self._ctx, protocol_name)
        plan = protocol.analysis
        frames = dict(extract.frames)
        # The MedDRA coding of the adverse events (not allocation data): the safety summary
        # by SOC and PT; frozen with the rest for a DSMB packet.
        with self._ctx.uow(actor, write=False) as uow:
            frames["adverse_event_codings"] = coding_frame(uow.session, protocol_name, actor.sites)
        dataset = AnalysisDataset(frames, extract.arms)
        ongoing = frozenset(readiness.ongoing)
        held = lock or lock_before
        cutoff = _lock_cutoff(held) if held is not None else latest_data_date(frames)
        if not interim:
            results = analyse(dataset, plan=plan, response=protocol.response, ongoing=ongoing)
            return AnalysisRun(results, level, False, readiness, lock, cutoff=cutoff)
        run = self._interim(protocol, dataset, ongoing, planned_patients, level, readiness)
        run = dataclasses.replace(run, cutoff=cutoff)
        if not freeze:
            return run
        with self._ctx.uow(actor, write=True) as uow:
            row = write_freeze(
                uow.session,
                actor,
                uow.now,
                protocol_name=protocol_name,
                level=level,
                generated_on=today,
                planned_patients=planned_patients,
                arms=tuple(extract.arms),
                ongoing=ongoing,
                frames=frames,
            )
            freeze_id, digest, frozen_at = row.id, row.digest, row.created_at
            uow.commit()
        return dataclasses.replace(
            run,
            freeze_id=freeze_id,
            freeze_digest=digest,
            generated_on=today,
            cutoff=DataCutoff(frozen_at, f"DSMB data freeze #{freeze_id}"),
        )

    def run_frozen(self, actor: Actor, freeze_id: int) -> AnalysisRun:
        """The DSMB interim again, from its frozen extract (not the live record): the same
        analysis, for the same packet (issue 17)."""
        from ketamine_ptsd.core.analysis import AnalysisDataset

        with self._ctx.uow(actor, write=False) as uow:
            frozen = read_freeze(uow.session, actor, uow.now, freeze_id)
        protocol: Protocol = core_protocol(self._ctx, frozen.protocol_name)
        dataset = AnalysisDataset(dict(frozen.frames), frozen.arms)
        readiness = Readiness(tuple(sorted(frozen.ongoing)), protocol.response.assessment)
        run = self._interim(
            protocol, dataset, frozen.ongoing, frozen.planned_patients, frozen.level, readiness
        )
        return dataclasses.replace(
            run,
            freeze_id=frozen.id,
            freeze_digest=frozen.digest,
            generated_on=frozen.generated_on,
            cutoff=(
                DataCutoff(frozen.created_at, f"DSMB data freeze #{frozen.id}")
                if frozen.created_at is not None
                else latest_data_date(frozen.frames)
            ),
        )

    @staticmethod
    def _interim(
        protocol: Protocol,
        dataset: AnalysisDataset,
        ongoing: frozenset[str],
        planned_patients: int | None,
        level: str,
        readiness: Readiness,
    ) -> AnalysisRun:
        """The DSMB packet's analysis: arms coded, and the stopping boundaries at the observed
        information when the planned number is known."""
        from ketamine_ptsd.core.analysis import analyse, interim_monitoring, with_interim

        plan = protocol.analysis
        results = analyse(
            dataset,
            plan=plan,
            response=protocol.response,
            ongoing=ongoing,
            blinded=True,
            arm_codes={a: a for a in dataset.arms},
        )
        design = plan.interim
        planned = planned_patients or (design.planned_patients if design is not None else None)
        if planned is None:
            results = dataclasses.replace(
                results,
                missing=(
                    *results.missing,
                    "stopping boundaries: the protocol gives no analysis.interim.planned_patients "
                    "(the information fraction is patients with primary-endpoint data ÷ planned)",
                ),
            )
        elif not (with_primary := sum(results.consort.with_primary.values())):
            results = dataclasses.replace(
                results,
                missing=(
                    *results.missing,
                    "stopping boundaries: no patient has primary-endpoint data yet (the "
                    "information fraction is patients with primary-endpoint data ÷ planned)",
                ),
            )
        else:
            # Lan-DeMets spending at the observed information with the protocol's overall
            # level, sides and function (its classical design assumed the planned looks).
            # The information is the share of planned patients with primary-endpoint data.
            overall = design.overall_alpha if design is not None else results.alpha
            monitoring = interim_monitoring(
                results,
                observed_patients=with_primary,
                planned_patients=planned,
                alpha=overall,
                sides=design.sides if design is not None else 2,
                spending=design.function if design is not None else "pocock",
            )
            # One alpha in the packet: this look's nominal level, derived from the plan's.
            results = with_interim(results, monitoring)
        return AnalysisRun(results, level, True, readiness)


def _primary_window_end(protocol: Protocol, first_infusion: dt.date) -> dt.date:
    """The last day of the primary assessment's window for a series starting ``first_infusion``."""
    plan = plan_schedule(protocol, first_infusion)
    for planned in plan.assessments:
        if planned.name == protocol.response.assessment:
            return planned.window_end
    return max((p.window_end for p in plan.assessments), default=first_infusion)
