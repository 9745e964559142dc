"""FHIR R4 (4.0.1) Bundle of the trial's data (SYSTEM.md §11), with a structural validator.

Resources (a ``collection`` Bundle, ``urn:uuid`` full URLs made deterministically with uuid5 so
the same record gives the same Bundle):

- ``Patient``: the pseudonymous study id only (an identifier in the project's system) and
  ``gender``; no name, birth date or contact — identity stays in the record's restricted table.
- ``ResearchStudy`` (one) and ``ResearchSubject`` per screened patient (``status`` from the
  disposition: ``ineligible``, ``withdrawn``, ``off-study`` for completed, ``not-registered``
  for those who declined). ``ResearchStudy.arm`` and ``ResearchSubject.assignedArm`` /
  ``actualArm`` only when the extract names arms (full sanction or open label, PROTOCOL.md §3).
- ``Observation`` per outcome assessment: ``valueInteger`` = the instrument total where it has
  one, and one ``component`` per answered item and per subscale; codes in this project's
  CodeSystem (``CODE_SYSTEM``) — LOINC has panels for some of these instruments, but their codes
  are not reproduced here unverified. Vital signs use LOINC codes that are certain: 8480-6
  systolic, 8462-4 diastolic blood pressure, 8867-4 heart rate, 59408-5 SpO2 by pulse oximetry;
  units in UCUM (mm[Hg], /min, %).
- ``MedicationAdministration`` per infusion: ``status`` completed, the drug as text ("study drug"
  when blinded or A/B-coded), route intravenous, the protocol's mg/kg as ``dosage.text`` only
  when unblinded.

Validation (:func:`validate_bundle`) is structural — no FHIR validator or profile is available
offline: each resource's ``resourceType`` and ``id``, the R4 cardinality-1 elements this module
writes (Observation.status/code, ResearchSubject.status/study/individual, MedicationAdministration
.status/medication[x]/subject/effective[x], ResearchStudy.status), unique full URLs, and every
``reference`` resolving inside the Bundle.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from ketamine_ptsd.core.instruments import REGISTRY
from ketamine_ptsd.core.workflow import BLINDED_LABEL
from ketamine_ptsd.services.exports import ExportFile
from ketamine_ptsd.services.interop_exports import InteropSource

from ._common import drug_of, is_missing, iso_date

__all__ = ["CODE_SYSTEM", "IDENTIFIER_SYSTEM", "bundle", "to_files", "validate_bundle"]

#: Project code system for instruments, items and subscales; a site replaces the base URL.
CODE_SYSTEM = "https://ketamine-ptsd.example.org/fhir/CodeSystem/instrument"
IDENTIFIER_SYSTEM = "https://ketamine-ptsd.example.org/fhir/sid/study-id"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
_NAMESPACE = uuid.UUID("6f3a8a52-3c1e-4e51-9b8e-0a3c1c2f5d11")
_VITALS = (
    ("systolic_mmhg", "8480-6", "Systolic blood pressure", "mm[Hg]", "mmHg"),
    ("diastolic_mmhg", "8462-4", "Diastolic blood pressure", "mm[Hg]", "mmHg"),
    ("heart_rate_bpm", "8867-4", "Heart rate", "/min", "beats/minute"),
    ("spo2_percent", "59408-5", "Oxygen saturation by pulse oximetry", "%", "%"),
)
_SUBJECT_STATUS = {"ineligible": "ineligible", "declined": "not-registered"}
_REQUIRED: Mapping[str, tuple[str, ...]] = {
    "Patient": (),
    "ResearchStudy": ("status",),
    "ResearchSubject": ("status", "study", "individual"),
    "Observation": ("status", "code"),
    "MedicationAdministration": ("status", "subject"),
}
_CHOICE_REQUIRED: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "MedicationAdministration": (
        ("medicationCodeableConcept", "medicationReference"),
        ("effectiveDateTime", "effectivePeriod"),
    ),
}


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts)))


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    number = float(value)
    return int(number) if number.is_integer() else number


def _value_element(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, str):
        return {"valueString": value}
    number = _number(value)
    if isinstance(number, int):
        return {"valueInteger": number}
    return {"valueQuantity": {"value": number}}


class _Bundle:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, resource: dict[str, Any], *key: object) -> str:
        rid = _uuid(resource["resourceType"], *key)
        resource = {"resourceType": resource["resourceType"], "id": rid, **resource}
        url = f"urn:uuid:{rid}"
        self.entries.append({"fullUrl": url, "resource": resource})
        return url


def bundle(source: InteropSource) -> dict[str, Any]:
    """The Bundle (a JSON-ready dict)."""
    protocol = source.protocol
    frames = source.extract.frames
    named_arms = source.extract.unblinding in ("full", "open_label")
    b = _Bundle()
    study: dict[str, Any] = {
        "resourceType": "ResearchStudy",
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": protocol.name}],
        "title": protocol.title if named_arms else protocol.name,
        "status": "active",
    }
    if named_arms:
        study["arm"] = [{"name": a.id, "description": a.label} for a in protocol.arms]
    study_url = b.add(study, protocol.name)
    treated = {str(r["subject"]): r for r in frames["subjects"].to_dict("records")}
    screened = {str(r["subject"]): r for r in frames["screening"].to_dict("records")}
    patient_urls: dict[str, str] = {}
    for subject in sorted(set(screened) | set(treated)):
        t = treated.get(subject)
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "identifier": [{"system": IDENTIFIER_SYSTEM, "value": subject}],
        }
        if t is not None and str(t["sex"]).lower() in ("female", "male"):
            patient["gender"] = str(t["sex"]).lower()
        url = b.add(patient, protocol.name, subject)
        patient_urls[subject] = url
        if t is None:
            disposition = str(screened[subject]["disposition"])
            status = _SUBJECT_STATUS.get(disposition, "eligible")
        else:
            status = "withdrawn" if bool(t["withdrawn"]) else "off-study"
        research_subject: dict[str, Any] = {
            "resourceType": "ResearchSubject",
            "status": status,
            "study": {"reference": study_url},
            "individual": {"reference": url},
        }
        if t is not None and named_arms and not is_missing(t["arm"]):
            research_subject["assignedArm"] = str(t["arm"])
            research_subject["actualArm"] = str(t["arm"])
        b.add(research_subject, protocol.name, subject)
    _observations(b, source, patient_urls)
    _administrations(b, source, patient_urls)
    return {"resourceType": "Bundle", "type": "collection", "entry": b.entries}


def _observations(b: _Bundle, source: InteropSource, patients: Mapping[str, str]) -> None:
    for a in source.assessments.to_dict("records"):
        instrument = REGISTRY.get(str(a["instrument"]))
        subject = str(a["subject"])
        if instrument is None or subject not in patients:
            continue
        components = []
        for key, value in (a["items"] or {}).items():
            if is_missing(value):
                continue
            components.append(
                {
                    "code": {
                        "coding": [
                            {
                                "system": CODE_SYSTEM,
                                "code": f"{instrument.id}.item_{key}",
                                "display": instrument.item(key).label,
                            }
                        ]
                    },
                    **_value_element(value),
                }
            )
        for sub, value in (a["subscales"] or {}).items():
            components.append(
                {
                    "code": {"coding": [{"system": CODE_SYSTEM, "code": f"{instrument.id}.{sub}"}]},
                    **_value_element(value),
                }
            )
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "survey",
                        }
                    ]
                }
            ],
            "code": {
                "coding": [
                    {"system": CODE_SYSTEM, "code": instrument.id, "display": instrument.name}
                ],
                "text": f"{instrument.name} ({a['time']})",
            },
            "subject": {"reference": patients[subject]},
            "effectiveDateTime": iso_date(a["date"]),
        }
        if not is_missing(a["total"]) and instrument.total_range is not None:
            observation.update(_value_element(a["total"]))
        if components:
            observation["component"] = components
        b.add(observation, subject, a["time"], instrument.id)
    dates = {
        (str(r.subject), int(r.infusion)): iso_date(r.date)
        for r in source.infusions.itertuples(index=False)
    }
    for v in source.extract.frames["vitals"].to_dict("records"):
        subject, k, minute = str(v["subject"]), int(v["infusion"]), int(v["minute"])
        if subject not in patients:
            continue
        for column, code, display, ucum, unit in _VITALS:
            if is_missing(v[column]):
                continue
            obs: dict[str, Any] = {
                "resourceType": "Observation",
                "status": "final",
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                "code": "vital-signs",
                            }
                        ]
                    }
                ],
                "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
                "subject": {"reference": patients[subject]},
                "valueQuantity": {
                    "value": _number(v[column]),
                    "unit": unit,
                    "system": UCUM,
                    "code": ucum,
                },
                "note": [{"text": f"infusion {k}, minute {minute} after start"}],
            }
            if dates.get((subject, k)):
                obs["effectiveDateTime"] = dates[(subject, k)]
            b.add(obs, subject, k, minute, code)


def _administrations(b: _Bundle, source: InteropSource, patients: Mapping[str, str]) -> None:
    dates = {
        (str(r.subject), int(r.infusion)): iso_date(r.date)
        for r in source.infusions.itertuples(index=False)
    }
    for row in source.extract.frames["subjects"].to_dict("records"):
        subject = str(row["subject"])
        drug = drug_of(source, row["arm"])
        dose = source.protocol.dosing.get(drug) if drug else None
        for k in range(1, int(row["n_infusions"] or 0) + 1):
            date = dates.get((subject, k)) or (iso_date(row["allocation_date"]) if k == 1 else "")
            if not date:
                continue
            dosage: dict[str, Any] = {
                "route": {"text": "intravenous"},
                "text": f"{drug} {dose.mg_per_kg:g} mg/kg IV over {dose.infusion_minutes} minutes"
                if dose
                else "study drug IV infusion",
            }
            b.add(
                {
                    "resourceType": "MedicationAdministration",
                    "status": "completed",
                    "medicationCodeableConcept": {"text": drug if drug else BLINDED_LABEL},
                    "subject": {"reference": patients[subject]},
                    "effectiveDateTime": date,
                    "dosage": dosage,
                    "note": [{"text": f"infusion {k}"}],
                },
                subject,
                "infusion",
                k,
            )


def validate_bundle(document: Mapping[str, Any]) -> list[str]:
    """Structural problems of a Bundle (empty when none); see the module docstring."""
    problems: list[str] = []
    if document.get("resourceType") != "Bundle":
        return ["resourceType: not a Bundle"]
    if document.get("type") not in ("collection", "transaction", "batch", "document", "message"):
        problems.append(f"Bundle.type: {document.get('type')!r} is not a bundle type")
    entries = document.get("entry", [])
    urls = [e.get("fullUrl") for e in entries]
    if len(set(urls)) != len(urls):
        problems.append("Bundle.entry.fullUrl: not unique")
    known = set(urls)
    for n, entry in enumerate(entries):
        resource = entry.get("resource") or {}
        kind = resource.get("resourceType")
        where = f"entry[{n}] {kind}"
        if kind not in _REQUIRED:
            problems.append(f"{where}: unexpected resourceType")
            continue
        if not resource.get("id"):
            problems.append(f"{where}.id: missing")
        for element in _REQUIRED[kind]:
            if resource.get(element) in (None, "", [], {}):
                problems.append(f"{where}.{element}: required (1..1)")
        for choices in _CHOICE_REQUIRED.get(kind, ()):
            if sum(1 for c in choices if resource.get(c)) != 1:
                problems.append(f"{where}: exactly one of {', '.join(choices)} required")
        if kind == "Observation" and "coding" not in resource.get("code", {}):
            problems.append(f"{where}.code.coding: missing")
        for ref in _references(resource):
            if ref.startswith("urn:uuid:") and ref not in known:
                problems.append(f"{where}: reference {ref} does not resolve in the Bundle")
    return problems


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        for value in node.values():
            if isinstance(value, dict | list):
                found += _references(value)
        return found
    if isinstance(node, list):
        return [r for item in node for r in _references(item)]
    return []


def to_files(source: InteropSource) -> list[ExportFile]:
    document = bundle(source)
    problems = validate_bundle(document)
    if problems:  # a bug here, not bad input: refuse to write an invalid Bundle
        raise ValueError(f"invalid FHIR Bundle: {problems[0]}")
    content = json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8")
    return [ExportFile("bundle.json", content, len(document["entry"]), "application/fhir+json")]
