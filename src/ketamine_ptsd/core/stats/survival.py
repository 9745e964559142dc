"""Kaplan-Meier with right-censoring, quantiles with CIs, and the log-rank test.

Why: PROTOCOL.md §8 — durability of response is time to loss of response, counted from the
primary outcome day, with patients who never lose it right-censored at their last visit; the RCT
reports median 27.5 days, quartiles 23 and 32, two responders censored at 50 and 102 days.
PROTOCOL.md §9 names Kaplan-Meier; SYSTEM.md adds the log-rank test.

Everything follows R's survival package (3.5-3), so numbers can be checked one-to-one
(tests/reference/survival):

* the estimate and Greenwood's variance of the cumulative hazard, σ²(t) = Σ d/(n(n − d)), as
  ``survfit``'s ``std.err``; the confidence band uses ``survfit``'s default ``conf.type = "log"``:
  exp(log S ± z·σ), the upper limit capped at 1, undefined where S = 0;
* quantiles as ``quantile.survfit``: the quantile p is the first time the curve reaches 1 − p,
  and where the curve sits exactly on 1 − p over an interval (within √ε) the midpoint of that
  interval — this is how 10 patients whose fifth and sixth losses are on days 27 and 28 give
  the median 27.5 of §8; the CI of a quantile is where the lower and upper bands cross 1 − p;
* the log-rank test as ``survdiff(rho = 0)``: observed minus expected events per group with the
  hypergeometric variance, chi-square on (groups − 1) df.

The estimate is our own rather than ``scipy.stats.ecdf`` because we need the at-risk counts,
survfit's log-transformed band (scipy offers "linear" and "log-log") and R's quantile rules;
the tests check it against ``scipy.stats.ecdf`` on ``CensoredData`` and the two-group log-rank
against ``scipy.stats.logrank``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from ketamine_ptsd.core.errors import InvalidInput

__all__ = [
    "CurvePoint",
    "KaplanMeier",
    "LogRank",
    "kaplan_meier",
    "logrank_test",
    "survfit_quantile",
]

FloatArray = npt.NDArray[np.float64]
_TOL = math.sqrt(np.finfo(float).eps)


@dataclass(frozen=True)
class CurvePoint:
    """The curve at one distinct time (event or censoring), as a row of ``summary(survfit)``
    with ``censored = TRUE``: ``at_risk`` is the number at risk just before ``time``."""

    time: float
    at_risk: int
    events: int
    censored: int
    survival: float
    std_err: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class KaplanMeier:
    """A fitted Kaplan-Meier curve of one group with its quantiles (NaN where not reached)."""

    group: str
    n: int
    events: int
    confidence: float
    curve: tuple[CurvePoint, ...]
    median: float
    median_ci_low: float
    median_ci_high: float
    q25: float
    q25_ci_low: float
    q25_ci_high: float
    q75: float
    q75_ci_low: float
    q75_ci_high: float

    def survival_at(self, time: float) -> float:
        """S(time): the curve is right-continuous and 1 before the first event."""
        value = 1.0
        for point in self.curve:
            if point.time > time:
                break
            value = point.survival
        return value


@dataclass(frozen=True)
class LogRank:
    """Log-rank test: chi-square on ``df`` degrees of freedom, with observed and expected
    events per group (in ``groups`` order)."""

    chi2: float
    df: int
    p: float
    groups: tuple[str, ...]
    observed: tuple[float, ...]
    expected: tuple[float, ...]


def _validate(time: Sequence[float], event: Sequence[int | bool]) -> tuple[FloatArray, FloatArray]:
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    if t.ndim != 1 or t.shape != e.shape:
        raise InvalidInput("time", "time and event must be equally long lists", len(time))
    if t.size == 0:
        raise InvalidInput("time", "no observations", [])
    if not np.all(np.isfinite(t)):
        raise InvalidInput("time", "every time must be a finite number", time)
    if np.any(t < 0):
        raise InvalidInput("time", "times must be ≥ 0", float(t.min()))
    if not np.all((e == 0) | (e == 1)):
        raise InvalidInput("event", "must be 1 (event) or 0 (censored)", sorted(set(e.tolist())))
    return t, e


def survfit_quantile(
    times: Sequence[float], cdf: Sequence[float], p: float, first_time: float = 0.0
) -> float:
    """R survival's ``findq``: the p-quantile from the step function 1 − S.

    ``times`` are the curve's times, ``cdf`` is 1 − S (or 1 − a band, NaN where undefined).
    Returns NaN where the curve never reaches p."""
    x = np.concatenate(([first_time], np.asarray(times, dtype=float)))
    y = np.concatenate(([0.0], np.asarray(cdf, dtype=float)))
    x_max = float(x[-1])
    keep_y: list[float] = []
    keep_x: list[float] = []
    seen_nan = False
    for xi, yi in zip(x, y, strict=True):
        # R's duplicated(): keep the first occurrence of each value, NaN included.
        if math.isnan(yi):
            if seen_nan:
                continue
            seen_nan = True
        elif any(yi == v for v in keep_y):
            continue
        keep_x.append(float(xi))
        keep_y.append(float(yi))
    finite = [v for v in keep_y if not math.isnan(v)]
    if not finite or max(finite) < p:
        return math.nan
    if p == 0.0:
        return keep_x[0]

    def first_index(shift: float) -> int | None:
        # approx(y + shift, 1:n, p, method = "constant", f = 1): NaN pairs removed, pairs
        # ordered by y (approx sorts its x), the index of the first value ≥ p.
        pairs = sorted((yi + shift, i) for i, yi in enumerate(keep_y) if not math.isnan(yi))
        if not pairs or p < pairs[0][0] or p > pairs[-1][0]:
            return None
        for value, i in pairs:
            if value >= p:
                return i
        return None  # pragma: no cover - excluded by the range check

    i1 = first_index(_TOL)
    i2 = first_index(-_TOL)
    last_y = keep_y[-1]
    if not math.isnan(last_y) and abs(p - last_y) < _TOL and i1 is not None:
        return (keep_x[i1] + x_max) / 2.0
    if i1 is None or i2 is None:
        return math.nan
    return (keep_x[i1] + keep_x[i2]) / 2.0


def kaplan_meier(
    time: Sequence[float],
    event: Sequence[int | bool],
    *,
    group: str = "all",
    confidence: float = 0.95,
) -> KaplanMeier:
    """Kaplan-Meier estimate with right-censoring (event 1 = loss of response, 0 = censored)."""
    if not 0.0 < confidence < 1.0:
        raise InvalidInput("confidence", "must lie strictly between 0 and 1", confidence)
    t, e = _validate(time, event)
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    unique = np.unique(t)
    points: list[CurvePoint] = []
    surv = 1.0
    var_cumhaz = 0.0
    for u in unique:
        at = t == u
        n_risk = int(np.sum(t >= u))
        d = int(np.sum(e[at]))
        c = int(np.sum(at)) - d
        if d:
            surv *= 1.0 - d / n_risk
            var_cumhaz = math.inf if d == n_risk else var_cumhaz + d / (n_risk * (n_risk - d))
        se = math.sqrt(var_cumhaz)
        if surv > 0.0 and math.isfinite(se):
            low = math.exp(math.log(surv) - z * se)
            high = min(1.0, math.exp(math.log(surv) + z * se))
        else:
            low = high = math.nan
        points.append(CurvePoint(float(u), n_risk, d, c, surv, se, low, high))
    times = [pt.time for pt in points]
    cdf = [1.0 - pt.survival for pt in points]
    cdf_low_band = [1.0 - pt.ci_low for pt in points]  # 1 − lower band: crosses p first
    cdf_high_band = [1.0 - pt.ci_high for pt in points]

    def q(p: float) -> tuple[float, float, float]:
        return (
            survfit_quantile(times, cdf, p),
            survfit_quantile(times, cdf_low_band, p),
            survfit_quantile(times, cdf_high_band, p),
        )

    q25, q50, q75 = q(0.25), q(0.5), q(0.75)
    return KaplanMeier(
        group=group,
        n=int(t.size),
        events=int(e.sum()),
        confidence=confidence,
        curve=tuple(points),
        median=q50[0],
        median_ci_low=q50[1],
        median_ci_high=q50[2],
        q25=q25[0],
        q25_ci_low=q25[1],
        q25_ci_high=q25[2],
        q75=q75[0],
        q75_ci_low=q75[1],
        q75_ci_high=q75[2],
    )


def logrank_test(
    time: Sequence[float], event: Sequence[int | bool], group: Sequence[str]
) -> LogRank:
    """Log-rank test of equal survival across groups, as R's ``survdiff`` (rho = 0).

    U = O − E per group, V the hypergeometric covariance summed over event times; the
    statistic U' V⁻ U uses the first k − 1 groups (V has rank k − 1)."""
    t, e = _validate(time, event)
    g = np.asarray([str(v) for v in group])
    if g.shape != t.shape:
        raise InvalidInput("group", "must be as long as time", len(group))
    labels = tuple(sorted(set(g.tolist())))
    if len(labels) < 2:
        raise InvalidInput("group", "the log-rank test needs at least two groups", labels)
    k = len(labels)
    member = np.stack([g == lab for lab in labels]).astype(float)  # k × n
    observed = member @ e
    expected = np.zeros(k)
    variance = np.zeros((k, k))
    for u in np.unique(t[e == 1]):
        risk = t >= u
        n_j = member @ risk
        n = float(risk.sum())
        d = float(e[t == u].sum())
        expected += d * n_j / n
        if n > 1:
            frac = n_j / n
            variance += d * (n - d) / (n - 1) * (np.diag(frac) - np.outer(frac, frac))
    u_vec = (observed - expected)[:-1]
    v = variance[:-1, :-1]
    chi2 = float(u_vec @ np.linalg.pinv(v) @ u_vec)
    df = int(np.linalg.matrix_rank(v))
    return LogRank(
        chi2=chi2,
        df=df,
        p=float(stats.chi2.sf(chi2, df)) if df > 0 else math.nan,
        groups=labels,
        observed=tuple(float(v) for v in observed),
        expected=tuple(float(v) for v in expected),
    )
