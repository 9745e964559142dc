"""The frozen result object of an MMRM fit, with ``summary`` DataFrames and a printable form."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Difference", "FixedEffect", "LsMean", "MMRMResult", "Type3Row"]


@dataclass(frozen=True)
class FixedEffect:
    term: str
    estimate: float
    se: float
    df: float
    t: float
    p: float


@dataclass(frozen=True)
class Type3Row:
    effect: str
    num_df: int
    den_df: float
    F: float
    p: float


@dataclass(frozen=True)
class LsMean:
    group: str
    time: str
    estimate: float
    se: float
    df: float


@dataclass(frozen=True)
class Difference:
    time: str
    estimate: float
    se: float
    df: float
    t: float
    p: float
    d: float
    d_ci_low: float
    d_ci_high: float


@dataclass(frozen=True)
class MMRMResult:
    """Everything the CLI contract of SYSTEM.md prints, plus fit diagnostics."""

    n_subjects: int
    n_observations: int
    covariance_structure: str
    method: str  # "REML" or "ML"
    ddf_method: str
    loglik: float  # REML log-likelihood for REML fits (SAS −½·"-2 Res Log Likelihood")
    aic: float
    bic: float
    covariance_parameters: dict[str, float]
    fixed_effects: tuple[FixedEffect, ...]
    type3: tuple[Type3Row, ...]
    lsmeans: tuple[LsMean, ...]
    differences: tuple[Difference, ...]
    converged: bool
    iterations: int
    n_missing_outcome_dropped: int = 0
    warnings: tuple[str, ...] = field(default_factory=tuple)
    type3_basis: str = "orthonormal"  # rows of the Type 3 L (design.TYPE3_BASES)

    @property
    def reml_loglik(self) -> float | None:
        return self.loglik if self.method == "REML" else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``ketamine-ptsd stats mmrm --json`` (SYSTEM.md)."""
        return {
            "n_subjects": self.n_subjects,
            "n_observations": self.n_observations,
            "covariance_structure": self.covariance_structure,
            "reml_loglik": self.reml_loglik,
            "loglik": self.loglik,
            "method": self.method,
            "ddf_method": self.ddf_method,
            "aic": self.aic,
            "bic": self.bic,
            "covariance_parameters": dict(self.covariance_parameters),
            "fixed_effects": [asdict(r) for r in self.fixed_effects],
            "type3": [asdict(r) for r in self.type3],
            "lsmeans": [asdict(r) for r in self.lsmeans],
            "differences": [asdict(r) for r in self.differences],
            "converged": self.converged,
            "iterations": self.iterations,
            "n_missing_outcome_dropped": self.n_missing_outcome_dropped,
            "warnings": list(self.warnings),
            "type3_basis": self.type3_basis,
        }

    def summary(self) -> dict[str, pd.DataFrame]:
        """One DataFrame per table: fixed_effects, type3, lsmeans, differences, covariance."""
        import pandas as pd

        return {
            "fixed_effects": pd.DataFrame([asdict(r) for r in self.fixed_effects]),
            "type3": pd.DataFrame([asdict(r) for r in self.type3]),
            "lsmeans": pd.DataFrame([asdict(r) for r in self.lsmeans]),
            "differences": pd.DataFrame([asdict(r) for r in self.differences]),
            "covariance": pd.DataFrame(
                {
                    "parameter": list(self.covariance_parameters),
                    "estimate": list(self.covariance_parameters.values()),
                }
            ),
        }

    def __str__(self) -> str:
        tables = self.summary()
        lines = [
            f"MMRM ({self.method}, {self.covariance_structure}, ddf {self.ddf_method}): "
            f"{self.n_subjects} subjects, {self.n_observations} observations",
            f"log-likelihood {self.loglik:.6f}  AIC {self.aic:.4f}  BIC {self.bic:.4f}",
        ]
        for name, frame in tables.items():
            lines.append(f"\n{name}:\n{frame.to_string(index=False)}")
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)
