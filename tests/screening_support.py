"""Screening a patient the way the record must: through the protocol's rules (issue 11).

Shared by the service and web tests (this folder is on ``sys.path`` through tests/conftest.py):
the facts of an RCT patient who meets PROTOCOL.md §1 and of a clinic patient who meets §2, and
helpers that record the screening visit so that the rules, not a form, make the patient eligible.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

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


def screen_clinic(services: Any, actor: Any, patient_id: int) -> None:
    """Document treatment resistance and a maintenance plan, then screen a clinic patient who
    meets PROTOCOL.md §2 (consent recorded by the caller)."""
    from ketamine_ptsd.services.clinic import MedicationTrial, PsychotherapyTrial

    services.clinic.record_treatment_resistance(
        actor,
        patient_id,
        psychotherapy_trials=[PsychotherapyTrial("cognitive_processing_therapy", 12, True)],
        medication_trials=[
            MedicationTrial("sertraline", 200, 12, True),
            MedicationTrial("duloxetine", 120, 10, True),
        ],
        documented_on=dt.date(2026, 3, 1),
    )
    services.clinic.record_maintenance_plan(
        actor,
        patient_id,
        option_ids=["iv_ketamine_periodic"],
        site_facts={"setting_continuous_monitoring": True},
        planned_on=dt.date(2026, 3, 1),
        interval_days=7,
    )
    services.screening.record_visit(
        actor,
        patient_id,
        ScreeningVisitInput(
            dt.date(2026, 3, 1), facts=CLINIC_FACTS, weight_kg=75.0, height_cm=175.0
        ),
    )


def screen_eligible(services: Any, actor: Any, patient_id: int, protocol_name: str) -> None:
    """Screen a consented patient who meets every criterion, so the rules find them eligible."""
    if protocol_name == "rct":
        services.screening.record_visit(
            actor,
            patient_id,
            ScreeningVisitInput(
                dt.date(2026, 3, 1),
                facts=RCT_FACTS,
                caps5_past_month=caps5_past_month(42),
                cgi_s=5,
                weight_kg=75.0,  # infusion_support.SCREENING_WEIGHT_KG
                height_cm=175.0,
            ),
        )
    else:
        screen_clinic(services, actor, patient_id)
    assert services.patients.get(actor, patient_id).status == "eligible"
