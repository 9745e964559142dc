"""Trial-conduct test data (issue 17): a reading stored before the protocol had its data
checks, for the edit-check sweep to find (imported as ``from conduct_support import ...`` by the
service, web and browser tests)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from bedside_support import ready_for_infusion, vitals_input  # type: ignore[import-not-found]
from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.protocol import DataChecks, Protocol
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, Services

#: The late reading's heart rate: above the rct protocol's plausible 40-150 bpm.
IMPLAUSIBLE_HR = 165


def before_the_checks(name: str) -> Protocol:
    """The protocol as it stood before its data checks were written (the same version)."""
    protocol = load_protocol(name)
    monitoring = protocol.monitoring.model_copy(update={"data_checks": DataChecks()})
    return protocol.model_copy(update={"monitoring": monitoring})


def unchecked_reading(
    services: Services,
    actors: dict[Role, Actor],
    clock: Any,
    patient_id: int,
    *,
    new_list: bool = True,
) -> tuple[Services, int]:
    """Infusion 1 of an eligible rct patient (``new_list``: generate the sealed list first), whose
    minute-5 reading, typed in late from the paper sheet, has a heart rate of 165 and no SpO2 —
    stored while the protocol had no data checks, so no query was raised. Returns the services
    without the checks (same database, clock and audit keys) and the reading's id."""
    before = Services(dataclasses.replace(services.context, protocols=before_the_checks))
    pharmacist, md = actors[Role.PHARMACIST], actors[Role.INVESTIGATOR]
    if new_list:
        before.randomization.generate_list(
            pharmacist, protocol_name="rct", list_version="rct-1", slots_per_stratum=4
        )
    ready_for_infusion(before, actors, patient_id, 1)
    day = before.infusions.start(md, patient_id, 1, **start_inputs(actors, md, 70))
    clock.advance(dt.timedelta(minutes=12))  # typed in late, still inside its window
    late = before.infusions.record_vitals(
        actors[Role.NURSE],
        patient_id,
        1,
        vitals_input(
            5,
            128,
            82,
            IMPLAUSIBLE_HR,
            None,
            measured_at=day.started_at + dt.timedelta(minutes=5),
        ),
    )
    return before, late.id
