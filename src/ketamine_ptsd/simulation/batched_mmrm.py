"""The MMRM of PROTOCOL.md §9, fitted by REML to thousands of trials at once.

Model: ``outcome ~ group * time`` (one mean per arm and time, as SAS's cell means), repeated
measures within patient with compound-symmetry (CS) or unstructured (UN) covariance, REML,
denominator df by SAS's between-within method, Type 3 F tests, LS means and the arm difference
``arms[0] − arms[1]`` at each time with SE, df, t and p. These are the numbers the one-trial
engine (``ketamine_ptsd.core.stats.mmrm``) and SAS PROC MIXED give for each trial; here every
array carries a leading trial axis and each REML iteration is one array operation over all trials.

Why this is fast: with one mean per arm × time, the fixed-effect design of a patient is an
indicator of its observed cells, so ``X'V⁻¹X`` is block diagonal by arm and everything the REML
likelihood needs reduces to a few sums per trial, arm and missingness pattern.

* CS: ``V_i = σ²(I + θJ)`` on patient i's ``n_i`` observed visits, ``V_i⁻¹ = σ⁻²(I − w(n_i)J)``
  with ``w(n) = θ/(1 + nθ)``. Grouping patients by arm and ``n_i``: ``X'H⁻¹X = D − Σ_k w_k S_k``
  with ``S_k = Σ m_i m_iᵀ`` over the group's patients with ``n_i = k`` (``m_i`` the visit mask),
  ``X'H⁻¹y = c − Σ_k w_k u_k`` with ``u_k = Σ m_i s_i`` (``s_i`` the sum of the patient's
  outcomes), and ``y'H⁻¹y = Σy² − Σ_k w_k Σ s_i²``. The REML criterion profiled over σ² and β is
  then a function of the single ratio θ, minimised for all trials together by a safeguarded
  Newton iteration with analytic first and second derivatives (the first by the envelope
  theorem) inside a bracket found on a grid.
* UN: the same per-pattern sums (count, Σy, Σyyᵀ per arm and observed-visit pattern) give the
  REML criterion and its analytic gradient in Σ; Newton steps use a Hessian from differences of
  that gradient, with step halving that keeps Σ positive definite.

The REML log-likelihood is SAS's −½ × "-2 Res Log Likelihood" (and R's ``logLik(fit, REML=TRUE)``
for ``nlme::gls``); tests/reference/simulation holds the R comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from ketamine_ptsd.core.errors import InvalidInput

__all__ = ["BatchedMMRMResult", "CSStatistics", "fit_batched_mmrm", "sufficient_statistics_cs"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_LOG_2PI = float(np.log(2.0 * np.pi))


def spd_inverse_logdet(mat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Inverse and log-determinant of many small symmetric positive-definite matrices.

    ``mat[..., T, T]``; a Cholesky factorisation written as T² vector operations over the batch,
    several times faster than LAPACK's per-matrix calls for thousands of 3×3 blocks. A matrix
    that is not positive definite gets NaN (the caller treats it as outside the parameter space).
    """
    n = mat.shape[-1]
    m = np.moveaxis(mat, (-2, -1), (0, 1))  # [T, T, ...] for contiguous batch operations
    chol = np.zeros_like(m)
    with np.errstate(invalid="ignore", divide="ignore"):
        for j in range(n):
            d = m[j, j] - (chol[j, :j] ** 2).sum(axis=0)
            chol[j, j] = np.sqrt(d)
            for i in range(j + 1, n):
                chol[i, j] = (m[i, j] - (chol[i, :j] * chol[j, :j]).sum(axis=0)) / chol[j, j]
        linv = np.zeros_like(m)
        for i in range(n):
            linv[i, i] = 1.0 / chol[i, i]
            for j in range(i):
                linv[i, j] = -(chol[i, j:i] * linv[j:i, j]).sum(axis=0) / chol[i, i]
        inv = np.empty_like(m)
        for i in range(n):
            for j in range(i + 1):
                k0 = max(i, j)
                v = (linv[k0:, i] * linv[k0:, j]).sum(axis=0)
                inv[i, j] = v
                inv[j, i] = v
        logdet = 2.0 * np.log(np.einsum("ii...->i...", chol)).sum(axis=0)
    return np.moveaxis(inv, (0, 1), (-2, -1)), logdet


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchedMMRMResult:
    """Per-trial MMRM results; every array's first axis is the trial.

    ``lsmeans[b, a, t]`` (cell means, which are the LS means of this model) with ``lsmeans_se``;
    ``diff*[b, t]`` is ``arm 0 − arm 1`` at time t; ``type3_*`` hold F, p, numerator and
    denominator df for ``group``, ``time`` and ``group:time``; for CS ``between``/``within``
    are σ²_subject and σ²_residual (SAS's "CS" and "Residual"); for UN ``covariance[b]`` is Σ.
    """

    structure: str
    n_subjects: IntArray
    n_observations: IntArray
    reml_loglik: FloatArray
    converged: npt.NDArray[np.bool_]
    iterations: int
    lsmeans: FloatArray
    lsmeans_se: FloatArray
    beta_covariance: FloatArray
    diff: FloatArray
    diff_se: FloatArray
    diff_df: FloatArray
    diff_t: FloatArray
    diff_p: FloatArray
    type3_f: dict[str, FloatArray]
    type3_p: dict[str, FloatArray]
    type3_num_df: dict[str, int]
    type3_den_df: dict[str, FloatArray]
    covariance: FloatArray
    between: FloatArray | None = None
    within: FloatArray | None = None

    @property
    def n_trials(self) -> int:
        return int(self.reml_loglik.shape[0])

    def trial_summary(self, b: int) -> dict[str, object]:
        """One trial's results as plain values (for a single-trial comparison or a report)."""
        n_arms, n_times = self.lsmeans.shape[1:]
        return {
            "reml_loglik": float(self.reml_loglik[b]),
            "lsmeans": self.lsmeans[b].tolist(),
            "lsmeans_se": self.lsmeans_se[b].tolist(),
            "diff": self.diff[b].tolist(),
            "diff_se": self.diff_se[b].tolist(),
            "diff_df": float(self.diff_df[b]),
            "diff_p": self.diff_p[b].tolist(),
            "type3": {
                k: (float(self.type3_f[k][b]), float(self.type3_p[k][b])) for k in self.type3_f
            },
            "covariance": self.covariance[b].tolist(),
            "shape": (n_arms, n_times),
        }


