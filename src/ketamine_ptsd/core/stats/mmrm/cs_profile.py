"""The profiled compound-symmetry REML / ML criterion, for one data set or thousands at once.

This is the one CS engine: the single analysis (``fit.fit_cs_sums``, through the layout), the
batched trial simulator (``batched.fit_batched_mmrm``) and the registry-scale fit
(``simulation.registry``) all call :func:`fit_profile` on :class:`ProfileSums` with a leading
batch axis (B = 1 for one analysis).

Writing Σ_s = σ²(I + γJ) on subject s's k_s observed visits, Σ_s⁻¹ = σ⁻²(I − c(k_s)J) with
c(k) = γ/(1 + kγ). Since Σ_s⁻¹ depends on s only through k_s, every quantity of the REML
criterion is a sum over the few distinct sizes k (at most the number of visits) of

* ``m[k] = Σ_{k_s = k} x̄_s x̄_s'`` (x̄_s the sum of subject s's rows of X),
* ``v[k] = Σ_{k_s = k} x̄_s ȳ_s`` and ``w[k] = Σ_{k_s = k} ȳ_s²`` (ȳ_s the sum of its outcomes),
* ``n_k`` the number of such subjects, plus X'X, X'y, y'y and N.

These sums are additive over disjoint sets of subjects (registry partitions add them) and do
not depend on the order of the subjects. With A = X'Ṽ⁻¹X = X'X − Σ_k c_k m_k and
b = X'Ṽ⁻¹y = X'y − Σ_k c_k v_k: β̂ = A⁻¹b, the residual quadratic form
quad = y'y − Σ c_k w_k − b'β̂, and Σ_{k_s = k} e_s² = w_k − 2v_k'β̂ + β̂'m_kβ̂ (e_s the subject
sums of residuals). σ² has a closed form given γ, leaving a function of γ alone:

    −2l(γ) = dof·(log 2π + 1 + log(quad/dof)) + Σ_k n_k log(1 + kγ) (+ log|A| for REML)

with dof = N − p (REML) or N. Its first and second derivatives are analytic
(:func:`profile_terms`, tested against finite differences): quad' = −Σ c'_k e²_k by the
envelope theorem, and with u = Σ_k c'_k (v_k − m_kβ̂), dβ̂/dγ = −A⁻¹u, so
quad'' = −Σ c''_k e²_k − 2u'A⁻¹u; (log|A|)' = −tr(A⁻¹M₁), (log|A|)'' = −tr(A⁻¹M₂) −
tr(A⁻¹M₁A⁻¹M₁) with M_j = Σ_k c^(j)_k m_k.

The minimisation (:func:`fit_profile`) is Newton's method from the split-plot ANOVA moment
start (:func:`moment_start`), every data set of the batch in the same array operations; a
data set whose criterion is not convex at an iterate falls back, on its own, to the secant on
the analytic derivative and then to Brent's bounded search over log(γ − γ_min). Like SAS's
REPEATED / TYPE=CS and nlme's ``corCompSymm``, γ may be negative down to −1/max k_s (only Σ
must be positive definite).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import lapack
from scipy.optimize import minimize_scalar

from .spd import block_inverse_logdet, eye

__all__ = [
    "ProfileFit",
    "ProfileSums",
    "ProfileTerms",
    "SubjectXSums",
    "fit_profile",
    "moment_start",
    "newton",
    "profile_terms",
    "secant",
    "subject_x_sums",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

LOG_2PI = float(np.log(2.0 * np.pi))
_potrf = lapack.dpotrf
_potrs = lapack.dpotrs


@dataclass(frozen=True)
class ProfileSums:
    """The sums of the module docstring with a leading batch axis of B data sets.

    ``k_values`` (K,) are the subject sizes the sums are kept for (sizes with ``n_k = 0``
    contribute nothing); ``m`` (B, K, p, p), ``v`` (B, K, p), ``w`` (B, K), ``n_k`` (B, K),
    ``xtx`` (B, p, p), ``xty`` (B, p), ``yty`` (B,), ``n`` (B,) observations. ``anova_df``
    (B, 2): the design's (between, within) residual df of the split-plot ANOVA, for the
    moment start, when the caller knows them. ``blocks``: column block sizes when every
    X'X and m_k is block diagonal with them (the cell-means design, by arm), so that A is
    inverted block by block."""

    k_values: FloatArray
    n_k: FloatArray
    m: FloatArray
    v: FloatArray
    w: FloatArray
    xtx: FloatArray
    xty: FloatArray
    yty: FloatArray
    n: FloatArray
    anova_df: FloatArray | None = None
    blocks: tuple[int, ...] | None = None

    @property
    def n_batch(self) -> int:
        return int(self.yty.shape[0])

    @property
    def p(self) -> int:
        return int(self.xtx.shape[-1])

    def take(self, idx: NDArray[np.intp]) -> ProfileSums:
        """The data sets ``idx`` of the batch."""
        return ProfileSums(
            self.k_values,
            self.n_k[idx],
            self.m[idx],
            self.v[idx],
            self.w[idx],
            self.xtx[idx],
            self.xty[idx],
            self.yty[idx],
            self.n[idx],
            None if self.anova_df is None else self.anova_df[idx],
            self.blocks,
        )

    def __add__(self, other: ProfileSums) -> ProfileSums:
        """Sums of disjoint sets of subjects (same ``k_values`` and columns)."""
        if not np.array_equal(self.k_values, other.k_values):
            raise ValueError("profile sums kept for different subject sizes cannot be added")
        return replace(
            self,
            n_k=self.n_k + other.n_k,
            m=self.m + other.m,
            v=self.v + other.v,
            w=self.w + other.w,
            xtx=self.xtx + other.xtx,
            xty=self.xty + other.xty,
            yty=self.yty + other.yty,
            n=self.n + other.n,
            anova_df=None,
        )


@dataclass(frozen=True)
class SubjectXSums:
    """The outcome-independent part of one data set's sums, subjects in a fixed order:
    ``member`` (K, S) the indicator of k_s = k, ``sx`` (S, p) the row sums of X, and the
    ``m``, ``n_k``, X'X of :class:`ProfileSums` (B = 1). A layout keeps it across refits;
    :meth:`with_y` adds an outcome."""

    k_values: FloatArray
    member: FloatArray
    sx: FloatArray
    n_k: FloatArray
    m: FloatArray
    xtx: FloatArray

    def with_y(
        self,
        sy: FloatArray,
        xty: FloatArray,
        yty: float,
        n_obs: int,
        anova_df: tuple[float, float] | None = None,
    ) -> ProfileSums:
        """The sums for outcome sums per subject ``sy`` (S,), X'y and y'y."""
        return ProfileSums(
            k_values=self.k_values,
            n_k=self.n_k,
            m=self.m,
            v=((self.member * sy) @ self.sx)[None],
            w=(self.member @ (sy * sy))[None],
            xtx=self.xtx,
            xty=xty[None],
            yty=np.array([yty]),
            n=np.array([float(n_obs)]),
            anova_df=None if anova_df is None else np.array([anova_df], dtype=np.float64),
        )


def subject_x_sums(
    k: FloatArray, sx: FloatArray, xtx: FloatArray, k_values: FloatArray | None = None
) -> SubjectXSums:
    """:class:`SubjectXSums` from each subject's size ``k`` (S,), the row sums of X ``sx``
    (S, p) and X'X. ``k_values`` defaults to the distinct sizes of ``k``."""
    if k_values is None:  # the distinct sizes, ascending (sizes are counts: a bincount)
        kv = np.flatnonzero(np.bincount(k.astype(np.intp))).astype(np.float64)
    else:
        kv = k_values
    member = (k[None, :] == kv[:, None]).astype(np.float64)
    m = np.matmul((member[:, :, None] * sx[None]).transpose(0, 2, 1), sx)
    return SubjectXSums(
        k_values=kv,
        member=member,
        sx=sx,
        n_k=member.sum(axis=1)[None],
        m=m[None],
        xtx=xtx[None],
    )


