"""Cumulative-logit (proportional-odds) mixed model with a random subject intercept.

PROTOCOL.md §9 analyses CGI-S and CGI-I (ordinal, PROTOCOL.md §7) with cumulative logit mixed
models in SAS PROC GLIMMIX; PROTOCOL.md §10 reports CGI-S time × treatment F(2,50) and CGI-I
treatment F(1,24). This module fits that model and follows R's ``ordinal::clmm`` parametrisation
(Christensen 2019, "A tutorial on fitting cumulative link mixed models with clmm2", and the
``clmm`` documentation), so that results can be checked against it number for number::

    logit P(Y_ik <= j | b_i) = theta_j - (x_ik' beta + b_i),   b_i ~ N(0, sigma^2)

``theta_1 < ... < theta_{J-1}`` are the thresholds of the J *observed* categories (``clmm``
drops empty response levels too; they are not identifiable), ``beta`` has no intercept, and a
positive coefficient moves the response towards higher categories.

Estimation maximises the marginal likelihood, integrating each subject's ``b_i`` out by
adaptive Gauss-Hermite quadrature (Pinheiro & Bates 1995; Liu & Pierce 1994): the integrand is
centred at the subject's conditional mode and scaled by its curvature; one node is the Laplace
approximation (``clmm``'s ``nAGQ = 1``). The optimiser (scipy BFGS, then Newton steps) works on
an unconstrained vector: the first threshold, log increments of the others, ``beta`` and
``log sigma``. The gradient is analytic: the exact derivative of the quadrature approximation,
including how each subject's mode and scale move with the parameters (``_likelihood``). The
Hessian is numerical — central differences of that exact gradient — and standard errors come
from its inverse, mapped to (thresholds, beta, log sigma) by the delta method; ``clmm``'s
``vcov`` is also a numerical Hessian (its ``ST1`` is the log SD).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from scipy import linalg, stats

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.ordinal._design import (
    OrdinalDesign,
    as_text,
    build_design,
    den_df,
    level_order,
    outcome_codes,
)
from ketamine_ptsd.core.stats.ordinal._likelihood import (
    FloatArray,
    IntArray,
    make_problem,
    natural_jacobian,
    optimise,
    start_values,
)
from ketamine_ptsd.core.stats.ordinal.rspl import (
    PCONV,
    containment_den_df,
    fit_rspl_matrix,
    t_test,
)

__all__ = [
    "FixedEffect",
    "OrdinalFit",
    "PseudoLikelihoodInfo",
    "Threshold",
    "Type3Test",
    "fit_cumulative_logit",
    "fit_ordinal",
]

_MAX_NAGQ = 50
_SIGMA_BOUNDARY = 1e-3


@dataclass(frozen=True)
class Threshold:
    """A threshold ``theta_j`` between category ``lower`` and ``upper`` (named "lower|upper")."""

    name: str
    estimate: float
    se: float


@dataclass(frozen=True)
class FixedEffect:
    """One fixed-effect coefficient with its Wald z test (as ``summary(clmm)`` prints)."""

    term: str
    estimate: float
    se: float
    z: float
    p: float


@dataclass(frozen=True)
class Type3Test:
    """A Type 3 test of one effect.

    ``test == "wald"``: chi2 = (L b)'(L V L')^-1 (L b), F = chi2 / num_df referred to
    F(num_df, den_df) with between-within denominator df (what GLIMMIX's default containment
    method gives for this design; PROTOCOL.md §10 reports F(2,50) for CGI-S and F(1,24) for
    CGI-I); ``p_chi2`` is the asymptotic chi-square p-value.
    ``test == "lr"``: chi2 = 2 (loglik_full - loglik_constrained) from a refit under L b = 0;
    F = chi2 / num_df with ``den_df = None`` (infinite), so ``p`` is the chi-square p-value.
    """

    effect: str
    test: str
    num_df: int
    den_df: float | None
    F: float
    p: float
    chi2: float
    p_chi2: float


@dataclass(frozen=True)
class PseudoLikelihoodInfo:
    """The outer iterations of an RSPL fit (GLIMMIX's "Iteration History" and fit statistics).

    ``minus2_res_log_pl`` is the -2 restricted log pseudo-likelihood of the final pseudo-model
    (not comparable across models, and not a likelihood of the data); ``relative_changes`` are
    the largest relative parameter changes after each linearisation from the second on.
    """

    iterations: int
    converged: bool
    criterion: float
    max_relative_change: float
    minus2_res_log_pl: float
    relative_changes: tuple[float, ...]


@dataclass(frozen=True)
class OrdinalFit:
    """A fitted cumulative-logit mixed model (see the module docstring for the parametrisation)."""

    thresholds: tuple[Threshold, ...]
    fixed_effects: tuple[FixedEffect, ...]
    random_effect_variance: float
    random_effect_sd: float
    log_sd_se: float
    loglik: float
    aic: float
    bic: float
    n_subjects: int
    n_observations: int
    n_parameters: int
    nagq: int
    categories: tuple[int, ...]
    empty_categories: tuple[int, ...]
    converged: bool
    iterations: int
    max_abs_gradient: float
    hessian_condition: float
    message: str
    warnings: tuple[str, ...]
    type3: tuple[Type3Test, ...] = field(default=())
    estimation: str = "quadrature"
    pseudo_likelihood: PseudoLikelihoodInfo | None = None

    @property
    def method(self) -> str:
        if self.estimation == "rspl":
            return "RSPL (restricted pseudo-likelihood, SAS GLIMMIX's default)"
        if self.nagq == 1:
            return "Laplace"
        return f"adaptive Gauss-Hermite quadrature ({self.nagq} nodes)"

    def to_dict(self) -> dict[str, Any]:
        """Plain values under the keys of SYSTEM.md's ``stats ordinal`` contract, and more."""
        return {
            "model": "cumulative logit, random subject intercept (R ordinal::clmm parametrisation: "
            "logit P(Y <= j) = threshold_j - (x'beta + b))",
            "method": self.method,
            "estimation": self.estimation,
            "nagq": self.nagq,
            "n_subjects": self.n_subjects,
            "n_observations": self.n_observations,
            "categories": list(self.categories),
            "empty_categories": list(self.empty_categories),
            "thresholds": [asdict(t) for t in self.thresholds],
            "fixed_effects": [asdict(e) for e in self.fixed_effects],
            "random_effects": {
                "subject": {
                    "variance": self.random_effect_variance,
                    "sd": self.random_effect_sd,
                    "log_sd_se": self.log_sd_se,
                }
            },
            "loglik": _finite_or_none(self.loglik),
            "aic": _finite_or_none(self.aic),
            "bic": _finite_or_none(self.bic),
            "n_parameters": self.n_parameters,
            "type3": [asdict(t) for t in self.type3],
            "type3_note": _TYPE3_NOTE[self.estimation],
            "converged": self.converged,
            "iterations": self.iterations,
            "max_abs_gradient": self.max_abs_gradient,
            "hessian_condition": self.hessian_condition,
            "optimizer_message": self.message,
            "warnings": list(self.warnings),
            **(
                {"pseudo_likelihood": asdict(self.pseudo_likelihood)}
                if self.pseudo_likelihood is not None
                else {}
            ),
        }


_TYPE3_NOTE = {
    "quadrature": (
        "test 'wald': chi2 from the Hessian covariance, F = chi2/num_df on "
        "between-within den_df (p from F); test 'lr': chi2 = 2 x loglik difference "
        "to a refit under the Type 3 hypothesis, den_df null (infinite), p from chi2"
    ),
    "rspl": (
        "test 'wald': F = (Lb)'(L Q L')^-1 (Lb) / num_df with Q = (W'V^-1 W)^-1 of the final "
        "pseudo-model, on GLIMMIX's default containment den_df (n - rank[X Z], X with the J-1 "
        "intercepts as columns: subject contains no fixed effect), p from F; no likelihood-ratio tests (no likelihood); "
        "fixed_effects z is the t value est/se and p is from t on the same den_df"
    ),
}


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def fit_ordinal(
    subject: Sequence[Hashable],
    group: Sequence[Hashable],
    time: Sequence[Hashable],
    outcome: Sequence[object],
    *,
    covariates: Mapping[str, Sequence[object]] | None = None,
    group_order: Sequence[str] | None = None,
    time_order: Sequence[str] | None = None,
    nagq: int = 10,
    scale: Sequence[int] | None = None,
    type3: bool = True,
    method: str = "quadrature",
) -> OrdinalFit:
    """Fit ``outcome ~ group * time (+ covariates) + (1 | subject)`` as a cumulative logit.

    ``nagq`` is the number of adaptive Gauss-Hermite nodes (1 = Laplace), like ``clmm``'s
    ``nAGQ``. ``scale`` (e.g. ``range(1, 8)`` for CGI-S, PROTOCOL.md §7) names the possible
    categories so that unobserved ones are reported; without it, gaps between the lowest and
    highest observed category are. Type 3 tests (Wald and likelihood ratio) are computed for
    ``group``, ``time`` and ``group:time`` unless ``type3`` is false.

    ``method="rspl"`` fits the same model by SAS GLIMMIX's default restricted
    pseudo-likelihood instead (:mod:`ketamine_ptsd.core.stats.ordinal.rspl`): Wald Type 3 F
    tests on GLIMMIX's containment df, no log-likelihood, and ``nagq`` is not used.
    """
    if method not in ("quadrature", "rspl"):
        raise InvalidInput("method", "must be 'quadrature' or 'rspl'", method)
    n = len(outcome)
    if not (len(subject) == len(group) == len(time) == n):
        raise InvalidInput("data", "subject, group, time and outcome differ in length")
    if not 1 <= nagq <= _MAX_NAGQ:
        raise InvalidInput("nagq", f"must be between 1 and {_MAX_NAGQ}", nagq)
    codes = outcome_codes(outcome)
    subj_text = as_text(subject, "subject")
    group_text = as_text(group, "group")
    time_text = as_text(time, "time")
    group_levels = level_order(group_text, group_order, "group")
    time_levels = level_order(time_text, time_order, "time")
    if len(group_levels) < 2:
        raise InvalidInput("group", "needs at least two levels", group_levels)
    if len(time_levels) < 2:
        raise InvalidInput("time", "needs at least two levels", time_levels)
    _, subject_inverse = np.unique(np.array(subj_text, dtype=object), return_inverse=True)
    subject_codes = subject_inverse.astype(np.intp)
    design = build_design(
        subject_codes, group_text, time_text, group_levels, time_levels, covariates or {}
    )
    X = design.X
    if X.shape[1] and np.linalg.matrix_rank(np.column_stack([np.ones(n), X])) < X.shape[1] + 1:
        raise InvalidInput(
            "data",
            "the fixed effects are not estimable (an empty group x time cell, or a covariate "
            "that is constant or collinear)",
        )
    if method == "rspl":
        return _fit_rspl(codes, design, subject_codes, scale, type3)
    fit, phi, cov = _fit_matrix(codes, X, subject_codes, design.terms, nagq, scale)
    if not type3:
        return fit
    return replace(fit, type3=_type3(fit, phi, cov, design, codes, subject_codes))


def fit_cumulative_logit(
    outcome: Sequence[object],
    X: FloatArray,
    subject: Sequence[Hashable],
    terms: Sequence[str],
    *,
    nagq: int = 10,
    scale: Sequence[int] | None = None,
) -> OrdinalFit:
    """Fit ``outcome ~ X + (1 | subject)`` for a ready-made design matrix (no intercept column).

    The general form behind :func:`fit_ordinal`; used for designs other than group x time
    (e.g. ``ordinal``'s ``wine`` example, ``rating ~ temp + contact + (1 | judge)``).
    """
    codes = outcome_codes(outcome)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != len(codes) or X.shape[1] != len(terms):
        raise InvalidInput("X", "must be an (observations x terms) matrix", X.shape)
    if not 1 <= nagq <= _MAX_NAGQ:
        raise InvalidInput("nagq", f"must be between 1 and {_MAX_NAGQ}", nagq)
    _, subject_codes = np.unique(
        np.array(as_text(subject, "subject"), dtype=object), return_inverse=True
    )
    fit, _, _ = _fit_matrix(codes, X, subject_codes.astype(np.intp), list(terms), nagq, scale)
    return fit


def _fit_matrix(
    codes: list[int],
    X: FloatArray,
    subject_codes: IntArray,
    terms: list[str],
    nagq: int,
    scale: Sequence[int] | None,
) -> tuple[OrdinalFit, FloatArray, FloatArray]:
    """Fit and summarise; also returns the optimum ``phi`` and the natural-scale covariance."""
    categories = sorted(set(codes))
    if len(categories) < 2:
        raise InvalidInput("outcome", "needs at least two observed categories", categories)
    n = len(codes)
    n_subjects = int(subject_codes.max()) + 1
    if n_subjects < 3:
        raise InvalidInput("subject", f"too few subjects ({n_subjects}) for a random intercept")
    y = np.array([categories.index(c) for c in codes], dtype=np.intp)
    n_cat = len(categories)
    prob = make_problem(y, X, subject_codes, n_cat, nagq)
    raw = optimise(prob, start_values(prob, None, 0.0))
    result_warnings: list[str] = []
    possible = list(scale) if scale is not None else list(range(categories[0], categories[-1] + 1))
    empty = tuple(c for c in possible if c not in categories)
    if empty:
        result_warnings.append(
            f"categories {list(empty)} were not observed; thresholds are estimated between the "
            f"{n_cat} observed categories only"
        )

    q = prob.n_parameters
    sigma = math.exp(raw.phi[-1])
    at_boundary = sigma < _SIGMA_BOUNDARY
    jac = natural_jacobian(prob, raw.phi)
    keep = np.arange(q - 1) if at_boundary else np.arange(q)
    hess_k = raw.hessian[np.ix_(keep, keep)]
    eigvals = np.linalg.eigvalsh(hess_k)
    positive = bool(np.all(eigvals > 0))
    cond = float(eigvals[-1] / eigvals[0]) if positive else math.inf
    cov = np.full((q, q), np.nan)
    if positive:
        jk = jac[np.ix_(keep, keep)]
        cov[np.ix_(keep, keep)] = jk @ linalg.inv(hess_k) @ jk.T
    diag = np.diag(cov)
    se_all = np.sqrt(np.where(diag > 0, diag, np.nan))
    gtol = 1e-4 * max(1.0, abs(raw.neg_loglik)) ** 0.5
    converged = positive and float(np.max(np.abs(raw.gradient[keep]))) < gtol
    if not converged:
        result_warnings.append(
            "the optimiser did not converge: the gradient is not near zero or the Hessian is "
            "not positive definite; estimates are unreliable"
        )
    if at_boundary:
        result_warnings.append(
            f"the random-effect SD is at its boundary ({sigma:.2e} ~ 0); standard errors are "
            "computed with it held fixed"
        )
    if cond > 1e10:
        result_warnings.append(f"the Hessian is ill-conditioned (condition number {cond:.2e})")

    k = n_cat - 1
    theta = np.cumsum(np.r_[raw.phi[0], np.exp(raw.phi[1:k])])
    beta = raw.phi[k:-1]
    thresholds = tuple(
        Threshold(
            name=f"{categories[j]}|{categories[j + 1]}",
            estimate=float(theta[j]),
            se=float(se_all[j]),
        )
        for j in range(k)
    )
    fixed = []
    for j, term in enumerate(terms):
        est, se = float(beta[j]), float(se_all[k + j])
        z = est / se if se > 0 else math.nan
        p = float(2.0 * stats.norm.sf(abs(z))) if math.isfinite(z) else math.nan
        fixed.append(FixedEffect(term=term, estimate=est, se=se, z=z, p=p))
    loglik = -raw.neg_loglik
    fit = OrdinalFit(
        thresholds=thresholds,
        fixed_effects=tuple(fixed),
        random_effect_variance=sigma**2,
        random_effect_sd=sigma,
        log_sd_se=float(se_all[-1]),
        loglik=loglik,
        aic=-2.0 * loglik + 2.0 * q,
        bic=-2.0 * loglik + math.log(n) * q,
        n_subjects=n_subjects,
        n_observations=n,
        n_parameters=q,
        nagq=nagq,
        categories=tuple(categories),
        empty_categories=empty,
        converged=converged,
        iterations=raw.iterations,
        max_abs_gradient=float(np.max(np.abs(raw.gradient))),
        hessian_condition=cond,
        message=raw.message,
        warnings=tuple(result_warnings),
    )
    return fit, raw.phi, cov


def _type3(
    fit: OrdinalFit,
    phi: FloatArray,
    cov: FloatArray,
    design: OrdinalDesign,
    codes: list[int],
    subject_codes: IntArray,
) -> tuple[Type3Test, ...]:
    """Wald and likelihood-ratio Type 3 tests of group, time and group:time.

    The likelihood-ratio refit imposes ``L beta = 0`` by reparametrising ``beta = Z gamma`` with
    ``Z`` spanning the null space of ``L``, i.e. fitting the design ``X Z``; this is the exact
    constrained maximum (not a "drop the columns" model, which tests a different hypothesis
    for main effects under treatment coding).
    """
    k = len(fit.thresholds)
    p = design.X.shape[1]
    beta = phi[k : k + p]
    cov_beta = cov[k : k + p, k : k + p]
    n, n_subjects = fit.n_observations, fit.n_subjects
    y = np.array([fit.categories.index(c) for c in codes], dtype=np.intp)
    tests: list[Type3Test] = []
    for effect in ("group", "time", "group:time"):
        L = design.contrasts[effect]
        lb = L @ beta
        df = L.shape[0]
        den = den_df(design, effect, n_subjects, n)
        if np.all(np.isfinite(cov_beta)):
            chi2 = float(lb @ linalg.solve(L @ cov_beta @ L.T, lb, assume_a="pos"))
        else:
            chi2 = math.nan
        tests.append(
            Type3Test(
                effect=effect,
                test="wald",
                num_df=df,
                den_df=den,
                F=chi2 / df,
                p=float(stats.f.sf(chi2 / df, df, den)),
                chi2=chi2,
                p_chi2=float(stats.chi2.sf(chi2, df)),
            )
        )
    neg_full = -fit.loglik
    for effect in ("group", "time", "group:time"):
        L = design.contrasts[effect]
        Z = linalg.null_space(L)
        sub = make_problem(y, design.X @ Z, subject_codes, k + 1, fit.nagq)
        start = np.concatenate([phi[:k], linalg.lstsq(Z, beta)[0], phi[-1:]])
        reduced = optimise(sub, start, want_hessian=False)
        lr = max(0.0, 2.0 * (reduced.neg_loglik - neg_full))
        df = L.shape[0]
        p_lr = float(stats.chi2.sf(lr, df))
        tests.append(
            Type3Test(
                effect=effect,
                test="lr",
                num_df=df,
                den_df=None,
                F=lr / df,
                p=p_lr,
                chi2=lr,
                p_chi2=p_lr,
            )
        )
    return tuple(tests)


def _empty_warning(categories: list[int], scale: Sequence[int] | None) -> tuple[int, ...]:
    possible = list(scale) if scale is not None else list(range(categories[0], categories[-1] + 1))
    return tuple(c for c in possible if c not in categories)


def _fit_rspl(
    codes: list[int],
    design: OrdinalDesign,
    subject_codes: IntArray,
    scale: Sequence[int] | None,
    type3: bool,
) -> OrdinalFit:
    """RSPL fit and GLIMMIX-style summaries, in clmm's parametrisation (``beta = -b``)."""
    categories = sorted(set(codes))
    if len(categories) < 2:
        raise InvalidInput("outcome", "needs at least two observed categories", categories)
    n_subjects = int(subject_codes.max()) + 1
    if n_subjects < 3:
        raise InvalidInput("subject", f"too few subjects ({n_subjects}) for a random intercept")
    y = np.array([categories.index(c) for c in codes], dtype=np.intp)
    k = len(categories) - 1
    X = design.X
    p = X.shape[1]
    est = fit_rspl_matrix(y, X, subject_codes, k + 1)
    flip = np.r_[np.ones(k), -np.ones(p)]
    coef = est.coef * flip
    cov = est.cov * np.outer(flip, flip)
    se = np.sqrt(np.diag(cov))
    den = containment_den_df(X, subject_codes, k + 1)
    result_warnings: list[str] = []
    empty = _empty_warning(categories, scale)
    if empty:
        result_warnings.append(
            f"categories {list(empty)} were not observed; thresholds are estimated between the "
            f"{k + 1} observed categories only"
        )
    if not est.converged:
        result_warnings.append(
            f"the pseudo-likelihood iterations did not converge in {est.iterations} "
            f"linearisations (largest relative change {est.max_relative_change:.2e})"
        )
    if est.sigma2 == 0.0:
        result_warnings.append("the random-intercept variance is at its boundary (0)")
    thresholds = tuple(
        Threshold(
            name=f"{categories[j]}|{categories[j + 1]}",
            estimate=float(coef[j]),
            se=float(se[j]),
        )
        for j in range(k)
    )
    fixed = []
    for j, term in enumerate(design.terms):
        t, p_t = t_test(float(coef[k + j]), float(se[k + j]), den)
        fixed.append(
            FixedEffect(term=term, estimate=float(coef[k + j]), se=float(se[k + j]), z=t, p=p_t)
        )
    tests: list[Type3Test] = []
    if type3:
        beta, cov_beta = coef[k:], cov[k:, k:]
        for effect in ("group", "time", "group:time"):
            L = design.contrasts[effect]
            lb = L @ beta
            df = L.shape[0]
            chi2 = float(lb @ linalg.solve(L @ cov_beta @ L.T, lb, assume_a="pos"))
            tests.append(
                Type3Test(
                    effect=effect,
                    test="wald",
                    num_df=df,
                    den_df=den,
                    F=chi2 / df,
                    p=float(stats.f.sf(chi2 / df, df, den)),
                    chi2=chi2,
                    p_chi2=float(stats.chi2.sf(chi2, df)),
                )
            )
    info = PseudoLikelihoodInfo(
        iterations=est.iterations,
        converged=est.converged,
        criterion=PCONV,
        max_relative_change=est.max_relative_change,
        minus2_res_log_pl=est.minus2_res_log_pl,
        relative_changes=est.history,
    )
    return OrdinalFit(
        thresholds=thresholds,
        fixed_effects=tuple(fixed),
        random_effect_variance=est.sigma2,
        random_effect_sd=math.sqrt(est.sigma2),
        log_sd_se=math.nan,
        loglik=math.nan,
        aic=math.nan,
        bic=math.nan,
        n_subjects=n_subjects,
        n_observations=len(codes),
        n_parameters=k + p + 1,
        nagq=0,
        categories=tuple(categories),
        empty_categories=empty,
        converged=est.converged,
        iterations=est.iterations,
        max_abs_gradient=math.nan,
        hessian_condition=math.nan,
        message="pseudo-likelihood converged" if est.converged else "not converged",
        warnings=tuple(result_warnings),
        type3=tuple(tests),
        estimation="rspl",
        pseudo_likelihood=info,
    )