# --------------------------------------------------------------------------------------------
# CS sufficient statistics (shared with the registry-scale fit)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CSStatistics:
    """Sums per trial, arm and number of observed visits k = 1..T that the CS REML needs.

    Shapes: ``count[b, a, k]``, ``mask_outer[b, a, k, T, T]`` (Σ m mᵀ), ``mask_sum[b, a, k, T]``
    (Σ m s), ``sum_sq_subject[b, a, k]`` (Σ s²), ``visit_count[b, a, T]``, ``visit_sum[b, a, T]``
    (Σ y per cell), ``sum_sq[b]`` (Σ y²). Additive over disjoint sets of patients, so partitions
    of a registry can be summed (see ``registry.py``).
    """

    count: FloatArray
    mask_outer: FloatArray
    mask_sum: FloatArray
    sum_sq_subject: FloatArray
    visit_count: FloatArray
    visit_sum: FloatArray
    sum_sq: FloatArray

    def __add__(self, other: CSStatistics) -> CSStatistics:
        return CSStatistics(
            *(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__)
        )

    @property
    def n_observations(self) -> FloatArray:
        return np.asarray(self.visit_count.sum(axis=(1, 2)), dtype=np.float64)

    @property
    def n_subjects(self) -> FloatArray:
        return np.asarray(self.count.sum(axis=(1, 2)), dtype=np.float64)


