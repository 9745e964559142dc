"""Reference-based multiple imputation (the ``stats mi`` command): per-subject intercurrent
events and strategies, three inference methods, delta adjustment and the tipping point.

Why: PROTOCOL.md §9's primary MMRM assumes missing-at-random; ICH E9(R1) asks for estimands in
which patients who stop treatment lose its effect. Methods of Carpenter, Roger & Kenward (2013,
J Biopharm Stat 23:1352–1371) and Wolbers et al. (2022, Pharm Stat 21:1246–1257), as rbmi
(insightsengineering/rbmi) implements them; ``refbased.py`` holds the first, loop-based
version (conditional mean + jackknife) that this module's results are tested against.

Data: y (subjects × T, NaN = missing), two arms, numeric baseline covariates. Per subject an
intercurrent event (ICE): the first visit it affects and a strategy:

* MAR: missing values imputed from the subject's own arm; observed values after the ICE are
  kept in the imputation model.
* JR, CR, CIR, LMCF (non-MAR): observed outcomes from the ICE on are excluded from the fit of
  the imputation model, "and for this purpose only" (rbmi's ``draws``: they stay observed in the
  analysis and are conditioned on when imputing); missing values are imputed under the assumed
  mean μ, with μ_own / μ_ref the
  subject's mean in its own / the reference arm (same covariates), "last" = the visit before
  the ICE: JR μ_own before the ICE, μ_ref from it; CR μ_ref throughout; CIR
  μ_own[last] + (μ_ref − μ_ref[last]) from the ICE; LMCF μ_own[last] from the ICE. With the ICE
  at the first visit, JR and CIR are μ_ref throughout and LMCF is refused (no mean to carry).
* Subjects without an ICE whose outcomes are missing: MAR.

Imputation model: MMRM y ~ group·time + covariate·time, UN covariance shared by the arms, REML
(``refbased_reml``). Imputation: the conditional distribution of the imputed outcomes given the
subject's model outcomes, N(μ_m + Σ_mo Σ_oo⁻¹ (y_o − μ_o), Σ_mm − Σ_mo Σ_oo⁻¹ Σ_om). A
**delta** (subject × time) is then added to the imputed values only. Analysis model: at each
visit, ANCOVA y_t ~ group + covariates (least squares); the effect is the first arm of
``group_levels`` minus the second (as ``stats mmrm``), LS means at the covariates' means.

Methods:

* ``condmean-jackknife``: imputed values are the conditional means; estimate from all
  subjects; SE = √((n−1)/n Σ (θ̂₋ⱼ − θ̄)²) over the n leave-one-out refits (imputation model
  refitted, left-out data imputed and analysed); CI and p from the normal distribution.
* ``condmean-bootstrap``: the same with N bootstrap samples (subjects resampled with
  replacement within each arm, as rbmi stratifies by arm); SE = the bootstrap SD (ddof 1) of the
  estimates; CI and p from the normal distribution (rbmi's ``pool(type = "normal")``).
* ``approx-bayes``: N imputations; for each, the imputation model is refitted on a bootstrap
  sample (within arms) and the *original* data's imputed values drawn from the conditional
  distribution under those estimates (rbmi's ``method_approxbayes``); each completed data set
  analysed (estimate, SE, df n − k of the ANCOVA), pooled with Rubin's rules and the
  Barnard–Rubin (1999) degrees of freedom; CI and p from t.

Tipping point: a shift δ added to every imputed value of the **active arm** (the arm that is
not ``reference``), the reference arm untouched; δ moves the effect at the primary time point
towards no difference, and the tipping point is the smallest |δ| at which p ≥ α. The imputation
models do not depend on δ, so every δ reuses the same fits (and, for approx-Bayes, the same
random draws): the search costs analyses only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special
from scipy import stats as sps

from ketamine_ptsd.core.errors import InvalidInput

from .refbased import imputation_design
from .refbased_reml import PatternStats, UnFits, fit_full, fit_replicates, pattern_stats

__all__ = [
    "METHODS",
    "STRATEGIES",
    "MIDifference",
    "MILsmean",
    "MIProblem",
    "MIReplicates",
    "MIResult",
    "TippingPoint",
    "analyse",
    "barnard_rubin_df",
    "impute_replicates",
    "run_mi",
    "tipping_point",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

STRATEGIES = ("MAR", "JR", "CR", "CIR", "LMCF")
METHODS = ("condmean-jackknife", "condmean-bootstrap", "approx-bayes")
_MAR, _JR, _CR, _CIR, _LMCF = range(5)


@dataclass(frozen=True)
class MIProblem:
    """The data of one analysis. ``group`` codes index ``group_levels`` (effect = first −
    second); ``ice`` the first affected visit index per subject (T = no ICE); ``strategy``
    codes index ``STRATEGIES``; ``delta`` subjects × T, added to imputed values only."""

    y: FloatArray
    group: IntArray
    covariates: FloatArray
    group_levels: tuple[str, str]
    time_levels: tuple[str, ...]
    reference: str
    ice: IntArray
    strategy: IntArray
    delta: FloatArray

    @property
    def ref_code(self) -> int:
        return self.group_levels.index(self.reference)


def make_problem(
    y: FloatArray,
    group: IntArray,
    covariates: FloatArray,
    group_levels: tuple[str, str],
    time_levels: tuple[str, ...],
    *,
    reference: str,
    ice: IntArray | None = None,
    strategy: Sequence[str] | None = None,
    delta: FloatArray | None = None,
) -> MIProblem:
    """Validate and build an ``MIProblem`` (errors name the field)."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2:
        raise InvalidInput("outcome", "need a subjects × visits matrix")
    n, t = y.shape
    group = np.asarray(group, dtype=np.intp)
    covariates = np.asarray(covariates, dtype=np.float64).reshape(n, -1)
    if len(group_levels) != 2:
        raise InvalidInput("group", "exactly two arms are needed", list(group_levels))
    if reference not in group_levels:
        raise InvalidInput("reference", f"not an arm (arms: {list(group_levels)})", reference)
    if t < 2 or len(time_levels) != t:
        raise InvalidInput("time", "need ≥ 2 visits, one column of y each", list(time_levels))
    if group.shape != (n,) or (group.size and (group.min() < 0 or group.max() > 1)):
        raise InvalidInput("group", "one code 0 or 1 per subject is needed")
    if not np.isfinite(y[~np.isnan(y)]).all():
        raise InvalidInput("outcome", "outcomes must be finite or missing")
    if not np.isfinite(covariates).all():
        raise InvalidInput("covariate", "covariates must be finite (no missing values)")
    ice_a = np.full(n, t, dtype=np.intp) if ice is None else np.asarray(ice, dtype=np.intp)
    codes = (
        np.zeros(n, dtype=np.intp)
        if strategy is None
        else np.asarray([_strategy_code(s) for s in strategy], dtype=np.intp)
    )
    if ice_a.shape != (n,) or codes.shape != (n,) or ice_a.min(initial=0) < 0:
        raise InvalidInput("ice", "one ICE visit and strategy per subject are needed")
    delta_a = np.zeros((n, t)) if delta is None else np.asarray(delta, dtype=np.float64)
    if delta_a.shape != (n, t) or not np.isfinite(delta_a).all():
        raise InvalidInput("delta", "one finite shift per subject and visit is needed")
    lmcf_first = (codes == _LMCF) & (ice_a == 0)
    if lmcf_first.any():
        raise InvalidInput(
            "ice",
            "LMCF needs a visit before the intercurrent event (subject "
            f"#{int(np.flatnonzero(lmcf_first)[0]) + 1} has its ICE at the first visit)",
        )
    problem = MIProblem(
        y=y,
        group=group,
        covariates=covariates,
        group_levels=(str(group_levels[0]), str(group_levels[1])),
        time_levels=tuple(str(v) for v in time_levels),
        reference=reference,
        ice=ice_a,
        strategy=codes,
        delta=delta_a,
    )
    model = _model_observed(problem)
    for code in (0, 1):
        arm = group == code
        if np.count_nonzero(arm) < 3 or (model[arm].sum(axis=0) < 2).any():
            raise InvalidInput(
                "group",
                f"arm {group_levels[code]!r} needs ≥ 3 subjects and ≥ 2 observed outcomes "
                "before any intercurrent event at every visit",
                group_levels[code],
            )
    return problem


