"""A trial design for Monte Carlo simulation, and the RCT's design calibrated to PROTOCOL.md §10.

A :class:`TrialDesign` is frozen data: arms, subjects per arm, time points, the true mean of the
outcome per arm and time, the true within-patient covariance, a monotone dropout pattern, the
analysis to run on each simulated trial and its two-sided alpha. Everything the simulator needs,
nothing it does.

Calibration of :func:`rct_design` (PROTOCOL.md §10, CAPS-5 total, 15 per arm, 89 of 90
observations, CS model of PROTOCOL.md §9):

* Total variance. Under compound symmetry with complete data the variance of an arm difference at
  one time is ``σ²_total · (1/15 + 1/15)``. The published SEs, 3.93 (baseline, week 1) and
  3.96 (week 2), give ``σ_total = 3.93 · sqrt(15/2) = 10.76`` and ``3.96 · sqrt(7.5) = 10.85``;
  we take ``σ²_total = 116.6`` (``σ_total ≈ 10.8``).
* Within-patient variance. The time × treatment F(2, 55) = 5.97 tests ``v = (d1 − d0, d2 − d0) =
  (7.93, 11.01)`` with ``Cov(v) = σ²_within · (2/15) · [[2, 1], [1, 2]]``, so
  ``F = ½ v'Cov(v)⁻¹v = 241.99 / σ²_within`` and ``σ²_within = 241.99 / 5.97 = 40.5``.
* Between-patient variance ``σ²_between = 116.6 − 40.5 = 76.1`` (intra-class correlation 0.65).
* Means. Randomization makes the true baseline difference zero (the published 0.87, SE 3.93, is
  chance): both arms start at 41.0 (Table 1: 41.9 and 40.1). Midazolam falls to 37.0 at week 1
  and 35.5 at week 2; ketamine is 8.8 and 11.9 points lower (the published differences). With the
  covariance above, ``y_week2 − 0.7 · y_baseline`` has SD 8.2, which makes ≥ 30 % responders
  (PROTOCOL.md §8) about 20 % on midazolam and 73 % on ketamine (published 3/15 and 10/15).
* Dropout. One patient of 30 was withdrawn before the primary time: a 1/30 hazard before week 2.

The baseline SD in the paper's Table 1 is about 6, narrower than the CS model's 10.8, because the
eligibility floor truncates baseline scores; the CS model the paper fitted ignores that, and so
does this design (its purpose is to reproduce the analysis the paper ran).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from ketamine_ptsd.core.errors import InvalidInput

__all__ = [
    "Analysis",
    "CovarianceStructure",
    "TrialDesign",
    "cs_covariance",
    "rct_design",
]

Analysis = Literal["mmrm", "responders", "both"]
CovarianceStructure = Literal["cs", "un"]

# PROTOCOL.md §10 calibration (see the module docstring for the derivation).
RCT_BETWEEN_VARIANCE = 76.1
RCT_WITHIN_VARIANCE = 40.5
RCT_TIMES = ("baseline", "week1", "week2")
RCT_ARMS = ("midazolam", "ketamine")
RCT_MIDAZOLAM_MEANS = (41.0, 37.0, 35.5)
RCT_DIFFERENCES = (0.0, 8.8, 11.9)  # midazolam − ketamine, PROTOCOL.md §10
RCT_DROPOUT_HAZARD = (0.0, 0.0, 1.0 / 30.0)


def cs_covariance(between: float, within: float, n_times: int) -> tuple[tuple[float, ...], ...]:
    """Compound-symmetry covariance ``between · J + within · I`` as nested tuples."""
    mat = between * np.ones((n_times, n_times)) + within * np.eye(n_times)
    return tuple(tuple(float(v) for v in row) for row in mat)


@dataclass(frozen=True)
class TrialDesign:
    """What one simulated trial looks like and how it is analysed.

    ``means[a][t]`` is the true mean outcome of arm ``a`` at time ``t``; the reported arm
    difference is ``arms[0] − arms[1]`` (for the RCT, midazolam − ketamine as PROTOCOL.md §10
    reports it, so a benefit of ketamine is positive). ``dropout_hazard[t]`` is the probability
    that a patient still in the trial before visit ``t`` misses it and every later visit
    (monotone dropout); the baseline visit (``t = 0``) is always observed. ``analysis`` picks
    the test whose rejection counts towards power: the MMRM arm difference at ``primary_time``,
    the responder chi-square (Yates) at ``primary_time``, or both (co-primary: both must reject).
    ``alpha`` is two-sided.
    """

    arms: tuple[str, ...]
    n_per_arm: int
    times: tuple[str, ...]
    means: tuple[tuple[float, ...], ...]
    covariance: tuple[tuple[float, ...], ...]
    dropout_hazard: tuple[float, ...]
    analysis: Analysis = "mmrm"
    fit_covariance: CovarianceStructure = "cs"
    alpha: float = 0.05
    primary_time: str | None = None
    responder_reduction: float = 0.30  # PROTOCOL.md §8: ≥ 30 % below baseline
    name: str = "custom"

    def __post_init__(self) -> None:
        n_arms, n_times = len(self.arms), len(self.times)
        if n_arms < 2:
            raise InvalidInput("arms", "a design needs at least two arms", self.arms)
        if len(set(self.arms)) != n_arms:
            raise InvalidInput("arms", "arm names must be distinct", self.arms)
        if n_times < 1:
            raise InvalidInput("times", "a design needs at least one time point", self.times)
        if self.n_per_arm < 2:
            raise InvalidInput("n_per_arm", "needs at least 2 patients per arm", self.n_per_arm)
        if len(self.means) != n_arms or any(len(row) != n_times for row in self.means):
            raise InvalidInput("means", f"must be {n_arms} arms × {n_times} times", self.means)
        cov = np.asarray(self.covariance, dtype=float)
        if cov.shape != (n_times, n_times) or not np.allclose(cov, cov.T):
            raise InvalidInput("covariance", f"must be a symmetric {n_times}×{n_times} matrix")
        if np.linalg.eigvalsh(cov).min() <= 0:
            raise InvalidInput("covariance", "must be positive definite")
        if len(self.dropout_hazard) != n_times:
            raise InvalidInput("dropout", f"needs one hazard per time ({n_times})")
        if self.dropout_hazard[0] != 0.0:
            raise InvalidInput("dropout", "the baseline visit is always observed (hazard 0)")
        if any(not 0.0 <= h < 1.0 for h in self.dropout_hazard):
            raise InvalidInput("dropout", "hazards must lie in [0, 1)", self.dropout_hazard)
        if not 0.0 < self.alpha < 1.0:
            raise InvalidInput("alpha", "must lie strictly between 0 and 1", self.alpha)
        if self.analysis not in ("mmrm", "responders", "both"):
            raise InvalidInput("analysis", "must be mmrm, responders or both", self.analysis)
        if self.fit_covariance not in ("cs", "un"):
            raise InvalidInput("covariance", "must be cs or un", self.fit_covariance)
        if self.primary_time is not None and self.primary_time not in self.times:
            raise InvalidInput("primary_time", "is not one of the times", self.primary_time)
        if self.analysis != "mmrm" and (n_arms != 2 or n_times < 2):
            raise InvalidInput(
                "analysis", "responders need two arms, a baseline and a later time", self.analysis
            )

    # ---- derived quantities -------------------------------------------------------------
    @property
    def n_arms(self) -> int:
        return len(self.arms)

    @property
    def n_times(self) -> int:
        return len(self.times)

    @property
    def primary_index(self) -> int:
        """Index of the primary time (the last time unless named)."""
        if self.primary_time is None:
            return self.n_times - 1
        return self.times.index(self.primary_time)

    def means_array(self) -> npt.NDArray[np.float64]:
        return np.asarray(self.means, dtype=float)

    def covariance_array(self) -> npt.NDArray[np.float64]:
        return np.asarray(self.covariance, dtype=float)

    def true_difference(self) -> float:
        """True ``arms[0] − arms[1]`` at the primary time."""
        mu = self.means_array()
        return float(mu[0, self.primary_index] - mu[1, self.primary_index])

    def expected_completion(self) -> float:
        """Probability that a patient is still observed at the last visit."""
        return float(np.prod(1.0 - np.asarray(self.dropout_hazard)))

    # ---- variations ---------------------------------------------------------------------
    def replace(self, **changes: object) -> TrialDesign:
        """A copy with fields changed (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def null(self) -> TrialDesign:
        """The same design with every arm's means equal to the first arm's (type I error)."""
        first = self.means[0]
        return self.replace(means=tuple(first for _ in self.arms), name=f"{self.name} (null)")

    def with_difference(self, time: str, difference: float) -> TrialDesign:
        """Set the true ``arms[0] − arms[1]`` at ``time`` by moving arm 1's mean."""
        if time not in self.times:
            raise InvalidInput("time", "is not one of the design's times", time)
        t = self.times.index(time)
        rows = [list(r) for r in self.means]
        rows[1][t] = rows[0][t] - difference
        return self.replace(means=tuple(tuple(r) for r in rows))

    def with_dropout(self, total_by_last_visit: float) -> TrialDesign:
        """Spread a total dropout probability as an equal hazard over post-baseline visits."""
        if not 0.0 <= total_by_last_visit < 1.0:
            raise InvalidInput("dropout", "must lie in [0, 1)", total_by_last_visit)
        k = self.n_times - 1
        if k == 0:
            return self
        hazard = 1.0 - (1.0 - total_by_last_visit) ** (1.0 / k)
        return self.replace(dropout_hazard=(0.0,) + (hazard,) * k)


def rct_design(n_per_arm: int = 15, alpha: float = 0.05) -> TrialDesign:
    """The RCT of PROTOCOL.md §9–§10 as a simulation design (derivation in the module docstring).

    Two arms (midazolam first, so the reported difference is midazolam − ketamine as in §10),
    CAPS-5 total at baseline, week 1 and week 2 (the primary time), CS covariance with
    ``σ²_between = 76.1`` and ``σ²_within = 40.5``, a 1/30 dropout hazard before week 2, analysed
    by the CS MMRM of PROTOCOL.md §9. ``alpha`` defaults to the conventional two-sided 0.05;
    PROTOCOL.md §9 planned 0.025 (Bonferroni over two primary comparisons) and tested at 0.0304
    (Pocock spending at the interim) — pass those explicitly to reproduce them.
    """
    ketamine = tuple(m - d for m, d in zip(RCT_MIDAZOLAM_MEANS, RCT_DIFFERENCES, strict=True))
    return TrialDesign(
        arms=RCT_ARMS,
        n_per_arm=n_per_arm,
        times=RCT_TIMES,
        means=(RCT_MIDAZOLAM_MEANS, ketamine),
        covariance=cs_covariance(RCT_BETWEEN_VARIANCE, RCT_WITHIN_VARIANCE, len(RCT_TIMES)),
        dropout_hazard=RCT_DROPOUT_HAZARD,
        analysis="mmrm",
        fit_covariance="cs",
        alpha=alpha,
        primary_time="week2",
        name="rct",
    )
