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
from scipy import special

from ...errors import InvalidInput
from .covariance import STRUCTURES, get_structure
from .ddf import DDF_METHODS, WITHIN_COVARIATE_WARNING
from .design import TYPE3_BASES, ClassVar, NumericVar, order_levels
from .effect_size import cohens_d_from_t
from .fit import CoreFit, fit_cs_sums, fit_patterns
from .inference import make_context
from .layout import GROUP, TIME, Layout, get_layout
from .lsmeans import differences, ls_means
from .result import Difference, FixedEffect, LsMean, MMRMResult, Type3Row
from .type3 import type3_tests

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["MAX_ABS_OUTCOME", "MMRM", "analyse_arrays", "fit_mmrm"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

MAX_ABS_OUTCOME = 1e50
"""Largest |outcome| accepted. The REML information of the covariance parameters scales as
y⁻⁴ and its inverse as y⁴, and the Kenward-Roger terms as higher powers, so huge outcomes
overflow or lose every digit. Measured on fev_data (tests/reference/mmrm) scaled by 10^k:
every structure (cs, un, ar1, csh, toep) and df method reproduces the unscaled estimates, SEs,
df and F to 1e-4 up to k = 52; Kenward-Roger silently drifts by 1–9 % from k = 54 and
Satterthwaite / between-within overflow at k = 80. 1e50 keeps two orders of margin below the
first failure and is far beyond any clinical scale. (Tiny units are fine down to k = −40 since
the fit's starting values and step criterion are relative to the data's scale.)"""


def _outcome_problem(y: FloatArray) -> int | None:
    """Index of the first value of ``y`` that is NaN, infinite or beyond ``MAX_ABS_OUTCOME``."""
    ok = np.abs(y) <= MAX_ABS_OUTCOME  # False for NaN and ±inf
    if bool(ok.all()):
        return None
    return int(np.flatnonzero(~ok)[0])


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
    type3_basis: str = "orthonormal",
) -> MMRMResult:
    """Fit and analyse from arrays. ``subject`` are codes 0..S-1 (every code present),
    ``group``/``time`` codes into the level tuples (first level = reference and the minuend of
    the differences), ``y`` without missing values.

    The outcome-independent work (design, Type 3 and LS-mean rows, missingness patterns,
    between-within df) comes from ``layout.get_layout``, memoised per layout; under
    between-within or residual df every coefficient, LS mean and difference is one stacked
    matrix product (``_stacked_contrasts``).

    ``type3_basis`` picks the rows of each Type 3 L (``design.TYPE3_BASES``): the F values are
    the same under both, the Satterthwaite F df are not (docs/satterthwaite-f-df.md)."""
    subject = np.ascontiguousarray(subject, dtype=np.intp)
    group = np.ascontiguousarray(group, dtype=np.intp)
    time = np.ascontiguousarray(time, dtype=np.intp)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if y.ndim != 1 or y.size != time.size or subject.size != y.size or group.size != y.size:
        raise ValueError("subject, group, time and y must be 1-D arrays of the same length")
    if ddf not in DDF_METHODS:
        raise ValueError(f"unknown ddf method {ddf!r}; choose one of {DDF_METHODS}")
    bad = _outcome_problem(y)
    if bad is not None:
        raise ValueError(
            f"y[{bad}] = {y[bad]} is not a finite number of magnitude at most {MAX_ABS_OUTCOME:g}"
        )
    structure = get_structure(covariance, len(time_levels))
    layout = get_layout(
        subject, group, time, group_levels, time_levels, covariates, covariance, type3_basis
    )
    design = layout.design
    if covariance == "cs":
        # profiled CS fit from sums; the per-pattern data only if something needs it later
        fit = fit_cs_sums(layout.cs_y_sums(y), structure, lambda: layout.pattern_data(y), reml=reml)
    else:
        fit = fit_patterns(layout.pattern_data(y), structure, reml=reml)
    if ddf in ("between-within", "residual"):
        fixed_t, type3, lsm, diffs = _stacked_contrasts(layout, fit, ddf, group_levels, time_levels)
        extra_warnings: tuple[str, ...] = ()
    else:
        ctx = make_context(fit, design, subject, ddf, bw=layout.bw, resid_df=layout.resid_df)
        fixed: list[FixedEffect] = []
        eye = np.eye(design.x.shape[1])
        for ci, name in enumerate(design.column_names):
            owner = int(design.column_term[ci])
            res = ctx.contrast(eye[ci], None if owner < 0 else design.terms[owner].name)
            fixed.append(FixedEffect(name, res.estimate, res.se, res.df, res.t, res.p))
        fixed_t = tuple(fixed)
        type3 = type3_tests(ctx)
        lsm = ls_means(ctx, GROUP, TIME)
        diffs = differences(ctx, GROUP, TIME, layout.n_per_group)
        extra_warnings = ctx.warnings
    within_covariates = [
        name
        for name, within in layout.bw.term_is_within.items()
        if within and name not in (GROUP, TIME, f"{GROUP}:{TIME}")
    ]
    if ddf == "between-within" and within_covariates and covariance != "un":
        extra_warnings += (WITHIN_COVARIATE_WARNING.format(names=", ".join(within_covariates)),)
    q = structure.n_params
    k = q if reml else q + design.x.shape[1]
    m2 = -2.0 * fit.loglik
    s_total = n_subjects_total if n_subjects_total is not None else layout.n_subjects
    names = structure.param_names(time_levels)
    return MMRMResult(
        n_subjects=layout.n_subjects,
        n_observations=layout.n_obs,
        covariance_structure=covariance,
        method="REML" if reml else "ML",
        ddf_method=ddf,
        loglik=fit.loglik,
        aic=m2 + 2.0 * k,
        bic=m2 + k * math.log(s_total),
        covariance_parameters={nm: float(v) for nm, v in zip(names, fit.theta, strict=True)},
        fixed_effects=fixed_t,
        type3=type3,
        lsmeans=lsm,
        differences=diffs,
        converged=fit.converged,
        iterations=fit.iterations,
        n_missing_outcome_dropped=n_missing_outcome_dropped,
        warnings=fit.warnings + extra_warnings,
        type3_basis=type3_basis,
    )