def _strategy_code(s: str) -> int:
    if s not in STRATEGIES:
        raise InvalidInput("strategy", f"must be one of {', '.join(STRATEGIES)}", s)
    return STRATEGIES.index(s)


def _model_observed(p: MIProblem) -> BoolArray:
    """Outcomes that enter the imputation model: observed, and before the ICE unless MAR."""
    t = p.y.shape[1]
    post = np.arange(t)[None, :] >= p.ice[:, None]
    return np.asarray(~np.isnan(p.y) & ~(post & (p.strategy != _MAR)[:, None]), dtype=bool)


def _assumed_means(p: MIProblem, mu_own: FloatArray, mu_ref: FloatArray) -> FloatArray:
    """μ per replicate (B × n × T) by each subject's strategy (module docstring)."""
    n, t = p.y.shape
    post = np.arange(t)[None, :] >= p.ice[:, None]  # n × T
    last = np.clip(p.ice - 1, 0, t - 1)
    rows = np.arange(n)
    own_last = mu_own[:, rows, last][:, :, None]
    ref_last = mu_ref[:, rows, last][:, :, None]
    at_first = (p.ice == 0)[:, None]
    s = np.where(p.ice >= t, _MAR, p.strategy)[:, None]  # no ICE: MAR
    jr = np.where(post, mu_ref, mu_own)
    cir = np.where(at_first, mu_ref, np.where(post, own_last + mu_ref - ref_last, mu_own))
    lmcf = np.where(post, own_last, mu_own)
    out = np.where(s == _JR, jr, mu_own)
    out = np.where(s == _CR, mu_ref, out)
    out = np.where(s == _CIR, cir, out)
    return np.asarray(np.where(s == _LMCF, lmcf, out), dtype=np.float64)