def sufficient_statistics_cs(
    outcome: FloatArray, observed: npt.NDArray[np.bool_], arm: IntArray, n_arms: int
) -> CSStatistics:
    """CS sums from arrays ``[trials, subjects, visits]`` (NaN or anything where unobserved)."""
    m = observed.astype(np.float64)
    yz = np.where(observed, outcome, 0.0)
    n_times = m.shape[2]
    n_i = observed.sum(axis=2)  # [B, N]
    s_i = yz.sum(axis=2)
    arm_onehot = np.eye(n_arms)[arm]  # [N, A]
    k_onehot = (n_i[:, :, None] == np.arange(1, n_times + 1)).astype(np.float64)  # [B, N, K]
    e = (arm_onehot[None, :, :, None] * k_onehot[:, :, None, :]).reshape(m.shape[0], m.shape[1], -1)
    outer = (m[:, :, :, None] * m[:, :, None, :]).reshape(m.shape[0], m.shape[1], -1)
    et = e.transpose(0, 2, 1)
    shape = (m.shape[0], n_arms, n_times)
    return CSStatistics(
        count=e.sum(axis=1).reshape(shape),
        mask_outer=np.matmul(et, outer).reshape(*shape, n_times, n_times),
        mask_sum=np.matmul(et, m * s_i[:, :, None]).reshape(*shape, n_times),
        sum_sq_subject=np.matmul(et, (s_i * s_i)[:, :, None]).reshape(shape),
        visit_count=np.matmul(arm_onehot.T, m),
        visit_sum=np.matmul(arm_onehot.T, yz),
        sum_sq=(yz * yz).sum(axis=(1, 2)),
    )


# --------------------------------------------------------------------------------------------
# CS REML
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _CSEval:
    f: FloatArray  # -2 REML log-likelihood
    g: FloatArray  # d f / d theta
    h: FloatArray  # d2 f / d theta2
    beta: FloatArray  # [B, A, T]
    a_inv: FloatArray  # [B, A, T, T]
    q: FloatArray  # r' H^-1 r


def _cs_evaluate(st: CSStatistics, theta: FloatArray, derivatives: bool = True) -> _CSEval:
    """Profiled −2 REML log-likelihood in θ = σ²_between/σ²_within, with derivatives."""
    n_times = st.visit_count.shape[2]
    n_arms = st.visit_count.shape[1]
    kk = np.arange(1, n_times + 1, dtype=np.float64)
    one_plus = 1.0 + theta[:, None] * kk[None, :]  # [B, K]
    w = theta[:, None] / one_plus
    w1 = 1.0 / one_plus**2
    w2 = -2.0 * kk / one_plus**3
    eye = np.eye(n_times)
    amat = st.visit_count[..., :, None] * eye - np.einsum("bk,bakts->bats", w, st.mask_outer)
    bvec = st.visit_sum - np.einsum("bk,bakt->bat", w, st.mask_sum)
    a_inv, logdet_a = spd_inverse_logdet(amat)
    beta = np.einsum("bats,bas->bat", a_inv, bvec)
    q = (
        st.sum_sq
        - np.einsum("bk,bak->b", w, st.sum_sq_subject)
        - np.einsum("bat,bat->b", bvec, beta)
    )
    n_obs = st.visit_count.sum(axis=(1, 2))
    p = n_arms * n_times
    dof = n_obs - p
    logdet_h = np.einsum("bak,bk->b", st.count, np.log(one_plus))
    with np.errstate(invalid="ignore", divide="ignore"):
        f = dof * (_LOG_2PI + np.log(q / dof) + 1.0) + logdet_h + logdet_a.sum(axis=1)
    f = np.where(np.isfinite(f) & (q > 0), f, np.inf)
    if not derivatives:
        return _CSEval(f, f * 0, f * 0, beta, a_inv, q)
    # R_k = Σ (s_i − m_iᵀβ)² per (arm, k)
    s_beta = np.einsum("bakt,bat->bak", st.mask_sum, beta)
    sb = np.einsum("bakts,bas->bakt", st.mask_outer, beta)
    quad = np.einsum("bakt,bat->bak", sb, beta)
    r_k = st.sum_sq_subject - 2.0 * s_beta + quad
    q1 = -np.einsum("bk,bak->b", w1, r_k)
    a1 = -np.einsum("bk,bakts->bats", w1, st.mask_outer)
    a2 = -np.einsum("bk,bakts->bats", w2, st.mask_outer)
    b1 = -np.einsum("bk,bakt->bat", w1, st.mask_sum)
    beta1 = np.einsum("bats,bas->bat", a_inv, b1 - np.einsum("bats,bas->bat", a1, beta))
    dr = np.einsum("bakt,bat->bak", 2.0 * (sb - st.mask_sum), beta1)
    q2 = -np.einsum("bk,bak->b", w2, r_k) - np.einsum("bk,bak->b", w1, dr)
    ai_a1 = np.einsum("bats,basu->batu", a_inv, a1)
    tr1 = np.einsum("batt->b", ai_a1)
    tr2 = np.einsum("batt->b", np.einsum("bats,basu->batu", a_inv, a2))
    tr11 = np.einsum("bats,bast->b", ai_a1, ai_a1)
    count_k = st.count.sum(axis=1)  # [B, K]
    with np.errstate(divide="ignore", invalid="ignore"):
        g = dof * q1 / q + (count_k * kk / one_plus).sum(axis=1) + tr1
        h = (
            dof * (q2 / q - (q1 / q) ** 2)
            - (count_k * kk**2 / one_plus**2).sum(axis=1)
            + tr2
            - tr11
        )
    return _CSEval(f, g, h, beta, a_inv, q)