def _stacked_contrasts(
    layout: Layout,
    fit: CoreFit,
    ddf: str,
    group_levels: tuple[str, ...],
    time_levels: tuple[str, ...],
) -> tuple[
    tuple[FixedEffect, ...], tuple[Type3Row, ...], tuple[LsMean, ...], tuple[Difference, ...]
]:
    """Coefficients, LS means and differences as one product with the stacked rows of
    ``layout.l_all`` (same numbers as ``InferenceContext.contrast`` row by row), Type 3 per
    term. Only for between-within and residual df, whose df do not depend on the row."""
    beta = fit.beta
    cov = fit.cov_beta
    lmat = layout.l_all
    est = lmat @ beta
    var = ((lmat @ cov) * lmat).sum(axis=1)
    se = np.sqrt(np.maximum(var, 0.0))
    df = layout.bw_df_all if ddf == "between-within" else np.full(est.size, layout.resid_df)
    t = np.divide(est, se, out=np.full(est.size, np.nan), where=se > 0)
    ok = np.isfinite(t) & (df > 0)
    p = np.full(est.size, np.nan)
    p[ok] = 2.0 * special.stdtr(df[ok], -np.abs(t[ok]))
    design = layout.design
    n_fix = layout.n_fixed
    # Python floats once (``tolist``) rather than a numpy scalar conversion per field
    est_l, se_l, df_l, t_l, p_l = est.tolist(), se.tolist(), df.tolist(), t.tolist(), p.tolist()
    fixed = tuple(
        FixedEffect(name, est_l[i], se_l[i], df_l[i], t_l[i], p_l[i])
        for i, name in enumerate(design.column_names)
    )
    lsm: list[LsMean] = []
    i = n_fix
    for g in group_levels:
        for tl in time_levels:
            lsm.append(LsMean(g, tl, est_l[i], se_l[i], df_l[i]))
            i += 1
    diffs: list[Difference] = []
    n1, n2 = layout.n_per_group
    nan = float("nan")
    for tl in time_levels:
        t_i = t_l[i]
        eff = cohens_d_from_t(t_i, n1, n2) if math.isfinite(t_i) else None
        diffs.append(
            Difference(
                time=tl,
                estimate=est_l[i],
                se=se_l[i],
                df=df_l[i],
                t=t_i,
                p=p_l[i],
                d=eff.d if eff else nan,
                d_ci_low=eff.ci_low if eff else nan,
                d_ci_high=eff.ci_high if eff else nan,
            )
        )
        i += 1
    # Type 3 Wald F of every term at once: F = (Lβ)'(LCL')⁻¹(Lβ)/q on the zero-padded stack
    lt = layout.type3_stack
    lb = lt @ beta
    lcl = lt @ cov @ lt.transpose(0, 2, 1) + layout.type3_pad
    f_values = np.einsum("ti,ti->t", lb, np.linalg.solve(lcl, lb[:, :, None])[:, :, 0])
    f_values = f_values / layout.type3_q
    if ddf == "between-within":
        dens = np.array([layout.bw.term_df[term.name] for term in design.terms])
    else:
        dens = np.full(len(design.terms), layout.resid_df)
    ok_f = np.isfinite(dens) & (dens > 0)
    p_f = np.full(dens.size, np.nan)
    p_f[ok_f] = special.fdtrc(layout.type3_q[ok_f], dens[ok_f], f_values[ok_f])
    type3 = [
        Type3Row(
            term.name, int(layout.type3_q[i]), float(dens[i]), float(f_values[i]), float(p_f[i])
        )
        for i, term in enumerate(design.terms)
    ]
    return fixed, tuple(type3), tuple(lsm), tuple(diffs)


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
    type3_basis: str = "orthonormal"

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
            type3_basis=self.type3_basis,
        )


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
    type3_basis: str = "orthonormal",
) -> MMRMResult:
    """Validate a long-format DataFrame and fit the MMRM. Raises ``InvalidInput`` naming the
    column, level or option at fault.

    ``type3_basis``: ``"orthonormal"`` (default; F df invariant to level order) or
    ``"reference"`` (SAS's rows: reproduces PROC MIXED's Satterthwaite F df when the first
    level of each factor is SAS's reference level).

    Outcomes must be finite with |y| ≤ ``MAX_ABS_OUTCOME`` (missing values are dropped and
    counted); the error names the column and the row, counted as in a CSV file (header = row
    1, first data row = row 2).

    Each column is read once and factorised (``pandas.factorize``, a hash pass); levels are
    the distinct ``str`` labels, sorted unless an order is given, so only the distinct values
    are converted to text and every check after that is on integer codes."""
    import pandas as pd

    if covariance not in STRUCTURES:
        raise InvalidInput("covariance", f"must be one of {', '.join(STRUCTURES)}", covariance)
    if ddf not in DDF_METHODS:
        raise InvalidInput("ddf", f"must be one of {', '.join(DDF_METHODS)}", ddf)
    if type3_basis not in TYPE3_BASES:
        raise InvalidInput("type3_basis", f"must be one of {', '.join(TYPE3_BASES)}", type3_basis)
    needed = [subject, group, time, outcome, *covariates]
    for col in needed:
        if col not in frame.columns:
            raise InvalidInput(col, f"no column {col!r} in the data", col)
    if len(set(needed)) != len(needed):
        raise InvalidInput("columns", "a column is used in two roles", needed)
    columns = {col: frame[col] for col in needed}  # each column read once
    factors: dict[str, tuple[IntArray, list[str]]] = {}
    numeric_covariates: dict[str, FloatArray] = {}
    for col in (subject, group, time, *covariates):
        series = columns[col]
        if col in covariates and _is_numeric(series):
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            if bool(np.isnan(values).any()):
                raise InvalidInput(col, f"column {col!r} has missing values", None)
            numeric_covariates[col] = values
        else:
            factors[col] = _factor_column(series, col)
    y_raw = columns[outcome]
    if _is_numeric(y_raw):
        y_all = y_raw.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        converted = pd.to_numeric(y_raw, errors="coerce")
        bad = y_raw[converted.isna() & y_raw.notna() & (y_raw.astype(str).str.strip() != "")]
        if len(bad):
            raise InvalidInput(
                outcome, f"outcome column {outcome!r} is not numeric (e.g. {bad.iloc[0]!r})"
            )
        y_all = converted.to_numpy(dtype=np.float64, na_value=np.nan)
    present = ~np.isnan(y_all)
    dropped = int(present.size - np.count_nonzero(present))
    bad = _outcome_problem(y_all[present] if dropped else y_all)
    if bad is not None:
        pos = int(np.flatnonzero(present)[bad])
        raise InvalidInput(
            outcome,
            f"outcome column {outcome!r} row {pos + 2} (the header is row 1) holds "
            f"{y_raw.iloc[pos]}: outcomes must be finite numbers of magnitude at most "
            f"{MAX_ABS_OUTCOME:g}",
            y_raw.iloc[pos],
        )
    all_subjects = len(factors[subject][1])
    # rows with a missing outcome are dropped; without any, every label is present
    kept: dict[str, tuple[IntArray, list[str]]] = factors
    if dropped:
        kept = {col: (raw[present], labels) for col, (raw, labels) in factors.items()}
    try:
        g_levels = order_levels(
            _present(*kept[group], not dropped), _list(group_order), "group-order"
        )
        t_levels = order_levels(_present(*kept[time], not dropped), _list(time_order), "time-order")
    except ValueError as exc:
        field_name = str(exc).split(":", 1)[0]
        raise InvalidInput(field_name, str(exc).split(": ", 1)[1]) from None
    if len(g_levels) < 2:
        raise InvalidInput(group, "need at least two groups")
    if len(t_levels) < 2:
        raise InvalidInput(time, "need at least two time levels")
    subj_levels = tuple(_present(*kept[subject], not dropped))
    n_subj = len(subj_levels)
    if n_subj < 3 or n_subj <= len(g_levels):
        raise InvalidInput(subject, f"too few subjects with an observed outcome ({n_subj})")
    sub_codes = _recode(*kept[subject], subj_levels)
    g_codes = _recode(*kept[group], g_levels)
    t_codes = _recode(*kept[time], t_levels)
    # a subject must stay in one group: at most n_subj distinct (subject, group) pairs
    n_g = len(g_levels)
    if np.count_nonzero(np.bincount(sub_codes * n_g + g_codes, minlength=n_subj * n_g)) > n_subj:
        raise InvalidInput(group, "a subject appears in more than one group")
    covs: list[ClassVar | NumericVar] = []
    for col in covariates:
        series = columns[col]
        if col in numeric_covariates:
            values = numeric_covariates[col]
            infinite = np.flatnonzero(np.isinf(values))
            if infinite.size:
                pos = int(infinite[0])
                raise InvalidInput(
                    col,
                    f"covariate column {col!r} row {pos + 2} (the header is row 1) holds "
                    f"{series.iloc[pos]}: covariates must be finite",
                    series.iloc[pos],
                )
            covs.append(NumericVar(col, values[present] if dropped else values))
        else:
            levels = tuple(_present(*kept[col], not dropped))
            covs.append(ClassVar(col, _recode(*kept[col], levels), levels))
    y = y_all[present] if dropped else y_all
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
            type3_basis=type3_basis,
        )
    except ValueError as exc:
        raise InvalidInput("model", str(exc)) from None


