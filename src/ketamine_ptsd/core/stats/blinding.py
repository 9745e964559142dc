"""Blinding indices: Bang's index per arm and James' index, with standard errors and Wald CIs.

Why: PROTOCOL.md §3 blinds patients and staff to ketamine vs midazolam; an end-of-treatment
question "which drug do you think you (the patient) received: ketamine, midazolam, don't know?"
is summarised by these two indices (CONSORT 2010 item 11b asks how blinding was assessed).

Input: for each of the two arms, the counts of its respondents who guessed each arm (in the order
the arms are listed) and who did not know ("2 × 3 format" of Bang et al.).

* **Bang** (Bang, Ni & Davis 2004, Controlled Clinical Trials 25:143–156), per arm i with n_i
  respondents, c correct and w wrong guesses: BI_i = (2·c/(c + w) − 1)·(c + w)/n_i
  = (c − w)/n_i, from −1 (all guess the other arm) through 0 (random guessing, or everyone
  "don't know") to 1 (all correct). SE from the multinomial proportions p_c = c/n_i,
  p_w = w/n_i: Var = [p_c(1 − p_c) + p_w(1 − p_w) + 2·p_c·p_w]/n_i (the variance of p_c − p_w).
* **James** (James, Bloch, Lee, Kraemer & Fuller 1996, Statistics in Medicine 15:1421–1434), one
  index over both arms: a weighted kappa of guess against arm, weights 0 for a correct guess,
  ½ for a wrong one and 1 for "don't know". With P the 3 × 2 table of proportions (guess × arm)
  of all N respondents, P_dk the "don't know" share, P_g the share guessing arm g and m_a the
  share in arm a who guessed (not "don't know"):
  P_o = Σ w_ga P_ga / (1 − P_dk), P_e = Σ w_ga P_g m_a / (1 − P_dk)², κ = (P_o − P_e)/P_e and
  BI = (1 + P_dk + (1 − P_dk)·κ)/2: 0 when every guess is correct, ½ for random guessing without
  "don't know", 1 when everyone says "don't know" (James 1996 p. 1425: then BI = 1, SE 0).
  Its large-sample variance is James' (1996) formula, as implemented in the R package BI
  (Schwartz & Mercaldo; CRAN, version 1.2.0): see ``_james_variance``. It equals the
  multinomial delta-method variance of BI as a function of the six cell proportions (checked
  numerically in the tests to 1e-7).

Confidence intervals are two-sided Wald intervals, estimate ± z·SE, not truncated to the index's
range (as R's BI reports them). Bang (2004) prefers one-sided limits for his index; the two-sided
interval at level 1 − 2α gives them. Checked against a base-R transcription of the formulas
(tests/reference/blinding/make_reference.R, 1e-9) and the published output of the Julia port of
R's BI for Houweling et al. (2014) (tests/core/stats/test_blinding.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special

from ketamine_ptsd.core.errors import InvalidInput

__all__ = ["BangIndex", "BlindingIndices", "JamesIndex", "blinding_indices"]

FloatArray = NDArray[np.float64]

_JAMES_WEIGHTS = np.array([[0.0, 0.5], [0.5, 0.0], [1.0, 1.0]])  # guess (arm 1, arm 2, DK) × arm


@dataclass(frozen=True)
class BangIndex:
    """Bang's index of one arm: ``n`` respondents, estimate, SE and the two-sided Wald CI."""

    group: str
    n: int
    index: float
    se: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class JamesIndex:
    """James' index of the trial (NaN where undefined: nobody guessed anything but one arm's
    own drug in one arm only, so the expected disagreement is 0)."""

    index: float
    se: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class BlindingIndices:
    bang: tuple[BangIndex, ...]
    james: JamesIndex
    level: float


def _z(level: float) -> float:
    return float(special.ndtri(0.5 + level / 2.0))


def _validate(
    groups: Sequence[str], counts: Sequence[Sequence[int]], level: float
) -> NDArray[np.int64]:
    if len(groups) != 2:
        raise InvalidInput(
            "counts",
            f"exactly two arms are needed (Bang 2004 and James 1996 define the indices for two); "
            f"got {len(groups)}",
            list(groups),
        )
    names = [str(g).strip() for g in groups]
    for name in names:
        if not name:
            raise InvalidInput("counts", "an arm has an empty name", list(groups))
    if names[0] == names[1]:
        raise InvalidInput("counts", f"arm {names[0]!r} is listed twice", list(groups))
    if len(counts) != 2:
        raise InvalidInput("counts", f"need counts for 2 arms, got {len(counts)}", list(counts))
    table = np.zeros((2, 3), dtype=np.int64)
    for i, (name, row) in enumerate(zip(names, counts, strict=True)):
        if len(row) != 3:
            raise InvalidInput(
                f"counts[{name}]",
                "needs 3 counts: guessed "
                + ", guessed ".join(names)
                + f", don't know; got {len(row)}",
                list(row),
            )
        for j, value in enumerate(row):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise InvalidInput(
                    f"counts[{name}]", f"counts must be whole numbers ≥ 0, got {value!r}", value
                )
            table[i, j] = int(value)
        if table[i].sum() == 0:
            raise InvalidInput(f"counts[{name}]", "the arm has no respondents", list(row))
    if not (isinstance(level, float | int) and 0.0 < float(level) < 1.0):
        raise InvalidInput("level", "must be a number between 0 and 1", level)
    return table


