"""REML / ML estimation of the covariance parameters: the array-level fitting API.

``fit_arrays`` takes plain numpy arrays (no pandas in the hot path) so that the batched trial
simulator can call it directly. Two algorithms:

* **CS, profiled** (default for ``cs``): writing Σ = σ²(I + γJ) the residual variance σ² has a
  closed form given γ, and X'Σ⁻¹X, X'Σ⁻¹y need only per-subject sums of X and y
  (Σ_s⁻¹ = σ⁻²(I − γ/(1 + k_sγ) J)). The REML criterion is then a function of the single ratio
  γ = between/within, minimised by bounded Brent search followed by secant steps on the
  analytic derivative. Each evaluation costs O(S·p²).
* **Newton-Raphson** on the analytic observed Hessian of the (restricted) log-likelihood in
  SAS's parametrisation (``engine.evaluate``), falling back to Fisher scoring when the Hessian
  is not negative definite, with step halving to keep Σ positive definite and the likelihood
  increasing — the scheme SAS PROC MIXED uses (SAS/STAT User's Guide, "Convergence Problems").

Like SAS's REPEATED / TYPE=CS and nlme's ``corCompSymm``, the CS between-subject covariance may
be negative (only Σ must be positive definite); a non-positive estimate is reported in
``warnings`` rather than silently truncated.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import lapack
from scipy.optimize import minimize_scalar

from .covariance import CovarianceStructure, get_structure
from .engine import LOG_2PI, EvalResult, PatternData, evaluate, group_patterns

__all__ = [
    "CoreFit",
    "CsXSums",
    "cs_sums_from_subjects",
    "cs_x_sums",
    "cs_x_sums_from",
    "fit_arrays",
    "fit_cs_sums",
    "fit_patterns",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

_potrf = lapack.dpotrf
_potri = lapack.dpotri
_potrs = lapack.dpotrs


@dataclass(frozen=True)
class CoreFit:
    """Result of the covariance-parameter optimisation (array level, no labels)."""

    structure: CovarianceStructure
    theta: FloatArray
    beta: FloatArray
    cov_beta: FloatArray
    loglik: float
    reml: bool
    converged: bool
    iterations: int
    # the grouped data, or a function that builds it: the profiled CS fit needs only sums,
    # so the per-pattern grouping is made only if something asks for it (Satterthwaite and
    # Kenward-Roger df do)
    data_source: PatternData | Callable[[], PatternData]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def data(self) -> PatternData:
        src = self.data_source
        if isinstance(src, PatternData):
            return src
        built = src()
        object.__setattr__(self, "data_source", built)  # memoise (frozen dataclass)
        return built

    @property
    def sigma(self) -> FloatArray:
        return self.structure.sigma(self.theta)


def fit_arrays(
    subject: IntArray,
    time: IntArray,
    x: FloatArray,
    y: FloatArray,
    n_times: int,
    covariance: str = "cs",
    *,
    reml: bool = True,
    max_iter: int = 100,
) -> CoreFit:
    """Fit the MMRM to arrays: ``subject`` and ``time`` are 0-based integer codes per row,
    ``x`` the full-rank N×p design, ``y`` the outcome (no missing values; drop rows first).

    Raises ``ValueError`` when X is rank deficient or a subject repeats a time level.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != y.size:
        raise ValueError("x must be N×p with one row per outcome value")
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise ValueError(
            "the design matrix is rank deficient (an empty group×time cell or a constant "
            "covariate?)"
        )
    if y.size <= x.shape[1]:
        raise ValueError("too few observations for the number of fixed effects")
    data = group_patterns(
        np.asarray(subject, dtype=np.intp), np.asarray(time, dtype=np.intp), x, y, n_times
    )
    structure = get_structure(covariance, n_times)
    return fit_patterns(data, structure, reml=reml, max_iter=max_iter)


