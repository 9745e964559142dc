"""Everything about an MMRM analysis that depends on the data *layout* but not on the outcome.

A layout is the subject / group / time codes, the covariates, the level tuples and the
covariance structure. For a given layout the design matrix X, its rank, the grouping of
subjects by missingness pattern, the compound-symmetry sums of X (per-subject sums, X'X),
between-within df, the Type 3 hypothesis matrices and every LS-mean / difference / coefficient
contrast row are fixed; only y changes. The batched trial simulator refits the same layout
thousands of times, and a single analysis of the trial's size is dominated by building these
objects (profiling with cProfile: ~70 % of a 2 ms call before this module existed), so they are
built once and memoised here.

The memo is a small least-recently-used table keyed by the exact bytes of the code and
covariate arrays (and the level names and structure), so a hit can only return the layout of
identical inputs: results are the same with or without it. It holds at most ``MAX_LAYOUTS``
entries and is guarded by a lock (the web app may analyse from several threads).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .cs_profile import ProfileSums, SubjectXSums, subject_x_sums
from .ddf import BetweenWithin, between_within, residual_df
from .design import ClassVar, Design, NumericVar, Term, build_design
from .engine import Pattern, PatternData

__all__ = ["GROUP", "MAX_LAYOUTS", "TIME", "Layout", "clear_layout_cache", "get_layout"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

GROUP = "group"
TIME = "time"
MAX_LAYOUTS = 32


@dataclass(frozen=True)
class PatternSkeleton:
    """One missingness pattern without y: rows of the caller's arrays, X block, subjects."""

    idx: IntArray
    rows: IntArray  # (n_s * k,) row indices into the caller's arrays, subject-major
    n_s: int
    k: int
    x: FloatArray  # (n_s, k, p)
    subjects: IntArray


@dataclass(frozen=True)
class Layout:
    """Outcome-independent pieces of one analysis (see the module docstring)."""

    design: Design
    subject: IntArray  # the caller's codes (for the missingness patterns, built on demand)
    time: IntArray
    n_times: int
    # rows sorted by subject (stable) and where each subject starts: per-subject sums of y
    subject_order: IntArray
    subject_starts: IntArray
    n_obs: int
    n_subjects: int
    n_per_group: tuple[int, int]
    bw: BetweenWithin
    resid_df: float
    cs_sums: SubjectXSums  # compound-symmetry sums of X (cs_profile.subject_x_sums)
    # stacked contrast rows: coefficients (p), LS means (groups × times), differences (times)
    l_all: FloatArray
    n_fixed: int
    n_lsmeans: int
    bw_df_all: FloatArray  # the between-within df of each row of l_all
    lsmean_df_term: str
    # Type 3: every term's hypothesis rows stacked and zero-padded to the largest numerator
    # df, (terms, q_max, p), with an identity on the padded diagonal so that all the Wald
    # statistics are one batched solve (``model._stacked_contrasts``)
    type3_stack: FloatArray
    type3_pad: FloatArray
    type3_q: IntArray

    @functools.cached_property
    def skeletons(self) -> tuple[PatternSkeleton, ...]:
        """The missingness patterns, grouped on first use: the profiled CS fit with
        between-within or residual df never needs them (``model.analyse_arrays``)."""
        return _skeletons(self.subject, self.time, self.design.x, self.n_times)

    def pattern_data(self, y: FloatArray) -> PatternData:
        """Group ``y`` (in the caller's row order) into the cached patterns."""
        return _data(self.skeletons, y, self.n_obs, self.n_subjects, self.design.x.shape[1])

    def cs_y_sums(self, y: FloatArray) -> ProfileSums:
        """The sums of the profiled CS fit (``cs_profile``) for outcome ``y``: per-subject
        sums of y (subjects in code order, as ``cs_sums``), X'y and y'y."""
        sy = np.add.reduceat(y[self.subject_order], self.subject_starts)
        return self.cs_sums.with_y(
            sy,
            self.design.x.T @ y,
            float(y @ y),
            self.n_obs,
            (self.bw.between_df, self.bw.within_df),
        )


