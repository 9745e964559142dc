"""Cohen's d for an arm difference at one time point, with its 95% confidence interval.

Definition that reproduces PROTOCOL.md §10 (n = 15 per arm): d from the model-based t of the
LS-mean difference, d = t · sqrt(1/n1 + 1/n2) · sqrt((n1 + n2)/(n1 + n2 − 2)), which for equal
arms is Rosenthal's d = 2t / sqrt(n1 + n2 − 2). With the published week-1 difference 8.80
(SE 3.93) this gives d = 0.846, week 2 11.88 (SE 3.96) gives d = 1.134 — the paper's 0.85 and
1.13 (t·sqrt(1/n1 + 1/n2) alone would give 0.82 and 1.10).

CI: the Hedges & Olkin (1985, eq. 5.14) large-sample normal approximation,
SE(d) = sqrt((n1 + n2)/(n1 n2) + d² / (2 (n1 + n2))), d ± z_{0.975}·SE(d): 0.10–1.59 and
0.36–1.91, as published. (A noncentral-t interval gives different second decimals.)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from scipy import special

__all__ = ["CohensD", "cohens_d_from_t"]


@dataclass(frozen=True)
class CohensD:
    d: float
    ci_low: float
    ci_high: float


def cohens_d_from_t(t_value: float, n1: int, n2: int, level: float = 0.95) -> CohensD:
    """Cohen's d and its normal-approximation CI from a two-group t statistic."""
    if n1 < 1 or n2 < 1 or n1 + n2 <= 2:
        raise ValueError("need at least one subject per arm and three in all")
    n = n1 + n2
    d = t_value * math.sqrt(1.0 / n1 + 1.0 / n2) * math.sqrt(n / (n - 2.0))
    se = math.sqrt(n / (n1 * n2) + d * d / (2.0 * n))
    z = _normal_quantile(0.5 + level / 2.0)
    return CohensD(d=d, ci_low=d - z * se, ci_high=d + z * se)


@functools.lru_cache(maxsize=8)
def _normal_quantile(prob: float) -> float:
    """z_prob, computed once per level (a scipy ufunc call on a scalar costs ~1 µs, and
    every analysis asks for the same level at each time point)."""
    return float(special.ndtri(prob))
