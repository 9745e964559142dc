"""Adaptive Gauss-Hermite marginal likelihood of the cumulative-logit random-intercept model.

Everything here is vectorised over subjects and over a batch of parameter vectors (rows of
``phi``): the conditional modes of all subjects are found together by Newton's method, the
quadrature is evaluated on a (rows, subjects, nodes) array, and the exact gradient of the
quadrature approximation (including the parameters' effect on the modes and scales) comes out
of the same pass. The Hessian is the central difference of that gradient, 2q rows in one batch.
See the package docstring for the model and the parametrisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import linalg, optimize, special

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

_MODE_TOL = 1e-11
# Batches of parameter vectors are split so one temporary holds at most this many numbers.
_CHUNK_ELEMENTS = 2_000_000


@dataclass(frozen=True)
class _Problem:
    """Data sorted by subject: ``y`` holds category codes 0..J-1, ``starts`` each block's start."""

    y: IntArray
    X: FloatArray
    subject: IntArray
    starts: IntArray
    n_categories: int
    nodes: FloatArray
    log_weights: FloatArray
    upper_index: FloatArray
    lower_index: FloatArray

    @property
    def n_parameters(self) -> int:
        return self.n_categories - 1 + int(self.X.shape[1]) + 1


def make_problem(y: IntArray, X: FloatArray, subject: IntArray, n_cat: int, nagq: int) -> _Problem:
    order = np.argsort(subject, kind="stable")
    subj = subject[order]
    starts = np.flatnonzero(np.r_[True, subj[1:] != subj[:-1]]).astype(np.intp)
    _, dense = np.unique(subj, return_inverse=True)
    x_nodes, w_nodes = np.polynomial.hermite.hermgauss(nagq)
    ys = y[order]
    # (n, J-1) indicators: observation k's upper threshold is theta[y_k], lower theta[y_k - 1].
    eye = np.vstack([np.eye(n_cat - 1), np.zeros((1, n_cat - 1))])
    upper_index = eye[ys]
    lower_index = np.vstack([np.zeros((1, n_cat - 1)), np.eye(n_cat - 1)])[ys]
    return _Problem(
        upper_index=upper_index,
        lower_index=lower_index,
        y=ys,
        X=np.ascontiguousarray(X[order], dtype=np.float64),
        subject=dense.astype(np.intp),
        starts=starts,
        n_categories=n_cat,
        nodes=np.asarray(x_nodes, dtype=np.float64),
        log_weights=np.log(np.asarray(w_nodes, dtype=np.float64)) + x_nodes**2,
    )