@dataclass(frozen=True)
class MIReplicates:
    """Completed data sets before delta, each with its subject weights: row 0 the full data
    (condmean) or nothing special (approx-Bayes: all rows are imputations)."""

    method: str
    completed: FloatArray  # B × n × T
    weights: FloatArray  # B × n (analysis weights: 1/0 jackknife, counts bootstrap)
    imputed: BoolArray  # n × T: cells that were imputed (delta applies here)
    iterations: int


def _impute(
    p: MIProblem,
    fits: UnFits,
    normals: FloatArray | None,
) -> FloatArray:
    """Completed y per fit (B × n × T): conditional means, plus L·z when ``normals`` (B × n × T
    standard normals) are given."""
    n, t = p.y.shape
    x_own = imputation_design(p.group, p.covariates, t)
    x_ref = imputation_design(np.full(n, p.ref_code, dtype=np.intp), p.covariates, t)
    mu_own = np.einsum("itk,bk->bit", x_own, fits.beta)
    mu_ref = np.einsum("itk,bk->bit", x_ref, fits.beta)
    mu = _assumed_means(p, mu_own, mu_ref)
    b = fits.beta.shape[0]
    observed = ~np.isnan(p.y)
    out = np.broadcast_to(p.y, (b, n, t)).copy()
    need = ~observed.all(axis=1)
    if not need.any():
        return out
    masks, inv = np.unique(observed[need], axis=0, return_inverse=True)
    subjects = np.flatnonzero(need)
    inv = np.asarray(inv).reshape(-1)
    sig = fits.sigma
    for k, obs in enumerate(masks):
        who = subjects[inv == k]
        mis = ~obs
        mu_w = mu[:, who]  # B × m × T
        if obs.any():
            s_oo = sig[:, obs][:, :, obs]
            s_mo = sig[:, mis][:, :, obs]
            gain = np.linalg.solve(s_oo, s_mo.transpose(0, 2, 1)).transpose(0, 2, 1)
            resid = p.y[who][:, obs][None] - mu_w[:, :, obs]  # B × m × |o|
            cond = mu_w[:, :, mis] + resid @ gain.transpose(0, 2, 1)
            cov = sig[:, mis][:, :, mis] - gain @ s_mo.transpose(0, 2, 1)
        else:
            cond = mu_w[:, :, mis]
            cov = sig[:, mis][:, :, mis]
        if normals is not None:
            chol = np.linalg.cholesky(0.5 * (cov + cov.transpose(0, 2, 1)))
            z = normals[:, who][:, :, mis]  # B × m × |mis|
            cond = cond + z @ chol.transpose(0, 2, 1)
        block = out[:, who]
        block[:, :, mis] = cond
        out[:, who] = block
    return out


def _stratified_counts(group: IntArray, n_samples: int, rng: np.random.Generator) -> FloatArray:
    counts = np.zeros((n_samples, group.size))
    for code in (0, 1):
        members = np.flatnonzero(group == code)
        draws = rng.integers(0, members.size, size=(n_samples, members.size))
        for b in range(n_samples):
            np.add.at(counts[b], members[draws[b]], 1.0)
    return counts


