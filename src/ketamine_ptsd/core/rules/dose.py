"""Dose, volume and pump rate from weight (PROTOCOL.md §4; SYSTEM.md "dose" calculator).

Ketamine 0.5 mg/kg or midazolam 0.045 mg/kg over 40 minutes; the weight basis, concentration and
rounding steps are the protocol's. The dose is rounded first, the volume is computed from the
rounded dose (that is what is drawn up), and the rate from the rounded volume (that is what is
infused), so the three numbers a nurse checks agree with each other. Rounding is half-up on the
decimal value, not on its binary approximation, so 3.15 mg rounds to 3.2 mg as on paper.

Implausible input is refused, naming the field: a weight or concentration outside the protocol's
plausible range is far more likely a typing error (pounds for kilograms, mg/mL for µg/mL) than a
patient, and an infusion pump will run whatever it is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from ..errors import InvalidInput
from ..protocol import DrugDose, Protocol

__all__ = ["DoseResult", "calculate_dose", "dosing_weight_kg", "round_to_step"]

Sex = Literal["female", "male"]

_WEIGHT_BASIS_WORDS = {
    "actual": "actual body weight",
    "ideal": "ideal body weight (Devine)",
    "adjusted": "adjusted body weight (ideal + 0.4 × excess)",
}


@dataclass(frozen=True, slots=True)
class DoseResult:
    """What to draw up and how fast to infuse it."""

    protocol: str
    drug: str
    weight_kg: float
    weight_basis: str
    dosing_weight_kg: float
    mg_per_kg: float
    dose_mg: float
    concentration_mg_per_ml: float
    volume_ml: float
    minutes: int
    rate_ml_per_h: float
    arithmetic: str


def _dec(value: float) -> Decimal:
    return Decimal(repr(value))


def _round_dec(value: Decimal, step: float) -> Decimal:
    d_step = _dec(step)
    return (value / d_step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * d_step


def round_to_step(value: float, step: float) -> float:
    """``value`` rounded half-up to a multiple of ``step``, in decimal (3.15 → 3.2 at 0.1)."""
    return float(_round_dec(_dec(value), step))


def _num(x: float) -> str:
    return f"{x:.6g}"


def _check_range(name: str, value: float, bounds: tuple[float, float], unit: str) -> None:
    low, high = bounds
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidInput(
            name,
            f"{_num(value)} {unit} is outside the plausible range {_num(low)}–{_num(high)} {unit}",
            value,
        )


def dosing_weight_kg(
    weight_kg: float,
    basis: str,
    height_cm: float | None = None,
    sex: Sex | None = None,
) -> float:
    """The weight the dose is computed on (§4: actual body weight unless the protocol says).

    Ideal body weight by Devine (1974): 50 kg (male) or 45.5 kg (female) + 2.3 kg per inch over
    5 ft; a patient lighter than ideal is dosed on actual weight. Adjusted = ideal + 0.4 × (actual
    − ideal).
    """
    if basis == "actual":
        return weight_kg
    if height_cm is None or sex is None:
        raise InvalidInput(
            "height_cm" if height_cm is None else "sex",
            f"the protocol doses on {_WEIGHT_BASIS_WORDS.get(basis, basis)}; height and sex are "
            "needed",
        )
    _check_range("height_cm", height_cm, (120.0, 230.0), "cm")
    base = 50.0 if sex == "male" else 45.5
    ideal = base + 2.3 * (height_cm / 2.54 - 60.0)
    if weight_kg <= ideal:
        return weight_kg
    return ideal if basis == "ideal" else ideal + 0.4 * (weight_kg - ideal)


def calculate_dose(
    protocol: Protocol,
    drug: str,
    weight_kg: float,
    concentration_mg_per_ml: float | None = None,
    *,
    height_cm: float | None = None,
    sex: Sex | None = None,
) -> DoseResult:
    """Dose (mg), volume (mL), infusion minutes and pump rate (mL/h), with the arithmetic."""
    if drug not in protocol.dosing:
        raise InvalidInput(
            "drug",
            f"protocol {protocol.name!r} doses {', '.join(protocol.dosing)}, not {drug!r}",
            drug,
        )
    d: DrugDose = protocol.dose_for(drug)
    _check_range("weight_kg", weight_kg, d.weight_kg_range, "kg")
    concentration = (
        d.concentration_mg_per_ml if concentration_mg_per_ml is None else concentration_mg_per_ml
    )
    _check_range("concentration_mg_per_ml", concentration, d.concentration_mg_per_ml_range, "mg/mL")
    basis_weight = dosing_weight_kg(weight_kg, d.weight_basis, height_cm, sex)
    # Decimal products and quotients: 0.045 mg/kg × 70 kg is 3.15 mg, not 3.1499999999999995.
    exact_dose_dec = _dec(d.mg_per_kg) * _dec(basis_weight)
    dose_dec = _round_dec(exact_dose_dec, d.dose_rounding_mg)
    exact_volume_dec = dose_dec / _dec(concentration)
    volume_dec = _round_dec(exact_volume_dec, d.volume_rounding_ml)
    exact_rate_dec = volume_dec * 60 / d.infusion_minutes
    rate_dec = _round_dec(exact_rate_dec, d.rate_rounding_ml_per_h)
    exact_dose, dose_mg = float(exact_dose_dec), float(dose_dec)
    exact_volume, volume_ml = float(exact_volume_dec), float(volume_dec)
    exact_rate, rate_ml_per_h = float(exact_rate_dec), float(rate_dec)

    def rounded(exact: float, shown: float, step: float, unit: str) -> str:
        if math.isclose(exact, shown, rel_tol=0, abs_tol=1e-12):
            return f"{_num(shown)} {unit}"
        return f"{_num(exact)} {unit}, rounded to {_num(shown)} {unit} (step {_num(step)})"

    basis_words = _WEIGHT_BASIS_WORDS[d.weight_basis]
    weight_words = f"{_num(basis_weight)} kg ({basis_words}"
    weight_words += ")" if d.weight_basis == "actual" else f"; actual {_num(weight_kg)} kg)"
    arithmetic = (
        f"{drug}: {_num(d.mg_per_kg)} mg/kg × {weight_words} = "
        f"{rounded(exact_dose, dose_mg, d.dose_rounding_mg, 'mg')}; "
        f"{_num(dose_mg)} mg ÷ {_num(concentration)} mg/mL = "
        f"{rounded(exact_volume, volume_ml, d.volume_rounding_ml, 'mL')}; "
        f"{_num(volume_ml)} mL over {d.infusion_minutes} min = {_num(volume_ml)} × 60 ÷ "
        f"{d.infusion_minutes} = {rounded(exact_rate, rate_ml_per_h, d.rate_rounding_ml_per_h, 'mL/h')}"
    )
    return DoseResult(
        protocol=protocol.name,
        drug=drug,
        weight_kg=weight_kg,
        weight_basis=d.weight_basis,
        dosing_weight_kg=basis_weight,
        mg_per_kg=d.mg_per_kg,
        dose_mg=dose_mg,
        concentration_mg_per_ml=concentration,
        volume_ml=volume_ml,
        minutes=d.infusion_minutes,
        rate_ml_per_h=rate_ml_per_h,
        arithmetic=arithmetic,
    )
