"""Design of the group x time cumulative-logit model: levels, outcome codes, Type 3 contrasts.

Treatment contrasts with the first level as reference (R's default, so terms read like
``clmm``'s: ``groupB``, ``timeweek1``, ``groupB:timeweek1``), no intercept column (the
thresholds carry the location). Type 3 hypotheses are built from equal-weight averages of
cell coefficient vectors, which is SAS's Type 3 for a full-rank crossed design (PROC GLIMMIX
documentation, "Type III tests"; the same as car::Anova type III with sum-to-zero coding).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.ordinal._likelihood import FloatArray, IntArray


def level_order(values: Sequence[str], order: Sequence[str] | None, role: str) -> list[str]:
    present = sorted(set(values))
    if order is None:
        return present
    levels = [str(v) for v in order]
    unknown = [v for v in present if v not in levels]
    if unknown:
        raise InvalidInput(
            role, f"level {unknown[0]!r} is not in the given order {levels}", unknown[0]
        )
    missing = [v for v in levels if v not in present]
    if missing:
        raise InvalidInput(role, f"level {missing[0]!r} of the given order has no data", missing[0])
    return levels


def as_text(values: Sequence[Hashable], role: str) -> list[str]:
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            raise InvalidInput(role, "has a missing value", v)
        out.append(str(v))
    return out


def outcome_codes(outcome: Sequence[object]) -> list[int]:
    codes = []
    for v in outcome:
        if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
            raise InvalidInput("outcome", f"must be integer ordinal categories, got {v!r}", v)
        fv = float(v)
        if not math.isfinite(fv) or fv != round(fv):
            raise InvalidInput("outcome", f"must be integer ordinal categories, got {v!r}", v)
        codes.append(round(fv))
    return codes


@dataclass(frozen=True)
class OrdinalDesign:
    X: FloatArray
    terms: list[str]
    contrasts: dict[str, FloatArray]
    between_columns: list[int]
    effect_columns: dict[str, list[int]]


def build_design(
    subject_codes: IntArray,
    group: list[str],
    time: list[str],
    group_levels: list[str],
    time_levels: list[str],
    covariates: Mapping[str, Sequence[object]],
) -> OrdinalDesign:
    """Treatment-coded group, time, group:time (+ covariates), no intercept (thresholds)."""
    n = len(group)
    gi = np.array([group_levels.index(g) for g in group])
    ti = np.array([time_levels.index(t) for t in time])
    n_g, n_t = len(group_levels), len(time_levels)
    cols: list[FloatArray] = []
    terms: list[str] = []
    for g in range(1, n_g):
        cols.append((gi == g).astype(np.float64))
        terms.append(f"group{group_levels[g]}")
    for t in range(1, n_t):
        cols.append((ti == t).astype(np.float64))
        terms.append(f"time{time_levels[t]}")
    for g in range(1, n_g):
        for t in range(1, n_t):
            cols.append(((gi == g) & (ti == t)).astype(np.float64))
            terms.append(f"group{group_levels[g]}:time{time_levels[t]}")
    n_core = len(cols)
    for name, raw in covariates.items():
        if len(raw) != n:
            raise InvalidInput(name, f"has {len(raw)} values, expected {n}")
        if all(
            isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            for v in raw
        ):
            vals = np.asarray(raw, dtype=np.float64)
            if not np.all(np.isfinite(vals)):
                raise InvalidInput(name, "has a missing or non-finite value")
            cols.append(vals)
            terms.append(name)
        else:
            text = as_text([v for v in raw if isinstance(v, Hashable)], name)
            if len(text) != n:
                raise InvalidInput(name, "has values that are neither numbers nor text")
            levels = sorted(set(text))
            for lvl in levels[1:]:
                cols.append(np.array([v == lvl for v in text], dtype=np.float64))
                terms.append(f"{name}{lvl}")
    X = np.column_stack(cols) if cols else np.zeros((n, 0))
    # Cell-mean contrasts: each (g, t) cell's coefficient vector, then equal-weight averages,
    # which is SAS's Type 3 hypothesis for a full-rank crossed design.
    cell = np.zeros((n_g, n_t, X.shape[1]))
    for g in range(n_g):
        for t in range(n_t):
            if g > 0:
                cell[g, t, g - 1] = 1.0
            if t > 0:
                cell[g, t, n_g - 1 + t - 1] = 1.0
            if g > 0 and t > 0:
                cell[g, t, n_g - 1 + n_t - 1 + (g - 1) * (n_t - 1) + (t - 1)] = 1.0
    g_mean = cell.mean(axis=1)
    t_mean = cell.mean(axis=0)
    contrasts = {
        "group": g_mean[1:] - g_mean[0],
        "time": t_mean[1:] - t_mean[0],
        "group:time": np.eye(X.shape[1])[n_g - 1 + n_t - 1 : n_core],
    }
    between = []
    for j in range(X.shape[1]):
        col = X[:, j]
        firsts = np.zeros(int(subject_codes.max()) + 1)
        firsts[subject_codes] = col
        if np.allclose(col, firsts[subject_codes]):
            between.append(j)
    n_main_g, n_main_t = n_g - 1, n_t - 1
    effect_columns = {
        "group": list(range(n_main_g)),
        "time": list(range(n_main_g, n_main_g + n_main_t)),
        "group:time": list(range(n_main_g + n_main_t, n_core)),
    }
    return OrdinalDesign(
        X=X,
        terms=terms,
        contrasts=contrasts,
        between_columns=between,
        effect_columns=effect_columns,
    )


def den_df(design: OrdinalDesign, effect: str, n_subjects: int, n_obs: int) -> float:
    """Between-within denominator df (SAS DDFM=BETWITHIN; GLIMMIX's default containment method
    gives the same for this design).

    The residual df are split: an effect whose columns are constant within every subject
    (``group``, subject-level covariates) gets n_subjects - rank(between-subject columns + the
    threshold location); an effect that varies within subjects (``time``, ``group:time``) gets
    n_obs - n_subjects - rank(the within-subject columns). 30 subjects with 84 CGI-S
    observations give F(., 28) for group and F(., 50) for time and group:time, the F(2,50) of
    PROTOCOL.md §10.
    """
    X = design.X
    bcols = design.between_columns
    rank_between = 1 + (np.linalg.matrix_rank(X[:, bcols]) if bcols else 0)
    if all(j in bcols for j in design.effect_columns[effect]):
        return float(n_subjects - rank_between)
    full_rank = 1 + np.linalg.matrix_rank(X)
    return float(n_obs - n_subjects - (full_rank - rank_between))