def _fittable(st: PatternStats, model: BoolArray, group: IntArray, w: FloatArray) -> BoolArray:
    """Replicates in which every arm × visit keeps a model outcome (the design's rank)."""
    ok = np.ones(w.shape[0], dtype=bool)
    for code in (0, 1):
        present = (w[:, group == code] > 0).astype(np.float64)
        ok &= ((present @ model[group == code].astype(np.float64)) >= 1).all(axis=1)
    return ok


def impute_replicates(
    p: MIProblem,
    method: str,
    *,
    n_samples: int = 0,
    seed: int | None = None,
    boot_counts: FloatArray | None = None,
    normals: FloatArray | None = None,
) -> MIReplicates:
    """Fit the imputation models and impute (before delta). ``boot_counts`` (N × n) and
    ``normals`` (N × n × T) replace the random draws (for reference tests)."""
    if method not in METHODS:
        raise InvalidInput("method", f"must be one of {', '.join(METHODS)}", method)
    n, t = p.y.shape
    model = _model_observed(p)
    x = imputation_design(p.group, p.covariates, t)
    st = pattern_stats(x, p.y, model)
    full = fit_full(st, np.ones(n))
    rng = np.random.default_rng(seed)
    if method == "condmean-jackknife":
        weights = np.ones((n, n)) - np.eye(n)
    else:
        if n_samples < 2 and boot_counts is None:
            raise InvalidInput("samples", "at least 2 samples are needed", n_samples)
        if boot_counts is not None:
            weights = np.asarray(boot_counts, dtype=np.float64)
        else:
            weights = _stratified_counts(p.group, n_samples, rng)
            for _ in range(100):
                bad = ~_fittable(st, model, p.group, weights)
                if not bad.any():
                    break
                weights[bad] = _stratified_counts(p.group, int(bad.sum()), rng)
    if not _fittable(st, model, p.group, weights).all():
        raise InvalidInput(
            "samples", "a resampled data set has an arm × visit without an observed outcome"
        )
    reps = fit_replicates(st, weights, full)
    if method == "condmean-jackknife" or method == "condmean-bootstrap":
        fits = UnFits(
            beta=np.concatenate([full.beta, reps.beta]),
            sigma=np.concatenate([full.sigma, reps.sigma]),
            neg2loglik=np.concatenate([full.neg2loglik, reps.neg2loglik]),
            iterations=reps.iterations,
            hessian=full.hessian,
        )
        completed = _impute(p, fits, None)
        analysis_w = np.concatenate([np.ones((1, n)), weights])
    else:
        z = (
            np.asarray(normals, dtype=np.float64)
            if normals is not None
            else rng.standard_normal((weights.shape[0], n, t))
        )
        completed = _impute(p, reps, z)
        analysis_w = np.ones((weights.shape[0], n))
    return MIReplicates(
        method=method,
        completed=completed,
        weights=analysis_w,
        imputed=np.isnan(p.y),
        iterations=reps.iterations,
    )


@dataclass(frozen=True)
class MIDifference:
    time: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p: float
    df: float  # inf for the normal-based condmean methods


@dataclass(frozen=True)
class MILsmean:
    group: str
    time: str
    estimate: float
    se: float


@dataclass(frozen=True)
class MIResult:
    method: str
    n_subjects: int
    n_samples: int
    reference: str
    n_imputed: int
    differences: tuple[MIDifference, ...]
    lsmeans: tuple[MILsmean, ...]
    level: float

    def to_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "n_subjects": self.n_subjects,
            "n_samples": self.n_samples,
            "reference": self.reference,
            "n_imputed": self.n_imputed,
            "level": self.level,
            "differences": [
                {
                    k: getattr(d, k)
                    for k in ("time", "estimate", "se", "ci_low", "ci_high", "p", "df")
                }
                for d in self.differences
            ],
            "lsmeans": [
                {"group": m.group, "time": m.time, "estimate": m.estimate, "se": m.se}
                for m in self.lsmeans
            ],
        }


