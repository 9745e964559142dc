"""Group-sequential designs: Lan-DeMets alpha spending and classical Pocock / O'Brien-Fleming.

Why: PROTOCOL.md §9 — the RCT stopped at a planned interim with 30 of 40 patients and tested at
alpha 0.0304 "per the Pocock alpha spending function"; a DSMB interim plan needs the nominal
level at each look. :func:`design_for_rct_interim` documents which design gives 0.0304.

Method: the joint law of the look statistics Z_1..Z_K under H0 is canonical (Jennison &
Turnbull 2000, ch. 3): Z_k √t_k has independent Gaussian increments with variance t_k − t_{k−1}.
Crossing probabilities come from the Armitage–McPherson–Rowe (1969) recursion on the density of
Z_k within the continuation region, integrated by Simpson's rule on the grid of Jennison &
Turnbull ch. 19.2 (grid parameter r = 32: critical values agree with rpact to < 1e-7 and
with r = 48 to < 1e-7; r = 16, J&T's suggestion, is good to ~1e-6).

Conventions (checked against rpact 3.3.4, tests/reference/sequential):

* A spending function f(t; a) is written on the one-sided scale:
  O'Brien-Fleming type f(t; a) = 2 − 2Φ(z_{1−a/2}/√t) (Lan & DeMets 1983), Pocock type
  f(t; a) = a·ln(1 + (e − 1)t) (Lan & DeMets 1983; Kim & DeMets 1987). A one-sided design at
  level α spends f(t; α).
* Two-sided symmetric designs at total level α: ``two_sided_spending="per-side"`` (the default,
  as rpact and gsDesign) spends f(t; α/2) in each tail, 2·f(t; α/2) in all; ``"total"`` spends
  f(t; α) in both tails together, Lan & DeMets' original two-sided form
  2 − 2Φ(z_{1−α/2}/√t). The two coincide for the Pocock type (it is linear in a) and differ
  for the O'Brien-Fleming type at interim looks.
* Two-sided crossing probabilities count both tails with the symmetric continuation region
  (−c_k, c_k); ``cumulative_alpha`` is the probability under H0 of stopping by look k,
  ``nominal_alpha`` the p-value threshold at look k (two-sided 2(1 − Φ(z_k)); one-sided
  1 − Φ(z_k)).
* Classical boundaries: Pocock (1977) z_k = c; O'Brien & Fleming (1979) z_k = c/√t_k (equal to
  c·√(K/k) at equally spaced looks), c chosen so the total crossing probability is α.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from ketamine_ptsd.core.errors import InvalidInput

__all__ = [
    "Look",
    "SequentialDesign",
    "classical_boundary_design",
    "crossing_probabilities",
    "design_for_rct_interim",
    "obrien_fleming_spending",
    "pocock_spending",
    "spending_design",
]

FloatArray = npt.NDArray[np.float64]
Kind = Literal["pocock", "obrien-fleming"]
_KINDS: tuple[str, ...] = ("pocock", "obrien-fleming")
_GRID_R = 32
_Z_MAX = 40.0
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _pdf(x: FloatArray) -> FloatArray:
    return np.asarray(_INV_SQRT_2PI * np.exp(-0.5 * x * x), dtype=float)


@dataclass(frozen=True)
class Look:
    """One analysis: its information fraction, the alpha spent by it, its nominal level and
    critical value on the z scale."""

    information: float
    cumulative_alpha: float
    nominal_alpha: float
    z: float


@dataclass(frozen=True)
class SequentialDesign:
    """A group-sequential design with its looks; ``method`` says how boundaries were made."""

    alpha: float
    sides: int
    method: str
    kind: str
    looks: tuple[Look, ...]


def obrien_fleming_spending(t: float, alpha: float) -> float:
    """Lan-DeMets O'Brien-Fleming-type spending 2 − 2Φ(z_{1−α/2}/√t), one-sided scale."""
    if t <= 0.0:
        return 0.0
    z = float(-special.ndtri(alpha / 2.0))  # the normal's isf, as scipy.stats computes it
    return float(2.0 * special.ndtr(-z / math.sqrt(min(t, 1.0))))  # its sf


def pocock_spending(t: float, alpha: float) -> float:
    """Lan-DeMets Pocock-type spending α·ln(1 + (e − 1)t)."""
    if t <= 0.0:
        return 0.0
    return alpha * math.log1p((math.e - 1.0) * min(t, 1.0))