def _unpack(prob: _Problem, phi: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(m, q) unconstrained vectors -> thresholds (m, J-1), beta (m, p), sigma (m,)."""
    k = prob.n_categories - 1
    incr = np.concatenate([phi[:, :1], np.exp(phi[:, 1:k])], axis=1)
    theta = np.cumsum(incr, axis=1)
    beta = phi[:, k:-1]
    sigma = np.exp(phi[:, -1])
    return theta, beta, sigma


def _cdf_parts(
    z: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Logistic F(z), 1 - F(z), density f and its first two derivatives (±inf give 0/1)."""
    cdf = special.expit(z)
    sf = special.expit(-z)
    dens = cdf * sf
    skew = sf - cdf  # 1 - 2F
    return cdf, sf, dens, dens * skew, dens * (skew * skew - 2.0 * dens)


def _log_prob(upper: FloatArray, lower: FloatArray) -> FloatArray:
    """log P(lower < latent <= upper) for the logistic latent variable.

    Intervals in the upper tail use survivor functions, avoiding cancellation of F(a) - F(c).
    """
    p = np.where(
        lower > 0,
        special.expit(-lower) - special.expit(-upper),
        special.expit(upper) - special.expit(lower),
    )
    out: FloatArray = np.log(np.maximum(p, 1e-300))
    return out


@dataclass
class _ObsTerms:
    """Per-observation log-probability and its derivatives at a given random effect ``u``.

    With a = upper - u and c = lower - u: ``l_u``.. are derivatives in u; ``l_a``, ``l_c`` the
    derivatives in the upper/lower threshold and their u-derivatives ``l_a1``, ``l_a2``, ...
    """

    logp: FloatArray
    l_u: FloatArray
    l_uu: FloatArray
    l_uuu: FloatArray
    l_a: FloatArray
    l_c: FloatArray
    l_a1: FloatArray
    l_c1: FloatArray
    l_a2: FloatArray
    l_c2: FloatArray


def _obs_terms(upper: FloatArray, lower: FloatArray, order: int) -> _ObsTerms:
    fa, sa, da, d1a, d2a = _cdf_parts(upper)
    fc, sc, dc, d1c, d2c = _cdf_parts(lower)
    p = np.maximum(np.where(lower > 0, sc - sa, fa - fc), 1e-300)
    inv_p = 1.0 / p
    logp = np.log(p)
    l_u = -(da - dc) * inv_p
    l_a = da * inv_p
    l_c = -dc * inv_p
    if order < 2:
        return _ObsTerms(logp, l_u, l_u, l_u, l_a, l_c, l_u, l_u, l_u, l_u)
    m1 = (d1a - d1c) * inv_p
    l_uu = m1 - l_u * l_u
    l_uuu = -(d2a - d2c) * inv_p - m1 * l_u - 2.0 * l_u * l_uu
    l_a1 = -d1a * inv_p - l_a * l_u
    l_c1 = d1c * inv_p - l_c * l_u
    l_a2 = d2a * inv_p + d1a * l_u * inv_p - l_a1 * l_u - l_a * l_uu
    l_c2 = -d2c * inv_p - d1c * l_u * inv_p - l_c1 * l_u - l_c * l_uu
    return _ObsTerms(logp, l_u, l_uu, l_uuu, l_a, l_c, l_a1, l_c1, l_a2, l_c2)


def _modes(
    prob: _Problem, upper: FloatArray, lower: FloatArray, prec: FloatArray, b0: FloatArray
) -> FloatArray:
    """Every subject's conditional mode of h(u) = sum log p - u^2 / (2 sigma^2), at once.

    Newton's method; h is strictly concave (the logistic interval probability is log-concave
    in location), and a step that lowers h is halved back towards the previous point.
    """
    sub, starts = prob.subject, prob.starts
    b = b0.copy()
    h_old = np.full_like(b, -np.inf)
    b_old = b.copy()
    for _ in range(200):
        t = _obs_terms(upper - b[:, sub], lower - b[:, sub], 2)
        h = np.add.reduceat(t.logp, starts, axis=1) - 0.5 * prec * b * b
        worse = h < h_old - 1e-13 * np.abs(h_old)
        if worse.any():
            b = np.where(worse, 0.5 * (b + b_old), b)
            continue
        h1 = np.add.reduceat(t.l_u, starts, axis=1) - prec * b
        h2 = np.add.reduceat(t.l_uu, starts, axis=1) - prec
        step = -h1 / h2
        b_old, h_old = b, h
        b = b + step
        if np.max(np.abs(step)) < _MODE_TOL:
            return b
    return b


def _neg_loglik_chunk(
    prob: _Problem, phi: FloatArray, b0: FloatArray | None, want_grad: bool
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Negative AGQ log-likelihood, its exact gradient in ``phi`` and the modes, per row.

    The gradient is the total derivative of the quadrature approximation, including the
    dependence of each subject's mode u and scale s on the parameters (implicit function
    theorem: du/dpsi = h_upsi / c, dlog s/dpsi = (h_uupsi + h_uuu du/dpsi) / (2c), c = -h_uu).
    """
    theta, beta, sigma = _unpack(prob, phi)
    m = phi.shape[0]
    k = prob.n_categories - 1
    sub, starts = prob.subject, prob.starts
    inf = np.full((m, 1), np.inf)
    theta_ext = np.concatenate([-inf, theta, inf], axis=1)
    eta = beta @ prob.X.T  # (m, n)
    upper = theta_ext[:, prob.y + 1] - eta
    lower = theta_ext[:, prob.y] - eta
    prec = 1.0 / sigma[:, None] ** 2
    n_subj = starts.size
    start = np.zeros((m, n_subj)) if b0 is None else np.broadcast_to(b0, (m, n_subj))
    b = _modes(prob, upper, lower, prec, np.asarray(start, dtype=np.float64))
    tm = _obs_terms(upper - b[:, sub], lower - b[:, sub], 2)
    c = -(np.add.reduceat(tm.l_uu, starts, axis=1) - prec)  # (m, N) curvature at the mode
    scale = 1.0 / np.sqrt(c)
    x = prob.nodes
    uq = b[:, :, None] + math.sqrt(2.0) * scale[:, :, None] * x[None, None, :]  # (m, N, K)
    uq_obs = uq[:, sub, :]
    if want_grad:
        tq = _obs_terms(upper[:, :, None] - uq_obs, lower[:, :, None] - uq_obs, 1)
        logp_q = tq.logp
    else:
        logp_q = _log_prob(upper[:, :, None] - uq_obs, lower[:, :, None] - uq_obs)
    hq = np.add.reduceat(logp_q, starts, axis=1) - 0.5 * prec[:, :, None] * uq * uq
    lw = hq + prob.log_weights[None, None, :]
    log_int = special.logsumexp(lw, axis=2)
    log_li = log_int + np.log(math.sqrt(2.0) * scale) - 0.5 * np.log(2.0 * np.pi / prec)
    value: FloatArray = -np.sum(log_li, axis=1)
    if not want_grad:
        return value, np.empty((m, 0)), b
    pi = np.exp(lw - log_int[:, :, None])  # (m, N, K) normalised quadrature weights
    hu_q = np.add.reduceat(tq.l_u, starts, axis=1) - prec[:, :, None] * uq
    e_hu = np.sum(pi * hu_q, axis=2)
    big_b = math.sqrt(2.0) * scale * np.sum(pi * hu_q * x[None, None, :], axis=2)
    h_uuu = np.add.reduceat(tm.l_uuu, starts, axis=1)
    alpha = (1.0 + big_b) / (2.0 * c)
    gamma = (1.0 + big_b) * h_uuu / (2.0 * c * c) + e_hu / c
    al, ga = alpha[:, sub], gamma[:, sub]
    pi_obs = pi[:, sub, :]
    w_beta = al * tm.l_uuu + ga * tm.l_uu + np.sum(pi_obs * tq.l_u, axis=2)
    w_a = al * tm.l_a2 + ga * tm.l_a1 + np.sum(pi_obs * tq.l_a, axis=2)
    w_c = al * tm.l_c2 + ga * tm.l_c1 + np.sum(pi_obs * tq.l_c, axis=2)
    g_beta = w_beta @ prob.X
    g_theta = w_a @ prob.upper_index + w_c @ prob.lower_index  # (m, k)
    e_u2 = np.sum(pi * uq * uq, axis=2)
    g_logsd = np.sum(2.0 * prec * (alpha + gamma * b) + prec * e_u2 - 1.0, axis=1)
    # chain rule to phi: theta_j = phi_0 + sum_{i<=j, i>=1} exp(phi_i)
    g_phi_theta = np.cumsum(g_theta[:, ::-1], axis=1)[:, ::-1]
    g_phi_theta[:, 1:] *= np.exp(phi[:, 1:k])
    grad = np.concatenate([g_phi_theta, g_beta, g_logsd[:, None]], axis=1)
    return value, -grad, b


def _evaluate(
    prob: _Problem, phi: FloatArray, b0: FloatArray | None = None, want_grad: bool = False
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Vectorised over the rows of ``phi`` (chunked to bound memory); non-finite -> +inf."""
    per_row = prob.y.size * prob.nodes.size * (4 if want_grad else 1)
    chunk = max(1, _CHUNK_ELEMENTS // max(per_row, 1))
    values, grads, modes = [], [], []
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        for i in range(0, len(phi), chunk):
            v, g, b = _neg_loglik_chunk(prob, phi[i : i + chunk], b0, want_grad)
            values.append(v)
            grads.append(g)
            modes.append(b)
    value = np.concatenate(values)
    bad = ~np.isfinite(value)
    value[bad] = np.inf
    grad = np.concatenate(grads)
    if want_grad:
        grad[bad] = np.nan
    return value, grad, np.concatenate(modes)


def _hessian(
    prob: _Problem, x: FloatArray, b0: FloatArray | None, step: float = 1e-5
) -> FloatArray:
    """Central differences of the exact gradient, 2q evaluations in one vectorised batch."""
    q = x.size
    h = step * np.maximum(1.0, np.abs(x))
    pts = np.vstack([x + np.diag(h), x - np.diag(h)])
    _, g, _ = _evaluate(prob, pts, b0, want_grad=True)
    hess = (g[:q] - g[q:]) / (2.0 * h[:, None])
    out: FloatArray = 0.5 * (hess + hess.T)
    return out


@dataclass(frozen=True)
class _RawFit:
    phi: FloatArray
    neg_loglik: float
    hessian: FloatArray
    gradient: FloatArray
    iterations: int
    success: bool
    message: str


def start_values(prob: _Problem, beta0: FloatArray | None, log_sd0: float) -> FloatArray:
    counts = np.bincount(prob.y, minlength=prob.n_categories).astype(np.float64)
    cum = np.cumsum(counts)[:-1] / counts.sum()
    theta = special.logit(np.clip(cum, 1e-4, 1 - 1e-4))
    theta = np.maximum.accumulate(theta + np.arange(theta.size) * 1e-3)
    incr = np.log(np.maximum(np.diff(theta), 1e-3))
    beta = np.zeros(prob.X.shape[1]) if beta0 is None else beta0
    return np.concatenate([theta[:1], incr, beta, [log_sd0]])


def optimise(
    prob: _Problem, x0: FloatArray, want_hessian: bool = True, max_iter: int = 500
) -> _RawFit:
    """BFGS on the exact gradient, then Newton steps with the Hessian for a tight optimum."""
    cache: dict[str, FloatArray] = {}

    def fun_and_grad(x: FloatArray) -> tuple[float, FloatArray]:
        v, g, b = _evaluate(prob, x[None, :], cache.get("modes"), want_grad=True)
        if np.isfinite(v[0]):
            cache["modes"] = b[0]
        return float(v[0]), g[0]

    res = optimize.minimize(
        fun_and_grad, x0, jac=True, method="BFGS", options={"gtol": 1e-8, "maxiter": max_iter}
    )
    x = np.asarray(res.x, dtype=np.float64)
    f, grad = fun_and_grad(x)
    iterations = int(res.nit)
    hess = np.full((x.size, x.size), np.nan)
    if not want_hessian:
        return _RawFit(x, f, hess, grad, iterations, bool(res.success), str(res.message))
    hess = _hessian(prob, x, cache.get("modes"))
    for _ in range(5):
        if np.max(np.abs(grad)) < 1e-9:
            break
        try:
            chol = linalg.cho_factor(hess)
        except linalg.LinAlgError:
            break
        step = linalg.cho_solve(chol, grad)
        fc, gc = fun_and_grad(x - step)
        if not fc <= f + 1e-12 * abs(f):
            break
        x, f, grad = x - step, fc, gc
        iterations += 1
    if iterations > res.nit:
        hess = _hessian(prob, x, cache.get("modes"))
    return _RawFit(x, f, hess, grad, iterations, bool(res.success), str(res.message))


def natural_jacobian(prob: _Problem, phi: FloatArray) -> FloatArray:
    """d(theta, beta, log sigma) / d(phi) for the delta method."""
    k = prob.n_categories - 1
    q = phi.size
    jac = np.eye(q)
    block = np.zeros((k, k))
    block[:, 0] = 1.0
    for j in range(1, k):
        block[j:, j] = math.exp(phi[j])
    jac[:k, :k] = block
    return jac
