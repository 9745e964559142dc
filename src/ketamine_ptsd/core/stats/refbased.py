"""Reference-based conditional mean imputation with jackknife inference (rbmi's
``method_condmean(type = "jackknife")``).

Why: PROTOCOL.md §9's MMRM assumes missing-at-random; for patients who stop treatment, a
reference-based estimand (ICH E9(R1)) asks what their outcomes would be had they then behaved
like the reference arm (midazolam). Carpenter, Roger & Kenward (2013, J Biopharm Stat
23:1352–1371) define the strategies; Wolbers et al. (2022, Pharmaceutical Statistics
21:1246–1257) replace multiple imputation by the *conditional mean* of the missing outcomes and
the jackknife for the standard error, which gives frequentist (not information-anchored)
inference; rbmi (insightsengineering/rbmi) implements it.

Steps, for two arms and T visits (y: subjects × visits, NaN where missing):

1. Imputation model: the MMRM y ~ group·time + covariate·time (each numeric covariate by
   visit), unstructured covariance common to both arms, REML, on the observed outcomes.
2. For each subject, the intercurrent event (ICE) is the first visit of its trailing run of
   missing visits (dropout); earlier, intermittent gaps are imputed under MAR. Mean vectors
   μ_own (own arm) and μ_ref (reference arm, same covariates) come from β̂. The assumed mean μ:
   MAR μ_own; JR (jump to reference) μ_own before the ICE and μ_ref from it; CR (copy
   reference) μ_ref throughout; CIR (copy increments in reference) μ_own before the ICE and
   μ_own[last] + (μ_ref − μ_ref[last]) from it, "last" the visit before the ICE (with no visit
   before the ICE, CIR and JR are μ_ref throughout). Missing values are replaced by
   E[y_mis | y_obs] = μ_mis + Σ_mo Σ_oo⁻¹ (y_obs − μ_obs) (Carpenter et al. 2013, section 4).
3. Analysis: at each visit, ANCOVA y_t ~ group + covariates by least squares on the completed
   data; the effect is compared − reference, LS means at the covariates' means.
4. Jackknife: steps 1–3 without subject j, for every j; SE = √((n−1)/n Σ (θ̂₋ⱼ − θ̄)²); point
   estimate from all subjects; CI and p from the normal distribution (rbmi's ``pool``).

Scope: this is the first, loop-based version — two arms, numeric baseline covariates, the ICE
always the start of the trailing missing run, one REML fit (``mmrm.fit_arrays``) per jackknife
sample (n + 1 fits; 172 subjects: seconds). ``core/stats/mi.py`` (the ``stats mi`` command) is
the full method — per-subject ICE and strategy (also LMCF), bootstrap and approximate Bayes,
delta adjustment, tipping point — with all replicate fits batched (``refbased_reml.py``); it
is tested against this module's reference numbers, and ``bench/mi.py`` times it against this
loop.

Validated against rbmi 1.5.2's published output for its antidepressant trial (JR, vignette
"CondMean_Inference"; tests/core/stats/test_refbased.py): every effect, LS mean and SE to the
printed 3 decimals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special

from ketamine_ptsd.core.errors import InvalidInput

from .mmrm.fit import fit_arrays

__all__ = [
    "STRATEGIES",
    "RefBasedResult",
    "RefBasedVisit",
    "condmean_estimates",
    "condmean_jackknife",
    "imputation_design",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

STRATEGIES = ("MAR", "JR", "CR", "CIR")


@dataclass(frozen=True)
class RefBasedVisit:
    """Compared − reference at one visit, and each arm's LS mean, with jackknife SEs."""

    time: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p: float
    lsmean_reference: float
    lsmean_reference_se: float
    lsmean_compared: float
    lsmean_compared_se: float


@dataclass(frozen=True)
class RefBasedResult:
    strategy: str
    reference: str
    compared: str
    n_subjects: int
    n_imputed: int  # missing outcomes replaced by their conditional mean
    visits: tuple[RefBasedVisit, ...]
    level: float