def _bang(name: str, row: NDArray[np.int64], arm: int, z: float) -> BangIndex:
    n = int(row.sum())
    p_correct = row[arm] / n
    p_wrong = row[1 - arm] / n
    index = float(p_correct - p_wrong)
    var = (p_correct * (1 - p_correct) + p_wrong * (1 - p_wrong) + 2 * p_correct * p_wrong) / n
    se = float(math.sqrt(max(var, 0.0)))
    return BangIndex(name, n, index, se, index - z * se, index + z * se)


def _james_variance(p: FloatArray, kappa: float) -> float:
    """N × Var(BI_James) (James et al. 1996, section 3), for the 3 × 2 proportion table ``p``
    (guess arm 1, guess arm 2, don't know × arm). With guess shares P_g, guessing shares m_a and
    D = 4·(Σ w_ga P_g m_a)²:
    term 1 = Σ_ga P_ga (1 − P_dk)² [(1 − P_dk) w_ga − (1 + κ) Σ_r (w_ra P_r + w_gr m_r)]² / D,
    term 2 = P_dk (1 − P_dk) − (1 − P_dk)(1 + κ)(P_dk + (1 − P_dk)(1 + κ)/4)."""
    w = _JAMES_WEIGHTS[:2]
    p_dk = float(p[2].sum())
    guess_share = p[:2].sum(axis=1)  # P_g
    guessed = p.sum(axis=0) - p[2]  # m_a
    expected = float(guess_share @ w @ guessed)
    # s[g, a] = Σ_r w[r, a] P_r + Σ_r w[g, r] m_r
    s = (guess_share @ w)[None, :] + (w @ guessed)[:, None]
    inner = (1 - p_dk) * w - (1 + kappa) * s
    term1 = float(np.sum(p[:2] * (1 - p_dk) ** 2 * inner**2)) / (4.0 * expected**2)
    term2 = p_dk * (1 - p_dk) - (1 - p_dk) * (1 + kappa) * (p_dk + (1 - p_dk) * (1 + kappa) / 4)
    return term1 + term2


def _james(table: NDArray[np.int64], z: float) -> JamesIndex:
    total = int(table.sum())
    p = table.T.astype(np.float64) / total  # guess × arm
    if not p[:2].any():  # everyone answered "don't know" (James 1996 p. 1425)
        return JamesIndex(1.0, 0.0, 1.0, 1.0)
    w = _JAMES_WEIGHTS[:2]
    p_dk = float(p[2].sum())
    guess_share = p[:2].sum(axis=1)
    guessed = p.sum(axis=0) - p[2]
    observed = float(np.sum(w * p[:2])) / (1 - p_dk)
    expected = float(guess_share @ w @ guessed) / (1 - p_dk) ** 2
    if expected <= 0.0:
        nan = float("nan")
        return JamesIndex(nan, nan, nan, nan)
    kappa = (observed - expected) / expected
    index = (1 + p_dk + (1 - p_dk) * kappa) / 2
    var = _james_variance(p, kappa) / total
    se = float(math.sqrt(max(var, 0.0)))
    return JamesIndex(float(index), se, float(index - z * se), float(index + z * se))


def blinding_indices(
    groups: Sequence[str], counts: Sequence[Sequence[int]], level: float = 0.95
) -> BlindingIndices:
    """Bang's index per arm and James' index from ``counts[i]`` = (respondents of arm
    ``groups[i]`` who guessed ``groups[0]``, who guessed ``groups[1]``, who did not know).

    Raises ``InvalidInput`` naming the field (``counts``, ``counts[<arm>]`` or ``level``) and
    keeping the value."""
    table = _validate(groups, counts, level)
    names = tuple(str(g).strip() for g in groups)
    z = _z(float(level))
    bang = tuple(_bang(names[i], table[i], i, z) for i in range(2))
    return BlindingIndices(bang=bang, james=_james(table, z), level=float(level))
