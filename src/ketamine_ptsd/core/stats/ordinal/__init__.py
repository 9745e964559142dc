"""Cumulative-logit mixed model for CGI-S / CGI-I (PROTOCOL.md §9), validated against R ordinal::clmm.

``fit_ordinal`` fits ``outcome ~ group * time (+ covariates) + (1 | subject)`` by adaptive
Gauss-Hermite quadrature (``nagq = 1`` is Laplace) and returns an :class:`OrdinalFit` with
thresholds, fixed effects, the random-effect variance, log-likelihood, AIC/BIC and Type 3
tests (Wald and likelihood ratio); ``method="rspl"`` fits it by SAS GLIMMIX's default restricted
pseudo-likelihood instead (``rspl``), with Type 3 F tests on GLIMMIX's containment df.
``fit_cumulative_logit`` takes a ready-made design matrix.
"""

from ketamine_ptsd.core.stats.ordinal.fit import (
    FixedEffect,
    OrdinalFit,
    PseudoLikelihoodInfo,
    Threshold,
    Type3Test,
    fit_cumulative_logit,
    fit_ordinal,
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