def imputation_design(group: IntArray, covariates: FloatArray, n_times: int) -> FloatArray:
    """Rows of X for every subject × visit (subjects × T × p): intercept, group, visit
    (T − 1), covariates (c), covariates × visit (c·(T − 1)), group × visit (T − 1); the first
    visit and group code 0 are the references."""
    n, c = covariates.shape
    eye = np.eye(n_times)[:, 1:]  # T × (T − 1)
    g = group.astype(np.float64)[:, None, None]
    cov = covariates[:, None, :]
    parts = [
        np.ones((n, n_times, 1)),
        np.broadcast_to(g, (n, n_times, 1)),
        np.broadcast_to(eye, (n, n_times, n_times - 1)),
        np.broadcast_to(cov, (n, n_times, c)),
        (cov[:, :, :, None] * eye[None, :, None, :]).reshape(n, n_times, c * (n_times - 1)),
        g * eye[None, :, :],
    ]
    return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts], axis=2)


def _ice(observed: NDArray[np.bool_]) -> IntArray:
    """Per subject, the first visit of the trailing run of missing visits (T if none)."""
    t = observed.shape[1]
    last_obs = np.where(observed.any(axis=1), t - 1 - np.argmax(observed[:, ::-1], axis=1), -1)
    return np.asarray(last_obs + 1, dtype=np.intp)


def _assumed_mean(
    strategy: str, mu_own: FloatArray, mu_ref: FloatArray, ice: int, n_times: int
) -> FloatArray:
    if strategy == "MAR" or ice >= n_times:
        return mu_own
    if strategy == "CR" or ice == 0:
        return mu_ref
    mu = mu_own.copy()
    if strategy == "JR":
        mu[ice:] = mu_ref[ice:]
    else:  # CIR
        last = ice - 1
        mu[ice:] = mu_own[last] + (mu_ref[ice:] - mu_ref[last])
    return mu


