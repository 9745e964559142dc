"""The MMRM of PROTOCOL.md §9: outcome ~ group + time + group:time + covariates, repeated
measures within subject, as SAS PROC MIXED fits it (REPEATED time / SUBJECT=subject TYPE=...).

Two entry points:

* ``analyse_arrays`` — integer codes and float arrays only (what the batched trial simulator
  calls; no pandas);
* ``fit_mmrm`` / ``MMRM(...).fit(frame)`` — a long-format DataFrame front-end that validates
  columns and levels and drops rows with a missing outcome (counted), keeping every subject
  with what it has (missing visits as in PROC MIXED).

AIC and BIC follow SAS's "Fit Statistics": for REML, AIC = −2 l_R + 2q and BIC = −2 l_R + q·log S
with q covariance parameters; for ML, q + p parameters. S is the number of subjects in the
input data, *including* subjects whose outcomes are all missing, as SAS counts them
(openpharma/mmrm ``design/SAS/sas_resid_un.txt``: BIC 3439.4 = 3386.45 + 10·log 200 although
only 197 subjects have an observation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ...errors import InvalidInput
from .covariance import STRUCTURES
from .ddf import DDF_METHODS
from .design import ClassVar, NumericVar, Term, build_design, order_levels
from .fit import fit_arrays
from .inference import make_context
from .lsmeans import differences, ls_means
from .result import FixedEffect, MMRMResult
from .type3 import type3_tests

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["MMRM", "analyse_arrays", "fit_mmrm"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

GROUP = "group"
TIME = "time"


def analyse_arrays(
    subject: IntArray,
    group: IntArray,
    time: IntArray,
    y: FloatArray,
    group_levels: tuple[str, ...],
    time_levels: tuple[str, ...],
    covariates: tuple[ClassVar | NumericVar, ...] = (),
    *,
    covariance: str = "cs",
    ddf: str = "between-within",
    reml: bool = True,
    n_subjects_total: int | None = None,
    n_missing_outcome_dropped: int = 0,
) -> MMRMResult:
    """Fit and analyse from arrays. ``subject`` are codes 0..S-1 (every code present),
    ``group``/``time`` codes into the level tuples (first level = reference and the minuend of
    the differences), ``y`` without missing values."""
    n = y.size
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
    design = build_design(tuple(terms), class_vars, numeric_vars, n)
    fit = fit_arrays(subject, time, design.x, y, len(time_levels), covariance, reml=reml)
    ctx = make_context(fit, design, subject, ddf)
    fixed: list[FixedEffect] = []
    eye = np.eye(design.x.shape[1])
    for ci, name in enumerate(design.column_names):
        owner = int(design.column_term[ci])
        res = ctx.contrast(eye[ci], None if owner < 0 else design.terms[owner].name)
        fixed.append(FixedEffect(name, res.estimate, res.se, res.df, res.t, res.p))
    subj_group = np.zeros(fit.data.n_subjects, dtype=np.intp)
    subj_group[subject] = group
    n1 = int(np.sum(subj_group == 0))
    n2 = int(np.sum(subj_group == 1))
    q = fit.structure.n_params
    k = q if reml else q + design.x.shape[1]
    m2 = -2.0 * fit.loglik
    s_total = n_subjects_total if n_subjects_total is not None else fit.data.n_subjects
    names = fit.structure.param_names(time_levels)
    return MMRMResult(
        n_subjects=fit.data.n_subjects,
        n_observations=n,
        covariance_structure=covariance,
        method="REML" if reml else "ML",
        ddf_method=ddf,
        loglik=fit.loglik,
        aic=m2 + 2.0 * k,
        bic=m2 + k * math.log(s_total),
        covariance_parameters={nm: float(v) for nm, v in zip(names, fit.theta, strict=True)},
        fixed_effects=tuple(fixed),
        type3=type3_tests(ctx),
        lsmeans=ls_means(ctx, GROUP, TIME),
        differences=differences(ctx, GROUP, TIME, (n1, n2)),
        converged=fit.converged,
        iterations=fit.iterations,
        n_missing_outcome_dropped=n_missing_outcome_dropped,
        warnings=fit.warnings + ctx.warnings,
    )


@dataclass(frozen=True)
class MMRM:
    """Options of the model (scikit-learn style: ``fit`` does the work)."""

    subject: str
    group: str
    time: str
    outcome: str
    covariates: tuple[str, ...] = ()
    time_order: tuple[str, ...] | None = None
    group_order: tuple[str, ...] | None = None
    covariance: str = "cs"
    ddf: str = "between-within"
    reml: bool = True

    def fit(self, frame: pd.DataFrame) -> MMRMResult:
        return fit_mmrm(
            frame,
            subject=self.subject,
            group=self.group,
            time=self.time,
            outcome=self.outcome,
            covariates=self.covariates,
            time_order=self.time_order,
            group_order=self.group_order,
            covariance=self.covariance,
            ddf=self.ddf,
            reml=self.reml,
        )


def _as_labels(values: pd.Series) -> list[str]:
    return [str(v) for v in values.tolist()]


def fit_mmrm(
    frame: pd.DataFrame,
    *,
    subject: str,
    group: str,
    time: str,
    outcome: str,
    covariates: tuple[str, ...] | list[str] = (),
    time_order: tuple[str, ...] | list[str] | None = None,
    group_order: tuple[str, ...] | list[str] | None = None,
    covariance: str = "cs",
    ddf: str = "between-within",
    reml: bool = True,
) -> MMRMResult:
    """Validate a long-format DataFrame and fit the MMRM. Raises ``InvalidInput`` naming the
    column, level or option at fault."""
    import pandas as pd

    if covariance not in STRUCTURES:
        raise InvalidInput("covariance", f"must be one of {', '.join(STRUCTURES)}", covariance)
    if ddf not in DDF_METHODS:
        raise InvalidInput("ddf", f"must be one of {', '.join(DDF_METHODS)}", ddf)
    needed = [subject, group, time, outcome, *covariates]
    for col in needed:
        if col not in frame.columns:
            raise InvalidInput(col, f"no column {col!r} in the data", col)
    if len(set(needed)) != len(needed):
        raise InvalidInput("columns", "a column is used in two roles", needed)
    df = frame[needed].copy()
    for col in (subject, group, time, *covariates):
        if df[col].isna().any():
            raise InvalidInput(col, f"column {col!r} has missing values", None)
    y_raw = df[outcome]
    if not pd.api.types.is_numeric_dtype(y_raw):
        converted = pd.to_numeric(y_raw, errors="coerce")
        bad = y_raw[converted.isna() & y_raw.notna() & (y_raw.astype(str).str.strip() != "")]
        if len(bad):
            raise InvalidInput(
                outcome, f"outcome column {outcome!r} is not numeric (e.g. {bad.iloc[0]!r})"
            )
        df[outcome] = converted
    all_subjects = df[subject].nunique()
    keep = df[outcome].notna().to_numpy()
    dropped = int((~keep).sum())
    df = df.loc[keep]
    try:
        g_levels = order_levels(_as_labels(df[group]), _list(group_order), "group-order")
        t_levels = order_levels(_as_labels(df[time]), _list(time_order), "time-order")
    except ValueError as exc:
        field_name = str(exc).split(":", 1)[0]
        raise InvalidInput(field_name, str(exc).split(": ", 1)[1]) from None
    if len(g_levels) < 2:
        raise InvalidInput(group, "need at least two groups")
    if len(t_levels) < 2:
        raise InvalidInput(time, "need at least two time levels")
    subj_labels = _as_labels(df[subject])
    subj_levels = sorted(set(subj_labels))
    n_subj = len(subj_levels)
    if n_subj < 3 or n_subj <= len(g_levels):
        raise InvalidInput(subject, f"too few subjects with an observed outcome ({n_subj})")
    sub_codes = _codes(subj_labels, tuple(subj_levels))
    g_codes = _codes(_as_labels(df[group]), g_levels)
    t_codes = _codes(_as_labels(df[time]), t_levels)
    # a subject must stay in one group
    per_subject = pd.Series(g_codes).groupby(sub_codes).nunique()
    if int(per_subject.max()) > 1:
        raise InvalidInput(group, "a subject appears in more than one group")
    covs: list[ClassVar | NumericVar] = []
    for col in covariates:
        series = df[col]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            covs.append(NumericVar(col, series.to_numpy(dtype=np.float64)))
        else:
            labels = _as_labels(series)
            levels = tuple(sorted(set(labels)))
            covs.append(ClassVar(col, _codes(labels, levels), levels))
    y = df[outcome].to_numpy(dtype=np.float64)
    try:
        return analyse_arrays(
            sub_codes,
            g_codes,
            t_codes,
            y,
            g_levels,
            t_levels,
            tuple(covs),
            covariance=covariance,
            ddf=ddf,
            reml=reml,
            n_subjects_total=all_subjects,
            n_missing_outcome_dropped=dropped,
        )
    except ValueError as exc:
        raise InvalidInput("model", str(exc)) from None


def _list(value: tuple[str, ...] | list[str] | None) -> list[str] | None:
    return None if value is None else [str(v) for v in value]


def _codes(labels: list[str], levels: tuple[str, ...]) -> IntArray:
    lookup = {lev: i for i, lev in enumerate(levels)}
    return np.fromiter((lookup[v] for v in labels), dtype=np.intp, count=len(labels))
