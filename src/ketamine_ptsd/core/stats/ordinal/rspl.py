"""Restricted pseudo-likelihood (RSPL) for the cumulative-logit random-intercept model.

SAS PROC GLIMMIX fits ``dist=multinomial link=cumlogit`` with ``random intercept /
subject=id`` by METHOD=RSPL unless told otherwise (GLIMMIX documentation, "Default Estimation
Techniques"); PROTOCOL.md §10's CGI-I treatment F(1,24) comes from such a fit. This module
follows Wolfinger & O'Connell (1993, J Statist Comput Simul 48:233-243) and the GLIMMIX
documentation's "Pseudo-likelihood Estimation Based on Linearization":

1. At the current fixed effects and random-effect predictions, linearise the conditional mean.
   For the cumulative logit the response of observation i is the vector of cumulative
   indicators ``c_ij = 1{y_i <= j}`` (j = 1..J-1, a linear map of the multinomial indicators,
   so the pseudo-data are the same as with category indicators), with mean
   ``F_ij = expit(eta_ij)``, ``eta_ij = alpha_j + x_i' b + gamma_s(i)``. The pseudo-response is
   ``P_ij = eta_ij + (c_ij - F_ij) / f_ij`` (``f = F (1 - F)``, the diagonal ``Delta``), with
   conditional covariance ``Delta^-1 A Delta^-1``, ``A_jk = F_ij (1 - F_ik)`` for j <= k (the
   multinomial covariance of cumulative indicators); the scale is fixed at 1 (no
   ``_residual_``), as GLIMMIX does for the multinomial.
2. Fit the linear mixed model ``P = W [alpha; b] + Z gamma + e``, ``gamma ~ N(0, sigma^2 I)``,
   by REML for ``sigma^2 >= 0`` (the restricted log pseudo-likelihood), the fixed effects by
   GLS, the random effects by BLUP.
3. Repeat until the largest relative change of the parameters (``alpha``, ``b``, ``sigma^2``)
   between two linearisations is below GLIMMIX's default PCONV = 1.11022e-8; a parameter whose
   previous value is below 1e-8 in magnitude is compared absolutely (our guard against
   division by zero).

Parametrisation of the result: GLIMMIX models ``logit P(Y <= j) = alpha_j + x' b + gamma``;
:mod:`ketamine_ptsd.core.stats.ordinal` reports R ``clmm``'s ``theta_j - (x' beta + u)``, so
thresholds are ``theta = alpha`` and coefficients ``beta = -b`` (a positive coefficient moves
the response up); the covariance is mapped the same way. The covariance of the fixed effects
is GLIMMIX's ``(W' V^-1 W)^-1`` of the final pseudo-model (documentation, "Type III Tests of
Fixed Effects": ``Q = (X' V(theta)^-1 X)^-``).

Denominator df: GLIMMIX's default for a model with G-side random effects is DDFM=CONTAIN
(documentation, "Containment Degrees of Freedom Approximation"): a fixed effect gets the
smallest rank contribution to ``[X Z]`` of the random effects that syntactically contain it,
or, when none does, the residual df ``n - rank[X Z]``. With ``random intercept / subject=id``
the only random effect is ``id``, which contains no fixed effect, so every effect gets
``n - rank[X Z]``, where GLIMMIX's X holds the J-1 cumulative intercepts as J-1 columns:
``n - rank[1 X Z] - (J - 2)`` (checked against the DF of a published GLIMMIX listing, see
:func:`containment_den_df`). For the group x time model with s subjects, two visits, n
observations and J observed categories that is ``n - s - 2 - (J - 2)`` for group, time and
group:time alike, where DDFM=BETWITHIN (the quadrature fit's df) gives group ``s - 2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, optimize, special, stats

from ketamine_ptsd.core.stats.ordinal._likelihood import FloatArray, IntArray

__all__ = [
    "PCONV",
    "RsplEstimate",
    "containment_den_df",
    "fit_rspl_matrix",
    "pseudo_data",
    "reml_step",
    "t_test",
]

PCONV = 1e8 * 2.0**-53
"""GLIMMIX's default relative-change criterion for the outer (linearisation) iterations: 1e8
times the unit roundoff, printed by GLIMMIX as "Convergence criterion (PCONV=1.11022E-8)
satisfied." (e.g. the RMPL listing of Fitzmaurice, Laird & Ware, Applied Longitudinal
Analysis, 2nd ed., section 15.5, on the book's public site)."""