@dataclass(frozen=True)
class ProfileTerms:
    """The criterion at γ (B,): −2l, its derivatives (``order`` ≥ 1, 2), β̂ (B, p),
    A⁻¹ = (X'Ṽ⁻¹X)⁻¹ (B, p, p) and σ̂² (B,). NaN where A is not positive definite."""

    m2: FloatArray
    d1: FloatArray | None
    d2: FloatArray | None
    beta: FloatArray
    a_inv: FloatArray
    sigma2: FloatArray


def profile_terms(gamma: FloatArray, s: ProfileSums, reml: bool, order: int = 2) -> ProfileTerms:
    """−2l(γ) and, for ``order`` 1 or 2, its first (and second) derivative, for every data
    set of the batch (formulas in the module docstring). One data set (B = 1) goes through
    ``_terms_one``: the same formulas on 2-D arrays and Python floats, a third of the numpy
    calls (a single analysis is dominated by per-call overhead; tested equal to 1e-12)."""
    if s.n_batch == 1:
        return _terms_one(float(gamma[0]), s, reml, order)
    p = s.p
    nb = s.n_batch
    kv = s.k_values
    one = 1.0 + gamma[:, None] * kv  # (B, K)
    r = 1.0 / one
    c = gamma[:, None] * r
    m_flat = s.m.reshape(nb, kv.size, p * p)
    if order >= 2:
        dc = r * r
        d2c = -2.0 * kv * dc * r
        mats = np.matmul(np.stack((c, dc, d2c), axis=1), m_flat).reshape(nb, 3, p, p)
    elif order == 1:
        dc = r * r
        mats = np.matmul(np.stack((c, dc), axis=1), m_flat).reshape(nb, 2, p, p)
    else:
        mats = np.matmul(c[:, None, :], m_flat).reshape(nb, 1, p, p)
    a = s.xtx - mats[:, 0]
    b = s.xty - np.matmul(c[:, None, :], s.v)[:, 0]
    a_inv, logdet_a = block_inverse_logdet(a, s.blocks)
    beta = np.matmul(a_inv, b[:, :, None])[:, :, 0]
    quad = s.yty - (c * s.w).sum(axis=1) - (b * beta).sum(axis=1)
    dof = s.n - p if reml else s.n
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma2 = quad / dof
        m2 = dof * (LOG_2PI + 1.0 + np.log(sigma2)) + (s.n_k * np.log(one)).sum(axis=1)
    if reml:
        m2 = m2 + logdet_a
    if order == 0:
        return ProfileTerms(m2, None, None, beta, a_inv, sigma2)
    mb = np.matmul(s.m, beta[:, None, :, None])[..., 0]  # (B, K, p): m_k β̂
    ee = s.w + ((mb - 2.0 * s.v) * beta[:, None, :]).sum(axis=2)  # Σ_{k_s = k} e_s²
    dquad = -(dc * ee).sum(axis=1)
    k_over = kv * r
    with np.errstate(invalid="ignore", divide="ignore"):
        lq = dquad / quad
    d1 = dof * lq + (s.n_k * k_over).sum(axis=1)
    if order == 1:
        if reml:
            d1 = d1 - (a_inv * mats[:, 1]).sum(axis=(1, 2))
        return ProfileTerms(m2, d1, None, beta, a_inv, sigma2)
    u = np.matmul(dc[:, None, :], s.v - mb)[:, 0]  # (B, p)
    a_u = np.matmul(a_inv, u[:, :, None])[:, :, 0]
    d2quad = -(d2c * ee).sum(axis=1) - 2.0 * (u * a_u).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        d2 = dof * (d2quad / quad - lq * lq) - (s.n_k * k_over * k_over).sum(axis=1)
    if reml:
        ai_m1 = np.matmul(a_inv, mats[:, 1])  # −A⁻¹A'
        d1 = d1 - np.trace(ai_m1, axis1=1, axis2=2)
        d2 = (
            d2
            - (a_inv * mats[:, 2]).sum(axis=(1, 2))
            - (ai_m1 * ai_m1.transpose(0, 2, 1)).sum(axis=(1, 2))
        )
    return ProfileTerms(m2, d1, d2, beta, a_inv, sigma2)