def _data(
    skeletons: tuple[PatternSkeleton, ...], y: FloatArray, n_obs: int, n_subjects: int, p: int
) -> PatternData:
    pats = tuple(
        Pattern(idx=sk.idx, x=sk.x, y=y[sk.rows].reshape(sk.n_s, sk.k), subjects=sk.subjects)
        for sk in skeletons
    )
    return PatternData(patterns=pats, n_obs=n_obs, n_subjects=n_subjects, n_coef=p)


def _skeletons(
    subject: IntArray, time: IntArray, x: FloatArray, n_times: int
) -> tuple[PatternSkeleton, ...]:
    """The grouping of ``engine.group_patterns``, kept as row indices (same order, same checks)."""
    order = np.lexsort((time, subject))
    s_sorted = subject[order]
    t_sorted = time[order]
    n = s_sorted.size
    same_subject = s_sorted[1:] == s_sorted[:-1]
    if np.any(same_subject & (t_sorted[1:] == t_sorted[:-1])):
        raise ValueError("a subject has more than one observation at the same time level")
    if n_times > 62:  # pragma: no cover - more than 62 visits
        raise ValueError("at most 62 time levels are supported")
    new_subject = np.empty(n, dtype=bool)
    new_subject[0] = True
    np.logical_not(same_subject, out=new_subject[1:])
    starts = np.flatnonzero(new_subject)
    counts = np.diff(np.append(starts, n))
    masks = np.add.reduceat(np.left_shift(1, t_sorted.astype(np.int64)), starts)
    subj_ids = s_sorted[starts]
    bits = np.arange(n_times, dtype=np.int64)
    out: list[PatternSkeleton] = []
    for mask in np.unique(masks):
        members = np.flatnonzero(masks == mask)
        k = int(counts[members[0]])
        rows = order[(starts[members][:, None] + np.arange(k)).ravel()]
        out.append(
            PatternSkeleton(
                idx=np.flatnonzero((mask >> bits) & 1),
                rows=rows,
                n_s=int(members.size),
                k=k,
                x=x[rows].reshape(members.size, k, x.shape[1]),
                subjects=subj_ids[members],
            )
        )
    return tuple(out)


def _df_term(names: list[str]) -> str:
    for candidate in (f"{GROUP}:{TIME}", TIME, GROUP):
        if candidate in names:
            return candidate
    return names[0]  # pragma: no cover - group, time and group:time are always present