def _grid(lower: float, upper: float, r: int = _GRID_R) -> tuple[FloatArray, FloatArray]:
    """Jennison & Turnbull (2000) §19.2 grid for a N(0, 1)-scale density trimmed to
    [lower, upper], with midpoints inserted and Simpson weights."""
    i = np.arange(1, 6 * r)
    x = np.where(
        i < r,
        -3.0 - 4.0 * np.log(r / np.maximum(i, 1)),
        np.where(
            i <= 5 * r,
            -3.0 + 3.0 * (i - r) / (2.0 * r),
            3.0 + 4.0 * np.log(r / np.maximum(6 * r - i, 1)),
        ),
    )
    lo = max(lower, float(x[0]))
    hi = min(upper, float(x[-1]))
    if hi <= lo:
        return np.empty(0), np.empty(0)
    inner = x[(x > lo) & (x < hi)]
    knots = np.concatenate(([lo], inner, [hi]))
    mids = (knots[:-1] + knots[1:]) / 2.0
    h = np.diff(knots)
    z = np.empty(2 * knots.size - 1)
    z[0::2] = knots
    z[1::2] = mids
    w = np.zeros_like(z)
    w[0:-1:2] += h / 6.0
    w[2::2] += h / 6.0
    w[1::2] += 4.0 * h / 6.0
    return z, w


class _Recursion:
    """Sub-density of Z_k on the continuation region, carried look by look."""

    def __init__(self, information: Sequence[float]) -> None:
        self.t = list(information)
        self.z: FloatArray = np.empty(0)
        self.w: FloatArray = np.empty(0)
        self.density: FloatArray = np.empty(0)
        self.k = -1

    def exit_probability(self, k: int, lower: float, upper: float) -> tuple[float, float]:
        """P(continue to look k, Z_k ≥ upper) and P(continue to look k, Z_k ≤ lower)."""
        if k == 0:
            return float(special.ndtr(-upper)), float(special.ndtr(lower))
        sqrt_prev = math.sqrt(self.t[k - 1])
        sqrt_now = math.sqrt(self.t[k])
        sd = math.sqrt(self.t[k] - self.t[k - 1])
        mean_num = self.z * sqrt_prev
        weights = self.w * self.density
        p_up = 0.0
        p_down = 0.0
        if upper < _Z_MAX:
            p_up = float(weights @ special.ndtr((mean_num - upper * sqrt_now) / sd))
        if lower > -_Z_MAX:
            p_down = float(weights @ special.ndtr((lower * sqrt_now - mean_num) / sd))
        return p_up, p_down

    def advance(self, k: int, lower: float, upper: float) -> None:
        """Move the sub-density to look k, restricted to (lower, upper)."""
        z, w = _grid(lower, upper)
        if k == 0:
            density = _pdf(z)
        else:
            sqrt_prev = math.sqrt(self.t[k - 1])
            sqrt_now = math.sqrt(self.t[k])
            sd = math.sqrt(self.t[k] - self.t[k - 1])
            kernel = _pdf((z[:, None] * sqrt_now - self.z[None, :] * sqrt_prev) / sd)
            density = (sqrt_now / sd) * kernel @ (self.w * self.density)
        self.z, self.w, self.density, self.k = z, w, np.asarray(density, dtype=float), k


def _check(alpha: float, sides: int, information: Sequence[float]) -> list[float]:
    if not 0.0 < alpha < 1.0:
        raise InvalidInput("alpha", "must lie strictly between 0 and 1", alpha)
    if sides not in (1, 2):
        raise InvalidInput("sides", "must be 1 or 2", sides)
    t = [float(v) for v in information]
    if not t:
        raise InvalidInput("information", "needs at least one look", information)
    if any(not math.isfinite(v) or v <= 0.0 or v > 1.0 for v in t):
        raise InvalidInput("information", "fractions must lie in (0, 1]", information)
    if any(b <= a for a, b in itertools.pairwise(t)):
        raise InvalidInput("information", "fractions must increase strictly", information)
    if abs(t[-1] - 1.0) > 1e-12:
        raise InvalidInput("information", "the last look must be at information 1", information)
    return t


def _bounds(z: float, sides: int) -> tuple[float, float]:
    return (-z if sides == 2 else -math.inf), z


def _nominal(z: float, sides: int) -> float:
    return float(sides * special.ndtr(-z))  # the normal's sf


def crossing_probabilities(
    information: Sequence[float], upper: Sequence[float], lower: Sequence[float]
) -> FloatArray:
    """P(first crossing at look k) under H0 for given boundaries (either tail)."""
    rec = _Recursion(information)
    out = np.empty(len(upper))
    for k, (lo, up) in enumerate(zip(lower, upper, strict=True)):
        p_up, p_down = rec.exit_probability(k, lo, up)
        out[k] = p_up + p_down
        rec.advance(k, lo, up)
    return out