def _terms_one(gamma: float, s: ProfileSums, reml: bool, order: int) -> ProfileTerms:
    """``profile_terms`` for one data set: one LAPACK Cholesky factorisation of A serves β̂,
    log|A| and (one triangular solve pair against [M₁ M₂ u]) the REML derivative terms."""
    p = s.p
    kv = s.k_values
    m = s.m[0]
    v = s.v[0]
    w = s.w[0]
    n_k = s.n_k[0]
    one = 1.0 + kv * gamma
    r = 1.0 / one
    c = gamma * r
    dc = r * r
    d2c = -2.0 * kv * dc * r
    mats = (np.array((c, dc, d2c)) @ m.reshape(kv.size, p * p)).reshape(3, p, p)
    a = s.xtx[0] - mats[0]
    b = s.xty[0] - c @ v
    chol, info = _potrf(a, lower=1, clean=1)
    nan = np.array([math.nan])
    if info != 0:
        return ProfileTerms(
            nan, nan, nan, np.full((1, p), math.nan), np.full((1, p, p), math.nan), nan
        )
    beta, _ = _potrs(chol, b, lower=1)
    quad = float(s.yty[0]) - float(c @ w) - float(b @ beta)
    n = float(s.n[0])
    dof = n - p if reml else n
    sigma2 = quad / dof
    if not sigma2 > 0.0:
        return ProfileTerms(nan, nan, nan, beta[None], np.full((1, p, p), math.nan), nan)
    m2 = dof * (LOG_2PI + 1.0 + math.log(sigma2)) + float(n_k @ np.log(one))
    if reml:
        m2 += 2.0 * float(np.log(chol.diagonal()).sum())
    if order == 0:
        a_inv, _ = _potrs(chol, eye(p), lower=1)
        return ProfileTerms(np.array([m2]), None, None, beta[None], a_inv[None], np.array([sigma2]))
    mb = m @ beta  # (K, p)
    ee = w + (mb - 2.0 * v) @ beta
    dquad = -float(dc @ ee)
    u = dc @ (v - mb)
    # one triangular solve pair for A⁻¹[M₁ M₂ u I]
    sol, _ = _potrs(chol, np.column_stack((mats[1], mats[2], u, eye(p))), lower=1)
    k_over = kv * r
    lq = dquad / quad
    d1 = dof * lq + float(n_k @ k_over)
    d2quad = -float(d2c @ ee) - 2.0 * float(u @ sol[:, 2 * p])
    d2 = dof * (d2quad / quad - lq * lq) - float(n_k @ (k_over * k_over))
    if reml:
        ai_m1 = sol[:, :p]  # −A⁻¹A'
        d1 -= float(ai_m1.trace())
        d2 -= float(sol[:, p : 2 * p].trace()) + float(np.vdot(ai_m1, ai_m1.T))
    return ProfileTerms(
        np.array([m2]),
        np.array([d1]),
        np.array([d2]),
        beta[None],
        sol[None, :, 2 * p + 1 :],
        np.array([sigma2]),
    )


