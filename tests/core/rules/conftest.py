"""Fixtures of the rule tests: the built-in protocols, loaded once."""

from __future__ import annotations

from typing import Any

import pytest

from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.protocol import Protocol


@pytest.fixture(scope="session")
def rct() -> Protocol:
    return load_protocol("rct")


@pytest.fixture(scope="session")
def clinical() -> Protocol:
    return load_protocol("clinical")


@pytest.fixture
def rct_eligible_facts() -> dict[str, Any]:
    """A patient who meets every RCT criterion (PROTOCOL.md §1)."""
    return {
        "age_years": 40,
        "primary_chronic_ptsd_scid5": True,
        "ptsd_duration_months": 60,
        "caps5_past_month_total": 41,
        "independent_capacity_confirmed": True,
        "written_informed_consent": True,
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


@pytest.fixture
def clinical_eligible_facts() -> dict[str, Any]:
    """A treatment-resistant patient with no contraindication (PROTOCOL.md §2)."""
    return {
        "age_years": 45,
        "chronic_ptsd_diagnosis": True,
        "adequate_trauma_focused_psychotherapy_trials": 1,
        "adequate_ssri_snri_trials": 2,
        "setting_continuous_monitoring": True,
        "consent_off_label_use": True,
        "consent_expected_dissociation": True,
        "consent_post_infusion_monitoring": True,
        "consent_limited_durability_maintenance": True,
        "maintenance_plan_documented": True,
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
