"""Within-subject covariance structures over the time levels, with analytic derivatives.

Every structure is written in SAS PROC MIXED's own parametrisation (SAS/STAT User's Guide,
"The MIXED Procedure", Table "Covariance Structure Examples"), because Satterthwaite degrees of
freedom and the Kenward-Roger adjustment with second-derivative terms depend on the
parametrisation; using SAS's makes our numbers comparable with SAS listings:

========  ============================================  ==========================================
name      parameters (order as SAS lists them)          Σ[i, j]
========  ============================================  ==========================================
``cs``    ``between`` (SAS "CS"), ``within``            between + within·[i = j]
          (SAS "Residual")
``un``    ``UN(1,1)``, ``UN(2,1)``, ``UN(2,2)``,        θ[i, j] (lower triangle, row by row)
          ``UN(3,1)``, ...
``ar1``   ``variance``, ``rho``                         variance · rho^|i-j|
``csh``   ``var_<level>`` per time level, ``rho``       σ_i σ_j (rho if i ≠ j else 1)
``toep``  ``variance``, ``lag1``, ..., ``lag<t-1>``     θ[|i - j|]
========  ============================================  ==========================================

``cs``, ``un`` and ``toep`` are linear in their parameters (zero second derivatives, so SAS's
DDFM=KR and KR(LINEAR) coincide for them); ``ar1`` and ``csh`` are not.
Distances for ``ar1`` and ``toep`` are the positions of the time levels in their order
(equally spaced visits), as SAS's REPEATED statement uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "STRUCTURES",
    "CovarianceStructure",
    "StructureName",
    "get_structure",
]

StructureName = Literal["cs", "un", "ar1", "csh", "toep"]
STRUCTURES: tuple[StructureName, ...] = ("cs", "un", "ar1", "csh", "toep")

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CovarianceStructure:
    """One covariance structure for ``n_times`` time levels.

    ``sigma(theta)`` gives the t×t matrix, ``d_sigma(theta)`` the q×t×t first derivatives and
    ``d2_sigma(theta)`` the q×q×t×t second derivatives, all analytic.
    """

    name: StructureName
    n_times: int

    @property
    def n_params(self) -> int:
        t = self.n_times
        return {"cs": 2, "un": t * (t + 1) // 2, "ar1": 2, "csh": t + 1, "toep": t}[self.name]

    @property
    def is_linear(self) -> bool:
        return self.name in ("cs", "un", "toep")

    def param_names(self, time_levels: tuple[str, ...]) -> tuple[str, ...]:
        t = self.n_times
        if self.name == "cs":
            return ("between", "within")
        if self.name == "un":
            return tuple(f"UN({i + 1},{j + 1})" for i in range(t) for j in range(i + 1))
        if self.name == "ar1":
            return ("variance", "rho")
        if self.name == "csh":
            return (*(f"var_{lev}" for lev in time_levels), "rho")
        return ("variance", *(f"lag{k}" for k in range(1, t)))

    # ------------------------------------------------------------------ values
    def sigma(self, theta: FloatArray) -> FloatArray:
        t = self.n_times
        idx = np.arange(t)
        lag = np.abs(idx[:, None] - idx[None, :])
        if self.name == "cs":
            return np.asarray(theta[0] * np.ones((t, t)) + theta[1] * np.eye(t), dtype=np.float64)
        if self.name == "un":
            out = np.zeros((t, t))
            rows, cols = np.tril_indices(t)
            out[rows, cols] = theta
            out[cols, rows] = theta
            return out
        if self.name == "ar1":
            return np.asarray(theta[0] * theta[1] ** lag, dtype=np.float64)
        if self.name == "csh":
            sd = np.sqrt(np.maximum(theta[:t], 0.0))
            corr = np.where(lag == 0, 1.0, theta[t])
            return np.asarray(sd[:, None] * sd[None, :] * corr, dtype=np.float64)
        return np.asarray(theta[lag], dtype=np.float64)

    def d_sigma(self, theta: FloatArray) -> FloatArray:
        t = self.n_times
        q = self.n_params
        idx = np.arange(t)
        lag = np.abs(idx[:, None] - idx[None, :])
        out = np.zeros((q, t, t))
        if self.name == "cs":
            out[0] = 1.0
            out[1] = np.eye(t)
        elif self.name == "un":
            rows, cols = np.tril_indices(t)
            pos = np.arange(q)
            out[pos, rows, cols] = 1.0
            out[pos, cols, rows] = 1.0
        elif self.name == "ar1":
            rho = theta[1]
            out[0] = rho**lag
            with np.errstate(divide="ignore", invalid="ignore"):
                out[1] = np.where(lag > 0, theta[0] * lag * rho ** np.maximum(lag - 1, 0), 0.0)
        elif self.name == "csh":
            v = theta[:t]
            rho = theta[t]
            sd = np.sqrt(v)
            corr = np.where(lag == 0, 1.0, rho)
            for k in range(t):
                # d(σ_i σ_j)/dv_k: σ_j/(2σ_k) on row k, σ_i/(2σ_k) on column k, 1 on (k, k)
                m = np.zeros((t, t))
                m[k, :] += sd / (2.0 * sd[k])
                m[:, k] += sd / (2.0 * sd[k])
                out[k] = m * corr
            out[t] = np.where(lag == 0, 0.0, sd[:, None] * sd[None, :])
        else:
            for k in range(t):
                out[k] = (lag == k).astype(np.float64)
        return out

    def d2_sigma(self, theta: FloatArray) -> FloatArray:
        t = self.n_times
        q = self.n_params
        out = np.zeros((q, q, t, t))
        if self.is_linear:
            return out
        idx = np.arange(t)
        lag = np.abs(idx[:, None] - idx[None, :])
        if self.name == "ar1":
            rho = theta[1]
            d_rho = np.where(lag > 0, lag * rho ** np.maximum(lag - 1, 0), 0.0)
            out[0, 1] = out[1, 0] = d_rho
            out[1, 1] = np.where(
                lag > 1, theta[0] * lag * (lag - 1) * rho ** np.maximum(lag - 2, 0), 0.0
            )
            return out
        # csh
        v = theta[:t]
        rho = theta[t]
        sd = np.sqrt(v)
        corr = np.where(lag == 0, 1.0, rho)
        for k in range(t):
            for m in range(t):
                h = np.zeros((t, t))
                if k == m:
                    # d²(σ_i σ_k)/dv_k² for i ≠ k: -σ_i/(4 σ_k³); diagonal (k,k) term is linear
                    h[k, :] += -sd / (4.0 * sd[k] ** 3)
                    h[:, k] += -sd / (4.0 * sd[k] ** 3)
                    h[k, k] = 0.0
                else:
                    h[k, m] = h[m, k] = 1.0 / (4.0 * sd[k] * sd[m])
                out[k, m] = h * corr
            dk = np.zeros((t, t))
            dk[k, :] += sd / (2.0 * sd[k])
            dk[:, k] += sd / (2.0 * sd[k])
            dk[k, k] = 0.0
            out[k, t] = out[t, k] = dk
        return out

    # ------------------------------------------------------------------ helpers
    def start(self, resid_cov: FloatArray) -> FloatArray:
        """Starting values from a moment estimate of the t×t covariance of OLS residuals."""
        t = self.n_times
        # floors relative to the data's scale, so that outcomes in tiny units start as well
        # as in large ones (an absolute 1e-8 floor made UN/TOEP fits of outcomes with SD
        # ~1e-13 stop at the start)
        level = float(np.mean(np.abs(np.diag(resid_cov)))) or 1.0
        diag = np.maximum(np.diag(resid_cov), 1e-8 * level)
        var = float(np.mean(diag))
        off = resid_cov[~np.eye(t, dtype=bool)]
        mean_off = float(np.mean(off)) if off.size else 0.0
        rho = float(np.clip(mean_off / var, -0.5 / max(t - 1, 1), 0.9)) if t > 1 else 0.0
        if self.name == "cs":
            return np.array([rho * var, (1.0 - rho) * var])
        if self.name == "un":
            s = resid_cov.copy()
            eig = np.linalg.eigvalsh(s) if t > 0 else np.array([1.0])
            if eig.min() <= 1e-8 * eig.max():
                s = np.diag(diag) * (1 - max(rho, 0.0)) + max(rho, 0.0) * np.sqrt(
                    np.outer(diag, diag)
                )
            rows, cols = np.tril_indices(t)
            return np.asarray(s[rows, cols], dtype=np.float64)
        if self.name == "ar1":
            return np.array([var, max(rho, 0.1)])
        if self.name == "csh":
            return np.append(diag, max(rho, 0.1))
        out = np.zeros(t)
        out[0] = var
        if t > 1:
            lag_means = [
                float(np.mean(np.diagonal(resid_cov, offset=k))) * 0.5 for k in range(1, t)
            ]
            out[1:] = np.clip(lag_means, -0.3 * var, 0.8 * var)
        return out

    def is_admissible(self, theta: FloatArray) -> bool:
        """Parameters inside the structure's domain (variances > 0, |rho| < 1 for ar1/csh)."""
        if not np.all(np.isfinite(theta)):
            return False
        t = self.n_times
        if self.name == "ar1":
            return bool(theta[0] > 0 and abs(theta[1]) < 1)
        if self.name == "csh":
            return bool(np.all(theta[:t] > 0) and -1 < theta[t] < 1)
        return True


def get_structure(name: str, n_times: int) -> CovarianceStructure:
    """Look up a structure by name (``cs``, ``un``, ``ar1``, ``csh``, ``toep``)."""
    if name not in STRUCTURES:
        raise ValueError(f"unknown covariance structure {name!r}; choose one of {STRUCTURES}")
    if n_times < 1:
        raise ValueError("at least one time level is needed")
    return CovarianceStructure(name=name, n_times=n_times)