def _is_numeric(series: pd.Series) -> bool:
    """Whether a column is read as numbers (pandas' numeric dtypes other than bool). A
    numpy integer or float dtype is answered from its kind (``is_numeric_dtype`` costs ~8 µs
    a call, a tenth of a trial-sized front end)."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, np.dtype):
        return dtype.kind in "iufc"
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


def _factor_column(series: pd.Series, col: str) -> tuple[IntArray, list[str]]:
    """Codes of a class column into its distinct ``str`` labels (``_factorize``), refusing
    missing values. A numpy integer or bool column has none and its distinct values have
    distinct labels, so it is factorised on the values; a pandas string column holds only
    ``str`` besides missing values, so its values are the labels."""
    import pandas as pd

    values = series.to_numpy()
    if values.dtype.kind in "iub":
        return _factorize(values, as_text=False)
    if bool(pd.isna(values).any()):
        raise InvalidInput(col, f"column {col!r} has missing values", None)
    return _factorize(values, as_text=not isinstance(series.dtype, pd.StringDtype))


def _factorize(values: NDArray[np.generic], *, as_text: bool = True) -> tuple[IntArray, list[str]]:
    """Codes of ``values`` into their distinct ``str`` labels (in order of appearance) and
    those labels. A dict pass for up to 50,000 rows (a trial: ~10× faster than
    ``pandas.factorize``, whose per-call overhead dominates there), ``pandas.factorize``
    beyond. ``as_text=False`` when equal labels come only from equal values (integers,
    bools, strings): the pass is then keyed by the values themselves."""
    if values.size > 50_000:
        import pandas as pd

        raw, uniques = pd.factorize(values)
        return raw.astype(np.intp), [str(v) for v in uniques.tolist()]
    lookup: dict[object, int] = {}
    items = values.tolist()
    if as_text:  # keyed by the label, as levels are compared
        codes = [lookup.setdefault(str(v), len(lookup)) for v in items]
    else:
        codes = [lookup.setdefault(v, len(lookup)) for v in items]
    return np.array(codes, dtype=np.intp), [str(v) for v in lookup]


def _present(raw: IntArray, labels: list[str], complete: bool = False) -> list[str]:
    """The distinct labels of the values that occur in ``raw``, sorted. ``complete``: ``raw``
    is a whole factorisation (no row dropped), in which every label occurs."""
    if complete:
        return sorted(set(labels))
    return sorted({labels[i] for i in np.unique(raw).tolist()})


def _recode(raw: IntArray, labels: list[str], levels: tuple[str, ...]) -> IntArray:
    """Codes into ``levels`` of values given as factorised codes ``raw`` with ``labels``
    (two raw values with the same label share a level, as when labels were compared)."""
    lookup = {lev: i for i, lev in enumerate(levels)}
    table = np.fromiter((lookup.get(lab, -1) for lab in labels), dtype=np.intp, count=len(labels))
    return np.asarray(table[raw], dtype=np.intp)


def _list(value: tuple[str, ...] | list[str] | None) -> list[str] | None:
    return None if value is None else [str(v) for v in value]