def _fit_cs(
    st: CSStatistics, tol: float = 1e-12, max_iter: int = 60
) -> tuple[FloatArray, _CSEval, npt.NDArray[np.bool_], int]:
    """Minimise the profiled criterion in θ for every trial (grid bracket, safeguarded Newton)."""
    n_times = st.visit_count.shape[2]
    n_b = st.sum_sq.shape[0]
    max_k = np.where(st.count.sum(axis=1) > 0, np.arange(1, n_times + 1), 0).max(axis=1)
    # θ > −1/max n_i keeps every V_i positive definite (as nlme's corCompSymm and SAS's CS).
    lower = np.where(max_k > 1, -1.0 / np.maximum(max_k, 1) + 1e-9, -0.999999)
    single = max_k <= 1
    if single.all():
        theta = np.zeros(n_b)
        return theta, _cs_evaluate(st, theta), np.ones(n_b, dtype=bool), 0
    rho_grid = np.array([-0.4, 0.0, 0.3, 0.5, 0.65, 0.8, 0.92])
    theta_grid = rho_grid / (1.0 - rho_grid)
    cand = np.maximum(theta_grid[None, :], lower[:, None] + 1e-6)  # [B, G]
    fvals = np.stack([_cs_evaluate(st, cand[:, j], False).f for j in range(cand.shape[1])], 1)
    j = np.argmin(fvals, axis=1)
    rows = np.arange(n_b)
    last = cand.shape[1] - 1
    lo = np.where(j > 0, cand[rows, np.maximum(j - 1, 0)], lower)
    hi = np.where(j < last, cand[rows, np.minimum(j + 1, last)], np.inf)
    theta = cand[rows, j]
    converged = np.zeros(n_b, dtype=bool)
    it = 0
    ev = _cs_evaluate(st, theta)
    for it in range(1, max_iter + 1):  # noqa: B007
        g, h = ev.g, ev.h
        hi = np.where(g > 0, theta, hi)
        lo = np.where(g <= 0, theta, lo)
        step = -g / np.where(h > 0, h, np.nan)
        newton = theta + step
        ok = np.isfinite(newton) & (newton >= lo) & (newton <= hi)
        done = ok & (np.abs(step) <= tol * (1.0 + np.abs(theta)))
        mid = np.where(np.isinf(hi), 2.0 * theta + 1.0, 0.5 * (lo + hi))
        new_theta = np.where(ok, newton, mid)
        theta = np.where(converged, theta, new_theta)
        converged |= done | (hi - lo <= tol * (1.0 + np.abs(lo)))
        if converged.all():
            break
        ev = _cs_evaluate(st, theta)
    # With one observation per patient (a single time) θ is not identified and the criterion
    # is flat in it: report θ = 0, the independence model every value of θ is equivalent to.
    theta = np.where(single, 0.0, theta)
    converged |= single
    ev = _cs_evaluate(st, theta)
    # A minimum on the positive-definite boundary counts as converged (gradient pushes outward).
    at_lower = (theta - lower < 1e-6) & (ev.g > 0)
    return theta, ev, converged | at_lower, it


