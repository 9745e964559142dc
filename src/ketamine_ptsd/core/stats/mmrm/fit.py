"""REML / ML estimation of the covariance parameters: the array-level fitting API.

``fit_arrays`` takes plain numpy arrays (no pandas in the hot path) so that the batched trial
simulator can call it directly. Two algorithms:

* **CS, profiled** (default for ``cs``): the criterion as a function of γ = between/within
  alone, from sums per subject size — ``cs_profile``, the same code the batched simulator and
  the registry fit run (one data set here, B = 1).
* **Newton-Raphson** on the analytic observed Hessian of the (restricted) log-likelihood in
  SAS's parametrisation (``engine.evaluate``), falling back to Fisher scoring when the Hessian
  is not negative definite, with step halving to keep Σ positive definite and the likelihood
  increasing — the scheme SAS PROC MIXED uses (SAS/STAT User's Guide, "Convergence Problems").

Like SAS's REPEATED / TYPE=CS and nlme's ``corCompSymm``, the CS between-subject covariance may
be negative (only Σ must be positive definite); a non-positive estimate is reported in
``warnings`` rather than silently truncated.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .covariance import CovarianceStructure, get_structure
from .cs_profile import ProfileSums, SubjectXSums, fit_profile, subject_x_sums
from .engine import EvalResult, PatternData, evaluate, group_patterns

__all__ = ["CoreFit", "fit_arrays", "fit_cs_sums", "fit_patterns", "pattern_x_sums"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


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
    cs_sums: SubjectXSums | None = None,
) -> CoreFit:
    """Fit on pre-grouped data (reuse ``group_patterns`` output across refits).

    ``cs_sums`` = ``pattern_x_sums(data)`` (subjects in the order of ``data.patterns``) when
    the caller kept it from an earlier fit of the same data layout."""
    if structure.name == "cs":
        sums = _pattern_sums(data, cs_sums)
        fit = _fit_cs_profiled(data, structure, reml=reml, sums=sums)
        if fit is not None:
            return fit
    return _fit_newton(data, structure, reml=reml, max_iter=max_iter)


# --------------------------------------------------------------------------- CS profile
def pattern_x_sums(data: PatternData) -> SubjectXSums:
    """``cs_profile.SubjectXSums`` from grouped data (subjects in the order of
    ``data.patterns``)."""
    p = data.n_coef
    k = np.concatenate([np.full(pat.y.shape[0], float(pat.y.shape[1])) for pat in data.patterns])
    sx = np.vstack([pat.x.sum(axis=1) for pat in data.patterns])
    xtx = np.zeros((p, p))
    for pat in data.patterns:
        xtx += np.einsum("skp,skq->pq", pat.x, pat.x)
    return subject_x_sums(k, sx, xtx)


def _pattern_sums(data: PatternData, xs: SubjectXSums | None = None) -> ProfileSums:
    """The profile sums of grouped data; ``xs`` may come from an earlier fit of the layout."""
    if xs is None:
        xs = pattern_x_sums(data)
    xty = np.zeros(data.n_coef)
    yty = 0.0
    for pat in data.patterns:
        xty += np.einsum("skp,sk->p", pat.x, pat.y)
        yty += float(np.sum(pat.y * pat.y))
    sy = np.concatenate([pat.y.sum(axis=1) for pat in data.patterns])
    return xs.with_y(sy, xty, yty, data.n_obs)


def fit_cs_sums(
    sums: ProfileSums,
    structure: CovarianceStructure,
    data: PatternData | Callable[[], PatternData],
    *,
    reml: bool = True,
    max_iter: int = 100,
) -> CoreFit:
    """The CS fit of one data set from its profile sums (``cs_profile.ProfileSums``, B = 1);
    ``data`` (or a function building it) is kept on the result for the Satterthwaite and
    Kenward-Roger df, and used for Newton-Raphson if the profile fails."""
    fit = _fit_cs_profiled(data, structure, reml=reml, sums=sums)
    if fit is not None:
        return fit
    if not isinstance(data, PatternData):  # pragma: no cover - the profile's fallbacks hold
        data = data()
    return _fit_newton(data, structure, reml=reml, max_iter=max_iter)


def _fit_cs_profiled(
    data: PatternData | Callable[[], PatternData],
    structure: CovarianceStructure,
    *,
    reml: bool,
    sums: ProfileSums | None = None,
) -> CoreFit | None:
    if sums is None:
        if not isinstance(data, PatternData):
            data = data()
        sums = _pattern_sums(data)
    res = fit_profile(sums, reml)
    sigma2 = float(res.sigma2[0])
    if not (math.isfinite(float(res.m2[0])) and sigma2 > 0.0):
        return None
    at_bound = bool(res.at_bound[0])
    warnings: list[str] = []
    if at_bound:
        warnings.append(
            "compound-symmetry optimisation reached the boundary of the correlation range; "
            "the estimate is unreliable"
        )
    theta = np.array([float(res.gamma[0]) * sigma2, sigma2])
    if theta[0] <= 0:
        warnings.append(
            f"between-subject covariance estimate is {theta[0]:.6g} (<= 0): no positive "
            "within-subject correlation; a random-intercept model would set it to 0"
        )
    return CoreFit(
        structure=structure,
        theta=theta,
        beta=res.beta[0],
        cov_beta=sigma2 * res.a_inv[0],
        loglik=-0.5 * float(res.m2[0]),
        reml=reml,
        converged=not at_bound,
        iterations=int(res.evaluations[0]),
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
