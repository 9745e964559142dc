"""Satterthwaite denominator degrees of freedom (SAS DDFM=SATTERTHWAITE).

For a one-row contrast l, ν = 2 (l'Cl)² / (g'Ag) with g_i = l' ∂C/∂θ_i l, ∂C/∂θ_i = C G_i C
(G_i = X'W V_i W X) and A the inverse of the observed information of the (restricted)
log-likelihood at θ̂ (Satterthwaite 1946; Giesbrecht & Burns 1985). The observed information is
used, as SAS and lmerTest do; at the optimum g'Ag does not depend on how θ is parametrised.

For a q-row L (F tests) SAS's method (Fai & Cornelius 1996; SAS/STAT User's Guide, "Satterthwaite
method" under MODEL DDFM=): diagonalise L C L' = U D U', compute ν_m for each row of U'L and
E = Σ_{ν_m > 2} ν_m / (ν_m − 2); the df is 2E / (E − q) when E > q.

The result is invariant to an orthogonal change of the rows of L but not to a general one, so it
depends on the basis in which a hypothesis is written: the Type 3 rows come from
``design.build_design(type3_basis=...)`` — orthonormal (invariant to level order, the default)
or SAS's reference rows (reproduces SAS). docs/satterthwaite-f-df.md has the numbers.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["satterthwaite_df_1d", "satterthwaite_df_f"]

FloatArray = NDArray[np.float64]


def satterthwaite_df_1d(
    lvec: FloatArray, cov_beta: FloatArray, dcov: FloatArray, a_theta: FloatArray
) -> float:
    """ν for one contrast row ``lvec`` (p,), ``dcov`` (q, p, p) = ∂C/∂θ."""
    var = float(lvec @ cov_beta @ lvec)
    g = np.einsum("p,ipr,r->i", lvec, dcov, lvec)
    denom = float(g @ a_theta @ g)
    if denom <= 0.0:
        return float("inf")
    return 2.0 * var * var / denom


def satterthwaite_df_f(
    lmat: FloatArray, cov_beta: FloatArray, dcov: FloatArray, a_theta: FloatArray
) -> float:
    """Denominator df for the F test of the rows of ``lmat`` (q × p)."""
    q = lmat.shape[0]
    if q == 1:
        return satterthwaite_df_1d(lmat[0], cov_beta, dcov, a_theta)
    m = lmat @ cov_beta @ lmat.T
    _evals, evecs = np.linalg.eigh(0.5 * (m + m.T))
    rows = evecs.T @ lmat
    nus = np.array([satterthwaite_df_1d(r, cov_beta, dcov, a_theta) for r in rows], dtype=float)
    e_sum = float(np.sum(np.where(nus > 2.0, nus / (nus - 2.0), 0.0)))
    if e_sum > q:
        return float(2.0 * e_sum / (e_sum - q))
    return float("nan")
