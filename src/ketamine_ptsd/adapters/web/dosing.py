"""The dose as each role may see it: the drug for the pharmacy, a blind volume for everyone else.

PROTOCOL.md §3–§4: ketamine 0.5 mg/kg or midazolam 0.045 mg/kg over 40 minutes, both arms by the
same procedure, allocation known only to the pharmacy. A volume computed per drug would leak the
arm (rounding differs: 70.3 kg gives 35.2 mL of ketamine at 1 mg/mL but 35.1 mL of midazolam at
0.09 mg/mL). So blinded staff see "study drug" and a volume computed *without the drug*:

    volume_ml = weight_kg × (mL per kg shared by every arm), rounded to the coarsest volume step
    rate_ml_per_h = volume_ml × 60 ÷ infusion minutes

The protocol makes the mL/kg identical by choosing the concentrations (rct.yaml: ketamine
1 mg/mL and midazolam 0.09 mg/mL, both 0.5 mL/kg). The pharmacy fills the syringe to that same
volume, so the milligrams given are volume × concentration, within one volume step of the exact
mg/kg dose; the pharmacist's page shows both. If a protocol's arms do not share one mL/kg or one
infusion time, no blinded volume is shown at all (the pharmacy must supply it): a page never
guesses. See docs/blinding.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import DoseResult, calculate_dose

__all__ = ["BLINDED_TREATMENT", "DoseDisplay", "blinded_volume", "dose_display", "shared_ml_per_kg"]

BLINDED_TREATMENT = "study drug"


@dataclass(frozen=True)
class BlindVolume:
    weight_kg: float
    ml_per_kg: float
    volume_ml: float
    minutes: int
    rate_ml_per_h: float
    arithmetic: str


@dataclass(frozen=True)
class DoseDisplay:
    """What the bedside screen shows; ``drug_dose`` only when the viewer may see the drug."""

    treatment: str
    blinded: bool
    volume: BlindVolume | None
    drug_dose: DoseResult | None
    dispensed_mg: float | None
    problem: str | None


def _dec(value: float) -> Decimal:
    return Decimal(repr(value))


def _round(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def _fmt(value: Decimal | float) -> str:
    return f"{float(value):.6g}"


def shared_ml_per_kg(protocol: Protocol) -> tuple[Decimal, int, Decimal, Decimal] | None:
    """(mL/kg, minutes, volume step, rate step) common to every arm, or None if they differ."""
    doses = [protocol.dose_for(arm.drug) for arm in protocol.arms]
    if not doses:
        return None
    ratios = {_dec(d.mg_per_kg) / _dec(d.concentration_mg_per_ml) for d in doses}
    minutes = {d.infusion_minutes for d in doses}
    if len(ratios) != 1 or len(minutes) != 1:
        return None
    return (
        ratios.pop(),
        minutes.pop(),
        max(_dec(d.volume_rounding_ml) for d in doses),
        max(_dec(d.rate_rounding_ml_per_h) for d in doses),
    )


def blinded_volume(protocol: Protocol, weight_kg: float) -> BlindVolume | None:
    """The volume and pump rate from weight alone, identical whichever arm (None: cannot)."""
    shared = shared_ml_per_kg(protocol)
    if shared is None:
        return None
    ml_per_kg, minutes, volume_step, rate_step = shared
    low = max(protocol.dose_for(a.drug).weight_kg_range[0] for a in protocol.arms)
    high = min(protocol.dose_for(a.drug).weight_kg_range[1] for a in protocol.arms)
    if not low <= weight_kg <= high:
        raise InvalidInput(
            "weight_kg",
            f"{weight_kg:g} kg is outside the plausible range {low:g}–{high:g} kg",
            weight_kg,
        )
    exact = ml_per_kg * _dec(weight_kg)
    volume = _round(exact, volume_step)
    rate = _round(volume * 60 / minutes, rate_step)
    arithmetic = (
        f"{BLINDED_TREATMENT}: {_fmt(ml_per_kg)} mL/kg × {_fmt(weight_kg)} kg = "
        f"{_fmt(exact)} mL"
        + (f", rounded to {_fmt(volume)} mL" if exact != volume else "")
        + f"; {_fmt(volume)} mL over {minutes} min = {_fmt(volume)} × 60 ÷ {minutes} = "
        f"{_fmt(rate)} mL/h"
    )
    return BlindVolume(weight_kg, float(ml_per_kg), float(volume), minutes, float(rate), arithmetic)


def dose_display(protocol: Protocol, treatment: str | None, weight_kg: float) -> DoseDisplay:
    """The dose for a viewer who sees ``treatment`` ("study drug", a drug, or None)."""
    if treatment is None:
        if protocol.blinded:
            return DoseDisplay(
                BLINDED_TREATMENT,
                True,
                None,
                None,
                None,
                "not yet allocated: allocation happens on the morning of infusion 1 "
                "(PROTOCOL.md §3)",
            )
        treatment = protocol.arms[0].drug
    if treatment == BLINDED_TREATMENT:
        volume = blinded_volume(protocol, weight_kg)
        problem = (
            None
            if volume is not None
            else "the protocol's arms differ in mL/kg or infusion time: the pharmacy supplies "
            "the volume"
        )
        return DoseDisplay(BLINDED_TREATMENT, True, volume, None, None, problem)
    drug_dose = calculate_dose(protocol, treatment, weight_kg)
    volume = blinded_volume(protocol, weight_kg) if protocol.blinded else None
    dispensed = None
    if volume is not None:
        concentration = _dec(protocol.dose_for(treatment).concentration_mg_per_ml)
        dispensed = float(_dec(volume.volume_ml) * concentration)
    return DoseDisplay(treatment, False, volume, drug_dose, dispensed, None)