# --------------------------------------------------------------------------------------------
# UN REML
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UNStatistics:
    """Sums per trial, arm and observed-visit pattern: count, Σy, Σyyᵀ (zeros off-pattern)."""

    patterns: npt.NDArray[np.bool_]  # [P, T]
    count: FloatArray  # [B, A, P]
    sum_y: FloatArray  # [B, A, P, T]
    sum_yy: FloatArray  # [B, A, P, T, T]


def _sufficient_statistics_un(
    outcome: FloatArray, observed: npt.NDArray[np.bool_], arm: IntArray, n_arms: int
) -> UNStatistics:
    n_b, n_s, n_times = observed.shape
    code = (observed * (1 << np.arange(n_times))).sum(axis=2)
    codes = np.unique(code[code > 0])
    patterns = ((codes[:, None] >> np.arange(n_times)) & 1).astype(bool)
    yz = np.where(observed, outcome, 0.0)
    arm_onehot = np.eye(n_arms)[arm]
    p_onehot = (code[:, :, None] == codes[None, None, :]).astype(np.float64)
    e = np.einsum("na,bnp->bnap", arm_onehot, p_onehot).reshape(n_b, n_s, -1)
    et = e.transpose(0, 2, 1)
    outer = (yz[:, :, :, None] * yz[:, :, None, :]).reshape(n_b, n_s, -1)
    shape = (n_b, n_arms, len(codes))
    return UNStatistics(
        patterns=patterns,
        count=e.sum(axis=1).reshape(shape),
        sum_y=np.matmul(et, yz).reshape(*shape, n_times),
        sum_yy=np.matmul(et, outer).reshape(*shape, n_times, n_times),
    )


@dataclass(frozen=True)
class _UNEval:
    f: FloatArray
    grad: FloatArray  # [B, T, T], df = tr(grad dΣ)
    beta: FloatArray
    a_inv: FloatArray


def _un_evaluate(st: UNStatistics, sigma: FloatArray, gradient: bool = True) -> _UNEval:
    pm = st.patterns.astype(np.float64)  # [P, T]
    mm = pm[:, :, None] * pm[:, None, :]  # [P, T, T]
    n_times = pm.shape[1]
    eye = np.eye(n_times)
    masked = sigma[:, None] * mm[None] + (1.0 - pm)[None, :, :, None] * eye  # [B, P, T, T]
    inv_p, logdet_p = spd_inverse_logdet(masked)
    w = inv_p * mm[None]  # W_P = E_P Σ_P⁻¹ E_Pᵀ
    amat = np.einsum("bap,bpts->bats", st.count, w)
    bvec = np.einsum("bpts,baps->bat", w, st.sum_y)
    a_inv, logdet_a = spd_inverse_logdet(amat)
    beta = np.einsum("bats,bas->bat", a_inv, bvec)
    bp = beta[:, :, None, :] * pm[None, None]  # β restricted to pattern
    sy_b = st.sum_y[..., :, None] * bp[..., None, :]
    resid = (
        st.sum_yy
        - sy_b
        - sy_b.swapaxes(-1, -2)
        + st.count[..., None, None] * (bp[..., :, None] * bp[..., None, :])
    )  # [B, A, P, T, T]
    quad = np.einsum("bpts,bapst->b", w, resid)
    n_obs = np.einsum("bap,p->b", st.count, pm.sum(axis=1))
    n_p = st.count.sum(axis=1)  # [B, P]
    p = amat.shape[1] * n_times
    f = (n_obs - p) * _LOG_2PI + (n_p * logdet_p).sum(1) + quad + logdet_a.sum(1)
    f = np.where(np.isfinite(f), f, np.inf)
    if not gradient:
        return _UNEval(f, f, beta, a_inv)
    # df = tr(G dΣ) with G = Σ_P [n_P W_P − Σ_a W_P R_aP W_P − Σ_a n_aP W_P A_a⁻¹ W_P]
    r_sum = resid.sum(axis=1)  # [B, P, T, T]
    wrw = np.einsum("bpts,bpsu,bpuv->btv", w, r_sum, w, optimize=True)
    a_mix = np.einsum("bap,bats->bpts", st.count, a_inv)
    waw = np.einsum("bpts,bpsu,bpuv->btv", w, a_mix, w, optimize=True)
    grad = np.einsum("bp,bpts->bts", n_p, w) - wrw - waw
    return _UNEval(f, grad, beta, a_inv)


