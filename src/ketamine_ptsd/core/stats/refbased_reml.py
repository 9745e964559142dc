"""Batched REML fits of the unstructured-covariance MMRM for resampled data sets (the
imputation model of reference-based MI, refitted per jackknife or bootstrap sample).

Why a separate engine: multiple imputation refits the same model hundreds of times on
re-weighted copies of one data set (leave one subject out; a bootstrap sample). The general
engine (``mmrm/fit.py``) starts each fit from scratch, from the long data. Here the data are
reduced once to sufficient statistics per subject and missingness pattern, and every replicate
is a vector of subject weights (0/1 for the jackknife, counts for the bootstrap):

* For a subject i with observed visits o, embedded in all T visits with zeros elsewhere,
  XX_i[s, t] = x_is x_itᵀ (p × p), XY_i[s, t] = x_is y_it, YY_i[s, t] = y_is y_it. Summed with
  the replicate's weights over the subjects of each pattern P they give everything the REML
  criterion needs, whatever Σ is: with W_P = Σ_oo⁻¹ (embedded),
  A = Σ_P Σ_st W_P[s,t] XX_P[s,t] (= X'V⁻¹X), b = Σ W·XY (= X'V⁻¹y), y'V⁻¹y = Σ W·YY, and
  −2 l_R(Σ) = Σ_P n_P log|Σ_oo| + log|A| + y'V⁻¹y − bᵀA⁻¹b + (N − p) log 2π.
  One evaluation costs O(patterns · T² · p²), independent of the number of subjects.
* The gradient in Σ is analytic: G_P[s,t] = tr(A⁻¹ XX_P[s,t]) + R_P[s,t] with R_P the
  residual cross-products at the GLS β̂, and ∂(−2 l_R)/∂Σ = Σ_P (n_P W_P − W_P G_Pᵀ W_P).
* The parameters are the elements of Σ's upper triangle. The full-data fit is Newton's method
  with a finite-difference Hessian of the analytic gradient and step halving; each replicate is
  then solved from the full fit's Σ by the *chord* method (Newton steps with the full fit's
  Hessian, again halving steps that leave Σ not positive definite or raise −2 l_R), all
  replicates at once as stacked arrays. A replicate differs from the full data by one subject
  (jackknife) or by resampling, so the full fit's Hessian is close to each replicate's and the
  iteration contracts quickly; a replicate that has not converged after ``max_iter`` steps is
  reported, never returned silently.

Validated against the general engine (``fit_arrays``, UN, REML) in
tests/core/stats/test_refbased_reml.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["PatternStats", "UnFits", "fit_full", "fit_replicates", "pattern_stats"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

LOG_2PI = math.log(2.0 * math.pi)
_TOL = 1e-14  # Newton decrement gᵀH⁻¹g, relative to max(1, |−2 l_R|)


@dataclass(frozen=True)
class _Sums:
    xx: FloatArray
    xy: FloatArray
    yy: FloatArray
    n_p: FloatArray  # B × patterns: weighted subject counts

    def take(self, idx: IntArray) -> _Sums:
        return _Sums(self.xx[idx], self.xy[idx], self.yy[idx], self.n_p[idx])

    def repeat(self, k: int) -> _Sums:
        return _Sums(
            np.repeat(self.xx, k, axis=0),
            np.repeat(self.xy, k, axis=0),
            np.repeat(self.yy, k, axis=0),
            np.repeat(self.n_p, k, axis=0),
        )


@dataclass(frozen=True)
class PatternStats:
    """Per-subject sufficient statistics, grouped by missingness pattern."""

    masks: BoolArray  # patterns × T: observed visits of each pattern
    pattern_of: IntArray  # per subject: index into ``masks``, −1 when nothing is observed
    per_subject: FloatArray  # subjects × D: XX (T·T·p·p), XY (T·T·p), YY (T·T), flattened
    n_times: int
    n_fixed: int

    def weighted(self, weights: FloatArray) -> _Sums:
        """Sums with the given subject weights (replicates × n): X'WX-type blocks per pattern
        and visit pair, as contiguous arrays (B × patterns·T·T × p·p, … × p, …)."""
        weights = np.atleast_2d(weights)
        b, t, p = weights.shape[0], self.n_times, self.n_fixed
        n_pat = self.masks.shape[0]
        tt = t * t
        xx = np.empty((b, n_pat, tt * p * p))
        xy = np.empty((b, n_pat, tt * p))
        yy = np.empty((b, n_pat, tt))
        for k in range(n_pat):
            members = np.flatnonzero(self.pattern_of == k)
            wk = weights[:, members]
            xx[:, k] = wk @ self.per_subject[members, : tt * p * p]
            xy[:, k] = wk @ self.per_subject[members, tt * p * p : tt * p * (p + 1)]
            yy[:, k] = wk @ self.per_subject[members, tt * p * (p + 1) :]
        return _Sums(
            xx=xx.reshape(b, n_pat * tt, p * p),
            xy=xy.reshape(b, n_pat * tt, p),
            yy=yy.reshape(b, n_pat * tt),
            n_p=self.counts(weights),
        )

    def counts(self, weights: FloatArray) -> FloatArray:
        """Replicates × patterns: the weighted number of subjects of each pattern."""
        weights = np.atleast_2d(weights)
        onehot = self.pattern_of[:, None] == np.arange(self.masks.shape[0])[None, :]
        return np.asarray(weights @ onehot.astype(np.float64), dtype=np.float64)


def pattern_stats(x: FloatArray, y: FloatArray, observed: BoolArray) -> PatternStats:
    """``x``: subjects × T × p design rows, ``y``: subjects × T outcomes, ``observed``: which
    outcomes enter the model (others are ignored, whatever their value)."""
    n, t, p = x.shape
    xe = np.where(observed[:, :, None], x, 0.0)
    ye = np.where(observed, y, 0.0)
    xx = np.einsum("isa,itb->istab", xe, xe).reshape(n, -1)
    xy = np.einsum("isa,it->ista", xe, ye).reshape(n, -1)
    yy = np.einsum("is,it->ist", ye, ye).reshape(n, -1)
    masks, inverse = np.unique(observed, axis=0, return_inverse=True)
    inverse = np.asarray(inverse, dtype=np.intp).reshape(-1)
    keep = masks.any(axis=1)
    remap = np.full(masks.shape[0], -1, dtype=np.intp)
    remap[keep] = np.arange(int(keep.sum()))
    return PatternStats(
        masks=masks[keep],
        pattern_of=remap[inverse],
        per_subject=np.concatenate([xx, xy, yy], axis=1),
        n_times=t,
        n_fixed=p,
    )


@dataclass(frozen=True)
class _Eval:
    f: FloatArray  # B: −2 l_R (nan where Σ is not positive definite)
    grad: FloatArray  # B × q
    beta: FloatArray  # B × p
    ok: BoolArray  # B: Σ positive definite and X'V⁻¹X invertible


def _vech_index(t: int) -> tuple[IntArray, IntArray]:
    iu = np.triu_indices(t)
    return np.asarray(iu[0], dtype=np.intp), np.asarray(iu[1], dtype=np.intp)


def _to_sigma(theta: FloatArray, t: int) -> FloatArray:
    r, c = _vech_index(t)
    sig = np.zeros((theta.shape[0], t, t))
    sig[:, r, c] = theta
    sig[:, c, r] = theta
    return sig


def _evaluate(theta: FloatArray, st: PatternStats, sums: _Sums) -> _Eval:
    """−2 l_R and its gradient for B parameter vectors (B × q) and B replicates' sums."""
    t, p = st.n_times, st.n_fixed
    b_count = theta.shape[0]
    n_pat = st.masks.shape[0]
    sig = _to_sigma(theta, t)
    m = st.masks.astype(np.float64)
    mm = m[:, :, None] * m[:, None, :]
    emb = sig[:, None] * mm[None] + np.eye(t)[None, None] * (1.0 - m)[None, :, :, None]
    eig_ok = _pd_rows(sig)
    emb[~eig_ok] = np.eye(t)
    chol = np.linalg.cholesky(emb)
    logdet = 2.0 * np.log(np.diagonal(chol, axis1=2, axis2=3)).sum(axis=2)  # B × P
    w = np.linalg.inv(emb) * mm[None]  # B × P × T × T
    k = n_pat * t * t
    xx, xy, yy, n_p = sums.xx, sums.xy, sums.yy, sums.n_p
    wf = w.reshape(b_count, 1, k)
    a = (wf @ xx).reshape(b_count, p, p)
    a = 0.5 * (a + a.transpose(0, 2, 1))
    bvec = (wf @ xy).reshape(b_count, p)
    ywy = (wf.reshape(b_count, k) * yy).sum(axis=1)
    scale = np.sqrt(np.clip(np.diagonal(a, axis1=1, axis2=2), 1e-300, None))
    a_corr = a / (scale[:, :, None] * scale[:, None, :])  # condition check, scale-free
    a_ok = _pd_rows(a_corr - 1e-10 * np.eye(p))
    ok = eig_ok & a_ok
    a[~a_ok] = np.eye(p)
    a_chol = np.linalg.cholesky(a)
    logdet_a = 2.0 * np.log(np.diagonal(a_chol, axis1=1, axis2=2)).sum(axis=1)
    a_inv = np.linalg.inv(a)
    beta = np.einsum("bij,bj->bi", a_inv, bvec)
    n_obs = (n_p * m.sum(axis=1)[None]).sum(axis=1)
    f = (
        (n_p * logdet).sum(axis=1)
        + logdet_a
        + ywy
        - np.einsum("bi,bi->b", bvec, beta)
        + (n_obs - p) * LOG_2PI
    )
    quad = a_inv + beta[:, :, None] * beta[:, None, :]
    g_pat = (
        (xx @ quad.reshape(b_count, p * p, 1)).reshape(b_count, k)
        - 2.0 * (xy @ beta[:, :, None]).reshape(b_count, k)
        + yy
    ).reshape(b_count, n_pat, t, t)
    wgw = w @ g_pat.transpose(0, 1, 3, 2) @ w
    dsig = (n_p[:, :, None, None] * w - wgw).sum(axis=1)  # B × T × T
    r, c = _vech_index(t)
    grad = np.where(r == c, dsig[:, r, c], dsig[:, r, c] + dsig[:, c, r])
    f = np.where(ok, f, np.nan)
    return _Eval(f=f, grad=grad, beta=beta, ok=ok)


