"""Helpers for the workflow tests: real protocols, eligible facts, item sets, an infusion day.

The workflows run the clinical rules, so these tests use the built-in protocol files
(``protocols/rct.yaml``, ``clinical.yaml``) through the real protocol store.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from service_support import make_context  # type: ignore[import-not-found]

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import Actor, FixedClock, Services
from ketamine_ptsd.services.infusions import ChecklistInput, VitalsInput
from ketamine_ptsd.services.patients import CLINIC_CONSENT_TOPICS, ConsentInput
from ketamine_ptsd.services.screening import ScreeningVisitInput

#: PROTOCOL.md §1: an RCT patient who meets every criterion (facts the visit records).
RCT_FACTS: dict[str, bool | int | float] = {
    "age_years": 39,
    "primary_chronic_ptsd_scid5": True,
    "ptsd_duration_months": 60,
    "serious_unstable_medical_illness": False,
    "active_suicidal_or_homicidal_ideation": False,
    "lifetime_psychotic_or_bipolar_disorder": False,
    "current_anorexia_or_bulimia": False,
    "substance_use_disorder_past_3_months": False,
    "recreational_ketamine_pcp_uses_lifetime": 0,
    "recreational_ketamine_pcp_use_past_2_years": False,
    "current_long_acting_benzodiazepine": False,
    "current_opioid": False,
    "psychotropic_dose_changed_past_3_months": False,
}

#: PROTOCOL.md §2: a clinic patient with no contraindication (documents recorded separately).
CLINIC_FACTS: dict[str, bool | int | float] = {
    "age_years": 45,
    "chronic_ptsd_diagnosis": True,
    "setting_continuous_monitoring": True,
    "uncontrolled_hypertension": False,
    "severe_cardiovascular_disease": False,
    "raised_intracranial_pressure": False,
    "active_psychosis": False,
    "acute_mania": False,
    "history_substance_use_disorder": False,
    "severe_hepatic_impairment": False,
    "pregnant": False,
    "current_benzodiazepine": False,
    "active_suicidal_intent": False,
}


def workflow_services(db: Any, clock: FixedClock) -> Services:
    return Services(make_context(db, clock, protocols=load_protocol))


def items(n: int, total: int, maximum: int = 4, first: int = 1) -> dict[str, int]:
    """``n`` items keyed first..first+n-1 summing to ``total`` (each 0..maximum)."""
    assert 0 <= total <= n * maximum
    values = {}
    left = total
    for k in range(n):
        v = min(maximum, left)
        values[str(first + k)] = v
        left -= v
    return values


def caps5_past_month(total: int) -> dict[str, int]:
    return items(20, total)


def consent(services: Services, actor: Actor, patient_id: int) -> None:
    services.patients.record_consent(
        actor,
        patient_id,
        ConsentInput(
            "v1.0", dt.date(2026, 3, 1), True, "Dr Independent", None, CLINIC_CONSENT_TOPICS
        ),
    )


def screen_rct(
    services: Services, actor: Actor, facts: dict[str, Any] | None = None, caps5: int = 42
) -> int:
    """Register, consent and screen an RCT patient; return the patient id."""
    patient = services.patients.register(actor, protocol_name="rct", site="YAL")
    consent(services, actor, patient.id)
    services.screening.record_visit(
        actor,
        patient.id,
        ScreeningVisitInput(
            dt.date(2026, 3, 1),
            facts=RCT_FACTS if facts is None else facts,
            caps5_past_month=caps5_past_month(caps5),
            cgi_s=5,
        ),
    )
    return patient.id


def ready_for_infusion(
    services: Services,
    actors: dict[Role, Actor],
    patient_id: int,
    number: int,
    *,
    bp_readings: tuple[str, ...] = ("128/82", "131/84"),
    rater: Role = Role.SAFETY_RATER,
    nurse: Role = Role.NURSE,
) -> Any:
    """Baseline vitals, the minute-0 ratings and the checklist (returned) for one infusion."""
    services.infusions.record_vitals(
        actors[nurse], patient_id, number, VitalsInput(0, 128, 82, 72, 98)
    )
    for instrument, values in (
        ("cadss", items(23, 1)),
        ("bprs_positive", {"4": 1, "11": 1, "12": 1, "15": 1}),
        ("ymrs_item1", {"1": 0}),
        ("prise", prise()),
    ):
        services.infusions.record_rating(
            actors[rater], patient_id, number, minute=0, instrument=instrument, items=values
        )
    return services.infusions.record_checklist(
        actors[nurse],
        patient_id,
        ChecklistInput(
            infusion_number=number,
            nil_by_mouth=True,
            pregnancy_test="not_applicable",
            urine_toxicology_positive_for=["marijuana"],
            bp_readings=bp_readings,
            short_acting_benzodiazepine_taken_this_morning=False,
        ),
    )


def prise(**reported: str) -> dict[str, str]:
    from ketamine_ptsd.core.instruments import get_instrument

    return {item.key: reported.get(item.key, "no") for item in get_instrument("prise").items}