def _newton_one(s: ProfileSums, reml: bool, lower: float, start: float) -> tuple[float, int, bool]:
    """``newton`` for one data set, the same rule on Python floats: (γ̂, evaluations, ok)."""
    gamma = start
    prev = math.inf
    for evals in range(1, 41):
        t = _terms_one(gamma, s, reml, 2)
        assert t.d1 is not None and t.d2 is not None
        m2, d1, d2 = float(t.m2[0]), float(t.d1[0]), float(t.d2[0])
        if not (math.isfinite(m2) and d2 > 0.0):
            return gamma, evals, False
        step = -d1 / d2
        scale = max(1.0, abs(gamma))
        if abs(step) <= 1e-12 * scale:
            return gamma, evals, True
        new = gamma + step
        if abs(step) <= 1e-5 * scale and abs(step) <= 0.1 * abs(prev) and new > lower:
            return new, evals, True
        if not new > lower:
            new = 0.5 * (gamma + lower)
        prev = new - gamma
        gamma = new
    return gamma, 40, False


def _moment_one(s: ProfileSums, lower: float) -> float:
    """``moment_start`` for one data set, on Python floats."""
    chol, info = _potrf(s.xtx[0], lower=1, clean=1)
    if info != 0:  # pragma: no cover - X has full rank
        return 0.5
    beta, _ = _potrs(chol, s.xty[0], lower=1)
    kv = s.k_values
    n_k = s.n_k[0]
    rss = float(s.yty[0]) - float(s.xty[0] @ beta)
    mb = s.m[0] @ beta
    between_ss = float((s.w[0] + (mb - 2.0 * s.v[0]) @ beta) @ (1.0 / kv))
    n_subj = float(n_k.sum())
    n = float(s.n[0])
    if s.anova_df is None:
        df_b, df_w = n_subj - 1.0, n - n_subj
    else:
        df_b, df_w = float(s.anova_df[0, 0]), float(s.anova_df[0, 1])
    within = max((rss - between_ss) / max(df_w, 1.0), 1e-12)
    n0 = (n - float(n_k @ (kv * kv)) / n) / max(n_subj - 1.0, 1.0)
    start = max((between_ss / max(df_b, 1.0) - within) / n0 / within, 0.5 * lower)
    return start if math.isfinite(start) else 0.5