def _pd_rows(mats: FloatArray) -> BoolArray:
    """Which matrices of a stack are positive definite (one batched Cholesky; eigenvalues only
    when it fails, to find which)."""
    try:
        np.linalg.cholesky(mats)
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.eigvalsh(mats).min(axis=-1) > 0.0, dtype=bool)
    return np.ones(mats.shape[0], dtype=bool)


def _fd_hessian(theta: FloatArray, st: PatternStats, sums: _Sums) -> FloatArray:
    q = theta.size
    h = 1e-5 * np.maximum(1.0, np.abs(theta))
    pts = np.concatenate([theta + np.diag(h), theta - np.diag(h)])
    ev = _evaluate(pts, st, sums.repeat(2 * q))
    if not ev.ok.all():
        raise ValueError("the REML Hessian could not be evaluated (Σ near singular)")
    hess = (ev.grad[:q] - ev.grad[q:]) / (2.0 * h[:, None])
    return np.asarray(0.5 * (hess + hess.T), dtype=np.float64)


def _bfgs_update(h: FloatArray, s: FloatArray, y: FloatArray) -> FloatArray:
    """Batched BFGS update of inverse Hessians (B × q × q) by steps s and gradient changes y;
    kept unchanged where the curvature condition sᵀy > 0 fails."""
    sy = np.einsum("bi,bi->b", s, y)
    upd = sy > 1e-300
    if not upd.any():
        return h
    h = h.copy()
    hu, su, yu, rho = h[upd], s[upd], y[upd], 1.0 / sy[upd]
    eye = np.eye(h.shape[1])[None]
    left = eye - rho[:, None, None] * su[:, :, None] * yu[:, None, :]
    h[upd] = (
        left @ hu @ left.transpose(0, 2, 1) + rho[:, None, None] * su[:, :, None] * su[:, None, :]
    )
    return h


