"""The estimand's sensitivity analysis of the primary outcome (ICH E9(R1); core/stats/mi.py),
shown in the final report next to the primary MMRM.

The primary MMRM (PROTOCOL.md §9) assumes that a patient's missing outcomes after dropping out
are missing at random: that they would have kept the benefit of their arm. The sensitivity
analysis asks what happens if they lose it: **jump to reference** (JR) from each patient's
dropout — the first visit of the trailing run of missing post-baseline visits (the record holds
no separate discontinuation date for the analysis; an intermittent gap is imputed under MAR)
— with the control arm (the second of ``arms``) as reference; conditional mean imputation with
jackknife SEs; ANCOVA of each post-baseline visit on arm and the baseline value. Then the
tipping point: the shift of the active arm's imputed values at the primary time point (the
last one) that makes the difference non-significant at the trial's alpha.

Only for the unblinded final report: a reference-based analysis names the control arm, which
the coded DSMB packet must not reveal. Patients without a baseline value are left out (counted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.mi import (
    MIResult,
    TippingPoint,
    analyse,
    impute_replicates,
    make_problem,
    tipping_point,
)

from .model import OutcomeSpec

__all__ = ["SensitivityAnalysis", "jump_to_reference_sensitivity"]


@dataclass(frozen=True)
class SensitivityAnalysis:
    """JR analysis of one outcome and its tipping point (``tipping`` None, with ``note``
    saying why, when there is nothing to shift)."""

    outcome: str
    label: str
    unit: str
    reference: str
    n_subjects: int
    n_dropouts: int  # patients with an ICE (dropout before the last visit)
    n_without_baseline: int
    result: MIResult
    tipping: TippingPoint | None
    note: str = ""


def jump_to_reference_sensitivity(
    outcomes: pd.DataFrame,
    spec: OutcomeSpec,
    arms: tuple[str, str],
    *,
    alpha: float,
) -> SensitivityAnalysis:
    """The module docstring's analysis of ``spec`` (first time point = baseline) on the
    long ``outcomes`` table (subject, arm, measure, time, value); ``arms`` active first;
    differences control − active, as the primary MMRM's.
    Raises ``InvalidInput`` when the data cannot carry it (too few patients per visit)."""
    if len(spec.time_points) < 3:
        raise InvalidInput("outcome", "needs a baseline and at least two later visits")
    base_t, visits = spec.time_points[0], tuple(spec.time_points[1:])
    data = outcomes[(outcomes["measure"] == spec.name) & outcomes["time"].isin(spec.time_points)]
    wide = data.pivot_table(index="subject", columns="time", values="value", aggfunc="first")
    arm_of = data.groupby("subject")["arm"].first()
    has_base = (
        wide.index[wide.get(base_t, pd.Series(dtype=float)).notna()] if base_t in wide else []
    )
    n_without = int(len(wide.index) - len(has_base))
    wide = wide.loc[list(has_base)]
    subjects = [s for s in wide.index if arm_of[s] in arms]
    y = np.column_stack(
        [
            wide.loc[subjects, v].to_numpy(dtype=np.float64)
            if v in wide
            else np.full(len(subjects), np.nan)
            for v in visits
        ]
    )
    base = wide.loc[subjects, base_t].to_numpy(dtype=np.float64)[:, None]
    levels = (arms[1], arms[0])  # control − active, as the primary MMRM's differences
    group = np.asarray([levels.index(arm_of[s]) for s in subjects], dtype=np.intp)
    obs = ~np.isnan(y)
    t = len(visits)
    last_obs = np.where(obs.any(axis=1), t - 1 - np.argmax(obs[:, ::-1], axis=1), -1)
    ice = np.asarray(last_obs + 1, dtype=np.intp)
    problem = make_problem(
        y,
        group,
        base,
        levels,
        visits,
        reference=arms[1],
        ice=ice,
        strategy=["JR"] * len(subjects),
    )
    reps = impute_replicates(problem, "condmean-jackknife")
    result = analyse(problem, reps, level=1.0 - alpha)
    tp: TippingPoint | None = None
    note = ""
    try:
        tp = tipping_point(problem, reps, alpha=alpha)
    except InvalidInput:
        note = f"No value of {arms[0]} was imputed: there is no tipping point to find."
    return SensitivityAnalysis(
        outcome=spec.name,
        label=spec.label,
        unit=spec.unit,
        reference=arms[1],
        n_subjects=len(subjects),
        n_dropouts=int(np.count_nonzero(ice < t)),
        n_without_baseline=n_without,
        result=result,
        tipping=tp,
        note=note,
    )
