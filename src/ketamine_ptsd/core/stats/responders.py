"""Responder analysis of a 2×2 table: chi-square (Pearson, Yates), Fisher, risk difference, NNT.

Why: PROTOCOL.md §9 analyses response (CAPS-5 ≥ 30% below baseline at week 2, §8) with a
chi-square test and the number needed to treat; §10 reports 10/15 vs 3/15, chi-square 4.89
(the Yates-corrected value), p = 0.03, NNT 2.1.

Conventions, each checked against R 4.2.2 (tests/reference/responders):

* Pearson and Yates statistics as ``chisq.test(correct = FALSE/TRUE)``; the Yates correction
  subtracts ``min(0.5, |O − E|)`` from every |O − E|, as R does, so it never over-corrects.
* Fisher's exact two-sided p as ``fisher.test`` (scipy's ``fisher_exact``, which sums the tables
  no more probable than the observed one with the same relative tolerance as R).
* Risk difference RD = p_A − p_B (arm A first). Two confidence intervals:
  ``wald`` (RD ± z·SE, R's ``prop.test(correct = FALSE)``) and ``newcombe``, Newcombe's (1998)
  hybrid score interval (his method 10) from the two Wilson intervals. **The JSON default is
  Newcombe**: the Wald interval under-covers badly with 15 per arm and can leave [−1, 1].
  ``wald_cc`` (Wald with continuity correction, R's ``prop.test(correct = TRUE)``) is given too.
* NNT = 1/RD, its CI the reciprocals of the RD limits (Altman 1998, BMJ 317:1309). Positive NNT
  means arm A benefits (NNT benefit, NNTB); negative, arm A harms (NNT harm, NNTH, |NNT|). When
  the RD interval contains 0, the NNT interval runs from NNTB 1/upper through infinity to NNTH
  1/|lower|: ``nnt_ci_low`` = 1/upper (> 0) and ``nnt_ci_high`` = 1/lower (< 0), with
  ``nnt_ci_includes_infinity`` true and :attr:`ResponderResult.nnt_ci_text` spelling it out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from ketamine_ptsd.core.errors import InvalidInput

__all__ = [
    "ResponderResult",
    "RiskDifferenceCI",
    "analyse_responders",
    "newcombe_interval",
    "wald_interval",
    "wilson_interval",
]

CIMethod = Literal["newcombe", "wald", "wald_cc"]


@dataclass(frozen=True)
class RiskDifferenceCI:
    """A confidence interval for p_A − p_B with the method that made it."""

    method: str
    low: float
    high: float


@dataclass(frozen=True)
class ResponderResult:
    """All responder statistics for arm A (responders, non-responders) vs arm B."""

    a_responders: int
    a_nonresponders: int
    b_responders: int
    b_nonresponders: int
    proportion_a: float
    proportion_b: float
    chi2_pearson: float
    p_pearson: float
    chi2_yates: float
    p_yates: float
    p_fisher: float
    sample_odds_ratio: float
    risk_difference: float
    risk_difference_ci_low: float
    risk_difference_ci_high: float
    ci_method: str
    confidence: float
    nnt: float
    nnt_ci_low: float
    nnt_ci_high: float
    nnt_ci_includes_infinity: bool
    intervals: tuple[RiskDifferenceCI, ...]

    @property
    def nnt_ci_text(self) -> str:
        """The NNT interval in Altman's (1998) words."""
        return _nnt_text(self.risk_difference_ci_low, self.risk_difference_ci_high)


def _nnt_text(rd_low: float, rd_high: float) -> str:
    def fmt(x: float) -> str:
        return f"{x:.1f}"

    if rd_low > 0.0:
        return f"NNT benefit {fmt(1 / rd_high)} to {fmt(1 / rd_low)}"
    if rd_high < 0.0:
        return f"NNT harm {fmt(-1 / rd_low)} to {fmt(-1 / rd_high)}"
    benefit = "∞" if rd_high == 0.0 else fmt(1 / rd_high)
    harm = "∞" if rd_low == 0.0 else fmt(-1 / rd_low)
    return f"NNT benefit {benefit} to ∞ to NNT harm {harm}"


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for one proportion (no continuity correction), as R's
    ``prop.test(x, n, correct = FALSE)$conf.int``."""
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    p = successes / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denom = 1 + z * z / n
    return max(0.0, (centre - half) / denom), min(1.0, (centre + half) / denom)


def wald_interval(
    x_a: int, n_a: int, x_b: int, n_b: int, confidence: float = 0.95, *, correct: bool = False
) -> tuple[float, float]:
    """Wald interval for p_A − p_B; ``correct=True`` adds R's ``prop.test`` continuity
    correction min(0.5, |RD|/(1/n_A + 1/n_B))·(1/n_A + 1/n_B). Clipped to [−1, 1] as R does."""
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    p_a, p_b = x_a / n_a, x_b / n_b
    rd = p_a - p_b
    width = z * math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    if correct:
        inv = 1 / n_a + 1 / n_b
        width += min(0.5, abs(rd) / inv) * inv
    return max(rd - width, -1.0), min(rd + width, 1.0)


def newcombe_interval(
    x_a: int, n_a: int, x_b: int, n_b: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p_A − p_B (Newcombe 1998, Stat Med 17:873, method
    10): δ − √((p_A − l_A)² + (u_B − p_B)²), δ + √((u_A − p_A)² + (p_B − l_B)²)."""
    p_a, p_b = x_a / n_a, x_b / n_b
    l_a, u_a = wilson_interval(x_a, n_a, confidence)
    l_b, u_b = wilson_interval(x_b, n_b, confidence)
    rd = p_a - p_b
    low = rd - math.sqrt((p_a - l_a) ** 2 + (u_b - p_b) ** 2)
    high = rd + math.sqrt((u_a - p_a) ** 2 + (p_b - l_b) ** 2)
    return low, high