def _pd_inverse(hess: FloatArray) -> FloatArray:
    vals, vecs = np.linalg.eigh(hess)
    floor = 1e-8 * max(float(np.abs(vals).max()), 1e-300)
    return np.asarray((vecs / np.maximum(np.abs(vals), floor)) @ vecs.T, dtype=np.float64)


@dataclass(frozen=True)
class UnFits:
    """REML fits: per replicate β (B × p), Σ (B × T × T), −2 l_R and iterations used."""

    beta: FloatArray
    sigma: FloatArray
    neg2loglik: FloatArray
    iterations: int
    hessian: FloatArray  # of −2 l_R in vech(Σ) at the (first) fit, q × q


def _start_sigma(st: PatternStats, sums: _Sums) -> FloatArray:
    """A positive definite start: Σ from OLS residual cross-products, pairwise."""
    t, p = st.n_times, st.n_fixed
    r, c = _vech_index(t)
    ev = _evaluate(np.eye(t)[r, c][None], st, sums)
    beta = ev.beta[0]
    rr = (
        sums.xx[0] @ np.outer(beta, beta).reshape(-1) - 2.0 * sums.xy[0] @ beta + sums.yy[0]
    ).reshape(-1, t, t)
    both = (st.masks[:, :, None] & st.masks[:, None, :]).astype(np.float64)
    pair = (sums.n_p[0][:, None, None] * both).sum(axis=0)
    sig = rr.sum(axis=0) / np.maximum(pair, 1.0)
    sd = np.sqrt(np.clip(np.diag(sig), 1e-8, None))
    corr = np.clip(sig / np.outer(sd, sd), -0.9, 0.9)
    np.fill_diagonal(corr, 1.0)
    if np.linalg.eigvalsh(corr).min() <= 1e-6:
        corr = np.eye(t)
    del p
    return np.asarray(corr * np.outer(sd, sd), dtype=np.float64)


