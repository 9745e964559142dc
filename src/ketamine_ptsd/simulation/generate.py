"""Seeded, batched generation of simulated trials: many trials drawn in one array operation.

Each trial has ``n_per_arm`` patients per arm in enrolment order (arm-major: all of arm 0, then
arm 1, ...). A patient's outcomes over the design's times are multivariate normal with the arm's
means and the design's covariance; dropout is monotone with the design's per-visit hazard
(PROTOCOL.md §10 saw one withdrawal of 30 before the primary time). The random numbers come only
from the injected :class:`numpy.random.Generator` (STYLE.md: randomness is injected), drawn in a
fixed order — all normals for the batch, then all uniforms — so that a batch of B trials with
``n`` patients is reproducible, and a design with fewer patients per arm can reuse the first
``n`` of each arm (common random numbers, see :func:`SimulatedTrials.first_per_arm`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.simulation.design import TrialDesign

__all__ = ["SimulatedTrials", "generate_trials"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SimulatedTrials:
    """A batch of simulated trials.

    ``outcome[b, i, t]`` is patient ``i``'s outcome at time ``t`` in trial ``b`` (NaN where
    missing), ``observed`` the matching mask, ``arm[i]`` the arm index (shared by every trial)
    and ``order[i]`` the patient's enrolment rank within its arm.
    """

    outcome: FloatArray
    observed: BoolArray
    arm: IntArray
    order: IntArray
    design: TrialDesign

    @property
    def n_trials(self) -> int:
        return int(self.outcome.shape[0])

    def first_per_arm(self, n_per_arm: int) -> SimulatedTrials:
        """The same trials restricted to the first ``n_per_arm`` enrolled patients of each arm.

        Used for sample-size search with common random numbers and for interim looks of a
        group-sequential design (the patients enrolled so far, with their follow-up complete).
        """
        keep = np.flatnonzero(self.order < n_per_arm)
        if n_per_arm > int(self.order.max()) + 1:
            raise InvalidInput("n_per_arm", "more than were generated", n_per_arm)
        return SimulatedTrials(
            outcome=self.outcome[:, keep],
            observed=self.observed[:, keep],
            arm=self.arm[keep],
            order=self.order[keep],
            design=self.design.replace(n_per_arm=n_per_arm),
        )

    def to_long(self, trial: int) -> pd.DataFrame:
        """One trial in long format (subject, group, time, outcome), observed rows only."""
        design = self.design
        n_subjects, n_times = self.outcome.shape[1:]
        subj = np.repeat(np.arange(n_subjects), n_times)
        time_idx = np.tile(np.arange(n_times), n_subjects)
        obs = self.observed[trial].ravel()
        frame = pd.DataFrame(
            {
                "subject": [f"s{i:05d}" for i in subj[obs]],
                "group": np.asarray(design.arms, dtype=object)[self.arm[subj[obs]]],
                "time": np.asarray(design.times, dtype=object)[time_idx[obs]],
                "outcome": self.outcome[trial].ravel()[obs],
            }
        )
        return frame


def generate_trials(
    design: TrialDesign, n_trials: int, rng: np.random.Generator
) -> SimulatedTrials:
    """Draw ``n_trials`` independent trials of ``design`` from ``rng`` in one batch."""
    if n_trials < 1:
        raise InvalidInput("trials", "must be at least 1", n_trials)
    n_arms, n_times, n_per_arm = design.n_arms, design.n_times, design.n_per_arm
    n_subjects = n_arms * n_per_arm
    arm = np.repeat(np.arange(n_arms, dtype=np.int64), n_per_arm)
    order = np.tile(np.arange(n_per_arm, dtype=np.int64), n_arms)
    chol = np.linalg.cholesky(design.covariance_array())
    z = rng.standard_normal((n_trials, n_subjects, n_times))
    outcome = z @ chol.T + design.means_array()[arm][None, :, :]
    hazard = np.asarray(design.dropout_hazard, dtype=float)
    u = rng.random((n_trials, n_subjects, n_times))
    observed = np.logical_and.accumulate(u >= hazard, axis=2)
    outcome[~observed] = np.nan
    return SimulatedTrials(outcome=outcome, observed=observed, arm=arm, order=order, design=design)
