"""Analysis datasets extracted from the record, in the statistics engine's long format.

PROTOCOL.md §9 (what is analysed, at which time points), §3 (the interim was run partially
unblinded, "drug A / drug B"), §10 (CONSORT, Table 1, safety); SYSTEM.md capability 11.

The frames follow the column contract of ``simulation/synthetic_dataset.py`` (the synthetic
trial produces the same tables), so :func:`ketamine_ptsd.core.analysis.analyse` runs
on a database extract unchanged: ``screening``, ``subjects`` (Table 1 variables from the
demographics record), ``outcomes`` (subject, arm, time, measure, value — the protocol's
``analysis.outcomes``: CAPS-5 total and its four clusters, MADRS, MADRS 24 h, IES-R, CGI-S,
CGI-I), ``follow_up``, ``durability`` (responders: time_days, event), and the safety tables
``vitals``, ``infusion_ratings``, ``side_effects`` (PRISE), ``interventions``,
``adverse_events``, ``cssrs``.

The blind: the ``arm`` column is the arm id only under a live *full* sanction, "A"/"B" under a
*partial* one (the trial's code, fixed by its first list's seed: services/randomization.trial_arm_codes), and None otherwise —
for every frame, so a blinded extraction carries no arm anywhere; doses and drugs are never
extracted. An open-label clinic protocol has one arm and no blind. Every extraction is an audit
event (an unblinded one is logged as ``unblind``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select, true

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.roles import Action, AnalysisUnblinding
from ketamine_ptsd.core.rules import FollowUpScore, assess_response, time_to_loss_of_response
from ketamine_ptsd.core.workflow import DONT_KNOW

from ._workflow import core_protocol
from .access import Actor, analysis_unblinding, require
from .audit import AuditEvent, encode_value
from .context import ServiceContext
from .errors import ValidationFailed
from .followup import is_follow_up_point
from .randomization import trial_arm_codes
from .records import (
    AdverseEvent,
    Allocation,
    Assessment,
    BlindingGuess,
    Demographics,
    InfusionDay,
    InfusionRating,
    Intervention,
    Patient,
    RandomizationList,
    RandomizationSlot,
    ScreeningOutcome,
    ScreeningVisit,
    VitalSignsRecord,
    Withdrawal,
)
from .uow import UnitOfWork

__all__ = ["CLUSTER_SUBSCALES", "FRAME_COLUMNS", "AnalysisFrames", "DatasetService"]

#: Column contract per frame (``subjects`` as in simulation/synthetic_dataset.py).
FRAME_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "screening": ("subject", "screening_date", "disposition", "reason", "override"),
    "subjects": (
        "subject", "arm", "allocation_date", "n_infusions", "completed_infusions", "withdrawn",
        "withdrawal_reason", "responder_flag", "age_years", "sex", "race", "hispanic",
        "bmi_kg_m2", "ptsd_duration_years", "caps5_past_month", "madrs_baseline",
        "comorbid_mdd", "concomitant_psychotherapy", "stable_psychotropics", "primary_trauma",
    ),
    "outcomes": ("subject", "arm", "time", "measure", "value"),
    "follow_up": ("subject", "arm", "day", "caps5_total"),
    "durability": ("subject", "arm", "time_days", "event"),
    "vitals": (
        "subject", "arm", "infusion", "minute", "systolic_mmhg", "diastolic_mmhg",
        "heart_rate_bpm", "spo2_percent",
    ),
    "infusion_ratings": ("subject", "arm", "infusion", "minute", "measure", "value"),
    "side_effects": ("subject", "arm", "infusion", "timing", "symptom", "severity"),
    "interventions": ("subject", "arm", "infusion", "minute", "drug", "dose_mg", "route", "reason"),
    "adverse_events": (
        "subject", "arm", "term", "onset_date", "infusion", "severity", "serious", "related",
        "action", "outcome",
    ),
    "cssrs": ("subject", "arm", "time", "positive", "risk_level"),
}  # fmt: skip

#: PROTOCOL.md §7 CAPS-5 clusters: the protocol's measure names → the instrument's subscales
#: (also read by the ADaM converter, which names the same scores).
CLUSTER_SUBSCALES: Mapping[str, str] = {
    "cluster_b": "intrusion",
    "cluster_c": "avoidance",
    "cluster_d": "negative_cognitions_mood",
    "cluster_e": "arousal_reactivity",
}
#: The end-of-treatment guesses (issue 15), as core/analysis/blinding.py reads them; not in
#: FRAME_COLUMNS (the interop converters' contract): only a sanctioned extract carries them.
GUESS_COLUMNS = ("subject", "arm", "respondent", "guess")
_DISPOSITION = {"eligible": "eligible", "screen_failed": "ineligible", "declined": "declined"}
_RELATED = {"possible", "probable", "definite"}


@dataclass(frozen=True)
class AnalysisFrames:
    """The extracted tables, the arm labels present (active first) and the blind applied."""

    protocol_name: str
    frames: Mapping[str, pd.DataFrame]
    arms: tuple[str, ...]
    unblinding: str  # none | partial | full | open_label

    @property
    def blinded(self) -> bool:
        return self.unblinding == AnalysisUnblinding.NONE.value

    def frame(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def to_analysis_dataset(self) -> Any:
        """The statistics engine's input (core/analysis.AnalysisDataset).

        Refused while blinded: an analysis by arm needs at least a partial sanction.
        """
        if not self.arms:
            raise ValidationFailed(
                "unblinding", "an analysis by arm needs a sanctioned (partial or full) extract"
            )
        from ketamine_ptsd.core.analysis import AnalysisDataset

        return AnalysisDataset(dict(self.frames), self.arms)


def _measure_value(record: Assessment, measure: str) -> float | None:
    if measure in ("total", "score"):
        return record.total
    value = record.subscales.get(CLUSTER_SUBSCALES.get(measure, measure))
    return None if value is None else float(value)


def _outcome_specs(protocol: Protocol) -> list[tuple[str, str, str, tuple[str, ...] | None]]:
    """(measure name, instrument, measure, time points or None for all) of the analysis plan."""
    if protocol.analysis is not None:
        return [
            (o.name, o.instrument, o.measure, o.time_points) for o in protocol.analysis.outcomes
        ]
    instruments = sorted({i for a in protocol.assessments for i in a.instruments} - {"cssrs"})
    return [(f"{i}_total", i, "total", None) for i in instruments]


class DatasetService:
    """Extract the analysis frames of one protocol (statisticians; the blind as sanctioned)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def extract(self, actor: Actor, *, protocol_name: str) -> AnalysisFrames:
        """All frames of ``protocol_name``; the ``arm`` column as the actor's sanction allows."""
        require(actor, Action.ANALYSIS_DATASET_READ)
        protocol = core_protocol(self._ctx, protocol_name)
        with self._ctx.uow(actor, write=True) as uow:
            level = analysis_unblinding(uow.session, actor, uow.now)
            open_label = not protocol.blinded
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
            arms = self._arm_labels(uow, protocol, patients, level, open_label)
            frames = self._frames(uow, protocol, patients, arms)
            if protocol.blinded and level is not AnalysisUnblinding.NONE:
                # only a sanctioned extract of a blinded trial carries the guesses (issue 15)
                frames["blinding_guesses"] = self._guesses(uow, protocol, patients, arms, level)
            if open_label:
                labels = tuple(a.id for a in protocol.arms)
                unblinding = "open_label"
            elif level is AnalysisUnblinding.FULL:
                labels, unblinding = tuple(a.id for a in protocol.arms), level.value
            elif level is AnalysisUnblinding.PARTIAL:
                labels, unblinding = tuple(sorted(set(arms.values()))), level.value
            else:
                labels, unblinding = (), level.value
            uow.events(
                [
                    AuditEvent(
                        "analysis_dataset" if unblinding in ("none", "open_label") else "unblind",
                        None,
                        None,
                        None,
                        None,
                        encode_value(
                            {
                                "protocol": protocol.name,
                                "subjects": len(frames["subjects"]),
                                "unblinding": unblinding,
                            }
                        ),
                    )
                ]
            )
            uow.commit()
            return AnalysisFrames(protocol.name, frames, labels, unblinding)

    @staticmethod
    def _arm_labels(
        uow: UnitOfWork,
        protocol: Protocol,
        patients: list[Patient],
        level: AnalysisUnblinding,
        open_label: bool,
    ) -> dict[int, str]:
        """patient id → arm label the actor may see (absent = blinded or not treated)."""
        if open_label:
            only = protocol.arms[0].id
            return {p.id: only for p in patients}
        if level is AnalysisUnblinding.NONE:
            return {}
        rows = uow.session.execute(
            select(Allocation.patient_id, RandomizationSlot.arm, RandomizationList)
            .join(RandomizationSlot, RandomizationSlot.id == Allocation.slot_id)
            .join(RandomizationList, RandomizationList.id == Allocation.list_id)
            .where(Allocation.patient_id.in_([p.id for p in patients]))
        ).all()
        if level is AnalysisUnblinding.FULL:
            return {pid: arm for pid, arm, _ in rows}
        codes = trial_arm_codes(uow.session, protocol.name)
        return {pid: codes[arm] for pid, arm, _ in rows}

    @staticmethod
    def _guesses(
        uow: UnitOfWork,
        protocol: Protocol,
        patients: list[Patient],
        arms: dict[int, str],
        level: AnalysisUnblinding,
    ) -> pd.DataFrame:
        """The end-of-treatment guesses (issue 15), the guessed drug given as the label of the
        arm that gives it (the code "A"/"B" under a partial sanction, so the DSMB packet names
        no drug). Only in a sanctioned extract of a blinded protocol: a blinded extract carries
        no guess (services/blinding_guesses.py: nobody else reads them)."""
        columns = list(GUESS_COLUMNS)
        if not protocol.blinded or level is AnalysisUnblinding.NONE or not arms:
            return pd.DataFrame([], columns=columns)
        if level is AnalysisUnblinding.FULL:
            label_of = {a.id: a.id for a in protocol.arms}
        else:
            label_of = dict(trial_arm_codes(uow.session, protocol.name))
        drug_label = {a.drug: label_of.get(a.id) for a in protocol.arms}
        subject = {p.id: p.study_id for p in patients}
        rows = []
        for g in uow.session.scalars(
            select(BlindingGuess)
            .where(BlindingGuess.patient_id.in_(list(arms)))
            .order_by(BlindingGuess.patient_id, BlindingGuess.id)
        ):
            guess = g.guess if g.guess == DONT_KNOW else drug_label.get(g.guess)
            if guess is None:
                continue  # a drug no arm of this protocol gives: not a guess of an arm
            rows.append([subject[g.patient_id], arms[g.patient_id], g.respondent, guess])
        return pd.DataFrame(rows, columns=columns)

    def _frames(
        self,
        uow: UnitOfWork,
        protocol: Protocol,
        patients: list[Patient],
        arms: dict[int, str],
    ) -> dict[str, pd.DataFrame]:
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in FRAME_COLUMNS}
        ids = [p.id for p in patients]

        def live(cls: Any) -> list[Any]:
            query = select(cls).where(cls.patient_id.in_(ids))
            if hasattr(cls, "voided_at"):
                query = query.where(cls.voided_at.is_(None))
            return list(uow.session.scalars(query.order_by(cls.id)))

        by_patient: dict[str, dict[int, list[Any]]] = {}
        for key, cls in (
            ("outcome", ScreeningOutcome),
            ("visit", ScreeningVisit),
            ("allocation", Allocation),
            ("infusion", InfusionDay),
            ("withdrawal", Withdrawal),
            ("demographics", Demographics),
            ("assessment", Assessment),
            ("vitals", VitalSignsRecord),
            ("rating", InfusionRating),
            ("intervention", Intervention),
            ("ae", AdverseEvent),
        ):
            grouped: dict[int, list[Any]] = {}
            for record in live(cls):
                grouped.setdefault(record.patient_id, []).append(record)
            by_patient[key] = grouped
        specs = _outcome_specs(protocol)
        for patient in patients:
            pid, subject = patient.id, patient.study_id
            arm = arms.get(pid)

            def of(key: str, pid: int = pid) -> list[Any]:
                return by_patient[key].get(pid, [])

            outcomes = of("outcome")
            if outcomes:
                last = outcomes[-1]
                rows["screening"].append(
                    {
                        "subject": subject,
                        "screening_date": last.decided_on,
                        "disposition": _DISPOSITION.get(last.outcome, last.outcome),
                        "reason": ", ".join(last.reasons) or None,
                        # an investigator's override: the criteria it named (issue 11)
                        "override": ", ".join(last.override_criteria or ()) or None,
                    }
                )
            infusions = of("infusion")
            allocation = of("allocation")
            treated = bool(allocation) or (not protocol.blinded and bool(infusions))
            if not treated:
                continue
            assessments = of("assessment")
            scheduled = [a for a in assessments if not is_follow_up_point(protocol, a.time_point)]
            for name, instrument, measure, points in specs:
                for a in scheduled:
                    if a.instrument != instrument or (points and a.time_point not in points):
                        continue
                    value = _measure_value(a, measure)
                    if value is not None:
                        rows["outcomes"].append(
                            {
                                "subject": subject,
                                "arm": arm,
                                "time": a.time_point,
                                "measure": name,
                                "value": value,
                            }
                        )
            for a in scheduled:
                if a.instrument == "cssrs":
                    rows["cssrs"].append(
                        {
                            "subject": subject,
                            "arm": arm,
                            "time": a.time_point,
                            "positive": bool(a.derived.get("positive")),
                            "risk_level": a.derived.get("risk_level"),
                        }
                    )
            responder, durability = self._durability(protocol, assessments)
            if durability is not None:
                primary_day, outcome, visits = durability
                for v in visits:
                    rows["follow_up"].append(
                        {
                            "subject": subject,
                            "arm": arm,
                            "day": (v.day - primary_day).days,
                            "caps5_total": v.score,
                        }
                    )
                rows["durability"].append(
                    {
                        "subject": subject,
                        "arm": arm,
                        "time_days": outcome.time_days,
                        "event": int(outcome.event),
                    }
                )
            self._subject_row(rows, protocol, patient, arm, of, responder)
            self._safety_rows(rows, subject, arm, of)
        return {
            name: pd.DataFrame(rows[name], columns=list(columns))
            for name, columns in FRAME_COLUMNS.items()
        }

    @staticmethod
    def _durability(
        protocol: Protocol, assessments: list[Assessment]
    ) -> tuple[bool, tuple[dt.date, Any, list[FollowUpScore]] | None]:
        d = protocol.response

        def pick(point: str) -> Assessment | None:
            found = [
                a for a in assessments if a.time_point == point and a.instrument == d.instrument
            ]
            return found[-1] if found else None

        base, primary = pick(d.baseline_assessment), pick(d.assessment)
        if base is None or primary is None:
            return False, None
        b, v = _measure_value(base, d.measure), _measure_value(primary, d.measure)
        if b is None or v is None or b <= 0:
            return False, None
        if not assess_response(d, b, v).responder:
            return False, None
        visits = sorted(
            (
                FollowUpScore(a.assessed_on, m)
                for a in assessments
                if a.instrument == d.instrument and is_follow_up_point(protocol, a.time_point)
                for m in [_measure_value(a, d.measure)]
                if m is not None
            ),
            key=lambda s: s.day,
        )
        outcome = time_to_loss_of_response(d, b, primary.assessed_on, v, visits)
        return True, (primary.assessed_on, outcome, visits)

    @staticmethod
    def _subject_row(
        rows: dict[str, list[dict[str, Any]]],
        protocol: Protocol,
        patient: Patient,
        arm: str | None,
        of: Any,
        responder: bool,
    ) -> None:
        infusions = of("infusion")
        allocation = of("allocation")
        withdrawal = of("withdrawal")
        demo = of("demographics")
        d = demo[0] if demo else None
        visits = of("visit")
        caps5 = visits[-1].measures.get("caps5_past_month", {}).get("total") if visits else None
        madrs = [
            a.total
            for a in of("assessment")
            if a.time_point == "baseline" and a.instrument == "madrs"
        ]

        def demo_value(name: str) -> Any:
            return None if d is None else getattr(d, name)

        rows["subjects"].append(
            {
                "subject": patient.study_id,
                "arm": arm,
                "allocation_date": allocation[0].infusion_date
                if allocation
                else (infusions[0].infusion_date if infusions else None),
                "n_infusions": len(infusions),
                "completed_infusions": len(infusions) >= protocol.schedule.infusion_count,
                "withdrawn": bool(withdrawal),
                "withdrawal_reason": withdrawal[0].reason if withdrawal else None,
                "responder_flag": responder,
                **{
                    name: demo_value(name)
                    for name in (
                        "age_years",
                        "sex",
                        "race",
                        "hispanic",
                        "bmi_kg_m2",
                        "ptsd_duration_years",
                    )
                },
                "caps5_past_month": caps5,
                "madrs_baseline": madrs[-1] if madrs else None,
                **{
                    name: demo_value(name)
                    for name in (
                        "comorbid_mdd",
                        "concomitant_psychotherapy",
                        "stable_psychotropics",
                        "primary_trauma",
                    )
                },
            }
        )

    @staticmethod
    def _safety_rows(
        rows: dict[str, list[dict[str, Any]]], subject: str, arm: str | None, of: Any
    ) -> None:
        base = {"subject": subject, "arm": arm}
        for v in of("vitals"):
            rows["vitals"].append(
                {
                    **base,
                    "infusion": v.infusion_number,
                    "minute": v.minute,
                    "systolic_mmhg": v.systolic_mmhg,
                    "diastolic_mmhg": v.diastolic_mmhg,
                    "heart_rate_bpm": v.heart_rate_bpm,
                    "spo2_percent": v.spo2_percent,
                }
            )
        for r in of("rating"):
            if r.instrument == "prise":
                timing = "before" if r.minute == 0 else "after_start"
                for symptom, level in r.items.items():
                    if level != "no":
                        rows["side_effects"].append(
                            {
                                **base,
                                "infusion": r.infusion_number,
                                "timing": timing,
                                "symptom": symptom,
                                "severity": level,
                            }
                        )
                continue
            rows["infusion_ratings"].append(
                {
                    **base,
                    "infusion": r.infusion_number,
                    "minute": r.minute,
                    "measure": r.instrument,
                    "value": r.total,
                }
            )
        for i in of("intervention"):
            rows["interventions"].append(
                {
                    **base,
                    "infusion": i.infusion_number,
                    "minute": i.minute,
                    "drug": i.drug,
                    "dose_mg": i.dose_mg,
                    "route": i.route,
                    "reason": i.reason,
                }
            )
        for a in of("ae"):
            rows["adverse_events"].append(
                {
                    **base,
                    "term": a.term,
                    "onset_date": a.onset_date,
                    "infusion": a.infusion_number,
                    "severity": a.severity,
                    "serious": a.serious,
                    "related": a.relatedness in _RELATED,
                    "action": a.action,
                    "outcome": a.outcome,
                }
            )