def fit_full(st: PatternStats, weights: FloatArray, *, max_iter: int = 200) -> UnFits:
    """One REML fit (Newton, finite-difference Hessian, step halving) with subject weights."""
    t = st.n_times
    sums = st.weighted(np.atleast_2d(np.asarray(weights, dtype=np.float64)))
    r, c = _vech_index(t)
    theta = _start_sigma(st, sums)[r, c][None]
    ev = _evaluate(theta, st, sums)
    if not ev.ok[0]:
        raise ValueError("the imputation model's design is rank deficient")
    iterations = 0
    for it in range(1, max_iter + 1):
        iterations = it
        hess = _fd_hessian(theta[0], st, sums)
        step = -(_pd_inverse(hess) @ ev.grad[0])[None]
        dec = float(-(ev.grad[0] @ step[0]))
        if dec < _TOL * max(1.0, abs(float(ev.f[0]))):
            break
        scale = 1.0
        while scale > 1e-10:
            cand = theta + scale * step
            new = _evaluate(cand, st, sums)
            if new.ok[0] and new.f[0] <= ev.f[0] - 1e-4 * scale * dec:
                break
            scale *= 0.5
        else:
            if dec < 1e-8 * max(1.0, abs(float(ev.f[0]))):
                break  # round-off level
            raise ValueError("the REML fit of the imputation model did not converge")
        theta, ev = cand, new
    else:
        raise ValueError("the REML fit of the imputation model did not converge")
    hess = _fd_hessian(theta[0], st, sums)
    return UnFits(
        beta=ev.beta,
        sigma=_to_sigma(theta, t),
        neg2loglik=ev.f,
        iterations=iterations,
        hessian=hess,
    )