def _vech_index(n_times: int) -> tuple[IntArray, IntArray]:
    r, c = np.tril_indices(n_times)
    return r.astype(np.int64), c.astype(np.int64)


def fit_un(
    st: UNStatistics, start: FloatArray, tol: float = 1e-10, max_iter: int = 100
) -> tuple[FloatArray, _UNEval, npt.NDArray[np.bool_], int]:
    """Newton on vech(Σ) with a difference Hessian of the analytic gradient and step halving."""
    n_b, n_times = start.shape[0], start.shape[1]
    r, c = _vech_index(n_times)
    q = len(r)
    weight = np.where(r == c, 1.0, 2.0)

    def to_mat(v: FloatArray) -> FloatArray:
        m = np.zeros((v.shape[0], n_times, n_times))
        m[:, r, c] = v
        m[:, c, r] = v
        return m

    def grad_vec(ev: _UNEval) -> FloatArray:
        return ev.grad[:, r, c] * weight

    v = start[:, r, c].copy()
    ev = _un_evaluate(st, to_mat(v))
    converged = np.zeros(n_b, dtype=bool)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        g = grad_vec(ev)
        scale = np.abs(v[:, r == c]).mean(axis=1)
        h_step = 1e-6 * scale
        hess = np.empty((n_b, q, q))
        for j in range(q):
            vj = v.copy()
            vj[:, j] += h_step
            hess[:, :, j] = (grad_vec(_un_evaluate(st, to_mat(vj))) - g) / h_step[:, None]
        hess = 0.5 * (hess + hess.swapaxes(1, 2))
        evals, evecs = np.linalg.eigh(hess)
        evals = np.maximum(np.abs(evals), 1e-8 * np.abs(evals).max(axis=1, keepdims=True))
        step = -np.einsum("bij,bj,bkj,bk->bi", evecs, 1.0 / evals, evecs, g)
        step = np.where(converged[:, None], 0.0, step)
        t = np.ones(n_b)
        new_v = v + step
        new_ev = _un_evaluate(st, to_mat(new_v), gradient=False)
        for _ in range(30):
            bad = ~(new_ev.f <= ev.f + 1e-10 * np.abs(ev.f)) & ~converged
            if not bad.any():
                break
            t = np.where(bad, t * 0.5, t)
            new_v = v + t[:, None] * step
            new_ev = _un_evaluate(st, to_mat(new_v), gradient=False)
        small = (np.abs(t[:, None] * step) <= tol * (scale[:, None] + np.abs(v))).all(axis=1)
        v = np.where(converged[:, None], v, new_v)
        converged |= small
        ev = _un_evaluate(st, to_mat(v))
        if converged.all():
            break
    return to_mat(v), ev, converged, it


# --------------------------------------------------------------------------------------------
# Inference shared by CS and UN
# --------------------------------------------------------------------------------------------
def _t_p(t: FloatArray, df: FloatArray) -> FloatArray:
    return np.asarray(2.0 * special.stdtr(df, -np.abs(t)))


def _f_test(
    beta_flat: FloatArray, cov: FloatArray, contrast: FloatArray, den_df: FloatArray
) -> tuple[FloatArray, FloatArray]:
    lb = beta_flat @ contrast.T  # [B, q]
    lcl = np.einsum("qi,bij,rj->bqr", contrast, cov, contrast)
    num = contrast.shape[0]
    f = np.einsum("bq,bq->b", lb, np.linalg.solve(lcl, lb[..., None])[..., 0]) / num
    p = special.fdtrc(num, den_df, f)
    return f, np.asarray(p)