def lower_bound(s: ProfileSums) -> FloatArray:
    """γ_min = −1/max k_s per data set (Σ_s positive definite for every subject)."""
    k_max = np.where(s.n_k > 0, s.k_values, 0.0).max(axis=1)
    return np.asarray(-1.0 / np.maximum(k_max, 1.0), dtype=np.float64)


def moment_start(s: ProfileSums, lower: FloatArray) -> FloatArray:
    """γ₀ from the OLS fit, as a split-plot ANOVA: the residual sum of squares splits into a
    between-subject part Σ_s e_s²/k_s (e_s the subject sums of OLS residuals) and the
    within-subject rest; σ²_w = SS_within/df_w, σ²_b = (SS_between/df_b − σ²_w)/n₀ with
    n₀ = (N − Σk_s²/N)/(S − 1). With the design's between-within df (``anova_df``) these are
    the ANOVA estimators, which equal REML for balanced complete data when positive; without
    them, S − 1 and N − S. Clipped into the admissible range: only a start."""
    xtx_inv, _ = block_inverse_logdet(s.xtx, s.blocks)
    beta = np.matmul(xtx_inv, s.xty[:, :, None])[:, :, 0]
    rss = s.yty - (s.xty * beta).sum(axis=1)
    mb = np.matmul(s.m, beta[:, None, :, None])[..., 0]
    ee = s.w + ((mb - 2.0 * s.v) * beta[:, None, :]).sum(axis=2)
    kv = s.k_values
    between_ss = (ee / kv).sum(axis=1)
    n_subj = s.n_k.sum(axis=1)
    if s.anova_df is None:
        df_b, df_w = n_subj - 1.0, s.n - n_subj
    else:
        df_b, df_w = s.anova_df[:, 0], s.anova_df[:, 1]
    within = np.maximum((rss - between_ss) / np.maximum(df_w, 1.0), 1e-12)
    n0 = (s.n - (s.n_k * kv * kv).sum(axis=1) / s.n) / np.maximum(n_subj - 1.0, 1.0)
    between = (between_ss / np.maximum(df_b, 1.0) - within) / n0
    start = np.maximum(between / within, 0.5 * lower)
    return np.asarray(np.where(np.isfinite(start), start, 0.5), dtype=np.float64)


