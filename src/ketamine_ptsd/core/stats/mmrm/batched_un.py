"""Unstructured (UN) REML of ``outcome ~ group*time`` for many trials at once, from sums.

With one mean per group × visit, the REML criterion of a UN model, its gradient in Σ, the GLS
estimates and their covariance depend on the data only through, per trial, group and
observed-visit pattern P: the number of patients, Σy and Σyyᵀ (:class:`UNStatistics`). For a
pattern, X_iᵀW_PX_i, X_iᵀW_Py_i and every patient's residual quadratic form are linear in those
sums, so each REML iteration costs O(patterns · T³) per trial whatever the number of patients.
Newton steps on vech(Σ) use a Hessian from differences of the analytic gradient, with step
halving that keeps Σ positive definite. The registry-scale fit (``simulation.registry``) runs
the same iteration on sums added over Parquet partitions.

The CS path of the batched fit is the one CS engine (``cs_profile``); this UN iteration is kept
apart from the one-analysis UN fit (``fit._fit_newton`` on ``engine.evaluate``, which handles any
X and structure): the sums above exist only for the cell-means design, and they make a trial's
iteration independent of its size. Both give the same REML optimum (tested to 1e-8 on the RCT
design, ``tests/simulation/test_batched_mmrm.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .spd import spd_inverse_logdet

__all__ = ["UNEval", "UNStatistics", "fit_un", "un_evaluate", "un_start", "un_statistics"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class UNStatistics:
    """Sums per trial, arm and observed-visit pattern: count, Σy, Σyyᵀ (zeros off-pattern)."""

    patterns: npt.NDArray[np.bool_]  # [P, T]
    count: FloatArray  # [B, A, P]
    sum_y: FloatArray  # [B, A, P, T]
    sum_yy: FloatArray  # [B, A, P, T, T]


def un_statistics(
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
class UNEval:
    f: FloatArray
    grad: FloatArray  # [B, T, T], df = tr(grad dΣ)
    beta: FloatArray
    a_inv: FloatArray


def un_evaluate(st: UNStatistics, sigma: FloatArray, gradient: bool = True) -> UNEval:
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
        return UNEval(f, f, beta, a_inv)
    # df = tr(G dΣ) with G = Σ_P [n_P W_P − Σ_a W_P R_aP W_P − Σ_a n_aP W_P A_a⁻¹ W_P]
    r_sum = resid.sum(axis=1)  # [B, P, T, T]
    wrw = np.einsum("bpts,bpsu,bpuv->btv", w, r_sum, w, optimize=True)
    a_mix = np.einsum("bap,bats->bpts", st.count, a_inv)
    waw = np.einsum("bpts,bpsu,bpuv->btv", w, a_mix, w, optimize=True)
    grad = np.einsum("bp,bpts->bts", n_p, w) - wrw - waw
    return UNEval(f, grad, beta, a_inv)


def vech_index(n_times: int) -> tuple[IntArray, IntArray]:
    r, c = np.tril_indices(n_times)
    return r.astype(np.int64), c.astype(np.int64)


def fit_un(
    st: UNStatistics, start: FloatArray, tol: float = 1e-10, max_iter: int = 100
) -> tuple[FloatArray, UNEval, npt.NDArray[np.bool_], int]:
    """Newton on vech(Σ) with a difference Hessian of the analytic gradient and step halving."""
    n_b, n_times = start.shape[0], start.shape[1]
    r, c = vech_index(n_times)
    q = len(r)
    weight = np.where(r == c, 1.0, 2.0)

    def to_mat(v: FloatArray) -> FloatArray:
        m = np.zeros((v.shape[0], n_times, n_times))
        m[:, r, c] = v
        m[:, c, r] = v
        return m

    def grad_vec(ev: UNEval) -> FloatArray:
        return ev.grad[:, r, c] * weight

    v = start[:, r, c].copy()
    ev = un_evaluate(st, to_mat(v))
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
            hess[:, :, j] = (grad_vec(un_evaluate(st, to_mat(vj))) - g) / h_step[:, None]
        hess = 0.5 * (hess + hess.swapaxes(1, 2))
        evals, evecs = np.linalg.eigh(hess)
        evals = np.maximum(np.abs(evals), 1e-8 * np.abs(evals).max(axis=1, keepdims=True))
        step = -np.einsum("bij,bj,bkj,bk->bi", evecs, 1.0 / evals, evecs, g)
        step = np.where(converged[:, None], 0.0, step)
        t = np.ones(n_b)
        new_v = v + step
        new_ev = un_evaluate(st, to_mat(new_v), gradient=False)
        for _ in range(30):
            bad = ~(new_ev.f <= ev.f + 1e-10 * np.abs(ev.f)) & ~converged
            if not bad.any():
                break
            t = np.where(bad, t * 0.5, t)
            new_v = v + t[:, None] * step
            new_ev = un_evaluate(st, to_mat(new_v), gradient=False)
        small = (np.abs(t[:, None] * step) <= tol * (scale[:, None] + np.abs(v))).all(axis=1)
        v = np.where(converged[:, None], v, new_v)
        converged |= small
        ev = un_evaluate(st, to_mat(v))
        if converged.all():
            break
    return to_mat(v), ev, converged, it


def un_start(
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