def condmean_estimates(
    y: FloatArray,
    group: IntArray,
    covariates: FloatArray,
    ref_code: int,
    strategy: str,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Steps 1–3 of the module docstring on one data set, without validation (that is
    ``condmean_jackknife``'s): per visit, (compared − reference, LS mean of the reference arm,
    LS mean of the compared arm), each an array of length T. ``ref_code`` is the reference
    arm's code in ``group``."""
    n, n_times = y.shape
    observed = ~np.isnan(y)
    x_all = imputation_design(group, covariates, n_times)
    rows = np.nonzero(observed)
    fit = fit_arrays(
        rows[0].astype(np.intp), rows[1].astype(np.intp), x_all[rows], y[rows], n_times, "un"
    )
    beta, sigma = fit.beta, fit.sigma
    x_ref = imputation_design(np.full(n, ref_code, dtype=np.intp), covariates, n_times)
    mu_own_all = x_all @ beta
    mu_ref_all = x_ref @ beta
    ice = _ice(observed)
    completed = y.copy()
    for i in np.flatnonzero(~observed.all(axis=1)):
        mis = ~observed[i]
        mu = _assumed_mean(strategy, mu_own_all[i], mu_ref_all[i], int(ice[i]), n_times)
        obs = observed[i]
        if obs.any():
            resid = y[i, obs] - mu[obs]
            completed[i, mis] = mu[mis] + sigma[np.ix_(mis, obs)] @ np.linalg.solve(
                sigma[np.ix_(obs, obs)], resid
            )
        else:
            completed[i, mis] = mu[mis]
    compared = (group != ref_code).astype(np.float64)
    design = np.column_stack([np.ones(n), compared, covariates])
    coef, *_ = np.linalg.lstsq(design, completed, rcond=None)  # (2 + c) × T
    at_means = np.concatenate([[1.0, 0.0], covariates.mean(axis=0)])
    lsm_ref = at_means @ coef
    return coef[1], lsm_ref, lsm_ref + coef[1]


def _validate(
    y: FloatArray,
    group: IntArray,
    covariates: FloatArray,
    group_levels: tuple[str, ...],
    time_levels: tuple[str, ...],
    reference: str,
    strategy: str,
    level: float,
) -> None:
    if strategy not in STRATEGIES:
        raise InvalidInput("strategy", f"must be one of {', '.join(STRATEGIES)}", strategy)
    if len(group_levels) != 2:
        raise InvalidInput("group", "exactly two arms are needed", list(group_levels))
    if reference not in group_levels:
        raise InvalidInput("reference", f"not an arm (arms: {list(group_levels)})", reference)
    n, t = y.shape
    if t < 2 or len(time_levels) != t:
        raise InvalidInput("time", "need ≥ 2 visits, one column of y each", list(time_levels))
    if group.shape != (n,) or covariates.ndim != 2 or covariates.shape[0] != n:
        raise InvalidInput("group", "group and covariates need one row per subject of y")
    if group.size and (group.min() < 0 or group.max() > 1):
        raise InvalidInput("group", "codes must be 0 or 1", sorted(set(group.tolist())))
    bad = np.flatnonzero(~np.isfinite(y[~np.isnan(y)]))
    if bad.size:
        raise InvalidInput("outcome", "outcomes must be finite or missing (NaN)")
    if not np.isfinite(covariates).all():
        raise InvalidInput("covariates", "covariates must be finite (no missing values)")
    if not 0.0 < level < 1.0:
        raise InvalidInput("level", "must be between 0 and 1", level)
    for code in (0, 1):
        arm = group == code
        if np.count_nonzero(arm) < 2 or not (~np.isnan(y[arm])).any(axis=0).all():
            raise InvalidInput(
                "group",
                f"arm {group_levels[code]!r} needs ≥ 2 subjects and an observed outcome at "
                "every visit",
                group_levels[code],
            )


def condmean_jackknife(
    y: FloatArray,
    group: IntArray,
    covariates: FloatArray,
    group_levels: tuple[str, str],
    time_levels: tuple[str, ...],
    *,
    reference: str,
    strategy: str = "JR",
    level: float = 0.95,
) -> RefBasedResult:
    """Reference-based conditional mean imputation with jackknife SEs (module docstring).

    ``y``: subjects × visits (NaN = missing), ``group``: codes 0/1 into ``group_levels``,
    ``covariates``: subjects × c baseline values (c may be 0). Effects are the other arm minus
    ``reference``. Raises ``InvalidInput`` naming the field; ``ValueError`` when an MMRM fit of
    the full or a leave-one-out data set fails (naming the subject left out)."""
    y = np.asarray(y, dtype=np.float64)
    group = np.asarray(group, dtype=np.intp)
    covariates = np.asarray(covariates, dtype=np.float64).reshape(y.shape[0], -1)
    _validate(y, group, covariates, group_levels, time_levels, reference, strategy, level)
    ref_code = group_levels.index(reference)
    n = y.shape[0]
    full = np.stack(condmean_estimates(y, group, covariates, ref_code, strategy))  # 3 × T
    loo = np.empty((n, *full.shape))
    keep = np.ones(n, dtype=bool)
    for j in range(n):
        keep[j] = False
        try:
            loo[j] = np.stack(
                condmean_estimates(y[keep], group[keep], covariates[keep], ref_code, strategy)
            )
        except ValueError as exc:
            raise ValueError(f"the fit without subject {j} failed: {exc}") from None
        keep[j] = True
    se = np.sqrt((n - 1) / n * np.sum((loo - loo.mean(axis=0)) ** 2, axis=0))  # 3 × T
    z = float(special.ndtri(0.5 + level / 2.0))
    visits = []
    for t, name in enumerate(time_levels):
        est, s = float(full[0, t]), float(se[0, t])
        p = float(2.0 * special.ndtr(-abs(est) / s)) if s > 0 else math.nan
        visits.append(
            RefBasedVisit(
                time=name,
                estimate=est,
                se=s,
                ci_low=est - z * s,
                ci_high=est + z * s,
                p=p,
                lsmean_reference=float(full[1, t]),
                lsmean_reference_se=float(se[1, t]),
                lsmean_compared=float(full[2, t]),
                lsmean_compared_se=float(se[2, t]),
            )
        )
    return RefBasedResult(
        strategy=strategy,
        reference=reference,
        compared=group_levels[1 - ref_code],
        n_subjects=n,
        n_imputed=int(np.count_nonzero(np.isnan(y))),
        visits=tuple(visits),
        level=level,
    )