def _chi2(table: np.ndarray, *, yates: bool) -> tuple[float, float]:
    rows = table.sum(axis=1, keepdims=True)
    cols = table.sum(axis=0, keepdims=True)
    expected = rows * cols / table.sum()
    if np.any(expected == 0.0):
        return math.nan, math.nan
    diff = np.abs(table - expected)
    if yates:
        diff = diff - np.minimum(0.5, diff)
    statistic = float(np.sum(diff**2 / expected))
    return statistic, float(stats.chi2.sf(statistic, 1))


def _reciprocal(x: float) -> float:
    return math.inf if x == 0.0 else 1.0 / x


def analyse_responders(
    a_responders: int,
    a_nonresponders: int,
    b_responders: int,
    b_nonresponders: int,
    *,
    confidence: float = 0.95,
    ci_method: CIMethod | str = "newcombe",
) -> ResponderResult:
    """Analyse responders of arm A (e.g. ketamine) against arm B (e.g. midazolam).

    PROTOCOL.md §10: ``analyse_responders(10, 5, 3, 12)`` gives Yates chi-square 4.89,
    p 0.027, NNT 1/(0.667 − 0.2) = 2.14."""
    counts = {
        "a_responders": a_responders,
        "a_nonresponders": a_nonresponders,
        "b_responders": b_responders,
        "b_nonresponders": b_nonresponders,
    }
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise InvalidInput(name, "must be a whole number ≥ 0", value)
    n_a = a_responders + a_nonresponders
    n_b = b_responders + b_nonresponders
    if n_a == 0:
        raise InvalidInput("counts", "arm A has no patients", (a_responders, a_nonresponders))
    if n_b == 0:
        raise InvalidInput("counts", "arm B has no patients", (b_responders, b_nonresponders))
    if not 0.0 < confidence < 1.0:
        raise InvalidInput("confidence", "must lie strictly between 0 and 1", confidence)
    table = np.array(
        [[a_responders, a_nonresponders], [b_responders, b_nonresponders]], dtype=float
    )
    chi2_p, p_p = _chi2(table, yates=False)
    chi2_y, p_y = _chi2(table, yates=True)
    fisher = stats.fisher_exact(table.astype(int), alternative="two-sided")
    sample_odds_ratio = float(fisher.statistic)  # ad/bc; R reports the conditional MLE
    p_fisher = float(fisher.pvalue)

    p_a, p_b = a_responders / n_a, b_responders / n_b
    rd = p_a - p_b
    intervals = (
        RiskDifferenceCI(
            "newcombe", *newcombe_interval(a_responders, n_a, b_responders, n_b, confidence)
        ),
        RiskDifferenceCI("wald", *wald_interval(a_responders, n_a, b_responders, n_b, confidence)),
        RiskDifferenceCI(
            "wald_cc",
            *wald_interval(a_responders, n_a, b_responders, n_b, confidence, correct=True),
        ),
    )
    chosen = [ci for ci in intervals if ci.method == ci_method]
    if not chosen:
        raise InvalidInput("ci_method", "must be newcombe, wald or wald_cc", ci_method)
    low, high = chosen[0].low, chosen[0].high
    crosses = low <= 0.0 <= high
    return ResponderResult(
        a_responders=a_responders,
        a_nonresponders=a_nonresponders,
        b_responders=b_responders,
        b_nonresponders=b_nonresponders,
        proportion_a=p_a,
        proportion_b=p_b,
        chi2_pearson=chi2_p,
        p_pearson=p_p,
        chi2_yates=chi2_y,
        p_yates=p_y,
        p_fisher=p_fisher,
        sample_odds_ratio=sample_odds_ratio,
        risk_difference=rd,
        risk_difference_ci_low=low,
        risk_difference_ci_high=high,
        ci_method=str(ci_method),
        confidence=confidence,
        nnt=_reciprocal(rd),
        nnt_ci_low=_reciprocal(high),
        nnt_ci_high=_reciprocal(low),
        nnt_ci_includes_infinity=crosses,
        intervals=intervals,
    )