def _type3_contrasts(n_arms: int, n_times: int) -> dict[str, FloatArray]:
    """SAS Type 3 hypotheses of the cell-means model, rows over β flattened as (arm, time)."""
    arm_c = np.hstack([np.eye(n_arms - 1), -np.ones((n_arms - 1, 1))])  # arm a vs last
    time_c = np.hstack([np.eye(n_times - 1), -np.ones((n_times - 1, 1))])
    out = {"group": np.kron(arm_c, np.full((1, n_times), 1.0 / n_times))}
    if n_times > 1:
        out["time"] = np.kron(np.full((1, n_arms), 1.0 / n_arms), time_c)
        out["group:time"] = np.kron(arm_c, time_c)
    return out


def batched_inference(
    structure: str,
    beta: FloatArray,
    beta_cov_blocks: FloatArray,
    n_subjects: FloatArray,
    n_obs: FloatArray,
) -> dict[str, object]:
    n_b, n_arms, n_times = beta.shape
    p = n_arms * n_times
    # SAS DDFM=BETWITHIN: between-subject df = subjects − rank of the between effects
    # (intercept, group); the rest of N − rank(X) is within-subject (PROTOCOL.md §9: 30
    # patients, 89 observations → F(2, 55)).
    between_df = n_subjects - n_arms
    within_df = n_obs - n_subjects - (p - n_arms)
    if n_times == 1 or structure == "un":
        # SAS's exception for REPEATED / TYPE=UN: every effect gets the between df (SAS/STAT
        # User's Guide, MODEL DDFM=BETWITHIN), as the one-trial engine's ddf.py does.
        within_df = between_df
    cov = np.zeros((n_b, p, p))
    for a in range(n_arms):
        sl = slice(a * n_times, (a + 1) * n_times)
        cov[:, sl, sl] = beta_cov_blocks[:, a]
    lsmeans_se = np.sqrt(np.einsum("batt->bat", beta_cov_blocks))
    diff = beta[:, 0, :] - beta[:, 1, :]
    diff_var = np.einsum("btt->bt", beta_cov_blocks[:, 0]) + np.einsum(
        "btt->bt", beta_cov_blocks[:, 1]
    )
    diff_se = np.sqrt(diff_var)
    diff_df = within_df if n_times > 1 else between_df
    diff_t = diff / diff_se
    diff_p = _t_p(diff_t, diff_df[:, None])
    flat = beta.reshape(n_b, p)
    f_stats: dict[str, FloatArray] = {}
    p_vals: dict[str, FloatArray] = {}
    num_df: dict[str, int] = {}
    den_df: dict[str, FloatArray] = {}
    for name, lmat in _type3_contrasts(n_arms, n_times).items():
        den = between_df if name == "group" else within_df
        f_stats[name], p_vals[name] = _f_test(flat, cov, lmat, den)
        num_df[name] = lmat.shape[0]
        den_df[name] = den.astype(np.float64)
    return {
        "lsmeans": beta,
        "lsmeans_se": lsmeans_se,
        "beta_covariance": cov,
        "diff": diff,
        "diff_se": diff_se,
        "diff_df": diff_df.astype(np.float64),
        "diff_t": diff_t,
        "diff_p": diff_p,
        "type3_f": f_stats,
        "type3_p": p_vals,
        "type3_num_df": num_df,
        "type3_den_df": den_df,
    }


def _check_inputs(
    outcome: FloatArray, observed: npt.NDArray[np.bool_], arm: IntArray, n_arms: int
) -> None:
    if outcome.ndim != 3 or observed.shape != outcome.shape:
        raise InvalidInput("outcome", "needs [trials, subjects, visits] with a matching mask")
    if arm.shape != (outcome.shape[1],):
        raise InvalidInput("arm", "needs one arm index per subject", arm.shape)
    if n_arms < 2 or arm.min() < 0 or arm.max() >= n_arms:
        raise InvalidInput("arm", f"indices must lie in 0..{n_arms - 1} with two arms or more")
    cells = np.einsum("na,bnt->bat", np.eye(n_arms)[arm], observed.astype(np.float64))
    if (cells == 0).any():
        raise InvalidInput("observed", "every arm needs an observation at every time")


