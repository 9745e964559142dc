"""Power and sample size for t tests: exact (noncentral t) and normal approximation.

Why: PROTOCOL.md §9 justifies the RCT's size a priori — d = 0.74 (from the earlier single-dose
crossover: a decrease of 27 (SD 20) with ketamine vs 13 (SD 18) with midazolam), "paired t test",
"N = 40 gives > 80% power at two-sided alpha 0.025" (Bonferroni for two primary comparisons).

Which reading of that sentence reproduces "> 80%" (computed here, exact noncentral t, two-sided,
both rejection tails counted, alpha 0.025):

* paired t with **20 pairs** (df 19, ncp = 0.74·√20): power 0.8011 — just over 80%. The
  sample size for 80% power under this test is n = 19.96 → 20 per arm, i.e. N = 40 patients.
  This is the reading the statement was most likely computed under: the paired (one-sample)
  t formula with n = 20, doubled to N = 40 for two arms.
* paired t with 40 pairs (df 39): power 0.9888 — "> 80%" but far above it.
* two-sample t with 20 per arm (df 38, ncp = 0.74·√10): power 0.5085 — the design the RCT
  actually ran (parallel arms) is underpowered under this reading.
* two-sample t with 40 per arm: power 0.8448.

The noncentral t is exact for normal data with equal variances (Cohen 1988, ch. 2); the normal
approximation (z test) is given alongside because protocols often quote it. R's
``power.t.test`` by default (``strict = FALSE``) counts only the upper rejection tail of a
two-sided test; :func:`t_test_power` counts both (``strict=True``) unless asked otherwise, and the
difference is < 1e-6 for any useful design. Validated against R's ``power.t.test``
(tests/reference/power).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import optimize, stats

from ketamine_ptsd.core.errors import InvalidInput

__all__ = [
    "PowerResult",
    "SampleSizeResult",
    "TTestDesign",
    "t_test_power",
    "t_test_sample_size",
]

TTestDesign = Literal["two-sample", "paired"]
_DESIGNS: tuple[str, ...] = ("two-sample", "paired")


@dataclass(frozen=True)
class PowerResult:
    """Power of a t test at a given size; ``n`` is per arm (two-sample) or pairs (paired)."""

    test: str
    d: float
    alpha: float
    sides: int
    n: float
    df: float
    noncentrality: float
    critical_value: float
    power: float
    power_normal: float

    @property
    def n_total(self) -> float:
        """Patients in the trial: 2n for two arms, n for the paired design."""
        return 2.0 * self.n if self.test == "two-sample" else self.n


@dataclass(frozen=True)
class SampleSizeResult:
    """Size needed for ``target_power``: ``n_exact`` solves power = target (as R reports n),
    ``n`` is its ceiling and ``power`` the power achieved with ``n``."""

    test: str
    d: float
    alpha: float
    sides: int
    target_power: float
    n_exact: float
    n: int
    n_total: int
    power: float
    n_normal_exact: float
    n_normal: int


def _check(test: str, d: float, alpha: float, sides: int) -> None:
    if test not in _DESIGNS:
        raise InvalidInput("test", f"must be one of {', '.join(_DESIGNS)}", test)
    if not math.isfinite(d) or d == 0.0:
        raise InvalidInput("d", "effect size must be a finite non-zero number", d)
    if not 0.0 < alpha < 1.0:
        raise InvalidInput("alpha", "must lie strictly between 0 and 1", alpha)
    if sides not in (1, 2):
        raise InvalidInput("sides", "must be 1 or 2", sides)


def _df_ncp(test: str, d: float, n: float) -> tuple[float, float]:
    """Degrees of freedom and noncentrality: two-sample df 2(n−1), ncp d·√(n/2); paired df n−1,
    ncp d·√n (the paired d is the standardized mean of the differences)."""
    if test == "two-sample":
        return 2.0 * (n - 1.0), abs(d) * math.sqrt(n / 2.0)
    return n - 1.0, abs(d) * math.sqrt(n)


def _power_exact(test: str, d: float, alpha: float, sides: int, n: float, strict: bool) -> float:
    df, ncp = _df_ncp(test, d, n)
    crit = float(stats.t.ppf(1.0 - alpha / sides, df))
    power = float(stats.nct.sf(crit, df, ncp))
    if sides == 2 and strict:
        power += float(stats.nct.cdf(-crit, df, ncp))
    return power


def _power_normal(test: str, d: float, alpha: float, sides: int, n: float) -> float:
    _, ncp = _df_ncp(test, d, n)
    z = float(stats.norm.ppf(1.0 - alpha / sides))
    power = float(stats.norm.sf(z - ncp))
    if sides == 2:
        power += float(stats.norm.cdf(-z - ncp))
    return power


def t_test_power(
    test: TTestDesign | str,
    d: float,
    n: float,
    alpha: float = 0.05,
    sides: int = 2,
    *,
    strict: bool = True,
) -> PowerResult:
    """Power of a two-sample (``n`` per arm, equal allocation) or paired (``n`` pairs) t test
    for standardized effect ``d`` (Cohen 1988). ``strict=False`` reproduces R's
    ``power.t.test`` default (only the tail in the direction of the effect)."""
    _check(test, d, alpha, sides)
    if not math.isfinite(n) or n < 2.0:
        raise InvalidInput("n", "needs at least 2 per arm (or 2 pairs)", n)
    df, ncp = _df_ncp(test, d, n)
    return PowerResult(
        test=test,
        d=d,
        alpha=alpha,
        sides=sides,
        n=n,
        df=df,
        noncentrality=ncp,
        critical_value=float(stats.t.ppf(1.0 - alpha / sides, df)),
        power=_power_exact(test, d, alpha, sides, n, strict),
        power_normal=_power_normal(test, d, alpha, sides, n),
    )


def t_test_sample_size(
    test: TTestDesign | str,
    d: float,
    power: float = 0.8,
    alpha: float = 0.05,
    sides: int = 2,
    *,
    strict: bool = True,
) -> SampleSizeResult:
    """Smallest size with at least ``power``; ``n_exact`` is the continuous root as R's
    ``power.t.test(power = ...)`` reports it, the normal-approximation size is closed form:
    (z_{1−α/s} + z_{power})² / d², times 2 for two arms."""
    _check(test, d, alpha, sides)
    if not 0.0 < power < 1.0 or power <= alpha / sides:
        raise InvalidInput("power", "must lie between alpha and 1", power)
    z_sum = float(stats.norm.ppf(1.0 - alpha / sides) + stats.norm.ppf(power))
    factor = 2.0 if test == "two-sample" else 1.0
    n_normal_exact = factor * z_sum**2 / d**2

    def gap(n: float) -> float:
        return _power_exact(test, d, alpha, sides, n, strict) - power

    upper = max(4.0, 2.0 * n_normal_exact + 4.0)
    while gap(upper) < 0.0:
        upper *= 2.0
        if upper > 1e9:
            raise InvalidInput("d", "effect too small for any reasonable sample size", d)
    lower = 2.0
    if gap(lower) >= 0.0:
        n_exact = lower
    else:
        n_exact = float(optimize.brentq(gap, lower, upper, xtol=1e-10, rtol=1e-14))
    n_int = max(2, math.ceil(n_exact - 1e-9))
    return SampleSizeResult(
        test=test,
        d=d,
        alpha=alpha,
        sides=sides,
        target_power=power,
        n_exact=n_exact,
        n=n_int,
        n_total=int(factor * n_int),
        power=_power_exact(test, d, alpha, sides, float(n_int), strict),
        n_normal_exact=n_normal_exact,
        n_normal=max(2, math.ceil(n_normal_exact - 1e-9)),
    )