def fit_patterns(
    data: PatternData,
    structure: CovarianceStructure,
    *,
    reml: bool = True,
    max_iter: int = 100,
    cs_sums: CsXSums | None = None,
) -> CoreFit:
    """Fit on pre-grouped data (reuse ``group_patterns`` output across refits).

    ``cs_sums`` = ``cs_x_sums(data)`` (subjects in the order of ``data.patterns``) when the
    caller kept it from an earlier fit of the same data layout. (``layout.Layout.cs_sums``
    lists subjects in code order instead; it goes with ``Layout.cs_y_sums`` and
    ``fit_cs_sums``.)"""
    if structure.name == "cs":
        sums = _cs_sums(data, cs_sums)
        fit = _fit_cs_profiled(data, structure, reml=reml, sums=sums)
        if fit is not None:
            return fit
    return _fit_newton(data, structure, reml=reml, max_iter=max_iter)


# --------------------------------------------------------------------------- CS profile
@dataclass(frozen=True)
class CsXSums:
    """The outcome-independent part of the CS profile, per layout: subjects (in pattern order)
    grouped by their number of observations k, since Σ_s⁻¹ depends on s only through k_s.

    ``m[g] = Σ_{k_s = k_g} x̄_s x̄_s'`` (x̄_s the sum of subject s's rows of X) turns
    X'Ṽ⁻¹X = X'X − Σ_s c_s x̄_s x̄_s' into a sum over the few distinct k (at most the number of
    visits) instead of the subjects; ``mw`` is ``m`` weighted for a trace against the lower
    triangle of a symmetric matrix (2 below the diagonal, 1 on it, 0 above)."""

    k_values: FloatArray  # (K,)
    n_k: FloatArray  # (K,) subjects per k
    member: FloatArray  # (K, S) indicator of k_s = k_g
    sx: FloatArray  # (S, p)
    xtx: FloatArray  # (p, p)
    m: FloatArray  # (K, p, p)
    mw: FloatArray  # (K, p, p)
    m_flat: FloatArray  # (K, p·p), ``m`` for one matrix product
    mw_flat: FloatArray  # (K, p·p)


def cs_x_sums(data: PatternData) -> CsXSums:
    """Build ``CsXSums`` from grouped data (subjects in the order of ``data.patterns``)."""
    p = data.n_coef
    k = np.concatenate([np.full(pat.y.shape[0], float(pat.y.shape[1])) for pat in data.patterns])
    sx = np.vstack([pat.x.sum(axis=1) for pat in data.patterns])
    xtx = np.zeros((p, p))
    for pat in data.patterns:
        xtx += np.einsum("skp,skq->pq", pat.x, pat.x)
    return cs_x_sums_from(k, sx, xtx)


def cs_x_sums_from(k: FloatArray, sx: FloatArray, xtx: FloatArray) -> CsXSums:
    """``CsXSums`` from each subject's number of observations ``k``, row sum of X ``sx``
    (subjects in pattern order) and X'X (the layout has them without grouping y)."""
    p = xtx.shape[0]
    k_values = np.unique(k)
    member = (k[None, :] == k_values[:, None]).astype(np.float64)
    m = np.matmul((member[:, :, None] * sx[None]).transpose(0, 2, 1), sx)
    mw = m * _lower_weight(p)
    return CsXSums(
        k_values=k_values,
        n_k=member.sum(axis=1),
        member=member,
        sx=sx,
        xtx=xtx,
        m=m,
        mw=mw,
        m_flat=m.reshape(k_values.size, p * p),
        mw_flat=mw.reshape(k_values.size, p * p),
    )


@functools.lru_cache(maxsize=16)
def _lower_weight(p: int) -> FloatArray:
    """2 below the diagonal, 1 on it, 0 above: a trace against a lower triangle."""
    weight = 2.0 * np.tri(p, k=-1) + np.eye(p)
    weight.flags.writeable = False
    return weight