def spending_design(
    alpha: float,
    sides: int,
    information: Sequence[float],
    spending: Kind | str,
    *,
    two_sided_spending: Literal["per-side", "total"] | str = "per-side",
) -> SequentialDesign:
    """Lan-DeMets alpha-spending design at the given information fractions."""
    t = _check(alpha, sides, information)
    if spending not in _KINDS:
        raise InvalidInput("spending", "must be pocock or obrien-fleming", spending)
    if two_sided_spending not in ("per-side", "total"):
        raise InvalidInput("two_sided_spending", "must be per-side or total", two_sided_spending)
    fn = pocock_spending if spending == "pocock" else obrien_fleming_spending

    def spent(tk: float) -> float:
        if sides == 2 and two_sided_spending == "per-side":
            return 2.0 * fn(tk, alpha / 2.0)
        return fn(tk, alpha)

    rec = _Recursion(t)
    looks: list[Look] = []
    cumulative = 0.0
    for k, tk in enumerate(t):
        target = spent(tk) - cumulative
        if target <= 0.0:
            z = math.inf
        else:

            def gap(c: float, k: int = k, target: float = target) -> float:
                lo, up = _bounds(c, sides)
                p_up, p_down = rec.exit_probability(k, lo, up)
                return p_up + p_down - target

            z = float(optimize.brentq(gap, 0.0, _Z_MAX, xtol=1e-13, rtol=1e-15, maxiter=500))
        lo, up = _bounds(z, sides)
        p_up, p_down = rec.exit_probability(k, lo, up)
        cumulative += p_up + p_down
        looks.append(Look(tk, cumulative, _nominal(z, sides), z))
        rec.advance(k, lo, up)
    return SequentialDesign(alpha, sides, "spending", str(spending), tuple(looks))


def classical_boundary_design(
    alpha: float, sides: int, information: Sequence[float], boundary: Kind | str
) -> SequentialDesign:
    """Classical Pocock (constant) or O'Brien-Fleming (c/√t_k) boundaries with total level α."""
    t = _check(alpha, sides, information)
    if boundary not in _KINDS:
        raise InvalidInput("boundary", "must be pocock or obrien-fleming", boundary)
    shape = np.ones(len(t)) if boundary == "pocock" else 1.0 / np.sqrt(np.asarray(t))

    def total(c: float) -> float:
        ups = c * shape
        lows = -ups if sides == 2 else np.full(len(t), -math.inf)
        return float(crossing_probabilities(t, list(ups), list(lows)).sum())

    c = float(optimize.brentq(lambda c: total(c) - alpha, 0.0, _Z_MAX, xtol=1e-13, rtol=1e-15))
    ups = c * shape
    lows = -ups if sides == 2 else np.full(len(t), -math.inf)
    probs = crossing_probabilities(t, list(ups), list(lows))
    cum = np.cumsum(probs)
    looks = tuple(
        Look(tk, float(cum[k]), _nominal(float(ups[k]), sides), float(ups[k]))
        for k, tk in enumerate(t)
    )
    return SequentialDesign(alpha, sides, "boundary", str(boundary), looks)


def design_for_rct_interim() -> SequentialDesign:
    """The design that yields PROTOCOL.md §9's nominal alpha 0.0304 at the RCT's interim.

    Searched (tests/core/stats/test_sequential.py): Pocock-type spending and classical Pocock,
    one- and two-sided, alpha 0.025/0.05/0.10, looks at (0.5, 1) and (0.75, 1) — 30 of 40
    patients. Only one rounds to 0.0304: the **classical Pocock boundary with two equally spaced
    looks (0.5, 1) at one-sided alpha 0.05**: c = 1.8754, nominal 0.030367 at each look (the
    two-sided 0.10 design has the same c to 1e-6, i.e. 0.0304 per tail, 0.0607 two-sided). Nearest alternatives: Lan-DeMets Pocock-type
    spending, two-sided 0.05, at t = 0.5 spends 0.0310 at look 1; at t = 0.75 (30/40) it spends
    0.0414 and leaves nominal 0.0239 for the final look; classical two-sided 0.05 Pocock with two
    looks gives 0.0294; Pocock-type spending at two-sided 0.05 would spend exactly 0.0304 at
    t = (e^0.608 − 1)/(e − 1) ≈ 0.487, i.e. about 19.5 of 40 patients, not 30. So the paper's "Pocock alpha spending function" most plausibly denotes
    Pocock's (1977) constant nominal level for a two-look plan (interim at half the information),
    one-sided 0.05; the interim was then held at 30 patients at that same nominal level.
    """
    return classical_boundary_design(0.05, 1, (0.5, 1.0), "pocock")
