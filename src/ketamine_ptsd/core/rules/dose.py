"""Dose, volume and pump rate from weight (PROTOCOL.md §4; SYSTEM.md "dose" calculator).

Ketamine 0.5 mg/kg or midazolam 0.045 mg/kg over 40 minutes; the weight basis, concentration and
rounding steps are the protocol's. The dose is rounded first, the volume is computed from the
rounded dose (that is what is drawn up), and the rate from the rounded volume (that is what is
infused), so the three numbers a nurse checks agree with each other. Rounding is half-up on the
decimal value, not on its binary approximation, so 3.15 mg rounds to 3.2 mg as on paper.

Implausible input is refused, naming the field: a weight or concentration outside the protocol's
plausible range is far more likely a typing error (pounds for kilograms, mg/mL for µg/mL) than a
patient, and an infusion pump will run whatever it is given.

**The blinded trial** (:func:`blinded_dose`). PROTOCOL.md §3 keeps the allocation from everyone
but the pharmacy, and §4 gives both drugs "by the same procedure"; but rounding each drug's mg
dose first makes the volumes differ by one volume step for about a third of weights (70.1 kg:
ketamine 35.05 → 35.1 mg → 35.1 mL, midazolam 3.1545 → 3.15 mg → 35.0 mL), and the bag or the
pump would then tell the arms apart. So in a blinded trial the volume is computed from the
millilitres per kilogram that every arm shares (rct.yaml: ketamine 1 mg/mL and midazolam
0.09 mg/mL, both 0.5 mL/kg), without the drug, and the milligrams the patient receives are that
volume × the drug's concentration — within half a volume step × concentration of the exact mg/kg
dose (0.05 mg of ketamine, 0.0045 mg of midazolam), finer than the protocol's own mg rounding. A
protocol whose arms differ in mL/kg, infusion minutes or weight basis cannot be blinded this way
and is refused: the pharmacy must then prepare the volume, and no software guesses it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from ..errors import InvalidInput
from ..protocol import DrugDose, Protocol

__all__ = [
    "BlindedDose",
    "SharedVolume",
    "administered_dose",
    "blinded_dose",
    "calculate_dose",
    "dosing_weight_kg",
    "round_to_step",
    "shared_volume",
    "shares_one_volume",
]

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
    if d.max_dose_mg is not None and dose_dec > _dec(d.max_dose_mg):
        raise InvalidInput(
            "weight_kg",
            f"{_num(weight_kg)} kg gives {drug} {_num(float(dose_dec))} mg, above the protocol's "
            f"maximum of {_num(d.max_dose_mg)} mg per infusion (PROTOCOL.md §4)",
            weight_kg,
        )
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


# --- the blinded trial: one volume per kilogram for every arm (PROTOCOL.md §3, §4) -----------


@dataclass(frozen=True, slots=True)
class SharedVolume:
    """What every arm of a protocol shares, so that a volume can be computed without the drug.

    ``weight_kg_range`` is the intersection of the arms' plausible ranges: a weight refused for
    one arm must be refused for all, or the refusal itself would tell the arm.
    """

    ml_per_kg: Decimal
    minutes: int
    weight_basis: str
    volume_step_ml: Decimal
    rate_step_ml_per_h: Decimal
    weight_kg_range: tuple[float, float]


@dataclass(frozen=True, slots=True)
class BlindedDose:
    """The dose of one drug in a blinded trial.

    ``volume_ml``, ``rate_ml_per_h``, ``minutes`` and ``volume_arithmetic`` are identical in every
    arm (what a blinded nurse, pump or screen may show); ``drug``, ``concentration_mg_per_ml``,
    ``delivered_mg``, ``prescribed_mg`` and ``arithmetic`` reveal the arm (the pharmacist's).
    """

    protocol: str
    drug: str
    weight_kg: float
    dosing_weight_kg: float
    ml_per_kg: float
    volume_ml: float
    minutes: int
    rate_ml_per_h: float
    volume_arithmetic: str
    mg_per_kg: float
    concentration_mg_per_ml: float
    prescribed_mg: float
    delivered_mg: float
    arithmetic: str


def shared_volume(protocol: Protocol) -> SharedVolume:
    """The mL/kg, minutes and weight basis every arm shares (PROTOCOL.md §3, §4).

    mL/kg = mg/kg ÷ mg/mL, computed in decimal (0.045 ÷ 0.09 is exactly 0.5). The coarsest
    volume and rate steps of the arms are used, so every arm rounds alike. Refused, naming the
    field, when the arms differ in mL/kg (``concentration_mg_per_ml``: set concentrations that
    give one mL/kg), in infusion minutes, or in weight basis.
    """
    drugs = sorted({arm.drug for arm in protocol.arms})
    if not drugs:
        raise InvalidInput("arms", f"protocol {protocol.name!r} has no arms")
    for drug in drugs:
        if drug not in protocol.dosing:
            raise InvalidInput("drug", f"protocol {protocol.name!r} has no dosing for {drug!r}")
    doses = {drug: protocol.dose_for(drug) for drug in drugs}
    ratios = {d: _dec(x.mg_per_kg) / _dec(x.concentration_mg_per_ml) for d, x in doses.items()}
    if len(set(ratios.values())) != 1:
        listed = ", ".join(
            f"{d} {_num(doses[d].mg_per_kg)} mg/kg ÷ {_num(doses[d].concentration_mg_per_ml)} "
            f"mg/mL = {_num(float(r))} mL/kg"
            for d, r in ratios.items()
        )
        raise InvalidInput(
            "concentration_mg_per_ml",
            f"the arms differ in mL/kg ({listed}), so the volume would reveal the drug; set "
            "concentrations that give every arm the same mL/kg (PROTOCOL.md §3, §4)",
        )
    minutes = {x.infusion_minutes for x in doses.values()}
    if len(minutes) != 1:
        raise InvalidInput(
            "infusion_minutes",
            f"the arms infuse over different times ({', '.join(map(str, sorted(minutes)))} min), "
            "so the pump rate would reveal the drug (PROTOCOL.md §3, §4)",
        )
    bases = {x.weight_basis for x in doses.values()}
    if len(bases) != 1:
        raise InvalidInput(
            "weight_basis",
            f"the arms dose on different weights ({', '.join(sorted(bases))}), so the volume "
            "would reveal the drug (PROTOCOL.md §3, §4)",
        )
    low = max(x.weight_kg_range[0] for x in doses.values())
    high = min(x.weight_kg_range[1] for x in doses.values())
    return SharedVolume(
        ml_per_kg=next(iter(ratios.values())),
        minutes=minutes.pop(),
        weight_basis=bases.pop(),
        volume_step_ml=max(_dec(x.volume_rounding_ml) for x in doses.values()),
        rate_step_ml_per_h=max(_dec(x.rate_rounding_ml_per_h) for x in doses.values()),
        weight_kg_range=(low, high),
    )


def _round_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def _rounded_words(exact: Decimal, shown: Decimal, step: Decimal, unit: str) -> str:
    if exact == shown:
        return f"{_num(float(shown))} {unit}"
    return (
        f"{_num(float(exact))} {unit}, rounded to {_num(float(shown))} {unit} "
        f"(step {_num(float(step))})"
    )


def blinded_dose(
    protocol: Protocol,
    drug: str,
    weight_kg: float,
    *,
    height_cm: float | None = None,
    sex: Sex | None = None,
) -> BlindedDose:
    """Volume and pump rate identical in every arm, and the mg this drug then delivers.

    volume_ml = shared mL/kg × dosing weight, rounded half-up to the volume step;
    rate_ml_per_h = volume_ml × 60 ÷ minutes, rounded to the rate step;
    delivered_mg = volume_ml × the drug's concentration (what the filled syringe holds).
    See the module docstring and PROTOCOL.md §3 (the blind), §4 (dose and administration).
    """
    if drug not in protocol.dosing or drug not in {arm.drug for arm in protocol.arms}:
        raise InvalidInput(
            "drug",
            f"protocol {protocol.name!r} gives {', '.join(sorted({a.drug for a in protocol.arms}))}"
            f", not {drug!r}",
            drug,
        )
    shared = shared_volume(protocol)
    _check_range("weight_kg", weight_kg, shared.weight_kg_range, "kg")
    d = protocol.dose_for(drug)
    basis_weight = dosing_weight_kg(weight_kg, shared.weight_basis, height_cm, sex)
    exact_volume = shared.ml_per_kg * _dec(basis_weight)
    volume = _round_to(exact_volume, shared.volume_step_ml)
    exact_rate = volume * 60 / shared.minutes
    rate = _round_to(exact_rate, shared.rate_step_ml_per_h)
    concentration = _dec(d.concentration_mg_per_ml)
    delivered = volume * concentration
    prescribed = _dec(d.mg_per_kg) * _dec(basis_weight)
    basis_words = _WEIGHT_BASIS_WORDS[shared.weight_basis]
    weight_words = f"{_num(basis_weight)} kg ({basis_words}"
    weight_words += ")" if shared.weight_basis == "actual" else f"; actual {_num(weight_kg)} kg)"
    volume_words = (
        f"every arm: {_num(float(shared.ml_per_kg))} mL/kg × {weight_words} = "
        f"{_rounded_words(exact_volume, volume, shared.volume_step_ml, 'mL')}; "
        f"{_num(float(volume))} mL over {shared.minutes} min = {_num(float(volume))} × 60 ÷ "
        f"{shared.minutes} = {_rounded_words(exact_rate, rate, shared.rate_step_ml_per_h, 'mL/h')}"
    )
    arithmetic = (
        f"{drug}: {_num(d.mg_per_kg)} mg/kg at {_num(d.concentration_mg_per_ml)} mg/mL = "
        f"{_num(float(shared.ml_per_kg))} mL/kg, the same in every arm (PROTOCOL.md §3, §4); "
        f"{volume_words}; delivered {_num(float(volume))} mL × "
        f"{_num(d.concentration_mg_per_ml)} mg/mL = {_num(float(delivered))} mg "
        f"(protocol dose {_num(d.mg_per_kg)} mg/kg × {_num(basis_weight)} kg = "
        f"{_num(float(prescribed))} mg)"
    )
    return BlindedDose(
        protocol=protocol.name,
        drug=drug,
        weight_kg=weight_kg,
        dosing_weight_kg=basis_weight,
        ml_per_kg=float(shared.ml_per_kg),
        volume_ml=float(volume),
        minutes=shared.minutes,
        rate_ml_per_h=float(rate),
        volume_arithmetic=volume_words,
        mg_per_kg=d.mg_per_kg,
        concentration_mg_per_ml=d.concentration_mg_per_ml,
        prescribed_mg=float(prescribed),
        delivered_mg=float(delivered),
        arithmetic=arithmetic,
    )


# --- the one choice: which rule doses this protocol ------------------------------------------


def shares_one_volume(protocol: Protocol) -> bool:
    """A blinded protocol with more than one drug: every arm is given the same volume and rate,
    so the volume must not depend on the arm (:func:`blinded_dose`)."""
    drugs = {arm.drug for arm in protocol.arms if arm.drug in protocol.dosing}
    return bool(protocol.blinded) and len(drugs) > 1


def _refuse_above_any_maximum(protocol: Protocol, volume_ml: float, weight_kg: float) -> None:
    """In a blinded trial one volume goes to every arm: refuse it when it would give *any* arm
    more than that drug's maximum mg, naming no drug, so the refusal cannot tell the arm
    (PROTOCOL.md §3, §4)."""
    for drug in sorted({arm.drug for arm in protocol.arms}):
        d = protocol.dose_for(drug)
        if d.max_dose_mg is None:
            continue
        if _dec(volume_ml) * _dec(d.concentration_mg_per_ml) > _dec(d.max_dose_mg):
            raise InvalidInput(
                "weight_kg",
                f"{_num(weight_kg)} kg gives {_num(volume_ml)} mL of study drug, above the "
                "protocol's maximum dose per infusion (PROTOCOL.md §3, §4)",
                weight_kg,
            )


def administered_dose(
    protocol: Protocol,
    drug: str,
    weight_kg: float,
    concentration_mg_per_ml: float | None = None,
    *,
    height_cm: float | None = None,
    sex: Sex | None = None,
) -> DoseResult:
    """What the patient is given: the one dose rule the command line, the API and the bedside
    share (issue 11: the CLI dosed midazolam at 70.1 kg as 35.0 mL, the bedside as 35.1 mL).

    A protocol that shares one volume across its arms doses by :func:`blinded_dose` (``dose_mg``
    is the mg that volume delivers), and its syringe is made up at the protocol's concentration
    only — another concentration would give the arms different volumes, so it is refused; any
    other protocol by :func:`calculate_dose`, at the protocol's or the given concentration.
    """
    if drug not in protocol.dosing or not shares_one_volume(protocol):
        return calculate_dose(
            protocol, drug, weight_kg, concentration_mg_per_ml, height_cm=height_cm, sex=sex
        )
    if concentration_mg_per_ml is not None:
        expected = protocol.dose_for(drug).concentration_mg_per_ml
        if not math.isclose(concentration_mg_per_ml, expected, rel_tol=0, abs_tol=1e-12):
            raise InvalidInput(
                "concentration_mg_per_ml",
                f"protocol {protocol.name!r} gives every arm the same volume (PROTOCOL.md §3, "
                f"§4): {drug} is made up at {_num(expected)} mg/mL, not "
                f"{_num(concentration_mg_per_ml)}",
                concentration_mg_per_ml,
            )
    b = blinded_dose(protocol, drug, weight_kg, height_cm=height_cm, sex=sex)
    _refuse_above_any_maximum(protocol, b.volume_ml, weight_kg)
    return DoseResult(
        protocol=b.protocol,
        drug=b.drug,
        weight_kg=b.weight_kg,
        weight_basis=shared_volume(protocol).weight_basis,
        dosing_weight_kg=b.dosing_weight_kg,
        mg_per_kg=b.mg_per_kg,
        dose_mg=b.delivered_mg,
        concentration_mg_per_ml=b.concentration_mg_per_ml,
        volume_ml=b.volume_ml,
        minutes=b.minutes,
        rate_ml_per_h=b.rate_ml_per_h,
        arithmetic=b.arithmetic,
    )
