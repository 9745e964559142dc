"""Likelihood, analytic gradient and Hessian of the MMRM, vectorised by missingness pattern.

Subjects that share the same set of observed time levels share the same covariance block
Σ_p = Σ[idx, idx], so one Cholesky factor per *pattern* serves all of them and every sum over
subjects becomes one ``einsum`` per pattern: an evaluation costs O(patterns·t³ + N·p²),
linear in the number of subjects.

Formulas (Harville 1977; SAS/STAT User's Guide, "Estimating Covariance Parameters in the
Mixed Model"): with W = V⁻¹, C = (X'WX)⁻¹, β̂ = C X'Wy, r = y − Xβ̂ and P = W − WXCX'W,

    −2 l_R = (N − p) log 2π + log|V| + log|X'WX| + r'Wr        (REML, SAS's "-2 Res Log Like")
    −2 l_ML = N log 2π + log|V| + r'Wr
    ∂l_R/∂θ_i = −½ tr(P V_i) + ½ y'P V_i P y
    ∂²l_R/∂θ_i∂θ_j = ½ tr(P V_i P V_j) − ½ tr(P V_ij) − y'P V_i P V_j P y + ½ y'P V_ij P y

The trace terms are reduced to pattern-level t×t matrices through
H_p = Σ_{s∈p} W X_s C X_s' W, e.g. tr(C X'W V_i W X) = Σ_p tr(H_p D_i).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .covariance import CovarianceStructure

__all__ = ["EvalResult", "Pattern", "PatternData", "evaluate", "group_patterns"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class Pattern:
    """Subjects observed at the same time levels ``idx``: X (n_s, k, p), y (n_s, k)."""

    idx: IntArray
    x: FloatArray
    y: FloatArray
    subjects: IntArray


@dataclass(frozen=True)
class PatternData:
    patterns: tuple[Pattern, ...]
    n_obs: int
    n_subjects: int
    n_coef: int


def group_patterns(
    subject: IntArray, time: IntArray, x: FloatArray, y: FloatArray, n_times: int
) -> PatternData:
    """Group subjects by their set of observed time levels (each (subject, time) at most once).

    Raises ``ValueError`` if a subject has two observations at the same time level.
    """
    order = np.lexsort((time, subject))
    subject = subject[order]
    time = time[order]
    x = x[order]
    y = y[order]
    n = subject.size
    if n > 1 and np.any((np.diff(subject) == 0) & (np.diff(time) == 0)):
        raise ValueError("a subject has more than one observation at the same time level")
    starts = np.flatnonzero(np.r_[True, np.diff(subject) != 0])
    counts = np.diff(np.r_[starts, n])
    weights = (1 << time.astype(np.int64)) if n_times <= 62 else None
    if weights is None:  # pragma: no cover - more than 62 visits
        raise ValueError("at most 62 time levels are supported")
    masks = np.add.reduceat(weights, starts)
    subj_ids = subject[starts]
    patterns: list[Pattern] = []
    for mask in np.unique(masks):
        members = np.flatnonzero(masks == mask)
        k = int(counts[members[0]])
        rows = (starts[members][:, None] + np.arange(k)[None, :]).ravel()
        idx = np.flatnonzero([(int(mask) >> t) & 1 for t in range(n_times)]).astype(np.intp)
        patterns.append(
            Pattern(
                idx=idx,
                x=np.ascontiguousarray(x[rows].reshape(members.size, k, x.shape[1])),
                y=np.ascontiguousarray(y[rows].reshape(members.size, k)),
                subjects=subj_ids[members].astype(np.intp),
            )
        )
    return PatternData(
        patterns=tuple(patterns), n_obs=n, n_subjects=int(starts.size), n_coef=x.shape[1]
    )


@dataclass(frozen=True)
class EvalResult:
    """Everything known at one θ: log-likelihood, β̂, C = (X'WX)⁻¹, and optionally derivatives."""

    loglik: float
    beta: FloatArray
    cov_beta: FloatArray
    gradient: FloatArray | None = None
    hessian: FloatArray | None = None
    expected_info: FloatArray | None = None
    g_mats: FloatArray | None = None  # (q, p, p): X'W V_i W X
    q_mats: FloatArray | None = None  # (q, q, p, p): X'W V_i W V_j W X
    r_mats: FloatArray | None = None  # (q, q, p, p): X'W V_ij W X


def evaluate(
    data: PatternData,
    structure: CovarianceStructure,
    theta: FloatArray,
    *,
    reml: bool = True,
    derivatives: int = 0,
    kr_terms: bool = False,
) -> EvalResult | None:
    """Evaluate at θ; ``None`` when Σ(θ) is not positive definite on some observed block.

    ``derivatives``: 0 value only, 1 adds the gradient, 2 adds the observed Hessian and the
    expected information. ``kr_terms`` also returns the G, Q, R matrices of Kenward & Roger.
    """
    sigma = structure.sigma(theta)
    p = data.n_coef
    chols: list[FloatArray] = []
    winv: list[FloatArray] = []
    logdet_v = 0.0
    xtwx = np.zeros((p, p))
    xtwy = np.zeros(p)
    xw_list: list[FloatArray] = []
    for pat in data.patterns:
        sp = sigma[np.ix_(pat.idx, pat.idx)]
        try:
            chol = np.asarray(np.linalg.cholesky(sp), dtype=np.float64)
        except np.linalg.LinAlgError:
            return None
        diag = np.diag(chol)
        if np.any(diag <= 0) or not np.all(np.isfinite(diag)):
            return None
        w_raw = np.linalg.inv(sp)
        w = np.asarray(0.5 * (w_raw + w_raw.T), dtype=np.float64)
        chols.append(chol)
        winv.append(w)
        n_s = pat.y.shape[0]
        logdet_v += n_s * 2.0 * float(np.sum(np.log(diag)))
        xw = np.einsum("kl,slp->skp", w, pat.x)
        xw_list.append(xw)
        xtwx += np.einsum("skp,skq->pq", xw, pat.x)
        xtwy += np.einsum("skp,sk->p", xw, pat.y)
    xtwx = 0.5 * (xtwx + xtwx.T)
    try:
        chol_x = np.linalg.cholesky(xtwx)
    except np.linalg.LinAlgError:
        return None
    cov_beta = np.linalg.inv(xtwx)
    cov_beta = 0.5 * (cov_beta + cov_beta.T)
    beta = cov_beta @ xtwy
    quad = 0.0
    resid_w: list[FloatArray] = []
    for pat, w in zip(data.patterns, winv, strict=True):
        r = pat.y - pat.x @ beta
        rw = r @ w
        resid_w.append(rw)
        quad += float(np.sum(rw * r))
    n = data.n_obs
    if reml:
        logdet_x = 2.0 * float(np.sum(np.log(np.diag(chol_x))))
        m2ll = (n - p) * LOG_2PI + logdet_v + logdet_x + quad
    else:
        m2ll = n * LOG_2PI + logdet_v + quad
    loglik = -0.5 * m2ll
    if derivatives == 0 and not kr_terms:
        return EvalResult(loglik=loglik, beta=beta, cov_beta=cov_beta)

    d_sigma = structure.d_sigma(theta)
    q = d_sigma.shape[0]
    need_d2 = (derivatives >= 2 or kr_terms) and not structure.is_linear
    d2_sigma = structure.d2_sigma(theta) if need_d2 else None
    grad = np.zeros(q)
    tr_wd = np.zeros(q)
    tr_hd = np.zeros(q)
    quad_d = np.zeros(q)
    tr_wdwd = np.zeros((q, q))
    tr_hdwd = np.zeros((q, q))
    a_w_a = np.zeros((q, q))
    xtw_a = np.zeros((q, p))
    tr_wd2 = np.zeros((q, q))
    tr_hd2 = np.zeros((q, q))
    quad_d2 = np.zeros((q, q))
    g_mats = np.zeros((q, p, p))
    q_mats = np.zeros((q, q, p, p)) if kr_terms else None
    r_mats = np.zeros((q, q, p, p)) if kr_terms else None
    for pat, w, xw, rw in zip(data.patterns, winv, xw_list, resid_w, strict=True):
        idx = pat.idx
        n_s = pat.y.shape[0]
        d = d_sigma[:, idx][:, :, idx]  # (q, k, k)
        h = np.einsum("skp,pq,slq->kl", xw, cov_beta, xw)
        wd = np.einsum("kl,qlm->qkm", w, d)  # W D_i
        tr_wd += n_s * np.einsum("qkk->q", wd)
        tr_hd += np.einsum("kl,qlk->q", h, d)
        quad_d += np.einsum("sk,qkl,sl->q", rw, d, rw)
        if derivatives >= 2 or kr_terms:
            dxw = np.einsum("qkl,slp->qskp", d, xw)  # D_i W X_s
            g_mats += np.einsum("skp,qskr->qpr", xw, dxw)
            tr_wdwd += n_s * np.einsum("ikl,jlk->ij", wd, wd)
            hd = np.einsum("kl,ilm->ikm", h, d)  # H_p D_i
            tr_hdwd += np.einsum("ikm,jmk->ij", hd, wd)
            a = np.einsum("qkl,sl->qsk", d, rw)  # V_i W r per subject
            aw = np.einsum("qsk,kl->qsl", a, w)
            a_w_a += np.einsum("isk,jsk->ij", aw, a)
            xtw_a += np.einsum("skp,qsk->qp", xw, a)
            if kr_terms and q_mats is not None and r_mats is not None:
                wdxw = np.einsum("kl,qslp->qskp", w, dxw)
                q_mats += np.einsum("iskp,jskr->ijpr", dxw, wdxw)
            if d2_sigma is not None:
                d2 = d2_sigma[:, :, idx][:, :, :, idx]
                tr_wd2 += n_s * np.einsum("kl,ijlk->ij", w, d2)
                tr_hd2 += np.einsum("kl,ijlk->ij", h, d2)
                quad_d2 += np.einsum("sk,ijkl,sl->ij", rw, d2, rw)
                if kr_terms and r_mats is not None:
                    r_mats += np.einsum("skp,ijkl,slr->ijpr", xw, d2, xw)
    grad = -0.5 * (tr_wd - tr_hd) + 0.5 * quad_d if reml else -0.5 * tr_wd + 0.5 * quad_d
    if derivatives < 2 and not kr_terms:
        return EvalResult(loglik=loglik, beta=beta, cov_beta=cov_beta, gradient=grad)
    # tr(P V_i P V_j) and y'P V_i P V_j P y
    cg = np.einsum("pr,irs->ips", cov_beta, g_mats)  # C G_i
    tr_cgcg = np.einsum("ips,jsp->ij", cg, cg)
    if reml:
        tr_pvpv = tr_wdwd - 2.0 * tr_hdwd + tr_cgcg
        tr_pv2 = tr_wd2 - tr_hd2
    else:
        tr_pvpv = tr_wdwd
        tr_pv2 = tr_wd2
    ypvpvpy = a_w_a - xtw_a @ cov_beta @ xtw_a.T
    hess = 0.5 * tr_pvpv - 0.5 * tr_pv2 - ypvpvpy + 0.5 * quad_d2
    hess = 0.5 * (hess + hess.T)
    expected = 0.25 * (tr_pvpv + tr_pvpv.T)
    return EvalResult(
        loglik=loglik,
        beta=beta,
        cov_beta=cov_beta,
        gradient=grad,
        hessian=hess,
        expected_info=expected,
        g_mats=g_mats,
        q_mats=q_mats,
        r_mats=r_mats,
    )