def fit_replicates(
    st: PatternStats,
    weights: FloatArray,
    start: UnFits,
    *,
    max_iter: int = 100,
    chunk: int | None = None,
) -> UnFits:
    """REML fits of B replicates (weights: B × n), quasi-Newton (BFGS) from ``start``'s Σ and
    inverse Hessian, all replicates of a chunk stepped together. Raises ``ValueError`` naming
    the first replicate that did not converge."""
    t = st.n_times
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    b_total = weights.shape[0]
    r, c = _vech_index(t)
    theta0 = start.sigma[0][r, c]
    h_inv = _pd_inverse(start.hessian)
    per = st.masks.shape[0] * st.per_subject.shape[1]
    if chunk is None:
        chunk = max(1, min(b_total, int(3_000_000 // max(per, 1))))
    betas = np.empty((b_total, st.n_fixed))
    thetas = np.empty((b_total, theta0.size))
    f_all = np.empty(b_total)
    iters = 0
    for lo in range(0, b_total, chunk):
        hi = min(b_total, lo + chunk)
        sums = st.weighted(weights[lo:hi])
        theta = np.repeat(theta0[None], hi - lo, axis=0)
        ev = _evaluate(theta, st, sums)
        if not ev.ok.all():
            bad = lo + int(np.flatnonzero(~ev.ok)[0])
            raise ValueError(f"replicate {bad}: the imputation model cannot be fitted")
        f, grad, beta = ev.f.copy(), ev.grad.copy(), ev.beta.copy()
        h_b = np.repeat(h_inv[None], hi - lo, axis=0)  # per-replicate inverse Hessian
        active = np.ones(hi - lo, dtype=bool)
        failed = np.zeros(hi - lo, dtype=bool)
        for it in range(1, max_iter + 1):
            step = -np.einsum("bij,bj->bi", h_b, grad)
            dec = -(grad * step).sum(axis=1)
            tiny = np.abs(step).max(axis=1) <= 1e-11 * (1.0 + np.abs(theta).max(axis=1))
            active &= ~((dec < _TOL * np.maximum(1.0, np.abs(f))) | tiny)
            if not active.any():
                iters = max(iters, it)
                break
            scale = np.where(active, 1.0, 0.0)
            pending = active.copy()
            while pending.any():
                cand = theta + scale[:, None] * step
                new = _evaluate(cand, st, sums)
                good = pending & new.ok & (new.f <= f - 1e-4 * scale * dec)
                if good.any():
                    h_b[good] = _bfgs_update(
                        h_b[good], cand[good] - theta[good], new.grad[good] - grad[good]
                    )
                    theta[good], f[good] = cand[good], new.f[good]
                    grad[good], beta[good] = new.grad[good], new.beta[good]
                pending &= ~good
                scale = np.where(pending, scale * 0.5, 0.0)
                if pending.any() and scale[pending].min() < 1e-10:
                    break
            stalled = pending
            # a line search that fails at round-off level has converged
            roundoff = dec < 1e-8 * np.maximum(1.0, np.abs(f))
            failed |= stalled & ~roundoff
            active &= ~stalled
            if not active.any():
                iters = max(iters, it)
                break
        else:
            failed |= active
        # the rare replicate the quasi-Newton steps did not settle: a fit of its own (Newton
        # with a finite-difference Hessian from a moment start), else an error naming it
        for j in np.flatnonzero(failed):
            try:
                own = fit_full(st, weights[lo + j])
            except ValueError:
                raise ValueError(f"replicate {lo + j}: the REML fit did not converge") from None
            theta[j], f[j], beta[j] = own.sigma[0][r, c], own.neg2loglik[0], own.beta[0]
        betas[lo:hi], thetas[lo:hi], f_all[lo:hi] = beta, theta, f
    return UnFits(
        beta=betas,
        sigma=_to_sigma(thetas, t),
        neg2loglik=f_all,
        iterations=iters,
        hessian=start.hessian,
    )
