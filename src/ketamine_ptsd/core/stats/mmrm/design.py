"""Model matrices, level ordering, Type 3 and LS-mean contrast rows for the MMRM.

Parametrisation (documented choice): R's treatment contrasts, full rank, with the *first* level
of every class variable as reference (the first level of ``--group-order`` / ``--time-order``,
else the alphabetically first). SAS's less-than-full-rank coding sets the *last* level to zero
instead; both span the same column space, so likelihood, covariance parameters, Type 3 tests,
LS means and their differences are identical — only the individual fixed-effect coefficients
differ (they are then R's ``coef(gls(...))``, checked against nlme in
``tests/reference/mmrm``).

Type 3 hypotheses are built as SAS builds them for a full-rank cell structure: the Wald test of
each term's coefficients under a zero-sum coding, mapped back onto the treatment-coded
coefficients (SAS/STAT User's Guide, "Type III Tests" in "The Four Types of Estimable
Functions"). This equals SAS's Type 3 whenever every combination of the class variables in an
interaction occurs in the data.

The *hypothesis* of a term does not depend on which zero-sum coding is used, but the *rows* of
its L do, and the multi-df Satterthwaite df (Fai & Cornelius 1996, as SAS computes it) depends
on the rows, not only on the hypothesis (docs/satterthwaite-f-df.md). ``TYPE3_BASES``:

* ``"orthonormal"`` (default): the rows of each term are orthonormal contrasts of its cell means
  (normalised Helmert codes; an interaction's rows are the Kronecker products of its factors').
  Reordering levels or choosing another reference maps them onto another orthonormal basis of
  the same space, an orthogonal change of rows, which leaves the Satterthwaite F df unchanged:
  every F test is invariant to ``--time-order`` / ``--group-order``.
* ``"reference"``: SAS's own Type 3 rows, each level minus the reference level (SAS's last
  level, our first; interactions as Kronecker products). This reproduces SAS's Satterthwaite
  F df when our first level is the level SAS uses as reference (``CLASS ... (REF=)``, default
  the last in SAS's sort order); the df then depend on that choice, as SAS's do.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import lapack

__all__ = [
    "TYPE3_BASES",
    "ClassVar",
    "Design",
    "NumericVar",
    "Term",
    "build_design",
    "order_levels",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

_geqrf = lapack.dgeqrf
_gesv = lapack.dgesv

TYPE3_BASES = ("orthonormal", "reference")


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
        codes = {name: np.array([level], dtype=np.intp) for name, level in fixed.items()}
        return np.asarray(self.reference_rows(codes)[0], dtype=np.float64)

    def reference_rows(self, fixed: dict[str, IntArray]) -> FloatArray:
        """Many rows of L at once: row i fixes each class variable in ``fixed`` at level
        ``fixed[name][i]`` (the rule of ``reference_row``). Built with the same codings as X,
        applied to the level codes, so no per-row Python work (the layout's LS-mean and
        difference rows)."""
        m = len(next(iter(fixed.values()))) if fixed else 1
        parts: list[FloatArray] = [np.ones((m, 1))]
        for term in self.terms:
            if term.numeric:
                mean = float(np.mean(self.numeric_vars[term.factors[0]].values))
                parts.append(np.full((m, 1), mean))
                continue
            sizes = tuple(len(self.class_vars[fac].levels) for fac in term.factors)
            if all(fac in fixed for fac in term.factors):
                # every factor at a given level: the rows of the term's coding table
                cell = np.zeros(m, dtype=np.intp)
                for fac, k in zip(term.factors, sizes, strict=True):
                    cell = cell * k + np.asarray(fixed[fac], dtype=np.intp)
                parts.append(_term_tables(sizes, TYPE3_BASES[0])[0][cell])
                continue
            block = np.ones((m, 1))
            for fac, k in zip(term.factors, sizes, strict=True):
                if fac in fixed:
                    vec = _treatment(np.asarray(fixed[fac], dtype=np.intp), k)
                else:
                    vec = np.full((m, k - 1), 1.0 / k)
                block = _row_kron(block, vec)
            parts.append(block)
        return np.hstack(parts)


@functools.lru_cache(maxsize=64)
def _tables(k: int, basis: str = "orthonormal") -> tuple[FloatArray, FloatArray]:
    """Per-level rows of the treatment coding (first level = reference) and of the zero-sum
    coding whose coefficients are the Type 3 rows of ``basis`` (``TYPE3_BASES``), for a
    k-level factor.

    orthonormal: normalised Helmert codes H (k × (k−1)), H'H = I and H'1 = 0, so the
    coefficients are H'μ for cell means μ: orthonormal contrasts. reference: K = D⁺ with
    D = [e_j − e_1]_{j ≥ 2}, so the coefficients are Dμ = μ_j − μ_1 (SAS's rows)."""
    treatment = np.eye(k)[:, 1:]
    if basis == "orthonormal":
        zero_sum = np.zeros((k, k - 1))
        for j in range(1, k):
            zero_sum[:j, j - 1] = 1.0
            zero_sum[j, j - 1] = -float(j)
            zero_sum[:, j - 1] /= np.sqrt(j * (j + 1.0))
    elif basis == "reference":
        diffs = np.hstack([-np.ones((k - 1, 1)), np.eye(k - 1)])
        zero_sum = np.asarray(np.linalg.pinv(diffs), dtype=np.float64)
    else:
        raise ValueError(f"unknown Type 3 basis {basis!r}; choose one of {TYPE3_BASES}")
    treatment.flags.writeable = False
    zero_sum.flags.writeable = False
    return treatment, zero_sum


def _treatment(codes: IntArray, k: int) -> FloatArray:
    """Treatment coding of level codes: row ``codes[i]`` of the k × (k−1) table."""
    return np.asarray(_tables(k)[0][codes], dtype=np.float64)


RANK_TOL = 1e-9


def _coding_change(x_t: FloatArray, x_s: FloatArray) -> FloatArray:
    """M⁻¹ where X_s = X_t M (treatment → zero-sum coding), with the rank check of X_t.

    Rank: Householder QR of X_t (LAPACK ``dgeqrf``; numpy's ``qr`` wrapper costs 10× more
    at this size). X_t has full column rank exactly when no column lies in the span of the
    columns before it, i.e. when every |R_jj| (the distance of column j from that span) is a
    non-negligible fraction of the column's norm (relative tolerance ``RANK_TOL``, scale-free
    so a covariate in large units is not mistaken for a constant).

    Coding change: X_s lies in the column space of X_t, so M = (X_t'X_t)⁻¹X_t'X_s exactly and
    M⁻¹ = (X_t'X_s)⁻¹X_t'X_t, one p × p solve (``dgesv``). (Before: an SVD for
    ``matrix_rank`` and another inside ``lstsq``.)

    Raises ``ValueError`` when X_t is rank deficient (an empty group × time cell, a constant
    covariate, a covariate collinear with the others)."""
    n, p = x_t.shape
    deficient = n < p
    if not deficient:
        qr, _, _, info = _geqrf(x_t)
        diag = np.abs(np.diagonal(qr)[:p])
        norms = np.sqrt(np.einsum("ij,ij->j", x_t, x_t))
        deficient = info != 0 or bool(np.any(diag <= RANK_TOL * np.maximum(norms, 1e-300)))
    if deficient:
        raise ValueError(
            "the design matrix is rank deficient (an empty group×time cell or a constant "
            "covariate?)"
        )
    xt_t = x_t.T
    _, _, m_inv, info = _gesv(xt_t @ x_s, xt_t @ x_t)
    if info != 0:  # pragma: no cover - X_t'X_s is invertible when X_t has full rank
        raise ValueError("the zero-sum coding does not span the design")
    return np.asarray(m_inv, dtype=np.float64)


def _row_kron(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.asarray((a[:, :, None] * b[:, None, :]).reshape(a.shape[0], -1), dtype=np.float64)


@functools.lru_cache(maxsize=64)
def _term_tables(sizes: tuple[int, ...], basis: str) -> tuple[FloatArray, FloatArray]:
    """The treatment and zero-sum codings (``_tables``) of a product of class variables with
    ``sizes`` levels, one row per combination of levels, row index ((l₁·k₂ + l₂)·k₃ + l₃)…:
    the row-wise Kronecker product of the factors' rows, as ``build_design`` codes an
    interaction. Depends only on the level counts, so it is built once."""
    table_t, table_s = _tables(sizes[0], basis)
    for k in sizes[1:]:
        treatment, zero_sum = _tables(k, basis)
        rows = table_t.shape[0]
        table_t = _row_kron(np.repeat(table_t, k, axis=0), np.tile(treatment, (rows, 1)))
        table_s = _row_kron(np.repeat(table_s, k, axis=0), np.tile(zero_sum, (rows, 1)))
    table_t.flags.writeable = False
    table_s.flags.writeable = False
    return table_t, table_s


def build_design(
    terms: tuple[Term, ...],
    class_vars: dict[str, ClassVar],
    numeric_vars: dict[str, NumericVar],
    n_obs: int,
    *,
    type3_basis: str = "orthonormal",
) -> Design:
    """Build X (intercept + terms in order) and the Type 3 contrast of each term, its rows in
    ``type3_basis`` (module docstring)."""
    if type3_basis not in TYPE3_BASES:
        raise ValueError(f"unknown Type 3 basis {type3_basis!r}; choose one of {TYPE3_BASES}")
    blocks_t: list[FloatArray] = [np.ones((n_obs, 1))]
    blocks_s: list[FloatArray] = [np.ones((n_obs, 1))]
    names: list[str] = ["(Intercept)"]
    spans: list[tuple[int, int]] = []
    owner: list[int] = [-1]
    for ti, term in enumerate(terms):
        if term.numeric:
            col = numeric_vars[term.factors[0]].values.reshape(-1, 1).astype(np.float64)
            bt, bs = col, col
            labels = [term.name]
        else:
            # the term's coding per combination of its factors' levels (a small table, the
            # row-wise Kronecker product of the factors' tables), then one row per
            # observation by indexing with the combined level code: the same products as
            # coding every row, without the n-row intermediate blocks
            cell = np.zeros(n_obs, dtype=np.intp)
            labels = [""]
            for fac in term.factors:
                cv = class_vars[fac]
                cell = cell * len(cv.levels) + cv.codes
                labels = [
                    f"{lab}:{fac}[{lev}]" if lab else f"{fac}[{lev}]"
                    for lab in labels
                    for lev in cv.levels[1:]
                ]
            sizes = tuple(len(class_vars[fac].levels) for fac in term.factors)
            table_t, table_s = _term_tables(sizes, type3_basis)
            bt, bs = table_t[cell], table_s[cell]
        blocks_t.append(bt)
        blocks_s.append(bs)
        names.extend(labels)
        spans.append((len(owner), len(owner) + bt.shape[1]))
        owner.extend([ti] * bt.shape[1])
    x_t = np.hstack(blocks_t)
    x_s = np.hstack(blocks_s)
    column_term = np.asarray(owner, dtype=np.intp)
    m_inv = _coding_change(x_t, x_s)
    type3 = {term.name: m_inv[lo:hi] for term, (lo, hi) in zip(terms, spans, strict=True)}
    return Design(
        x=x_t,
        column_names=tuple(names),
        column_term=column_term,
        terms=terms,
        type3_l=type3,
        class_vars=class_vars,
        numeric_vars=numeric_vars,
    )
