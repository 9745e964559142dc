"""Dose and administration parameters per drug (PROTOCOL.md §4).

The mg/kg dose and the infusion time come from the protocol; the weight basis, the concentration
of the prepared solution and the rounding are site parameters that the protocol file states, so
that the pump rate follows from data rather than from code.
"""

from __future__ import annotations

from typing import Literal

from ._base import FrozenModel

__all__ = ["DrugDose", "WeightBasis"]

#: ``actual`` body weight is the default of §4; ``ideal`` (Devine) and ``adjusted``
#: (ideal + 0.4 × excess) are offered for sites whose protocol says otherwise.
WeightBasis = Literal["actual", "ideal", "adjusted"]


class DrugDose(FrozenModel):
    """How one drug is dosed and infused."""

    mg_per_kg: float
    infusion_minutes: int
    weight_basis: WeightBasis = "actual"
    concentration_mg_per_ml: float
    concentration_note: str | None = None
    dose_rounding_mg: float
    volume_rounding_ml: float
    rate_rounding_ml_per_h: float
    weight_kg_range: tuple[float, float]
    concentration_mg_per_ml_range: tuple[float, float]
    #: The most mg one infusion may give (a ceiling the dose rule refuses above; §4). Optional
    #: in the model so that the validator can name it when a protocol file leaves it out.
    max_dose_mg: float | None = None