@dataclass(frozen=True)
class CsSums:
    xs: CsXSums
    sy: FloatArray  # (S,) subject sums of y
    v: FloatArray  # (K, p) Σ_{k_s = k_g} x̄_s ȳ_s
    w: FloatArray  # (K,) Σ_{k_s = k_g} ȳ_s²
    xty: FloatArray
    yty: float
    n: int
    p: int
    # (between, within) residual df of the split-plot ANOVA — the between-within df — when
    # the caller knows them: a better Newton start (``_cs_moment_start``)
    anova_df: tuple[float, float] | None = None


def _cs_sums(data: PatternData, xs: CsXSums | None = None) -> CsSums:
    """The y-dependent sums for the CS profile; ``xs`` may come from the analysis layout."""
    if xs is None:
        xs = cs_x_sums(data)
    p = data.n_coef
    xty = np.zeros(p)
    yty = 0.0
    sys_: list[FloatArray] = []
    for pat in data.patterns:
        sys_.append(pat.y.sum(axis=1))
        xty += np.einsum("skp,sk->p", pat.x, pat.y)
        yty += float(np.sum(pat.y * pat.y))
    sy = np.concatenate(sys_) if len(sys_) > 1 else sys_[0]
    return CsSums(
        xs=xs,
        sy=sy,
        v=xs.member @ (xs.sx * sy[:, None]),
        w=xs.member @ (sy * sy),
        xty=xty,
        yty=yty,
        n=data.n_obs,
        p=p,
    )


def cs_sums_from_subjects(
    xs: CsXSums,
    sy: FloatArray,
    xty: FloatArray,
    yty: float,
    n_obs: int,
    anova_df: tuple[float, float] | None = None,
) -> CsSums:
    """The y-dependent CS sums from per-subject sums of y (``sy``, subjects in the order of
    ``xs``), X'y and y'y — the layout computes these without grouping by pattern.
    ``anova_df`` = (between, within) df of the design, for the start of the iteration."""
    return CsSums(
        xs=xs,
        sy=sy,
        v=xs.member @ (xs.sx * sy[:, None]),
        w=xs.member @ (sy * sy),
        xty=xty,
        yty=yty,
        n=n_obs,
        p=xs.xtx.shape[0],
        anova_df=anova_df,
    )


def fit_cs_sums(
    sums: CsSums,
    structure: CovarianceStructure,
    data: PatternData | Callable[[], PatternData],
    *,
    reml: bool = True,
    max_iter: int = 100,
) -> CoreFit:
    """The CS fit from sums (``cs_sums_from_subjects``); ``data`` (or a function building it)
    is kept on the result and used only if the profiled fit fails (Newton-Raphson then)."""
    fit = _fit_cs_profiled(data, structure, reml=reml, sums=sums)
    if fit is not None:
        return fit
    if not isinstance(data, PatternData):
        data = data()
    return _fit_newton(data, structure, reml=reml, max_iter=max_iter)


def _cs_objective(
    gamma: float, s: CsSums, reml: bool
) -> tuple[float, float, FloatArray, FloatArray, float]:
    """Profiled −2 log-likelihood at γ, its derivative, β̂, the lower Cholesky factor of
    X'Ṽ⁻¹X and σ̂² (Ṽ = V/σ²). Raises ``LinAlgError`` when X'Ṽ⁻¹X is not positive definite.

    Written for the trial's size, where each numpy call's overhead outweighs its arithmetic:
    every quantity is a sum over the few distinct subject sizes k (``CsXSums``), and one LAPACK
    Cholesky factorisation serves β̂, log|X'Ṽ⁻¹X| and (REML) the trace in its derivative."""
    xs = s.xs
    one_kg = 1.0 + xs.k_values * gamma
    c = gamma / one_kg
    dc = 1.0 / (one_kg * one_kg)
    a = xs.xtx - (c @ xs.m_flat).reshape(s.p, s.p)
    b = s.xty - c @ s.v
    chol, info = _potrf(a, lower=1, clean=1)
    if info != 0:
        raise np.linalg.LinAlgError("X'Ṽ⁻¹X is not positive definite")
    beta, info = _potrs(chol, b, lower=1)
    e = s.sy - xs.sx @ beta  # subject sums of residuals
    quad = s.yty - float(c @ s.w) - float(b @ beta)
    dquad = -float(dc @ (xs.member @ (e * e)))
    dof = s.n - s.p if reml else s.n
    sigma2 = quad / dof
    logdet_k = float(xs.n_k @ np.log(one_kg))
    dlogdet_k = float(xs.n_k @ (xs.k_values / one_kg))
    m2 = dof * (LOG_2PI + 1.0 + np.log(sigma2)) + logdet_k
    dm2 = dof * dquad / quad + dlogdet_k
    if reml:
        m2 += 2.0 * float(np.log(chol.diagonal()).sum())
        a_inv_l, info = _potri(chol, lower=1)
        # d log|A|/dγ = tr(A⁻¹ dA/dγ), dA/dγ = −Σ_g dc_g m_g
        dm2 -= float(dc @ (xs.mw_flat @ a_inv_l.ravel()))
    return float(m2), dm2, beta, chol, sigma2


