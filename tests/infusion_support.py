"""The start of an infusion as a test supplies it: one helper, :func:`start_inputs`.

The start asks for more than the day's weight (issue 12): the bag (lot, expiry, volume, who
prepared it; its concentration for staff who see the drug), a second staff member's check of
the pump (their own password; and their confirmation of the weight when it needs one) and the
supervising physician. Every test that starts an infusion passes ``**start_inputs(...)``, so a
new start condition is added here once. Accounts are those of the test fixtures: one per role,
username = role with '-', all with the same password.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.core.rules import administered_dose
from ketamine_ptsd.services import Actor
from ketamine_ptsd.services.infusions import BagInput, Countersign, PumpCheck

__all__ = [
    "BAG_EXPIRY",
    "PASSWORD",
    "SCREENING_HEIGHT_CM",
    "SCREENING_WEIGHT_KG",
    "start_form",
    "start_inputs",
    "start_json",
]

PASSWORD = "correct horse battery"
#: The weight and height the screening helpers record (infusion weights of 68-82 kg are
#: within the protocols' 10 % of it and need no confirmation).
SCREENING_WEIGHT_KG = 75.0
SCREENING_HEIGHT_CM = 175.0
BAG_EXPIRY = dt.date(2030, 1, 1)


def start_inputs(
    actors: dict[Role, Actor],
    by: Actor,
    weight_kg: float,
    *,
    protocol_name: str = "rct",
    confirm_weight: bool = False,
    witness: Role | None = None,
    physician: Role | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """The keyword arguments of ``InfusionService.start`` for ``by`` starting at ``weight_kg``.

    The bag matches the dose (its concentration given only where the protocol is open-label,
    i.e. where the starting staff see the drug); the witness is the nurse, or the investigator
    (clinician in the clinic) when the nurse starts; the pump is read at the dose's rate.
    ``overrides`` replace any field of the bag (``lot``, ``expiry``, ``volume_ml``,
    ``prepared_by``, ``concentration_mg_per_ml``) or ``pump_rate_ml_per_h``, ``password``,
    ``supervising_physician_id``.
    """
    protocol = load_protocol(protocol_name)
    # the bag and pump of the weight even where the service will refuse the dose (max mg)
    uncapped = {k: d.model_copy(update={"max_dose_mg": None}) for k, d in protocol.dosing.items()}
    dose = administered_dose(
        protocol.model_copy(update={"dosing": uncapped}), protocol.arms[0].drug, weight_kg
    )
    physician_role = physician or (
        Role.INVESTIGATOR if protocol.mode == "trial" else Role.CLINICIAN
    )
    witness_role = witness or (physician_role if by.role == Role.NURSE else Role.NURSE)
    bag_fields: dict[str, Any] = {
        "lot": "LOT-2026-001",
        "expiry": BAG_EXPIRY,
        "volume_ml": dose.volume_ml,
        "prepared_by": actors[Role.PHARMACIST].username,
        "concentration_mg_per_ml": None if protocol.blinded else dose.concentration_mg_per_ml,
    }
    for key in list(overrides):
        if key in bag_fields:
            bag_fields[key] = overrides.pop(key)
    return {
        "weight_kg": weight_kg,
        "bag": BagInput(**bag_fields),
        "pump_check": PumpCheck(
            Countersign(actors[witness_role].username, overrides.pop("password", PASSWORD)),
            overrides.pop("pump_rate_ml_per_h", dose.rate_ml_per_h),
            confirms_weight=confirm_weight,
        ),
        "supervising_physician_id": overrides.pop(
            "supervising_physician_id", actors[physician_role].user_id
        ),
        **overrides,
    }


def start_json(
    actors: dict[Role, Actor], by: Actor, weight_kg: float, **kwargs: Any
) -> dict[str, Any]:
    """:func:`start_inputs` as the body of ``POST /api/v1/patients/{id}/infusions/{n}/start``."""
    inputs = start_inputs(actors, by, weight_kg, **kwargs)
    bag, check = inputs["bag"], inputs["pump_check"]
    return {
        "weight_kg": inputs["weight_kg"],
        "bag": {
            "lot": bag.lot,
            "expiry": bag.expiry.isoformat(),
            "volume_ml": bag.volume_ml,
            "prepared_by": bag.prepared_by,
            "concentration_mg_per_ml": bag.concentration_mg_per_ml,
        },
        "pump_check": {
            "witness_username": check.witness.username,
            "witness_password": check.witness.password,
            "pump_rate_ml_per_h": check.pump_rate_ml_per_h,
            "confirms_weight": check.confirms_weight,
        },
        "supervising_physician_id": inputs["supervising_physician_id"],
    }


def start_form(
    actors: dict[Role, Actor], by: Actor, weight_kg: float, **kwargs: Any
) -> dict[str, str]:
    """:func:`start_inputs` as the bedside checklist form's start fields."""
    inputs = start_inputs(actors, by, weight_kg, **kwargs)
    bag, check = inputs["bag"], inputs["pump_check"]
    form = {
        "weight_kg": f"{weight_kg:g}",
        "bag_lot": bag.lot,
        "bag_expiry": bag.expiry.isoformat(),
        "bag_volume_ml": f"{bag.volume_ml:g}",
        "bag_prepared_by": bag.prepared_by,
        "witness_username": check.witness.username,
        "witness_password": check.witness.password,
        "pump_rate_ml_per_h": f"{check.pump_rate_ml_per_h:g}",
        "supervising_physician_id": str(inputs["supervising_physician_id"]),
    }
    if bag.concentration_mg_per_ml is not None:
        form["bag_concentration_mg_per_ml"] = f"{bag.concentration_mg_per_ml:g}"
    if check.confirms_weight:
        form["confirms_weight"] = "yes"
    return form
