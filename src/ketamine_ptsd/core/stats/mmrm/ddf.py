"""Denominator degrees of freedom: between-within and residual, and the per-method dispatcher.

Between-within (SAS DDFM=BETWITHIN, the default of PROC MIXED for R-side-only models with
SUBJECT=; Schluchter & Elashoff 1990). What SAS documents (SAS/STAT User's Guide, PROC MIXED
MODEL statement DDFM=BETWITHIN, and the same text in PROC GLIMMIX "Between-Within Degrees of
Freedom Approximation"):

(a) the residual df are divided into a between-subject and a within-subject portion;
(b) an effect gets the within-subject df if it changes within any subject, else the
    between-subject df;
(c) if several within-subject effects contain classification variables, the within-subject df
    are partitioned into components corresponding to the subject-by-effect interactions;
(d) with R-side TYPE=UN only, every effect gets the between-subject df.

Implemented (as openpharma/mmrm's "Between-Within" vignette writes (a)-(b) for one grouping
level): between df = S − (1 + p_between), S the subjects with an analysed observation and
p_between the columns of terms that never change within a subject; within df =
N − (S + p_within), p_within the columns of terms that change within some subject; the
intercept gets the within df; (d) as SAS.

Why (c) changes nothing for the models this project fits — outcome ~ group + time +
group:time + covariates that are constant within subject (baseline score, sex, age, site):
the within-subject effects containing classification variables are time and group:time. A
subject is in one group, so on the observed rows the map (subject, group, time) → (subject,
time) is one-to-one: the subject × group × time interaction has exactly the levels, hence the
indicator matrix and column space, of subject × time. (c) therefore yields a single component,
subject × time, shared by both effects. Its df is rank(Z_subject×time) − rank(Z_subject) minus
the within columns of X: every observation is its own subject × time cell (at most one row per
subject and time), so rank(Z_subject×time) = N, rank(Z_subject) = S, and the between columns
of X lie in span(Z_subject) — giving N − S − p_within, the within df above, for time and
group:time alike. (``test_mmrm_between_within.py`` checks the rank identity on unbalanced data
with dropout.) Published SAS numbers agree: PROTOCOL.md §10's F(2, 55) for group × time with
30 patients and 89 observations (89 − 30 − 4) and F(1, 28) for the two-visit outcomes
(60 − 30 − 2); a partition that split subject × time between time and group:time could not
give 55.

Where SAS's full rule can differ, not implemented and not verified against a SAS listing
(none with such a design was found in openpharma/mmrm ``design/SAS/`` or the SAS
documentation's examples): a covariate that changes within subject — a within-subject
classification covariate adds a second subject-by-effect component, and for a numeric one the
documentation does not say which component it joins — and SAS's use of the number of subjects
in which an effect changes (openpharma/mmrm's vignette lists it among the SAS differences).
Those fits use the pooled within df above and say so in their warnings
(``WITHIN_COVARIATE_WARNING``).

Residual: N − rank(X).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .design import Design

__all__ = [
    "DDF_METHODS",
    "WITHIN_COVARIATE_WARNING",
    "BetweenWithin",
    "between_within",
    "residual_df",
]

DDF_METHODS = ("between-within", "residual", "satterthwaite", "kenward-roger")

IntArray = NDArray[np.intp]

WITHIN_COVARIATE_WARNING = (
    "covariate {names} changes within subjects: its between-within df pool the within-subject "
    "df (Schluchter & Elashoff); SAS may partition them by subject-by-effect interaction, so "
    "the df can differ from PROC MIXED's"
)


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
    # per term (column_term + 1: slot 0 is the intercept): its number of columns and whether
    # any of them varies within a subject
    slot = design.column_term + 1
    n_slots = len(design.terms) + 1
    sizes = np.bincount(slot, minlength=n_slots)[1:].tolist()
    term_varies = (np.bincount(slot, weights=varies, minlength=n_slots)[1:] > 0).tolist()
    within = {term.name: bool(w) for term, w in zip(design.terms, term_varies, strict=True)}
    p_within = sum(size for size, w in zip(sizes, term_varies, strict=True) if w)
    p_between = sum(sizes) - p_within
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