def _cs_newton_terms(
    gamma: float, s: CsSums, reml: bool
) -> tuple[float, float, float, FloatArray, FloatArray, float]:
    """``_cs_objective`` plus the analytic second derivative d²(−2l)/dγ².

    With c_k = γ/(1 + kγ), Ṽ⁻¹ = I − Σ_s c_{k_s} J_s, A = X'Ṽ⁻¹X, e_s the subject sums of
    residuals and u = Σ_s c'_{k_s} e_s x̄_s:

    * quad(γ) = min_β (y − Xβ)'Ṽ⁻¹(y − Xβ), so by the envelope theorem
      quad' = −Σ c'_k e_s² and, since dβ̂/dγ = −A⁻¹u, quad'' = −Σ c''_k e_s² − 2u'A⁻¹u;
    * log|Ṽ| = Σ log(1 + k_sγ): first derivative Σ k/(1 + kγ), second −Σ k²/(1 + kγ)²;
    * (REML) log|A| with A' = −Σ_g c'_g M_g, A'' = −Σ_g c''_g M_g:
      (log|A|)'' = tr(A⁻¹A'') − tr(A⁻¹A'A⁻¹A');
    * −2l = dof·(log 2π + 1 + log(quad/dof)) + log|Ṽ| (+ log|A|), whence
      (−2l)'' = dof·(quad''/quad − (quad'/quad)²) + log|Ṽ|'' (+ log|A|'').

    Returns (−2l, first, second derivative, β̂, Cholesky factor of A, σ̂²). Raises
    ``LinAlgError`` when A is not positive definite."""
    xs = s.xs
    p = s.p
    kv = xs.k_values
    one_kg = 1.0 + kv * gamma
    r = 1.0 / one_kg
    c = gamma * r
    dc = r * r
    d2c = -2.0 * kv * dc * r
    coef = np.array((c, dc, d2c))  # c, c', c''

    mats = (coef @ xs.m_flat).reshape(3, p, p)
    a = xs.xtx - mats[0]
    b = s.xty - c @ s.v
    chol, info = _potrf(a, lower=1, clean=1)
    if info != 0:
        raise np.linalg.LinAlgError("X'Ṽ⁻¹X is not positive definite")
    beta, info = _potrs(chol, b, lower=1)
    e = s.sy - xs.sx @ beta
    ee_k = xs.member @ (e * e)
    quad = s.yty - float(c @ s.w) - float(b @ beta)
    dquad = -float(dc @ ee_k)
    u = ((dc @ xs.member) * e) @ xs.sx
    # one triangular solve pair for A⁻¹[A₁ A₂ u] (A₁ = −A', A₂ = −A'')
    sol, _ = _potrs(chol, np.column_stack((mats[1], mats[2], u)), lower=1)
    d2quad = -float(d2c @ ee_k) - 2.0 * float(u @ sol[:, -1])
    dof = s.n - p if reml else s.n
    sigma2 = quad / dof
    k_over = kv / one_kg
    lq = dquad / quad
    m2 = dof * (LOG_2PI + 1.0 + math.log(sigma2)) + float(xs.n_k @ np.log(one_kg))
    dm2 = dof * lq + float(xs.n_k @ k_over)
    d2m2 = dof * (d2quad / quad - lq * lq) - float(xs.n_k @ (k_over * k_over))
    if reml:
        m2 += 2.0 * float(np.log(chol.diagonal()).sum())
        d1 = sol[:, :p]  # −A⁻¹A'
        dm2 -= float(d1.trace())
        d2m2 -= float(sol[:, p : 2 * p].trace()) + float(np.vdot(d1, d1.T))
    return float(m2), float(dm2), float(d2m2), beta, chol, float(sigma2)