_MAX_OUTER = 200
_LOG_SIGMA2_BOUNDS = (-25.0, 8.0)


@dataclass(frozen=True)
class RsplEstimate:
    """A converged (or not) RSPL fit in GLIMMIX's parametrisation.

    ``coef`` stacks ``alpha`` (J-1 thresholds) then ``b``; ``cov`` is ``(W' V^-1 W)^-1``;
    ``gamma`` are the BLUPs of the subject intercepts; ``minus2_res_log_pl`` is GLIMMIX's
    "-2 Res Log Pseudo-Likelihood" of the last pseudo-model up to its additive constant
    ``(N - rank W) log(2 pi)`` over the stacked pseudo-data (included here).
    """

    coef: FloatArray
    cov: FloatArray
    sigma2: float
    gamma: FloatArray
    iterations: int
    converged: bool
    max_relative_change: float
    minus2_res_log_pl: float
    history: tuple[float, ...] = field(default=())


@dataclass(frozen=True)
class _PseudoModel:
    """Stacked pseudo-data and per-subject summaries of ``R^-1`` (one K x K block an observation)."""

    M0: FloatArray  # W' R^-1 W
    m0: FloatArray  # W' R^-1 P
    pp0: float  # P' R^-1 P
    a: FloatArray  # 1' R_s^-1 1, per subject
    w: FloatArray  # W_s' R_s^-1 1, (subjects, q)
    bvec: FloatArray  # 1' R_s^-1 P_s, per subject
    logdet_r: float
    n_stacked: int


def _design_rows(X: FloatArray, k: int) -> FloatArray:
    """(n, K, q) fixed-effect rows: threshold indicator e_j, then x_i."""
    n, p = X.shape
    W = np.zeros((n, k, k + p))
    W[:, :, :k] = np.eye(k)[None, :, :]
    W[:, :, k:] = X[:, None, :]
    return W


