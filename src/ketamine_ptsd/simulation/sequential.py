"""Group-sequential simulation: interim looks with Lan-DeMets efficacy boundaries.

PROTOCOL.md §9: the RCT planned 40 patients and stopped at an interim with 30, testing at a
nominal alpha of 0.0304 from a Pocock-type rule. This module simulates such plans: each trial is
generated once with the full ``n_per_arm``; look ``k`` at information fraction ``t_k`` analyses
the first ``round(t_k · n_per_arm)`` patients enrolled in each arm (their follow-up complete by
then — the interim of a trial whose primary time is two weeks after enrolment), by the same
batched MMRM as a fixed design. The trial stops for efficacy at the first look whose p-value for
the arm difference at the primary time is below the look's nominal level. Information is taken
proportional to the number of patients, which holds for the arm difference when every patient
has the same visit schedule and dropout law.

Boundaries come from the statistics engine (``ketamine_ptsd.core.stats.sequential``:
``spending_design``, the Armitage–McPherson–Rowe recursion with Lan & DeMets' spending
functions), so the simulated crossing probabilities under the null can be checked against the
analytic ``cumulative_alpha`` of each look.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.mmrm.batched import fit_batched_mmrm
from ketamine_ptsd.core.stats.sequential import SequentialDesign, spending_design
from ketamine_ptsd.simulation.design import TrialDesign
from ketamine_ptsd.simulation.generate import generate_trials
from ketamine_ptsd.simulation.power import CHUNK_TRIALS, Progress, clopper_pearson

__all__ = ["SequentialSimulationResult", "simulate_sequential"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SequentialSimulationResult:
    """Operating characteristics of a group-sequential design, by simulation."""

    design: TrialDesign
    boundaries: SequentialDesign
    n_per_arm_at_look: tuple[int, ...]
    trials: int
    null: bool
    stop_probability: tuple[float, ...]  # P(stop for efficacy at look k)
    power: float  # P(stop for efficacy at any look); the type I error under the null
    power_ci_low: float
    power_ci_high: float
    expected_n_per_arm: float
    expected_n_total: float
    mean_estimate_at_stop: float | None

    def to_dict(self) -> dict[str, object]:
        looks = []
        cum = 0.0
        for k, look in enumerate(self.boundaries.looks):
            cum += self.stop_probability[k]
            looks.append(
                {
                    "information": look.information,
                    "n_per_arm": self.n_per_arm_at_look[k],
                    "z": look.z,
                    "nominal_alpha": look.nominal_alpha,
                    "analytic_cumulative_alpha": look.cumulative_alpha,
                    "stop_probability": self.stop_probability[k],
                    "cumulative_stop_probability": cum,
                }
            )
        out: dict[str, object] = {
            "design": self.design.name,
            "trials": self.trials,
            "null": self.null,
            "alpha": self.boundaries.alpha,
            "sides": self.boundaries.sides,
            "spending": self.boundaries.kind,
            "looks": looks,
            "power": self.power,
            "power_ci_low": self.power_ci_low,
            "power_ci_high": self.power_ci_high,
            "expected_n_per_arm": self.expected_n_per_arm,
            "expected_n_total": self.expected_n_total,
            "max_n_total": self.n_per_arm_at_look[-1] * self.design.n_arms,
            "mean_estimate_at_stop": self.mean_estimate_at_stop,
        }
        if self.null:
            out["type1"] = self.power
        return out


def simulate_sequential(
    design: TrialDesign,
    information: Sequence[float],
    n_trials: int,
    rng: np.random.Generator,
    *,
    spending: str = "pocock",
    sides: int = 2,
    null: bool = False,
    progress: Progress | None = None,
) -> SequentialSimulationResult:
    """Simulate ``n_trials`` group-sequential trials of ``design`` with looks at ``information``.

    ``spending`` is the Lan-DeMets spending family (``pocock`` or ``obrien-fleming``) at total
    level ``design.alpha``; ``sides=2`` rejects on |t| (both tails spent, as the engine's
    per-side convention), ``sides=1`` only when ``arms[0] − arms[1]`` is positive.
    Only the MMRM analysis of the design is used (responders are not sequentially monitored).
    """
    info = [float(t) for t in information]
    if not info or abs(info[-1] - 1.0) > 1e-12:
        raise InvalidInput("information", "must end at 1.0 (the final analysis)", information)
    if n_trials < 1:
        raise InvalidInput("trials", "must be at least 1", n_trials)
    bounds = spending_design(design.alpha, sides, info, spending)
    n_looks = [max(2, round(t * design.n_per_arm)) for t in info]
    if any(b <= a for a, b in itertools.pairwise(n_looks)):
        raise InvalidInput("information", "looks must add patients", n_looks)
    nominal = np.array([look.nominal_alpha for look in bounds.looks])
    run = design.null() if null else design
    t_idx = run.primary_index
    sizes = [CHUNK_TRIALS] * (n_trials // CHUNK_TRIALS)
    if n_trials % CHUNK_TRIALS:
        sizes.append(n_trials % CHUNK_TRIALS)
    stop_look: list[npt.NDArray[np.int64]] = []
    est_at_stop: list[FloatArray] = []
    for size, child in zip(sizes, rng.spawn(len(sizes)), strict=True):
        batch = generate_trials(run, size, child)
        stopped = np.full(size, -1, dtype=np.int64)
        estimate = np.full(size, np.nan)
        for k, n_k in enumerate(n_looks):
            sub = batch.first_per_arm(n_k)
            fit = fit_batched_mmrm(
                sub.outcome, sub.observed, sub.arm, run.n_arms, run.fit_covariance
            )
            t_stat = fit.diff_t[:, t_idx]
            if sides == 2:
                p = fit.diff_p[:, t_idx]
            else:
                p = np.asarray(special.stdtr(fit.diff_df, -t_stat))
            new = (stopped < 0) & (p < nominal[k])
            stopped[new] = k
            final = (stopped < 0) if k == len(n_looks) - 1 else new
            estimate[new | final] = fit.diff[new | final, t_idx]
        stop_look.append(stopped)
        est_at_stop.append(estimate)
        if progress is not None:
            progress(size)
    stops = np.concatenate(stop_look)
    estimates = np.concatenate(est_at_stop)
    probs = tuple(float(np.mean(stops == k)) for k in range(len(n_looks)))
    rejections = int((stops >= 0).sum())
    low, high = clopper_pearson(rejections, n_trials)
    n_at_stop = np.where(stops >= 0, np.asarray(n_looks)[np.maximum(stops, 0)], n_looks[-1])
    return SequentialSimulationResult(
        design=run,
        boundaries=bounds,
        n_per_arm_at_look=tuple(n_looks),
        trials=n_trials,
        null=null,
        stop_probability=probs,
        power=rejections / n_trials,
        power_ci_low=low,
        power_ci_high=high,
        expected_n_per_arm=float(n_at_stop.mean()),
        expected_n_total=float(n_at_stop.mean() * run.n_arms),
        mean_estimate_at_stop=float(np.nanmean(estimates)),
    )