def _cs_value(gamma: float, s: CsSums, reml: bool) -> tuple[float, FloatArray, FloatArray, float]:
    """−2l, β̂, the Cholesky factor of X'Ṽ⁻¹X and σ̂² at γ, without derivatives (the last
    Newton iterate)."""
    xs = s.xs
    one_kg = 1.0 + xs.k_values * gamma
    c = gamma / one_kg
    a = xs.xtx - (c @ xs.m_flat).reshape(s.p, s.p)
    b = s.xty - c @ s.v
    chol, info = _potrf(a, lower=1, clean=1)
    if info != 0:
        raise np.linalg.LinAlgError("X'Ṽ⁻¹X is not positive definite")
    beta, info = _potrs(chol, b, lower=1)
    quad = s.yty - float(c @ s.w) - float(b @ beta)
    dof = s.n - s.p if reml else s.n
    sigma2 = quad / dof
    m2 = dof * (LOG_2PI + 1.0 + math.log(sigma2)) + float(xs.n_k @ np.log(one_kg))
    if reml:
        m2 += 2.0 * float(np.log(chol.diagonal()).sum())
    return float(m2), beta, chol, float(sigma2)


def _cs_newton(
    s: CsSums, reml: bool, lower: float
) -> tuple[float, float, FloatArray, FloatArray, float, int] | None:
    """Newton's method on d(−2l)/dγ with the analytic second derivative, from the moment
    start of ``_cs_moment_start``; steps that would leave (γ_min, ∞) are halved towards the
    boundary. None (the caller then uses the secant) when the criterion is not convex at an
    iterate.

    Stopping: once a step is ≤ 1e-5·max(1, |γ|) and at most a tenth of the one before (the
    quadratic phase, where the error after a step is ~C·step², C = f‴/(2f″) of order 1), the
    step is taken and only the value, β̂ and σ̂² are computed there: γ is then within ~1e-10
    of the root, as accurate as the secant's 1e-12 step rule after 11 evaluations (the
    criterion within ~1e-20 of its minimum). On the trial's data: 2 evaluations with
    derivatives and one without."""
    gamma = _cs_moment_start(s, lower)
    prev_step = math.inf
    for evals in range(1, 41):
        try:
            m2, dm2, d2m2, beta, chol, sigma2 = _cs_newton_terms(gamma, s, reml)
        except np.linalg.LinAlgError:
            return None
        if not (np.isfinite(m2) and d2m2 > 0.0):
            return None
        step = -dm2 / d2m2
        scale = max(1.0, abs(gamma))
        if abs(step) <= 1e-12 * scale:
            return gamma, m2, beta, chol, sigma2, evals
        new = gamma + step
        if abs(step) <= 1e-5 * scale and abs(step) <= 0.1 * abs(prev_step) and new > lower:
            try:
                m2, beta, chol, sigma2 = _cs_value(new, s, reml)
            except np.linalg.LinAlgError:
                return None
            return new, m2, beta, chol, sigma2, evals + 1
        if not new > lower:
            new = 0.5 * (gamma + lower)
        prev_step = new - gamma
        gamma = new
    return None