def _build(
    subject: IntArray,
    group: IntArray,
    time: IntArray,
    group_levels: tuple[str, ...],
    time_levels: tuple[str, ...],
    covariates: tuple[ClassVar | NumericVar, ...],
    covariance: str,
    type3_basis: str,
) -> Layout:
    n = time.size
    class_vars: dict[str, ClassVar] = {
        GROUP: ClassVar(GROUP, group, group_levels),
        TIME: ClassVar(TIME, time, time_levels),
    }
    numeric_vars: dict[str, NumericVar] = {}
    terms = [Term(GROUP, (GROUP,)), Term(TIME, (TIME,)), Term(f"{GROUP}:{TIME}", (GROUP, TIME))]
    for cov in covariates:
        if isinstance(cov, ClassVar):
            class_vars[cov.name] = cov
            terms.append(Term(cov.name, (cov.name,)))
        else:
            numeric_vars[cov.name] = cov
            terms.append(Term(cov.name, (cov.name,), numeric=True))
    design = build_design(  # checks the rank of X
        tuple(terms), class_vars, numeric_vars, n, type3_basis=type3_basis
    )
    x = design.x
    p = x.shape[1]
    if n <= p:
        raise ValueError("too few observations for the number of fixed effects")
    n_times = len(time_levels)
    if n > 1 and np.bincount(subject * n_times + time).max() > 1:
        raise ValueError("a subject has more than one observation at the same time level")
    order = np.argsort(subject, kind="stable")
    s_sorted = subject[order]
    same_subject = s_sorted[1:] == s_sorted[:-1]
    starts = np.flatnonzero(np.concatenate(([True], ~same_subject)))
    n_subjects = int(starts.size)
    subj_group = group[order][starts]  # each subject's group (one group per subject)
    n1 = int(np.count_nonzero(subj_group == 0))
    n2 = int(np.count_nonzero(subj_group == 1))
    x_sorted = x[order]
    # a column varies within a subject iff two consecutive rows of one subject differ
    varies = np.any((np.abs(np.diff(x_sorted, axis=0)) > 1e-12) & same_subject[:, None], axis=0)
    bw = between_within(design, subject, n_subjects, covariance, varies)
    term_names = [t.name for t in design.terms]
    df_term = _df_term(term_names)
    bw_df: list[float] = [
        bw.intercept_df if int(owner) < 0 else bw.term_df[design.terms[int(owner)].name]
        for owner in design.column_term
    ]
    n_g, n_t = len(group_levels), len(time_levels)
    # LS-mean rows (group-major) and the differences first group − second group per time
    cells = design.reference_rows(
        {GROUP: np.repeat(np.arange(n_g), n_t), TIME: np.tile(np.arange(n_t), n_g)}
    )
    diffs = cells[:n_t] - cells[n_t : 2 * n_t]
    bw_df.extend([bw.term_df[df_term]] * (n_g * n_t + n_t))
    q_terms = np.array([design.type3_l[t.name].shape[0] for t in design.terms], dtype=np.intp)
    q_max = int(q_terms.max())
    type3_stack = np.zeros((q_terms.size, q_max, p))
    for i, term in enumerate(design.terms):
        type3_stack[i, : q_terms[i]] = design.type3_l[term.name]
    padded = np.arange(q_max)[None, :] >= q_terms[:, None]  # (terms, q_max)
    type3_pad = padded[:, :, None] * np.eye(q_max)
    return Layout(
        design=design,
        # copies: the memo outlives the call, and the caller may reuse its arrays
        subject=subject.copy(),
        time=time.copy(),
        n_times=n_times,
        subject_order=order,
        subject_starts=starts,
        n_obs=n,
        n_subjects=n_subjects,
        n_per_group=(n1, n2),
        bw=bw,
        resid_df=residual_df(design),
        cs_sums=subject_x_sums(
            np.diff(np.append(starts, n)).astype(np.float64),
            np.add.reduceat(x_sorted, starts),
            x.T @ x,
        ),
        l_all=np.vstack([np.eye(p), cells, diffs]),
        n_fixed=p,
        n_lsmeans=len(group_levels) * len(time_levels),
        bw_df_all=np.asarray(bw_df, dtype=np.float64),
        lsmean_df_term=df_term,
        type3_stack=type3_stack,
        type3_pad=type3_pad,
        type3_q=q_terms,
    )


_CACHE: OrderedDict[tuple[object, ...], Layout] = OrderedDict()
_LOCK = threading.Lock()


def clear_layout_cache() -> None:
    """Forget every memoised layout (benchmarks use it to time a cold analysis)."""
    with _LOCK:
        _CACHE.clear()


def get_layout(
    subject: IntArray,
    group: IntArray,
    time: IntArray,
    group_levels: tuple[str, ...],
    time_levels: tuple[str, ...],
    covariates: tuple[ClassVar | NumericVar, ...],
    covariance: str,
    type3_basis: str = "orthonormal",
) -> Layout:
    """The layout of these inputs, from the memo when identical inputs were seen before.

    Raises ``ValueError`` as ``fit_arrays`` does (rank-deficient X, too few observations,
    a subject observed twice at one time level).
    """
    cov_key: list[object] = []
    for cov in covariates:
        if isinstance(cov, ClassVar):
            codes = np.ascontiguousarray(cov.codes, dtype=np.intp)
            cov_key.append(("c", cov.name, cov.levels, codes.tobytes()))
        else:
            vals = np.ascontiguousarray(cov.values, dtype=np.float64)
            cov_key.append(("n", cov.name, vals.tobytes()))
    key = (
        subject.tobytes(),
        group.tobytes(),
        time.tobytes(),
        group_levels,
        time_levels,
        tuple(cov_key),
        # UN changes the between-within rule; every other structure shares a layout
        covariance == "un",
        type3_basis,
    )
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    layout = _build(
        subject, group, time, group_levels, time_levels, covariates, covariance, type3_basis
    )
    with _LOCK:
        _CACHE[key] = layout
        _CACHE.move_to_end(key)
        while len(_CACHE) > MAX_LAYOUTS:
            _CACHE.popitem(last=False)
    return layout
