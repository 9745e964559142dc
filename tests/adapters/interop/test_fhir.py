"""FHIR R4 Bundle: structure, pseudonymity, codes, and the structural validator itself."""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import pytest
from interop_support import small_trial, source

from ketamine_ptsd.adapters.interop import fhir


@pytest.fixture(scope="module")
def bundle() -> dict[str, Any]:
    return fhir.bundle(source("full"))


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_bundle_is_structurally_valid_and_round_trips_through_json(bundle: dict[str, Any]) -> None:
    assert fhir.validate_bundle(bundle) == []
    (file,) = fhir.to_files(source("full"))
    assert json.loads(file.content) == bundle
    assert file.media_type == "application/fhir+json"


def test_one_patient_and_research_subject_per_screened_patient(bundle: dict[str, Any]) -> None:
    trial = small_trial()
    counts = Counter(e["resource"]["resourceType"] for e in bundle["entry"])
    assert counts["Patient"] == counts["ResearchSubject"] == len(trial.patients)
    assert counts["ResearchStudy"] == 1
    assert counts["MedicationAdministration"] == sum(len(p.infusions) for p in trial.patients)


def test_patients_carry_the_pseudonymous_study_id_only(bundle: dict[str, Any]) -> None:
    for patient in _resources(bundle, "Patient"):
        assert set(patient) <= {"resourceType", "id", "identifier", "gender"}
        assert patient["identifier"][0]["system"] == fhir.IDENTIFIER_SYSTEM


def test_vital_signs_use_loinc_and_ucum(bundle: dict[str, Any]) -> None:
    vitals = [
        o
        for o in _resources(bundle, "Observation")
        if o["category"][0]["coding"][0]["code"] == "vital-signs"
    ]
    codes = {o["code"]["coding"][0]["code"]: o["valueQuantity"]["code"] for o in vitals}
    assert codes == {"8480-6": "mm[Hg]", "8462-4": "mm[Hg]", "8867-4": "/min", "59408-5": "%"}
    assert all(o["code"]["coding"][0]["system"] == fhir.LOINC for o in vitals)


def test_instrument_observations_hold_the_total_and_each_item(bundle: dict[str, Any]) -> None:
    caps = [
        o
        for o in _resources(bundle, "Observation")
        if o["code"]["coding"][0]["code"] == "caps5_past_week"
    ]
    assert caps
    severity_codes = {f"caps5_past_week.item_{n}" for n in range(1, 21)}
    for o in caps:
        values = {c["code"]["coding"][0]["code"]: c for c in o["component"]}
        assert severity_codes <= set(values)
        severity = sum(values[code]["valueInteger"] for code in severity_codes)
        assert o["valueInteger"] == severity
        assert o["code"]["coding"][0]["system"] == fhir.CODE_SYSTEM


def test_blinded_bundle_has_no_arms_and_gives_the_study_drug(bundle: dict[str, Any]) -> None:
    blinded = fhir.bundle(source("none"))
    assert fhir.validate_bundle(blinded) == []
    for subject in _resources(blinded, "ResearchSubject"):
        assert "assignedArm" not in subject and "actualArm" not in subject
    assert "arm" not in _resources(blinded, "ResearchStudy")[0]
    drugs = {
        m["medicationCodeableConcept"]["text"]
        for m in _resources(blinded, "MedicationAdministration")
    }
    assert drugs == {"study drug"}
    unblinded = {
        m["medicationCodeableConcept"]["text"]
        for m in _resources(bundle, "MedicationAdministration")
    }
    assert unblinded == {"ketamine", "midazolam"}


def test_validator_reports_missing_required_elements_and_dangling_references(
    bundle: dict[str, Any],
) -> None:
    broken = copy.deepcopy(bundle)
    subject = next(e for e in broken["entry"] if e["resource"]["resourceType"] == "ResearchSubject")
    del subject["resource"]["status"]
    obs = next(e for e in broken["entry"] if e["resource"]["resourceType"] == "Observation")
    obs["resource"]["subject"] = {"reference": "urn:uuid:not-in-bundle"}
    med = next(
        e for e in broken["entry"] if e["resource"]["resourceType"] == "MedicationAdministration"
    )
    del med["resource"]["effectiveDateTime"]
    broken["entry"].append(copy.deepcopy(broken["entry"][0]))
    problems = fhir.validate_bundle(broken)
    assert any("ResearchSubject.status: required" in p for p in problems)
    assert any("does not resolve" in p for p in problems)
    assert any("effectiveDateTime" in p for p in problems)
    assert any("fullUrl: not unique" in p for p in problems)
    assert fhir.validate_bundle({"resourceType": "Patient"}) == ["resourceType: not a Bundle"]


def test_bundle_ids_are_deterministic() -> None:
    assert fhir.bundle(source("full")) == fhir.bundle(source("full"))
