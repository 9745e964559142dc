"""The dose preview as each role may see it, through the core rules (PROTOCOL.md §3–§4).

Before an infusion starts there is no stored dose, so the bedside screen and ``GET
/api/v1/patients/{id}/dose`` preview one from a typed weight. The arithmetic is the core's, not
the web's: a blinded trial with more than one drug goes through
:func:`ketamine_ptsd.core.rules.blinded_dose` (one volume and pump rate per kg for every arm; the
milligrams delivered are that volume × the drug's concentration), anything else through
:func:`ketamine_ptsd.core.rules.calculate_dose` — the same choice ``InfusionService.start`` makes
(services/infusions.py), so the preview is what will be stored.

A blinded viewer (the service's view says "study drug") never needs the drug: the volume, rate,
minutes and volume arithmetic of ``blinded_dose`` are identical whichever arm's drug is passed, so
the preview asks the core with the protocol's first arm and shows only those four. When the arms
cannot share a volume (the core refuses naming ``concentration_mg_per_ml``, ``infusion_minutes``
or ``weight_basis``) no volume is shown at all and the page says the pharmacy supplies it; it
never falls back to a per-drug volume. See docs/blinding.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import blinded_dose, calculate_dose, shares_one_volume
from ketamine_ptsd.core.workflow import BLINDED_LABEL, Treatment

__all__ = ["DoseDisplay", "dose_display"]


#: The fields ``core.rules.shared_volume`` names when the arms cannot share one volume.
UNSHARED_VOLUME_FIELDS = frozenset({"concentration_mg_per_ml", "infusion_minutes", "weight_basis"})
NO_SHARED_VOLUME = (
    "the protocol's arms differ in mL/kg, infusion time or weight basis: the pharmacy supplies "
    "the volume"
)
NOT_ALLOCATED = (
    "not yet allocated: allocation happens on the morning of infusion 1 (PROTOCOL.md §3)"
)


@dataclass(frozen=True)
class DoseDisplay:
    """What the dose card shows.

    ``volume_arithmetic`` is the arm-free check (blinded trial); ``dose_mg``,
    ``concentration_mg_per_ml`` and ``drug_arithmetic`` only when the viewer may see the drug
    (in a blinded trial ``dose_mg`` is the delivered dose: volume × concentration).
    """

    treatment: str
    blinded: bool
    volume_ml: float | None = None
    rate_ml_per_h: float | None = None
    minutes: int | None = None
    volume_arithmetic: str | None = None
    dose_mg: float | None = None
    concentration_mg_per_ml: float | None = None
    drug_arithmetic: str | None = None
    problem: str | None = None


def dose_display(
    protocol: Protocol, treatment: str | None, visibility: Treatment, weight_kg: float
) -> DoseDisplay:
    """The dose for a viewer who sees ``treatment`` ("study drug", a drug, or None) as
    ``visibility`` says (the service's answer from the blind's one policy, core.workflow).

    Raises the core's InvalidInput for an implausible weight (field ``weight_kg``).
    """
    if treatment is None:
        if protocol.blinded:
            return DoseDisplay(BLINDED_LABEL, True, problem=NOT_ALLOCATED)
        treatment = protocol.arms[0].drug  # open label: the clinic's one drug
    blinded = visibility is not Treatment.NAMED and protocol.blinded
    if shares_one_volume(protocol):
        # Any arm's drug gives the same volume and rate, so a blinded viewer's is not needed.
        drug = protocol.arms[0].drug if blinded else treatment
        try:
            b = blinded_dose(protocol, drug, weight_kg)
        except InvalidInput as exc:
            if exc.field not in UNSHARED_VOLUME_FIELDS:
                raise
            if blinded:
                return DoseDisplay(treatment, True, problem=NO_SHARED_VOLUME)
            # The pharmacy, who must then supply the volume, still gets its drug's own figures.
            return _open_label(protocol, treatment, weight_kg, problem=NO_SHARED_VOLUME)
        shared = DoseDisplay(
            treatment, blinded, b.volume_ml, b.rate_ml_per_h, b.minutes, b.volume_arithmetic
        )
        if blinded:
            return shared
        return DoseDisplay(
            treatment,
            False,
            b.volume_ml,
            b.rate_ml_per_h,
            b.minutes,
            b.volume_arithmetic,
            dose_mg=b.delivered_mg,
            concentration_mg_per_ml=b.concentration_mg_per_ml,
            drug_arithmetic=b.arithmetic,
        )
    if blinded:  # a blinded protocol with one drug: its volume tells nothing, still no mg shown
        r = calculate_dose(protocol, protocol.arms[0].drug, weight_kg)
        return DoseDisplay(treatment, True, r.volume_ml, r.rate_ml_per_h, r.minutes)
    return _open_label(protocol, treatment, weight_kg)


def _open_label(
    protocol: Protocol, drug: str, weight_kg: float, *, problem: str | None = None
) -> DoseDisplay:
    r = calculate_dose(protocol, drug, weight_kg)
    return DoseDisplay(
        drug,
        False,
        r.volume_ml,
        r.rate_ml_per_h,
        r.minutes,
        dose_mg=r.dose_mg,
        concentration_mg_per_ml=r.concentration_mg_per_ml,
        drug_arithmetic=r.arithmetic,
        problem=problem,
    )
