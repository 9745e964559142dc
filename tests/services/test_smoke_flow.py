"""The record end to end: users, a patient, consent, screening, list, allocation, audit chain."""

from __future__ import annotations

import datetime as dt

from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, Services


def test_patient_is_allocated_and_the_audit_chain_verifies(
    services: Services, actors: dict[Role, Actor], enrol
) -> None:
    patient_id = enrol()
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="rct-1", slots_per_stratum=8
    )
    seen_by_investigator = services.randomization.allocate(
        actors[Role.INVESTIGATOR], patient_id, infusion_date=dt.date(2026, 3, 2)
    )
    assert seen_by_investigator.treatment == "study drug"
    seen_by_pharmacist = services.randomization.allocation(actors[Role.PHARMACIST], patient_id)
    assert seen_by_pharmacist.treatment in {"ketamine", "midazolam"}
    report = services.audit.verify(actors[Role.ADMINISTRATOR])
    assert report.ok, report
    assert report.rows_checked > 20