def _cs_moment_start(s: CsSums, lower: float) -> float:
    """γ₀ from the OLS fit, as a split-plot ANOVA: the residual sum of squares splits into a
    between-subject part Σ_s e_s²/k_s (e_s the subject sums of OLS residuals) and the
    within-subject rest; σ²_w = SS_within/df_w, σ²_b = (SS_between/df_b − σ²_w)/n₀ with
    n₀ = (N − Σk_s²/N)/(S − 1). With the design's between-within df (``anova_df``) these are
    the ANOVA estimators, which equal REML for balanced complete data when positive (0.25 %
    off γ̂ on the RCT-sized test data, one missing visit); without them, S − 1 and N − S.
    Clipped into the admissible range. Only a start: the Newton iteration makes it exact."""
    xs = s.xs
    chol, info = _potrf(xs.xtx, lower=1, clean=1)
    if info != 0:  # pragma: no cover - X has full rank
        return 0.5
    beta, _ = _potrs(chol, s.xty, lower=1)
    rss = s.yty - float(s.xty @ beta)
    e = s.sy - xs.sx @ beta
    k_s = xs.k_values @ xs.member
    between_ss = float(np.sum(e * e / k_s))
    n_subj = float(k_s.size)
    df_b, df_w = (n_subj - 1.0, s.n - n_subj) if s.anova_df is None else s.anova_df
    within = max((rss - between_ss) / max(df_w, 1.0), 1e-12)
    n0 = (s.n - float(k_s @ k_s) / s.n) / max(n_subj - 1.0, 1.0)
    between = (between_ss / max(df_b, 1.0) - within) / n0
    return float(max(between / within, 0.5 * lower))


def _inverse_from_chol(chol: FloatArray) -> FloatArray:
    """A⁻¹ from the lower Cholesky factor of A (``potrf(clean=1)``: zeros above the diagonal,
    which ``potri`` leaves alone, so the lower triangle L of A⁻¹ gives A⁻¹ = L + L' − diag)."""
    a_inv_l, info = _potri(chol, lower=1)
    if info != 0:  # pragma: no cover - potrf succeeded, so A is invertible
        raise np.linalg.LinAlgError("X'Ṽ⁻¹X is singular")
    full = a_inv_l + a_inv_l.T
    full.flat[:: full.shape[0] + 1] *= 0.5
    return np.asarray(full, dtype=np.float64)


def _cs_secant(
    s: CsSums, reml: bool, lower: float
) -> tuple[float, float, FloatArray, FloatArray, float, int] | None:
    """Secant on the analytic derivative; None if it fails to converge inside (γ_min, ∞)."""
    gamma = 0.5
    try:
        m2, dm2, beta, chol, sigma2 = _cs_objective(gamma, s, reml)
        g_prev = gamma * 1.05 + 1e-3
        d_prev = _cs_objective(g_prev, s, reml)[1]
    except np.linalg.LinAlgError:
        return None
    evals = 2
    slope = (dm2 - d_prev) / (gamma - g_prev)
    for _ in range(60):
        denom = dm2 - d_prev
        if denom == 0.0 or not np.isfinite(denom):
            return None
        g_new = gamma - dm2 * (gamma - g_prev) / denom
        if not g_new > lower:
            g_new = 0.5 * (gamma + lower)
        try:
            m2_n, dm2_n, beta_n, chol_n, sigma2_n = _cs_objective(g_new, s, reml)
        except np.linalg.LinAlgError:
            return None
        evals += 1
        if not np.isfinite(m2_n):
            return None
        g_prev, d_prev = gamma, dm2
        gamma, m2, dm2, beta, chol, sigma2 = g_new, m2_n, dm2_n, beta_n, chol_n, sigma2_n
        step = abs(gamma - g_prev)
        if step > 1e-7 * max(1.0, abs(gamma)):
            # slope of the derivative over a step long enough to be above rounding noise
            slope = (dm2 - d_prev) / (gamma - g_prev)
        if step <= 1e-12 * max(1.0, abs(gamma)):
            # a root of the derivative that is a minimum: the derivative must increase through
            # it. The last steps are too short to tell (both derivatives are rounding noise,
            # ~1e-13, and their order is random), so use the last step longer than 1e-7·|γ|.
            if not slope > 0.0:
                return None
            return gamma, m2, beta, chol, sigma2, evals
    return None


