"""A small synthetic trial as an interop source (full, partial-coded or blinded), for the
converter tests: the generator's records give the same detail the record would (dates, item
answers, sites, withdrawal deciders)."""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import pandas as pd

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.services.datasets import AnalysisFrames
from ketamine_ptsd.services.interop_exports import (
    ASSESSMENT_COLUMNS,
    INFUSION_COLUMNS,
    PATIENT_COLUMNS,
    InteropSource,
)
from ketamine_ptsd.simulation.synthetic_dataset import analysis_frames
from ketamine_ptsd.simulation.synthetic_trial import (
    SyntheticTrial,
    SyntheticTrialConfig,
    generate_synthetic_trial,
)

SEED = 11
N_PER_ARM = 4


@cache
def small_trial() -> SyntheticTrial:
    protocol = load_protocol("rct")
    config = SyntheticTrialConfig(n_per_arm=N_PER_ARM)
    return generate_synthetic_trial(np.random.default_rng(SEED), config, protocol)


def _detail(trial: SyntheticTrial) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    assessments, infusions, patients = [], [], []
    for p in trial.patients:
        patients.append(
            {
                "subject": p.patient_id,
                "site": "YAL",
                "withdrawal_decided_by": p.withdrawal.by if p.withdrawal else None,
            }
        )
        if p.arm is None:
            continue
        # The record names follow-up visits by their schedule; the generator by number: use
        # the nominal day, which the converters' visit numbering understands.
        ratings = [(r, r.time_point) for r in p.assessments] + [
            (v.caps5, f"follow-up day {v.day}") for v in p.follow_up
        ]
        for r, time_point in ratings:
            scored = r.scored
            assessments.append(
                {
                    "subject": p.patient_id,
                    "time": time_point,
                    "instrument": r.instrument,
                    "date": r.date,
                    "items": dict(scored.items),
                    "total": scored.total,
                    "subscales": dict(scored.subscales),
                    "recorded_by": "rater.yal",
                    "recorded_at": dt.datetime.combine(r.date, dt.time(10), tzinfo=dt.UTC),
                }
            )
        for day in p.infusions:
            infusions.append({"subject": p.patient_id, "infusion": day.number, "date": day.date})
    return (
        pd.DataFrame(assessments, columns=list(ASSESSMENT_COLUMNS)),
        pd.DataFrame(infusions, columns=list(INFUSION_COLUMNS)),
        pd.DataFrame(patients, columns=list(PATIENT_COLUMNS)),
    )


def source(
    unblinding: str = "full", *, detail: bool = True, trial: SyntheticTrial | None = None
) -> InteropSource:
    """``unblinding``: full (arm ids), partial (arms coded A/B) or none (no arm anywhere);
    ``trial`` defaults to :func:`small_trial`."""
    trial = trial or small_trial()
    frames = analysis_frames(trial)
    # The record's extract says related as a flag (possible, probable or definite: services/
    # datasets.py); the generator keeps its words ("unrelated", "possibly", "probably").
    ae = frames["adverse_events"]
    frames["adverse_events"] = ae.assign(related=ae["related"].isin(["possibly", "probably"]))
    codes = {trial.arms[0]: "B", trial.arms[1]: "A"}
    if unblinding == "none":
        frames = {n: f.assign(arm=None) if "arm" in f.columns else f for n, f in frames.items()}
        arms: tuple[str, ...] = ()
    elif unblinding == "partial":
        frames = {
            n: f.assign(arm=f["arm"].map(codes)) if "arm" in f.columns else f
            for n, f in frames.items()
        }
        arms = ("A", "B")
    else:
        arms = trial.arms
    extract = AnalysisFrames("rct", frames, arms, unblinding)
    if detail:
        assessments, infusions, patients = _detail(trial)
    else:
        assessments = pd.DataFrame(columns=list(ASSESSMENT_COLUMNS))
        infusions = pd.DataFrame(columns=list(INFUSION_COLUMNS))
        patients = pd.DataFrame(columns=list(PATIENT_COLUMNS))
    return InteropSource(load_protocol("rct"), extract, assessments, infusions, patients)


@cache
def demo_size_trial() -> SyntheticTrial:
    """The demo's cohort without the database: ``make_demo_trial`` with the demo's defaults
    (seed 1, 15 per arm), the trial ``ketamine-ptsd demo`` replays into its record."""
    from ketamine_ptsd.adapters.demo_loader import make_demo_trial

    trial, _ = make_demo_trial(1, load_protocol("rct"), n_per_arm=15)
    return trial
