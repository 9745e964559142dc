"""Contrasts of β̂ under each denominator-df method: one place that knows which covariance of
β̂ and which df to use (model-based Φ for between-within / residual / Satterthwaite; the
Kenward-Roger adjusted Φ_A for kenward-roger).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special

from .ddf import DDF_METHODS, BetweenWithin, between_within, residual_df
from .design import Design
from .engine import evaluate
from .fit import CoreFit
from .kenwardroger import kr_adjusted_cov, kr_test
from .satterthwaite import satterthwaite_df_1d, satterthwaite_df_f

__all__ = ["ContrastResult", "FTestResult", "InferenceContext", "make_context"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class ContrastResult:
    estimate: float
    se: float
    df: float
    t: float
    p: float


@dataclass(frozen=True)
class FTestResult:
    num_df: int
    den_df: float
    f_value: float
    p: float


@dataclass(frozen=True)
class InferenceContext:
    fit: CoreFit
    design: Design
    method: str
    cov_beta: FloatArray  # Φ, or Φ_A for kenward-roger
    bw: BetweenWithin
    resid_df: float
    a_theta: FloatArray | None = None  # inverse observed information of θ
    dcov: FloatArray | None = None  # ∂Φ/∂θ_i = Φ G_i Φ
    g_mats: FloatArray | None = None
    warnings: tuple[str, ...] = ()

    def contrast(self, lvec: FloatArray, df_term: str | None) -> ContrastResult:
        """Estimate, SE, df, t and two-sided p of lvec'β; ``df_term`` picks the
        between-within df (a term name, or None for the intercept)."""
        est = float(lvec @ self.fit.beta)
        var = float(lvec @ self.cov_beta @ lvec)
        se = float(np.sqrt(max(var, 0.0)))
        df = self._df_1d(lvec, df_term)
        t = est / se if se > 0 else float("nan")
        p = float(2.0 * special.stdtr(df, -abs(t))) if np.isfinite(t) and df > 0 else float("nan")
        return ContrastResult(estimate=est, se=se, df=df, t=t, p=p)

    def _df_1d(self, lvec: FloatArray, df_term: str | None) -> float:
        if self.method == "between-within":
            return self.bw.intercept_df if df_term is None else self.bw.term_df[df_term]
        if self.method == "residual":
            return self.resid_df
        assert self.a_theta is not None and self.dcov is not None
        if self.method == "satterthwaite":
            return satterthwaite_df_1d(lvec, self.fit.cov_beta, self.dcov, self.a_theta)
        assert self.g_mats is not None
        res = kr_test(
            lvec[None, :],
            self.fit.beta,
            self.fit.cov_beta,
            self.cov_beta,
            self.g_mats,
            self.a_theta,
        )
        return res.den_df

    def f_test(self, lmat: FloatArray, df_term: str) -> FTestResult:
        q = lmat.shape[0]
        lb = lmat @ self.fit.beta
        if self.method == "kenward-roger":
            assert self.g_mats is not None and self.a_theta is not None
            res = kr_test(
                lmat, self.fit.beta, self.fit.cov_beta, self.cov_beta, self.g_mats, self.a_theta
            )
            f_value, den = res.f_value, res.den_df
        else:
            f_value = float(lb @ np.linalg.solve(lmat @ self.cov_beta @ lmat.T, lb)) / q
            if self.method == "between-within":
                den = self.bw.term_df[df_term]
            elif self.method == "residual":
                den = self.resid_df
            else:
                assert self.a_theta is not None and self.dcov is not None
                den = satterthwaite_df_f(lmat, self.fit.cov_beta, self.dcov, self.a_theta)
        p = float(special.fdtrc(q, den, f_value)) if np.isfinite(den) and den > 0 else float("nan")
        return FTestResult(num_df=q, den_df=float(den), f_value=float(f_value), p=p)


def make_context(
    fit: CoreFit,
    design: Design,
    subject: IntArray,
    method: str = "between-within",
    *,
    bw: BetweenWithin | None = None,
    resid_df: float | None = None,
) -> InferenceContext:
    """Prepare the covariance of β̂ and the df machinery for ``method`` (``bw`` and
    ``resid_df`` may come precomputed from the analysis layout)."""
    if method not in DDF_METHODS:
        raise ValueError(f"unknown ddf method {method!r}; choose one of {DDF_METHODS}")
    if bw is None:
        bw = between_within(design, subject, fit.data.n_subjects, fit.structure.name)
    rdf = residual_df(design) if resid_df is None else resid_df
    if method in ("between-within", "residual"):
        return InferenceContext(fit, design, method, fit.cov_beta, bw, rdf)
    if not fit.reml:
        raise ValueError("Satterthwaite and Kenward-Roger df need a REML fit")
    ev = evaluate(
        fit.data,
        fit.structure,
        fit.theta,
        reml=True,
        derivatives=2,
        kr_terms=(method == "kenward-roger"),
    )
    if ev is None or ev.hessian is None or ev.g_mats is None:
        raise ValueError("the fitted covariance is not positive definite; no df can be computed")
    warnings: list[str] = []
    info = -ev.hessian
    try:
        np.linalg.cholesky(info)
        a_theta = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        warnings.append(
            "the observed information of the covariance parameters is not positive definite; "
            f"{method} df use its pseudo-inverse and are unreliable"
        )
        a_theta = np.linalg.pinv(info)
    a_theta = 0.5 * (a_theta + a_theta.T)
    phi = fit.cov_beta
    dcov = np.einsum("pr,irs,st->ipt", phi, ev.g_mats, phi)
    cov_used = phi
    if method == "kenward-roger":
        assert ev.q_mats is not None
        cov_used = kr_adjusted_cov(phi, ev.g_mats, ev.q_mats, ev.r_mats, a_theta)
    return InferenceContext(
        fit, design, method, cov_used, bw, rdf, a_theta, dcov, ev.g_mats, tuple(warnings)
    )