def pseudo_data(y: IntArray, eta: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Pseudo-response ``P`` (n, K) and the inverse conditional covariance blocks (n, K, K).

    ``y`` holds category codes 0..J-1 and ``eta`` the (n, K) linear predictors of
    ``logit P(Y <= j)`` at the expansion locus.
    """
    k = eta.shape[1]
    F = special.expit(eta)
    f = F * (1.0 - F)
    c = (y[:, None] <= np.arange(k)[None, :]).astype(np.float64)
    P = eta + (c - F) / f
    lo = np.minimum.outer(np.arange(k), np.arange(k))
    hi = np.maximum.outer(np.arange(k), np.arange(k))
    A = F[:, lo] * (1.0 - F[:, hi])  # (n, K, K)
    Rblk = A / (f[:, :, None] * f[:, None, :])
    return P, np.linalg.inv(Rblk)


def _summaries(
    P: FloatArray, Rinv: FloatArray, W: FloatArray, subject: IntArray, n_subjects: int
) -> _PseudoModel:
    RW = np.einsum("ijk,ikq->ijq", Rinv, W)  # (n, K, q)
    RP = np.einsum("ijk,ik->ij", Rinv, P)
    r1 = Rinv.sum(axis=2)  # R^-1 1, (n, K)
    M0 = np.einsum("ijq,ijr->qr", W, RW)
    m0 = np.einsum("ijq,ij->q", W, RP)
    pp0 = float(np.einsum("ij,ij->", P, RP))
    a = np.bincount(subject, weights=r1.sum(axis=1), minlength=n_subjects).astype(np.float64)
    w_obs = np.einsum("ijq,ij->iq", W, r1)
    w = np.zeros((n_subjects, W.shape[2]))
    np.add.at(w, subject, w_obs)
    bvec = np.bincount(subject, weights=np.einsum("ij,ij->i", P, r1), minlength=n_subjects).astype(
        np.float64
    )
    logdet = np.linalg.slogdet(Rinv)[1]
    return _PseudoModel(
        M0=M0,
        m0=m0,
        pp0=pp0,
        a=a,
        w=w,
        bvec=bvec,
        logdet_r=float(-np.sum(logdet)),
        n_stacked=int(P.size),
    )


def _profile(pm: _PseudoModel, sigma2: float) -> tuple[float, FloatArray, FloatArray, FloatArray]:
    """-2 restricted log pseudo-likelihood at ``sigma2``, GLS coefficients, their covariance
    and the BLUPs, from the Woodbury form of ``V_s = sigma2 11' + R_s`` per subject."""
    d = sigma2 / (1.0 + sigma2 * pm.a)
    WVW = pm.M0 - (pm.w * d[:, None]).T @ pm.w
    WVP = pm.m0 - (pm.w * (d * pm.bvec)[:, None]).sum(axis=0)
    PVP = pm.pp0 - float(np.sum(d * pm.bvec**2))
    chol = linalg.cho_factor(WVW)
    coef = linalg.cho_solve(chol, WVP)
    quad = PVP - float(coef @ WVP)
    logdet_v = pm.logdet_r + float(np.sum(np.log1p(sigma2 * pm.a)))
    logdet_wvw = 2.0 * float(np.sum(np.log(np.diag(chol[0]))))
    rank = WVW.shape[0]
    value = logdet_v + logdet_wvw + quad + (pm.n_stacked - rank) * math.log(2.0 * math.pi)
    cov = linalg.cho_solve(chol, np.eye(rank))
    gamma = d * (pm.bvec - pm.w @ coef)
    return value, coef, cov, gamma


def _score(pm: _PseudoModel, sigma2: float) -> float:
    """d(-2 log RL)/d sigma2 = tr(V^-1 ZZ') - tr(Q W'V^-1 ZZ' V^-1 W) - r'V^-1 ZZ' V^-1 r,
    per subject with ``V_s^-1 1 = R_s^-1 1 / (1 + sigma2 a_s)``."""
    _, coef, cov, _ = _profile(pm, sigma2)
    scale = 1.0 / (1.0 + sigma2 * pm.a)
    h = pm.w * scale[:, None]
    e = (pm.bvec - pm.w @ coef) * scale
    return float(np.sum(pm.a * scale) - np.einsum("sq,qr,sr->", h, cov, h) - np.sum(e * e))


def reml_step(
    P: FloatArray, Rinv: FloatArray, W: FloatArray, subject: IntArray, n_subjects: int
) -> tuple[float, FloatArray, FloatArray, FloatArray, float]:
    """REML fit of the pseudo-model: ``(sigma2, coef, cov, gamma, -2 res log PL)``.

    ``sigma2`` maximises the restricted likelihood on ``[0, inf)``: a bounded Brent search on
    ``log sigma2``, and ``sigma2 = 0`` when the boundary is no worse; an interior optimum is
    then polished to a root of the analytic score (a search on function values alone stops
    ~1e-7 relative from the optimum, where the objective is flat to rounding).
    """
    pm = _summaries(P, Rinv, W, subject, n_subjects)
    res = optimize.minimize_scalar(
        lambda t: _profile(pm, math.exp(t))[0],
        bounds=_LOG_SIGMA2_BOUNDS,
        method="bounded",
        options={"xatol": 1e-11, "maxiter": 500},
    )
    sigma2 = math.exp(float(res.x))
    at_zero = _profile(pm, 0.0)
    best = _profile(pm, sigma2)
    if at_zero[0] <= best[0]:
        sigma2, best = 0.0, at_zero
    else:
        lo, hi = sigma2 * 0.98, sigma2 * 1.02
        if _score(pm, lo) < 0.0 < _score(pm, hi):
            sigma2 = float(optimize.brentq(lambda v: _score(pm, v), lo, hi, xtol=1e-15, rtol=1e-15))
            best = _profile(pm, sigma2)
    value, coef, cov, gamma = best
    return sigma2, coef, cov, gamma, value


def _start(y: IntArray, k: int, p: int) -> FloatArray:
    counts = np.bincount(y, minlength=k + 1).astype(np.float64)
    cum = np.clip(np.cumsum(counts)[:-1] / counts.sum(), 1e-3, 1 - 1e-3)
    alpha = np.maximum.accumulate(special.logit(cum) + np.arange(k) * 1e-3)
    return np.concatenate([alpha, np.zeros(p)])


def fit_rspl_matrix(
    y: IntArray, X: FloatArray, subject: IntArray, n_categories: int
) -> RsplEstimate:
    """Doubly iterative RSPL fit of ``logit P(Y <= j) = alpha_j + x'b + gamma_subject``.

    Starts from the marginal cumulative logits, ``b = 0``, ``gamma = 0`` (GLIMMIX starts from
    the data; at convergence the result is a fixed point of the linearise -> REML step either
    way). ``y``: codes 0..J-1; ``subject``: codes 0..S-1.
    """
    k = n_categories - 1
    p = X.shape[1]
    n_subjects = int(subject.max()) + 1
    W = _design_rows(X, k)
    coef = _start(y, k, p)
    gamma = np.zeros(n_subjects)
    sigma2 = math.nan
    prev = np.concatenate([coef, [math.nan]])
    history: list[float] = []
    cov = np.full((k + p, k + p), np.nan)
    value = math.nan
    converged = False
    change = math.inf
    iterations = 0
    for iterations in range(1, _MAX_OUTER + 1):
        eta = np.einsum("ijq,q->ij", W, coef) + gamma[subject][:, None]
        P, Rinv = pseudo_data(y, eta)
        sigma2, coef, cov, gamma, value = reml_step(P, Rinv, W, subject, n_subjects)
        current = np.concatenate([coef, [sigma2]])
        if iterations > 1:
            scale = np.where(np.abs(prev) < 1e-8, 1.0, np.abs(prev))
            change = float(np.max(np.abs(current - prev) / scale))
            history.append(change)
            if change < PCONV:
                converged = True
                prev = current
                break
        prev = current
    return RsplEstimate(
        coef=coef,
        cov=cov,
        sigma2=sigma2,
        gamma=gamma,
        iterations=iterations,
        converged=converged,
        max_relative_change=change,
        minus2_res_log_pl=value,
        history=tuple(history),
    )


def containment_den_df(X: FloatArray, subject: IntArray, n_categories: int) -> float:
    """GLIMMIX DDFM=CONTAIN for ``random intercept / subject=id``: ``n - rank[X Z]``.

    No random effect contains a fixed effect (``id`` is not ``id(group)``; a CLASS subject
    does not contain continuous covariates either), so every fixed effect gets the residual df.
    GLIMMIX's X for a cumulative model carries the J-1 intercepts as J-1 columns, so
    ``rank[X Z] = rank[1 X Z] + (J - 2)`` (``Z``: subject indicators). The SAS/STAT
    documentation's foot-shape example (tests/reference/ordinal_rspl/README.md) prints DF 2478
    for its sire-level covariates: 2513 lambs - (34 + 1) = 2478 with J = 3.
    """
    n = X.shape[0]
    n_subjects = int(subject.max()) + 1
    Z = np.zeros((n, n_subjects))
    Z[np.arange(n), subject] = 1.0
    rank = int(np.linalg.matrix_rank(np.column_stack([np.ones(n), X, Z])))
    return float(n - rank - (n_categories - 2))


def t_test(estimate: float, se: float, df: float) -> tuple[float, float]:
    """t = estimate / se and its two-sided p on ``df`` (GLIMMIX "Solutions for Fixed Effects")."""
    t = estimate / se if se > 0 else math.nan
    p = float(2.0 * stats.t.sf(abs(t), df)) if math.isfinite(t) and df > 0 else math.nan
    return t, p