def _fit_cs_profiled(
    data: PatternData | Callable[[], PatternData],
    structure: CovarianceStructure,
    *,
    reml: bool,
    sums: CsSums | None = None,
) -> CoreFit | None:
    if sums is None:
        if not isinstance(data, PatternData):
            data = data()
        sums = _cs_sums(data)
    s = sums
    k_max = float(np.max(s.xs.k_values))
    lower = -1.0 / k_max

    def to_gamma(u: float) -> float:
        return lower + float(np.exp(u))

    def obj(u: float) -> float:
        try:
            return _cs_objective(to_gamma(u), s, reml)[0]
        except (np.linalg.LinAlgError, FloatingPointError, ValueError):
            return float("inf")

    # Safeguarded secant iteration on d(−2l)/dγ from a moment start; Brent's bounded search
    # over u = log(γ − γ_min) is the fallback when the secant leaves the valid range.
    warnings: list[str] = []
    evals = 0
    result = _cs_newton(s, reml, lower)
    if result is None:
        result = _cs_secant(s, reml, lower)
    if result is not None:
        gamma, m2, beta, chol, sigma2, evals = result
        u = float(np.log(gamma - lower))
    else:
        with np.errstate(all="ignore"):
            res = minimize_scalar(
                obj, bounds=(-30.0, 12.0), method="bounded", options={"xatol": 1e-10}
            )
        u = float(res.x)
        evals = int(res.nfev)
        gamma = to_gamma(u)
        try:
            m2, _, beta, chol, sigma2 = _cs_objective(gamma, s, reml)
        except np.linalg.LinAlgError:
            return None
    at_bound = u <= -29.9 or u >= 11.9
    if at_bound:
        warnings.append(
            "compound-symmetry optimisation reached the boundary of the correlation range; "
            "the estimate is unreliable"
        )
    theta = np.array([gamma * sigma2, sigma2])
    if theta[0] <= 0:
        warnings.append(
            f"between-subject covariance estimate is {theta[0]:.6g} (<= 0): no positive "
            "within-subject correlation; a random-intercept model would set it to 0"
        )
    return CoreFit(
        structure=structure,
        theta=theta,
        beta=beta,
        cov_beta=sigma2 * _inverse_from_chol(chol),
        loglik=-0.5 * m2,
        reml=reml,
        converged=not at_bound,
        iterations=evals,
        data_source=data,
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------- Newton
def _ols_start(data: PatternData, structure: CovarianceStructure) -> FloatArray:
    p = data.n_coef
    xtx = np.zeros((p, p))
    xty = np.zeros(p)
    for pat in data.patterns:
        xtx += np.einsum("skp,skq->pq", pat.x, pat.x)
        xty += np.einsum("skp,sk->p", pat.x, pat.y)
    beta = np.linalg.solve(xtx, xty)
    t = structure.n_times
    sums = np.zeros((t, t))
    counts = np.zeros((t, t))
    for pat in data.patterns:
        r = pat.y - pat.x @ beta
        ix = np.ix_(pat.idx, pat.idx)
        sums[ix] += r.T @ r
        counts[ix] += r.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    scale = data.n_obs / max(data.n_obs - p, 1)
    return structure.start(cov * scale)


def _theta_scale(structure: CovarianceStructure, theta: FloatArray) -> FloatArray:
    """Per parameter, the magnitude against which a step counts as small: |θ_k|, floored at
    1e-8 × the largest variance-type parameter (1e-8 for a correlation ρ of ar1/csh, the
    last parameter). Relative to the data's scale: an absolute floor stopped the fit of
    outcomes with SD ~1e-13 after one step."""
    mag = np.abs(theta)
    variance_type = np.ones(theta.size, dtype=bool)
    if structure.name in ("ar1", "csh"):
        variance_type[-1] = False
    floor = np.where(variance_type, 1e-8 * float(mag[variance_type].max() or 1.0), 1e-8)
    return np.asarray(np.maximum(mag, floor), dtype=np.float64)


def _is_pd(structure: CovarianceStructure, theta: FloatArray) -> bool:
    if not structure.is_admissible(theta):
        return False
    try:
        np.linalg.cholesky(structure.sigma(theta))
    except np.linalg.LinAlgError:
        return False
    return True


def _fit_newton(
    data: PatternData, structure: CovarianceStructure, *, reml: bool, max_iter: int
) -> CoreFit:
    theta = _ols_start(data, structure)
    if not _is_pd(structure, theta):
        t = structure.n_times
        theta = structure.start(np.eye(t) * float(np.mean(np.abs(theta[:1])) or 1.0))
    cur = evaluate(data, structure, theta, reml=reml, derivatives=2)
    if cur is None:
        raise ValueError("could not find positive-definite starting values for the covariance")
    warnings: list[str] = []
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        assert cur.gradient is not None and cur.hessian is not None
        assert cur.expected_info is not None
        g = cur.gradient
        neg_h = -cur.hessian
        step = None
        try:
            np.linalg.cholesky(neg_h)
            step = np.linalg.solve(neg_h, g)
        except np.linalg.LinAlgError:
            step = None
        if step is None:
            step = np.linalg.solve(cur.expected_info + 1e-12 * np.eye(g.size), g)
        # SAS's relative Hessian criterion g'H⁻¹g / |f|
        crit = float(abs(g @ step)) / max(abs(cur.loglik), 1.0)
        if crit < 1e-20:
            converged = True
            break
        lam = 1.0
        accepted: EvalResult | None = None
        new_theta = theta
        for _ in range(40):
            cand = theta + lam * step
            if _is_pd(structure, cand):
                res = evaluate(data, structure, cand, reml=reml, derivatives=2)
                if res is not None and res.loglik >= cur.loglik - 1e-12 * abs(cur.loglik):
                    accepted = res
                    new_theta = cand
                    break
            lam *= 0.5
        if accepted is None:
            converged = crit < 1e-10
            break
        change = float(np.max(np.abs(new_theta - theta) / _theta_scale(structure, theta)))
        theta, cur = new_theta, accepted
        if change < 1e-12 or crit < 1e-16:
            converged = True
            break
    if not converged:
        warnings.append(
            f"the REML/ML optimisation did not converge in {it} iterations; estimates are "
            "unreliable"
        )
    warnings.extend(_boundary_warnings(structure, theta))
    return CoreFit(
        structure=structure,
        theta=theta,
        beta=cur.beta,
        cov_beta=cur.cov_beta,
        loglik=cur.loglik,
        reml=reml,
        converged=converged,
        iterations=it,
        data_source=data,
        warnings=tuple(warnings),
    )


def _boundary_warnings(structure: CovarianceStructure, theta: FloatArray) -> list[str]:
    out: list[str] = []
    sigma = structure.sigma(theta)
    eig = np.linalg.eigvalsh(sigma)
    if eig.min() <= 1e-8 * max(float(eig.max()), 1e-300):
        out.append(
            "the estimated covariance matrix is (nearly) singular: the estimate is on the "
            "boundary of the parameter space"
        )
    if structure.name == "cs" and theta[0] <= 0:
        out.append(
            f"between-subject covariance estimate is {theta[0]:.6g} (<= 0): no positive "
            "within-subject correlation; a random-intercept model would set it to 0"
        )
    if structure.name in ("ar1", "csh") and abs(theta[-1]) > 0.999:
        out.append(f"correlation estimate {theta[-1]:.6g} is at the boundary (|rho| -> 1)")
    return out