def newton(
    s: ProfileSums, reml: bool, lower: FloatArray, start: FloatArray | None = None
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Newton's method on d(−2l)/dγ for every data set at once, from ``moment_start``.

    Returns (γ̂, evaluations, ok) per data set; ``ok`` is False where the criterion was not
    convex (or A not positive definite) at an iterate — the caller's secant handles those.
    Steps that would leave (γ_min, ∞) are halved towards the boundary. Stopping: a step
    ≤ 1e-12·max(1, |γ|) ends at the current γ; once a step is ≤ 1e-5·max(1, |γ|) and at most
    a tenth of the one before (the quadratic phase, where the error after the step is
    ~C·step², C of order 1) the step is taken and the iteration ends: γ is then within
    ~1e-10 of the root. On the trial's data: 2 evaluations with derivatives. Data sets that
    have stopped are not evaluated again."""
    if s.n_batch == 1:
        low = float(lower[0])
        g0 = _moment_one(s, low) if start is None else float(start[0])
        g_one, n_ev, ok_one = _newton_one(s, reml, low, g0)
        return np.array([g_one]), np.array([float(n_ev)]), np.array([ok_one])
    gamma = moment_start(s, lower) if start is None else start.copy()
    nb = gamma.size
    evals = np.zeros(nb)
    ok = np.ones(nb, dtype=bool)
    prev = np.full(nb, np.inf)
    active = np.arange(nb)
    sub = s
    for _ in range(40):
        g = gamma[active]
        t = profile_terms(g, sub, reml, 2)
        assert t.d1 is not None and t.d2 is not None
        evals[active] += 1
        good = np.isfinite(t.m2) & (t.d2 > 0.0)
        step = np.where(good, -t.d1 / np.where(good, t.d2, 1.0), 0.0)
        scale = np.maximum(1.0, np.abs(g))
        lo = lower[active]
        new = g + step
        finished = np.abs(step) <= 1e-12 * scale
        quadratic = (
            (np.abs(step) <= 1e-5 * scale)
            & (np.abs(step) <= 0.1 * np.abs(prev[active]))
            & (new > lo)
        )
        new = np.where(new > lo, new, 0.5 * (g + lo))
        moved = good & ~finished
        gamma[active] = np.where(moved, new, g)
        prev[active] = np.where(moved, new - g, prev[active])
        ok[active] = good
        keep = good & ~finished & ~quadratic
        if not keep.any():
            break
        if keep.all():
            continue
        active = active[keep]
        sub = s.take(active)
    return gamma, evals, ok


def secant(s: ProfileSums, reml: bool, lower: float) -> tuple[float, int] | None:
    """Secant on the analytic derivative for one data set (B = 1) from γ = 0.5; None if it
    leaves (γ_min, ∞) or does not converge. Returns (γ̂, evaluations)."""

    def deriv(g: float) -> tuple[float, float]:
        t = profile_terms(np.array([g]), s, reml, 1)
        assert t.d1 is not None
        return float(t.m2[0]), float(t.d1[0])

    gamma = 0.5
    m2, dm2 = deriv(gamma)
    g_prev = gamma * 1.05 + 1e-3
    d_prev = deriv(g_prev)[1]
    if not (math.isfinite(m2) and math.isfinite(d_prev)):
        return None
    evals = 2
    slope = (dm2 - d_prev) / (gamma - g_prev)
    for _ in range(60):
        denom = dm2 - d_prev
        if denom == 0.0 or not math.isfinite(denom):
            return None
        g_new = gamma - dm2 * (gamma - g_prev) / denom
        if not g_new > lower:
            g_new = 0.5 * (gamma + lower)
        m2_n, dm2_n = deriv(g_new)
        evals += 1
        if not (math.isfinite(m2_n) and math.isfinite(dm2_n)):
            return None
        g_prev, d_prev = gamma, dm2
        gamma, dm2 = g_new, dm2_n
        step = abs(gamma - g_prev)
        if step > 1e-7 * max(1.0, abs(gamma)):
            # slope of the derivative over a step long enough to be above rounding noise
            slope = (dm2 - d_prev) / (gamma - g_prev)
        if step <= 1e-12 * max(1.0, abs(gamma)):
            # a root that is a minimum: the derivative must increase through it (judged on
            # the last step longer than 1e-7·|γ|; shorter ones are rounding noise)
            return (gamma, evals) if slope > 0.0 else None
    return None


def _brent(s: ProfileSums, reml: bool, lower: float) -> tuple[float, int, bool]:
    """Brent's bounded search over u = log(γ − γ_min) for one data set: (γ̂, evaluations,
    whether the optimum is at a bound of the search)."""

    def obj(u: float) -> float:
        m2 = float(profile_terms(np.array([lower + math.exp(u)]), s, reml, 0).m2[0])
        return m2 if math.isfinite(m2) else math.inf

    with np.errstate(all="ignore"):
        res = minimize_scalar(obj, bounds=(-30.0, 12.0), method="bounded", options={"xatol": 1e-10})
    u = float(res.x)
    return lower + math.exp(u), int(res.nfev), u <= -29.9 or u >= 11.9


@dataclass(frozen=True)
class ProfileFit:
    """The optimum per data set: γ̂, −2l, β̂, A⁻¹ (so cov(β̂) = σ̂²A⁻¹), σ̂², the number of
    criterion evaluations, and whether the optimum lies on the boundary of the search
    (then unreliable)."""

    gamma: FloatArray
    m2: FloatArray
    beta: FloatArray
    a_inv: FloatArray
    sigma2: FloatArray
    evaluations: FloatArray
    at_bound: BoolArray

    @property
    def between(self) -> FloatArray:
        return np.asarray(self.gamma * self.sigma2, dtype=np.float64)


def _fit_one(s: ProfileSums, reml: bool) -> ProfileFit:
    """``fit_profile`` for one data set (the same steps on Python floats)."""
    k_max = float(s.k_values[s.n_k[0] > 0].max()) if s.n_k.shape[1] else 1.0
    lower = -1.0 / max(k_max, 1.0)
    at_bound = False
    if lower <= -1.0:  # one observation per subject: γ not identified (see fit_profile)
        gamma, evals = 0.0, 0
    else:
        gamma, evals, ok = _newton_one(s, reml, lower, _moment_one(s, lower))
        if not ok:
            res = secant(s, reml, lower)
            if res is not None:
                gamma, n_ev = res
            else:
                gamma, n_ev, at_bound = _brent(s, reml, lower)
            evals += n_ev
    final = _terms_one(gamma, s, reml, 0)
    return ProfileFit(
        gamma=np.array([gamma]),
        m2=final.m2,
        beta=final.beta,
        a_inv=final.a_inv,
        sigma2=final.sigma2,
        evaluations=np.array([float(evals + 1)]),
        at_bound=np.array([at_bound]),
    )


def fit_profile(s: ProfileSums, reml: bool = True) -> ProfileFit:
    """Minimise −2l(γ) for every data set of the batch: Newton (all together), then for any
    data set where it failed the secant and then Brent's search, one at a time."""
    if s.n_batch == 1:
        return _fit_one(s, reml)
    lower = lower_bound(s)
    single = (s.n_k.shape[1] == 0) | (lower <= -1.0)  # only one observation per subject
    gamma, evals, ok = newton(s, reml, lower)
    at_bound = np.zeros(gamma.size, dtype=bool)
    for b in np.flatnonzero(~ok & ~single):
        one = s.take(np.array([b]))
        res = secant(one, reml, float(lower[b]))
        if res is not None:
            gamma[b], n_ev = res
        else:
            gamma[b], n_ev, at_bound[b] = _brent(one, reml, float(lower[b]))
        evals[b] += n_ev
    # one observation per subject: γ is not identified, the criterion is flat in it; report
    # γ = 0, the independence model every value of γ is equivalent to
    gamma = np.where(single, 0.0, gamma)
    final = profile_terms(gamma, s, reml, 0)
    return ProfileFit(
        gamma=gamma,
        m2=final.m2,
        beta=final.beta,
        a_inv=final.a_inv,
        sigma2=final.sigma2,
        evaluations=evals + 1,
        at_bound=at_bound,
    )
