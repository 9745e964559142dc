"""Denominator degrees of freedom: between-within and residual, and the per-method dispatcher.

Between-within (SAS DDFM=BETWITHIN; Schluchter & Elashoff 1990), as openpharma/mmrm's
"Between-Within" vignette states it for one grouping level (the subject):

* between df = S − (1 + p_between): S subjects with at least one analysed observation,
  p_between the number of columns of terms that never change within a subject;
* within df = N − (S + p_within): N analysed observations, p_within the columns of terms that
  change within some subject. The intercept gets the within df.

This reproduces PROTOCOL.md §9's F(2, 55) for 30 patients with 89 observations:
89 − (30 + 2 + 2) = 55 for group:time (time and group:time have 2 columns each).
SAS's exception for REPEATED / TYPE=UN is followed: every effect then gets the between df
(SAS/STAT User's Guide, MODEL DDFM=BETWITHIN; e.g. 193 = 197 − 4 in openpharma/mmrm's
``design/SAS/sas_resid_un.txt``). Not implemented: SAS's further partition of the within df
among several within-subject class effects and its count of subjects in which an effect varies
(the mmrm vignette lists these SAS refinements; they do not change the trial's F(2, 55)).

Residual: N − rank(X).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .design import Design

__all__ = ["DDF_METHODS", "BetweenWithin", "between_within", "residual_df"]

DDF_METHODS = ("between-within", "residual", "satterthwaite", "kenward-roger")

IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class BetweenWithin:
    between_df: float
    within_df: float
    term_df: dict[str, float]
    intercept_df: float
    term_is_within: dict[str, bool]


def _columns_varying_within(x: NDArray[np.float64], subject: IntArray) -> NDArray[np.bool_]:
    """For each column of X, whether it takes two values (beyond 1e-12) within some subject.
    One stable sort of the rows by subject serves every column."""
    order = np.argsort(subject, kind="stable")
    same = np.diff(subject[order]) == 0
    if not same.any():
        return np.zeros(x.shape[1], dtype=bool)
    jumps = np.abs(np.diff(x[order], axis=0)) > 1e-12
    return np.asarray(np.any(jumps & same[:, None], axis=0), dtype=bool)


def between_within(
    design: Design,
    subject: IntArray,
    n_subjects: int,
    covariance: str,
    varies: NDArray[np.bool_] | None = None,
) -> BetweenWithin:
    """Between and within df, and the df assigned to each term. ``varies`` (per column of X,
    whether it changes within some subject) may come from the caller (the layout has it from
    its missingness patterns); else it is computed here."""
    n = design.x.shape[0]
    if varies is None:
        varies = _columns_varying_within(design.x, subject)
    p_between = 0
    p_within = 0
    within: dict[str, bool] = {}
    owner = design.column_term
    for ti, term in enumerate(design.terms):
        in_term = owner == ti
        w = bool(varies[in_term].any())
        size = int(in_term.sum())
        within[term.name] = w
        if w:
            p_within += size
        else:
            p_between += size
    df_b = float(n_subjects - (1 + p_between))
    df_w = float(n - (n_subjects + p_within))
    if covariance == "un":
        term_df = {name: df_b for name in within}
        return BetweenWithin(df_b, df_w, term_df, df_b, within)
    term_df = {name: (df_w if w else df_b) for name, w in within.items()}
    return BetweenWithin(df_b, df_w, term_df, df_w, within)


def residual_df(design: Design) -> float:
    """N − rank(X); ``build_design`` refuses a rank-deficient X, so rank(X) = p."""
    return float(design.x.shape[0] - design.x.shape[1])
