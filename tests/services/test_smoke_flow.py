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


def test_the_built_in_protocols_drive_the_record(db, clock, actors) -> None:  # type: ignore[no-untyped-def]
    """The real protocol store (protocols/rct.yaml, clinical.yaml) satisfies what the record reads."""
    from service_support import make_context  # type: ignore[import-not-found]
    from workflow_support import screen_eligible  # type: ignore[import-not-found]

    from ketamine_ptsd.adapters.protocol_store import load_protocol
    from ketamine_ptsd.services.patients import CLINIC_CONSENT_TOPICS, ConsentInput

    services = Services(make_context(db, clock, protocols=load_protocol))
    investigator = actors[Role.INVESTIGATOR]
    patient = services.patients.register(investigator, protocol_name="rct", site="YAL")
    services.patients.record_consent(
        investigator, patient.id, ConsentInput("v1", dt.date(2026, 3, 1), True, "Dr C")
    )
    screen_eligible(services, investigator, patient.id, "rct")
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="rct-1", slots_per_stratum=4
    )
    services.randomization.allocate(
        actors[Role.PHARMACIST], patient.id, infusion_date=dt.date(2026, 3, 2)
    )
    pharmacist_view = services.randomization.allocation(actors[Role.PHARMACIST], patient.id)
    assert pharmacist_view.treatment in {"ketamine", "midazolam"}
    clinic = services.patients.register(
        actors[Role.CLINICIAN], protocol_name="clinical", site="CLN"
    )
    assert clinic.mode == "clinic"
    services.patients.record_consent(
        actors[Role.CLINICIAN],
        clinic.id,
        ConsentInput("v1", dt.date(2026, 3, 1), True, None, None, CLINIC_CONSENT_TOPICS),
    )
