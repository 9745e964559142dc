"""FHIR R4 Bundle built with ``fhir.resources`` R4B models: every resource type validates, the
Bundle parses back, counts per type equal the record, pseudonymity, codes, the blind, and the
validator itself; and the demo-size trial's whole Bundle (issue 14)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from interop_support import demo_size_trial, small_trial, source
from pydantic import ValidationError

from ketamine_ptsd.adapters.interop import fhir
from ketamine_ptsd.core.instruments import REGISTRY
from ketamine_ptsd.services.interop_exports import InteropSource

#: Every resource type the exporter writes.
RESOURCE_TYPES = {
    "ResearchStudy",
    "ResearchSubject",
    "Patient",
    "Questionnaire",
    "QuestionnaireResponse",
    "Observation",
    "MedicationAdministration",
    "AdverseEvent",
}


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
    assert any(
        "ResearchSubject.status: Value for the field 'status' is required" in p for p in problems
    )
    assert any("does not resolve" in p for p in problems)
    assert any("MedicationAdministration" in p and "effectiveDateTime" in p for p in problems)
    assert any("fullUrl: not unique" in p for p in problems)
    assert fhir.validate_bundle({"resourceType": "Patient"}) == ["resourceType: not a Bundle"]


def test_bundle_ids_are_deterministic() -> None:
    assert fhir.bundle(source("full")) == fhir.bundle(source("full"))


def _expected_counts(src: InteropSource) -> Counter[str]:
    """Resources per type, counted from the record the Bundle was made from."""
    frames = src.extract.frames
    screened = set(frames["screening"]["subject"]) | set(frames["subjects"]["subject"])
    assessments = src.assessments[src.assessments["instrument"].isin(list(REGISTRY))]
    vitals = frames["vitals"][["systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_percent"]]
    return Counter(
        {
            "ResearchStudy": 1,
            "Patient": len(screened),
            "ResearchSubject": len(screened),
            "Questionnaire": assessments["instrument"].nunique(),
            "QuestionnaireResponse": len(assessments),
            "Observation": len(assessments) + int(vitals.notna().sum().sum()),
            "MedicationAdministration": int(frames["subjects"]["n_infusions"].sum()),
            "AdverseEvent": len(frames["adverse_events"]),
        }
    )


@pytest.mark.parametrize("unblinding", ["full", "partial", "none"])
def test_every_resource_validates_as_r4b_and_the_bundle_parses_back(unblinding: str) -> None:
    src = source(unblinding)
    (file,) = fhir.to_files(src)
    document = json.loads(file.content)
    parsed = Bundle.model_validate(document)  # the whole Bundle, by fhir.resources R4B
    assert json.loads(parsed.model_dump_json()) == document
    kinds = Counter(e["resource"]["resourceType"] for e in document["entry"])
    assert set(kinds) == RESOURCE_TYPES
    first = {e["resource"]["resourceType"]: e["resource"] for e in reversed(document["entry"])}
    for kind, resource in first.items():  # and one of each type by its own R4B model class
        assert get_fhir_model_class(kind).model_validate(resource).id == resource["id"]
    assert fhir.validate_bundle(document) == []
    assert kinds == _expected_counts(src)
    assert file.rows == len(document["entry"])


def test_an_invalid_resource_fails_while_the_bundle_is_built() -> None:
    """The models check at construction: a value of the wrong type never reaches the file."""
    src = source("full")
    broken = src.extract.frames["adverse_events"].copy()
    broken["term"] = ""  # FHIR string: at least one character
    frames = {**src.extract.frames, "adverse_events": broken}
    bad = InteropSource(
        src.protocol,
        type(src.extract)(src.extract.protocol_name, frames, src.extract.arms, "full"),
        src.assessments,
        src.infusions,
        src.patients,
    )
    with pytest.raises(ValidationError, match=r"AdverseEvent[\s\S]*event\.text"):
        fhir.to_files(bad)


def test_questionnaire_responses_answer_their_instruments_questionnaire(
    bundle: dict[str, Any],
) -> None:
    questionnaires = {q["url"]: q for q in _resources(bundle, "Questionnaire")}
    responses = _resources(bundle, "QuestionnaireResponse")
    assert responses
    for response in responses:
        questionnaire = questionnaires[response["questionnaire"]]
        link_ids = {item["linkId"] for item in questionnaire["item"]}
        assert {item["linkId"] for item in response.get("item", [])} <= link_ids
        assert response["status"] == "completed"
    caps = questionnaires[f"{fhir.QUESTIONNAIRE_BASE}/caps5_past_week"]
    assert caps["item"][0]["type"] == "integer"


def test_adverse_events_carry_severity_seriousness_and_the_suspect_infusion(
    bundle: dict[str, Any],
) -> None:
    events = _resources(bundle, "AdverseEvent")
    administrations = {e["fullUrl"] for e in bundle["entry"]} & {
        e["fullUrl"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationAdministration"
    }
    assert events
    for event in events:
        assert event["actuality"] == "actual"
        assert event["severity"]["coding"][0]["code"] in ("mild", "moderate", "severe")
        assert event["seriousness"]["coding"][0]["code"] in ("serious", "non-serious")
        for suspect in event.get("suspectEntity", []):
            assert suspect["instance"]["reference"] in administrations


@pytest.mark.slow
def test_the_demo_size_trials_whole_bundle_validates() -> None:
    """The demo's cohort (seed 1, 15 per arm; about 11,400 resources): the export builds every
    resource as an R4B model and the whole Bundle parses back; counts equal the record."""
    src = source("full", trial=demo_size_trial())
    (file,) = fhir.to_files(src)
    document = json.loads(file.content)
    Bundle.model_validate(document)
    assert Counter(e["resource"]["resourceType"] for e in document["entry"]) == _expected_counts(
        src
    )
    assert len(document["entry"]) > 11_000
