"""Model matrices, level ordering, Type 3 and LS-mean contrast rows for the MMRM.

Parametrisation (documented choice): R's treatment contrasts, full rank, with the *first* level
of every class variable as reference (the first level of ``--group-order`` / ``--time-order``,
else the alphabetically first). SAS's less-than-full-rank coding sets the *last* level to zero
instead; both span the same column space, so likelihood, covariance parameters, Type 3 tests,
LS means and their differences are identical — only the individual fixed-effect coefficients
differ (they are then R's ``coef(gls(...))``, checked against nlme in
``tests/reference/mmrm``).

Type 3 hypotheses are built as SAS builds them for a full-rank cell structure: the Wald test of
each term's coefficients under sum-to-zero (``contr.sum``) coding, mapped back onto the
treatment-coded coefficients (SAS/STAT User's Guide, "Type III Tests" in "The Four Types of
Estimable Functions"). This equals SAS's Type 3 whenever every combination of the class
variables in an interaction occurs in the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["ClassVar", "Design", "NumericVar", "Term", "build_design", "order_levels"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


def order_levels(values: list[str], order: list[str] | None, field_name: str) -> tuple[str, ...]:
    """Levels as given by ``order`` (each value must be listed), else sorted alphabetically.

    Raises ``ValueError`` naming the unknown or unlisted level.
    """
    present = sorted(set(values))
    if order is None:
        return tuple(present)
    if len(set(order)) != len(order):
        raise ValueError(f"{field_name}: duplicated level in the order {order}")
    unknown = [lev for lev in order if lev not in present]
    if unknown:
        raise ValueError(f"{field_name}: unknown level {unknown[0]!r} (present: {present})")
    missing = [lev for lev in present if lev not in order]
    if missing:
        raise ValueError(f"{field_name}: level {missing[0]!r} is not listed in the given order")
    return tuple(order)


@dataclass(frozen=True)
class ClassVar:
    """A classification variable: integer codes into ``levels``."""

    name: str
    codes: IntArray
    levels: tuple[str, ...]


@dataclass(frozen=True)
class NumericVar:
    """A continuous covariate."""

    name: str
    values: FloatArray


@dataclass(frozen=True)
class Term:
    """A model term: a product of class variables, or one numeric covariate."""

    name: str
    factors: tuple[str, ...]
    numeric: bool = False


@dataclass(frozen=True)
class Design:
    """Full-rank treatment-coded X with, per column, the index of its term."""

    x: FloatArray
    column_names: tuple[str, ...]
    column_term: IntArray  # index into terms, -1 for the intercept
    terms: tuple[Term, ...]
    type3_l: dict[str, FloatArray] = field(default_factory=dict)
    class_vars: dict[str, ClassVar] = field(default_factory=dict)
    numeric_vars: dict[str, NumericVar] = field(default_factory=dict)

    def term_columns(self, term_index: int) -> IntArray:
        return np.flatnonzero(self.column_term == term_index)

    def reference_row(self, fixed: dict[str, int]) -> FloatArray:
        """One row of L: class variables in ``fixed`` at the given level, the other class
        variables averaged with equal weights, numeric covariates at their means
        (SAS LSMEANS / emmeans defaults)."""
        parts: list[FloatArray] = [np.ones(1)]
        for term in self.terms:
            if term.numeric:
                parts.append(np.array([float(np.mean(self.numeric_vars[term.factors[0]].values))]))
                continue
            block = np.ones(1)
            for fac in term.factors:
                levels = self.class_vars[fac].levels
                k = len(levels)
                if fac in fixed:
                    vec = np.zeros(k - 1)
                    if fixed[fac] > 0:
                        vec[fixed[fac] - 1] = 1.0
                else:
                    vec = np.full(k - 1, 1.0 / k)
                block = np.outer(block, vec).ravel()
            parts.append(block)
        return np.concatenate(parts)


def _treatment(codes: IntArray, k: int) -> FloatArray:
    out = np.zeros((codes.size, k - 1))
    rows = np.flatnonzero(codes > 0)
    out[rows, codes[rows] - 1] = 1.0
    return out


def _sum_coding(codes: IntArray, k: int) -> FloatArray:
    out = np.zeros((codes.size, k - 1))
    rows = np.flatnonzero(codes < k - 1)
    out[rows, codes[rows]] = 1.0
    out[codes == k - 1, :] = -1.0
    return out


def _row_kron(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.asarray((a[:, :, None] * b[:, None, :]).reshape(a.shape[0], -1), dtype=np.float64)


def build_design(
    terms: tuple[Term, ...],
    class_vars: dict[str, ClassVar],
    numeric_vars: dict[str, NumericVar],
    n_obs: int,
) -> Design:
    """Build X (intercept + terms in order) and the Type 3 contrast of each term."""
    blocks_t: list[FloatArray] = [np.ones((n_obs, 1))]
    blocks_s: list[FloatArray] = [np.ones((n_obs, 1))]
    names: list[str] = ["(Intercept)"]
    owner: list[int] = [-1]
    for ti, term in enumerate(terms):
        if term.numeric:
            col = numeric_vars[term.factors[0]].values.reshape(-1, 1).astype(np.float64)
            bt, bs = col, col
            labels = [term.name]
        else:
            bt = np.ones((n_obs, 1))
            bs = np.ones((n_obs, 1))
            labels = [""]
            for fac in term.factors:
                cv = class_vars[fac]
                k = len(cv.levels)
                bt = _row_kron(bt, _treatment(cv.codes, k))
                bs = _row_kron(bs, _sum_coding(cv.codes, k))
                labels = [
                    f"{lab}:{fac}[{lev}]" if lab else f"{fac}[{lev}]"
                    for lab in labels
                    for lev in cv.levels[1:]
                ]
        blocks_t.append(bt)
        blocks_s.append(bs)
        names.extend(labels)
        owner.extend([ti] * bt.shape[1])
    x_t = np.hstack(blocks_t)
    x_s = np.hstack(blocks_s)
    column_term = np.asarray(owner, dtype=np.intp)
    # X_s = X_t M exactly (same column space); beta_s = M^{-1} beta_t.
    m_mat, *_ = np.linalg.lstsq(x_t, x_s, rcond=None)
    m_inv = np.linalg.inv(m_mat)
    type3: dict[str, FloatArray] = {}
    for ti, term in enumerate(terms):
        cols = np.flatnonzero(column_term == ti)
        type3[term.name] = np.asarray(m_inv[cols, :], dtype=np.float64)
    return Design(
        x=x_t,
        column_names=tuple(names),
        column_term=column_term,
        terms=terms,
        type3_l=type3,
        class_vars=class_vars,
        numeric_vars=numeric_vars,
    )