def fit_batched_mmrm(
    outcome: FloatArray,
    observed: npt.NDArray[np.bool_],
    arm: IntArray,
    n_arms: int = 2,
    covariance: str = "cs",
) -> BatchedMMRMResult:
    """Fit ``outcome ~ group*time`` by REML to every trial in ``outcome[trial, subject, visit]``.

    ``observed`` marks the observed visits (any pattern; dropout need not be monotone), ``arm``
    gives each subject's arm index (0 = the first arm of the reported difference).
    ``covariance`` is ``"cs"`` or ``"un"``. Trials whose REML iteration did not converge are
    flagged in ``converged`` (none in the tests and benchmarks).
    """
    arm = np.asarray(arm, dtype=np.int64)
    _check_inputs(outcome, observed, arm, n_arms)
    n_subjects = (observed.any(axis=2)).sum(axis=1)
    n_obs = observed.sum(axis=(1, 2))
    if covariance == "cs":
        st = sufficient_statistics_cs(outcome, observed, arm, n_arms)
        return fit_cs_from_statistics(st)
    if covariance != "un":
        raise InvalidInput("covariance", "must be cs or un", covariance)
    ust = _sufficient_statistics_un(outcome, observed, arm, n_arms)
    start = _un_start(outcome, observed, arm, n_arms)
    sigma, ev, converged, iterations = fit_un(ust, start)
    inf = batched_inference("un", ev.beta, ev.a_inv, n_subjects.astype(float), n_obs.astype(float))
    return BatchedMMRMResult(
        structure="un",
        n_subjects=n_subjects,
        n_observations=n_obs,
        reml_loglik=-0.5 * ev.f,
        converged=converged,
        iterations=iterations,
        covariance=sigma,
        **inf,  # type: ignore[arg-type]
    )


def _un_start(
    outcome: FloatArray, observed: npt.NDArray[np.bool_], arm: IntArray, n_arms: int
) -> FloatArray:
    """Available-case covariance of deviations from cell means, made positive definite."""
    m = observed.astype(np.float64)
    onehot = np.eye(n_arms)[arm]
    yz = np.where(observed, outcome, 0.0)
    cnt = np.einsum("na,bnt->bat", onehot, m)
    mean = np.einsum("na,bnt->bat", onehot, yz) / np.maximum(cnt, 1.0)
    dev = (yz - mean[:, arm, :]) * m
    pair_n = np.einsum("bnt,bns->bts", m, m)
    cov = np.einsum("bnt,bns->bts", dev, dev) / np.maximum(pair_n - n_arms, 1.0)
    d = np.sqrt(np.einsum("btt->bt", cov))
    corr = cov / (d[:, :, None] * d[:, None, :])
    corr = 0.9 * corr + 0.1 * np.eye(cov.shape[1])  # shrink towards I: positive definite
    return np.asarray(corr * d[:, :, None] * d[:, None, :])


def fit_cs_from_statistics(st: CSStatistics) -> BatchedMMRMResult:
    """CS REML fit from (possibly summed) sufficient statistics; see the module docstring."""
    theta, ev, converged, iterations = _fit_cs(st)
    n_obs = st.n_observations
    n_arms, n_times = st.visit_count.shape[1:]
    sigma2 = ev.q / (n_obs - n_arms * n_times)
    blocks = sigma2[:, None, None, None] * ev.a_inv
    inf = batched_inference("cs", ev.beta, blocks, st.n_subjects, n_obs)
    between = theta * sigma2
    cov = between[:, None, None] * np.ones((n_times, n_times)) + sigma2[:, None, None] * np.eye(
        n_times
    )
    return BatchedMMRMResult(
        structure="cs",
        n_subjects=st.n_subjects.astype(np.int64),
        n_observations=n_obs.astype(np.int64),
        reml_loglik=-0.5 * ev.f,
        converged=converged,
        iterations=iterations,
        covariance=cov,
        between=between,
        within=sigma2,
        **inf,  # type: ignore[arg-type]
    )
