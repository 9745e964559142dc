"""Helpers for the workflow tests: real protocols, eligible facts, item sets, an infusion day.

The workflows run the clinical rules, so these tests use the built-in protocol files
(``protocols/rct.yaml``, ``clinical.yaml``) through the real protocol store.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from service_support import make_context  # type: ignore[import-not-found]

from bedside_support import (  # type: ignore[import-not-found]  # noqa: F401 (re-exported)
    prise,
    ready_for_infusion,
)
from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.services import Actor, FixedClock, Services
from ketamine_ptsd.services.patients import CLINIC_CONSENT_TOPICS, ConsentInput
from ketamine_ptsd.services.screening import ScreeningVisitInput
from screening_support import (  # type: ignore[import-not-found]  # noqa: F401 (re-exported)
    CLINIC_FACTS,
    RCT_FACTS,
    caps5_past_month,
    items,
    screen_clinic,
    screen_eligible,
)


def workflow_services(db: Any, clock: FixedClock) -> Services:
    return Services(make_context(db, clock, protocols=load_protocol))


def consent(services: Services, actor: Actor, patient_id: int) -> None:
    services.patients.record_consent(
        actor,
        patient_id,
        ConsentInput(
            "v1", dt.date(2026, 3, 1), True, "Dr Independent", None, CLINIC_CONSENT_TOPICS
        ),
    )


def screen_rct(
    services: Services,
    actor: Actor,
    facts: dict[str, Any] | None = None,
    caps5: int = 42,
    *,
    protocol_name: str = "rct",
    weight_kg: float = 75.0,
) -> int:
    """Register, consent and screen an RCT patient; return the patient id."""
    patient = services.patients.register(actor, protocol_name=protocol_name, site="YAL")
    consent(services, actor, patient.id)
    services.screening.record_visit(
        actor,
        patient.id,
        ScreeningVisitInput(
            dt.date(2026, 3, 1),
            facts=RCT_FACTS if facts is None else facts,
            caps5_past_month=caps5_past_month(caps5),
            cgi_s=5,
            weight_kg=weight_kg,  # default: infusion_support.SCREENING_WEIGHT_KG
            height_cm=175.0,
        ),
    )
    return patient.id