def _ancova(
    p: MIProblem, completed: FloatArray, weights: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Weighted least squares per replicate (weights B × n: frequency weights) and visit:
    effect first − second (B × T), LS means of (first, second) at the weighted covariate means
    (B × 2 × T), their sampling variances (meaningful for unit weights: approx-Bayes) and the
    residual df (B)."""
    n = p.y.shape[0]
    first = (p.group == 0).astype(np.float64)
    d = np.column_stack([np.ones(n), first, p.covariates])  # n × k
    k = d.shape[1]
    g = np.einsum("bi,ij,il->bjl", weights, d, d)
    rhs = np.einsum("bi,ij,bit->bjt", weights, d, completed)
    coef = np.linalg.solve(g, rhs)  # B × k × T
    wsum = weights.sum(axis=1)
    cbar = (weights @ p.covariates) / wsum[:, None]
    a_second = np.concatenate(
        [np.ones((weights.shape[0], 1)), np.zeros((weights.shape[0], 1)), cbar], axis=1
    )
    a_first = a_second.copy()
    a_first[:, 1] = 1.0
    lsm = np.stack(
        [np.einsum("bj,bjt->bt", a_first, coef), np.einsum("bj,bjt->bt", a_second, coef)], axis=1
    )
    resid = completed - np.einsum("ij,bjt->bit", d, coef)
    df = wsum - k
    s2 = np.einsum("bi,bit->bt", weights, resid**2) / df[:, None]
    g_inv = np.linalg.inv(g)
    v_eff = g_inv[:, 1, 1][:, None] * s2
    q_first = np.einsum("bj,bjl,bl->b", a_first, g_inv, a_first)
    q_second = np.einsum("bj,bjl,bl->b", a_second, g_inv, a_second)
    v_lsm = np.stack([q_first[:, None] * s2, q_second[:, None] * s2], axis=1)
    return coef[:, 1], lsm, v_eff, v_lsm, df


def barnard_rubin_df(v_com: float, var_between: float, var_total: float, m: int) -> float:
    """Barnard & Rubin (1999) small-sample df for Rubin's rules (as rbmi's ``rubin_df``)."""
    if var_total <= 0:
        return math.inf
    lam = (1.0 + 1.0 / m) * var_between / var_total
    v_obs = (v_com + 1.0) / (v_com + 3.0) * v_com * (1.0 - lam)
    if lam == 0.0:
        return v_obs
    v_old = (m - 1) / lam**2
    return v_old * v_obs / (v_old + v_obs)


def _summaries(
    reps: MIReplicates, p: MIProblem, delta: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per visit: (effect, se, df) and per arm × visit (lsmean, se) after adding ``delta`` to
    imputed values."""
    completed = reps.completed + np.where(reps.imputed, delta, 0.0)[None]
    eff, lsm, v_eff, v_lsm, df = _ancova(p, completed, reps.weights)
    t = p.y.shape[1]
    if reps.method == "approx-bayes":
        m = eff.shape[0]

        def pool(q: FloatArray, u: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
            qbar, ubar = q.mean(axis=0), u.mean(axis=0)
            bvar = q.var(axis=0, ddof=1)
            tvar = ubar + (1.0 + 1.0 / m) * bvar
            dfs = np.array(
                [
                    barnard_rubin_df(float(df[0]), float(bv), float(tv), m)
                    for bv, tv in zip(bvar.reshape(-1), tvar.reshape(-1), strict=True)
                ]
            ).reshape(qbar.shape)
            return qbar, np.sqrt(tvar), dfs

        e, se, dfe = pool(eff, v_eff)
        lm, lse, _ = pool(lsm, v_lsm)
        return e, se, dfe, lm, lse
    # condmean: row 0 is the full data
    est, lsm0 = eff[0], lsm[0]
    rep_e, rep_l = eff[1:], lsm[1:]
    b = rep_e.shape[0]
    if reps.method == "condmean-jackknife":
        c = (b - 1) / b
        se = np.sqrt(c * ((rep_e - rep_e.mean(axis=0)) ** 2).sum(axis=0))
        lse = np.sqrt(c * ((rep_l - rep_l.mean(axis=0)) ** 2).sum(axis=0))
    else:
        se, lse = rep_e.std(axis=0, ddof=1), rep_l.std(axis=0, ddof=1)
    return est, se, np.full(t, math.inf), lsm0, lse


def analyse(
    p: MIProblem, reps: MIReplicates, *, extra_delta: FloatArray | None = None, level: float = 0.95
) -> MIResult:
    """Pool the replicates into the result (delta = the problem's plus ``extra_delta``)."""
    if not 0.0 < level < 1.0:
        raise InvalidInput("level", "must be between 0 and 1", level)
    delta = p.delta if extra_delta is None else p.delta + extra_delta
    est, se, dfs, lsm, lse = _summaries(reps, p, delta)
    diffs = []
    for i, name in enumerate(p.time_levels):
        e, s, dfv = float(est[i]), float(se[i]), float(dfs[i])
        q = (
            float(special.ndtri(0.5 + level / 2.0))
            if math.isinf(dfv)
            else float(sps.t.ppf(0.5 + level / 2.0, dfv))
        )
        if s > 0:
            pv = (
                float(2.0 * special.ndtr(-abs(e) / s))
                if math.isinf(dfv)
                else float(2.0 * sps.t.sf(abs(e) / s, dfv))
            )
        else:
            pv = math.nan
        diffs.append(MIDifference(name, e, s, e - q * s, e + q * s, pv, dfv))
    lsms = tuple(
        MILsmean(p.group_levels[a], name, float(lsm[a, i]), float(lse[a, i]))
        for a in (0, 1)
        for i, name in enumerate(p.time_levels)
    )
    n_samples = reps.completed.shape[0] - (0 if reps.method == "approx-bayes" else 1)
    return MIResult(
        method=reps.method,
        n_subjects=p.y.shape[0],
        n_samples=n_samples,
        reference=p.reference,
        n_imputed=int(reps.imputed.sum()),
        differences=tuple(diffs),
        lsmeans=lsms,
        level=level,
    )


def run_mi(
    p: MIProblem,
    method: str = "condmean-jackknife",
    *,
    n_samples: int = 0,
    seed: int | None = None,
    level: float = 0.95,
) -> MIResult:
    """Impute and analyse (module docstring)."""
    return analyse(p, impute_replicates(p, method, n_samples=n_samples, seed=seed), level=level)


@dataclass(frozen=True)
class TippingPoint:
    """The smallest shift of the active arm's imputed values at which the effect at ``time``
    is no longer significant at ``alpha``; ``delta`` 0 when it is not significant to start
    with, None when no shift up to ``searched_to`` makes it so. ``curve`` evaluates effect, CI
    and p on a grid of δ between 0 and beyond the tipping point."""

    time: str
    active: str
    alpha: float
    delta: float | None
    searched_to: float
    curve: tuple[tuple[float, MIDifference], ...]


def tipping_point(
    p: MIProblem,
    reps: MIReplicates,
    *,
    time: str | None = None,
    alpha: float = 0.05,
    grid_points: int = 21,
) -> TippingPoint:
    """Tipping-point search (module docstring) at ``time`` (default the last visit)."""
    if not 0.0 < alpha < 1.0:
        raise InvalidInput("alpha", "must be between 0 and 1", alpha)
    t_name = p.time_levels[-1] if time is None else time
    if t_name not in p.time_levels:
        raise InvalidInput("tipping time", f"not a visit ({list(p.time_levels)})", time)
    ti = p.time_levels.index(t_name)
    active_code = 1 - p.ref_code
    arm = (p.group == active_code)[:, None] & reps.imputed
    if not arm.any():
        raise InvalidInput("tipping point", "the active arm has no imputed values to shift")
    level = 1.0 - alpha

    def at(delta: float) -> MIDifference:
        res = analyse(p, reps, extra_delta=delta * arm.astype(np.float64), level=level)
        return res.differences[ti]

    base = at(0.0)
    # adding δ to the active arm moves (first − second) by +δ·w if active is first, else −δ·w
    sign = -math.copysign(1.0, base.estimate) * (1.0 if active_code == 0 else -1.0)
    scale = float(np.nanstd(p.y[:, ti])) or 1.0
    found: float | None
    if not base.p < alpha:
        found, hi = 0.0, scale
    else:
        hi, found = scale / 4.0, None
        while hi <= 64.0 * scale:
            if not at(sign * hi).p < alpha:
                lo = hi / 2.0 if hi > scale / 4.0 else 0.0
                found = float(
                    optimize.brentq(
                        lambda d: at(sign * d).p - alpha, lo, hi, xtol=1e-10 * scale, rtol=1e-12
                    )
                )
                break
            hi *= 2.0
    top = (found * 1.5 if found else hi) or scale
    grid = np.linspace(0.0, top, grid_points)
    if found:
        grid = np.unique(np.append(grid, found))
    curve = tuple((float(sign * d), at(float(sign * d))) for d in grid)
    return TippingPoint(
        time=t_name,
        active=p.group_levels[active_code],
        alpha=alpha,
        delta=None if found is None else float(sign * found),
        searched_to=float(sign * min(hi, 64.0 * scale)),
        curve=curve,
    )
