"""FHIR R4 Bundle of the trial's data (SYSTEM.md §11), built and checked with ``fhir.resources``.

Every resource is constructed as a ``fhir.resources.R4B`` model (R4B shares R4's resources used
here: Patient, ResearchStudy, ResearchSubject, Questionnaire, QuestionnaireResponse, Observation,
MedicationAdministration, AdverseEvent; the package's default models are R5), so an element of
the wrong type, a missing 1..1 element or an unknown element fails while the Bundle is built,
not in the reader's system. The Bundle is serialised by the models' own ``model_dump_json()`` (``fhir.resources``' JSON method; its older
``json()`` is deprecated).

Resources (one ``collection`` Bundle per export, ``urn:uuid`` full URLs made deterministically
with uuid5 so the same record gives the same Bundle):

- ``Patient``: the pseudonymous study id only (an identifier in the project's system) and
  ``gender``; no name, birth date or contact — identity stays in the record's restricted table.
- ``ResearchStudy`` (one) and ``ResearchSubject`` per screened patient (``status`` from the
  disposition: ``ineligible``, ``withdrawn``, ``off-study`` for completed, ``not-registered``
  for those who declined). ``ResearchStudy.arm`` and ``ResearchSubject.assignedArm`` /
  ``actualArm`` only when the extract names arms (full sanction or open label, PROTOCOL.md §3).
- ``Questionnaire`` per instrument the record holds (its items from the registry: integer,
  boolean, choice or decimal, the short labels of our own — §7) and ``QuestionnaireResponse`` per
  assessment (the answers, ``authored`` on the assessment's date).
- ``Observation`` per outcome assessment: ``valueInteger`` = the instrument total where it has
  one, and one ``component`` per answered item and per subscale; codes in this project's
  CodeSystem (``CODE_SYSTEM``) — LOINC has panels for some of these instruments, but their codes
  are not reproduced here unverified; ``derivedFrom`` its QuestionnaireResponse. Vital signs use
  LOINC codes that are certain: 8480-6 systolic, 8462-4 diastolic blood pressure, 8867-4 heart
  rate, 59408-5 SpO2 by pulse oximetry; units in UCUM (mm[Hg], /min, %).
- ``MedicationAdministration`` per infusion: ``status`` completed, the drug as text ("study drug"
  when blinded or A/B-coded), route intravenous, the protocol's mg/kg as ``dosage.text`` only
  when unblinded.
- ``AdverseEvent`` per adverse event of the extract: ``actuality`` actual, the term as
  ``event.text``, onset ``date``, severity (HL7 adverse-event-severity: mild, moderate, severe),
  seriousness (HL7 adverse-event-seriousness), the outcome as text, the study; when the event
  is tied to an infusion, that infusion's MedicationAdministration as the suspect entity with
  the record's relatedness as its causality. R4 has no element for the action taken (it stays
  in SDTM AE and ODM).

:func:`validate_bundle` checks a Bundle document against the R4B models and adds what they do not
check: unique full URLs and every ``urn:uuid`` reference resolving inside the Bundle.
``fhir.resources`` checks structure, cardinality and data types, not value-set bindings or
profiles (no terminology server runs offline); the status codes written here are R4's own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.adverseevent import AdverseEvent
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.researchstudy import ResearchStudy
from fhir.resources.R4B.researchsubject import ResearchSubject
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from ketamine_ptsd.core.instruments import REGISTRY, Instrument, Item
from ketamine_ptsd.core.workflow import BLINDED_LABEL
from ketamine_ptsd.services.exports import ExportFile
from ketamine_ptsd.services.interop_exports import InteropSource

from ._common import drug_of, is_missing, iso_date

__all__ = [
    "CODE_SYSTEM",
    "IDENTIFIER_SYSTEM",
    "QUESTIONNAIRE_BASE",
    "build",
    "bundle",
    "to_files",
    "validate_bundle",
]

#: Project code system for instruments, items and subscales; a site replaces the base URL.
CODE_SYSTEM = "https://ketamine-ptsd.example.org/fhir/CodeSystem/instrument"
IDENTIFIER_SYSTEM = "https://ketamine-ptsd.example.org/fhir/sid/study-id"
#: Canonical URL stem of the instruments' Questionnaires (``<stem>/<instrument id>``).
QUESTIONNAIRE_BASE = "https://ketamine-ptsd.example.org/fhir/Questionnaire"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
_AE_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
_NAMESPACE = uuid.UUID("6f3a8a52-3c1e-4e51-9b8e-0a3c1c2f5d11")
_VITALS = (
    ("systolic_mmhg", "8480-6", "Systolic blood pressure", "mm[Hg]", "mmHg"),
    ("diastolic_mmhg", "8462-4", "Diastolic blood pressure", "mm[Hg]", "mmHg"),
    ("heart_rate_bpm", "8867-4", "Heart rate", "/min", "beats/minute"),
    ("spo2_percent", "59408-5", "Oxygen saturation by pulse oximetry", "%", "%"),
)
_SUBJECT_STATUS = {"ineligible": "ineligible", "declined": "not-registered"}
_QUESTION_TYPE = {"rating": "integer", "yes_no": "boolean", "choice": "choice", "months": "decimal"}
_SEVERITIES = ("mild", "moderate", "severe")


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


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display is not None:
        coding["display"] = display
    return {"coding": [coding]}


class _Bundle:
    """The entries so far; each resource arrives as an R4B model (validated when constructed)."""

    def __init__(self) -> None:
        self.entries: list[BundleEntry] = []

    def add(self, kind: type[Resource], fields: dict[str, Any], *key: object) -> str:
        rid = _uuid(kind.get_resource_type(), *key)
        url = f"urn:uuid:{rid}"
        self.entries.append(BundleEntry(fullUrl=url, resource=kind(id=rid, **fields)))
        return url


def build(source: InteropSource) -> Bundle:
    """The Bundle as a ``fhir.resources`` R4B model (see the module docstring)."""
    protocol = source.protocol
    frames = source.extract.frames
    named_arms = source.extract.unblinding in ("full", "open_label")
    b = _Bundle()
    study: dict[str, Any] = {
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": protocol.name}],
        "title": protocol.title if named_arms else protocol.name,
        "status": "active",
    }
    if named_arms:
        study["arm"] = [{"name": a.id, "description": a.label} for a in protocol.arms]
    study_url = b.add(ResearchStudy, study, protocol.name)
    treated = {str(r["subject"]): r for r in frames["subjects"].to_dict("records")}
    screened = {str(r["subject"]): r for r in frames["screening"].to_dict("records")}
    patient_urls: dict[str, str] = {}
    for subject in sorted(set(screened) | set(treated)):
        t = treated.get(subject)
        patient: dict[str, Any] = {"identifier": [{"system": IDENTIFIER_SYSTEM, "value": subject}]}
        if t is not None and str(t["sex"]).lower() in ("female", "male"):
            patient["gender"] = str(t["sex"]).lower()
        url = b.add(Patient, patient, protocol.name, subject)
        patient_urls[subject] = url
        if t is None:
            disposition = str(screened[subject]["disposition"])
            status = _SUBJECT_STATUS.get(disposition, "eligible")
        else:
            status = "withdrawn" if bool(t["withdrawn"]) else "off-study"
        research_subject: dict[str, Any] = {
            "status": status,
            "study": {"reference": study_url},
            "individual": {"reference": url},
        }
        if t is not None and named_arms and not is_missing(t["arm"]):
            research_subject["assignedArm"] = str(t["arm"])
            research_subject["actualArm"] = str(t["arm"])
        b.add(ResearchSubject, research_subject, protocol.name, subject)
    _assessments(b, source, patient_urls)
    _vitals(b, source, patient_urls)
    administrations = _administrations(b, source, patient_urls)
    _adverse_events(b, source, patient_urls, administrations, study_url)
    return Bundle(type="collection", entry=b.entries)


def bundle(source: InteropSource) -> dict[str, Any]:
    """The Bundle as a JSON-ready dict (what :func:`to_files` writes)."""
    result: dict[str, Any] = json.loads(build(source).model_dump_json())
    return result


def _question(instrument: Instrument, item: Item) -> dict[str, Any]:
    question: dict[str, Any] = {
        "linkId": item.key,
        "prefix": f"{item.position}.",
        "text": item.label,
        "type": _QUESTION_TYPE[item.kind],
    }
    if item.kind == "choice":
        question["answerOption"] = [{"valueString": c} for c in item.choices]
    return question


def _answer(item: Item, value: Any) -> dict[str, Any]:
    if item.kind == "yes_no":
        return {"valueBoolean": bool(value)}
    if item.kind == "choice":
        return {"valueString": str(value)}
    number = _number(value)
    if item.kind == "months":
        return {"valueDecimal": number}
    return {"valueInteger": int(number)}


def _assessments(b: _Bundle, source: InteropSource, patients: Mapping[str, str]) -> None:
    """Questionnaire per instrument, and per assessment its QuestionnaireResponse and the
    Observation of its scores."""
    questionnaires: dict[str, str] = {}
    for a in source.assessments.to_dict("records"):
        instrument = REGISTRY.get(str(a["instrument"]))
        subject = str(a["subject"])
        if instrument is None or subject not in patients:
            continue
        canonical = f"{QUESTIONNAIRE_BASE}/{instrument.id}"
        if instrument.id not in questionnaires:
            questionnaires[instrument.id] = b.add(
                Questionnaire,
                {
                    "url": canonical,
                    "version": instrument.version,
                    "title": instrument.name,
                    "status": "active",
                    "subjectType": ["Patient"],
                    "code": [{"system": CODE_SYSTEM, "code": instrument.id}],
                    "item": [_question(instrument, it) for it in instrument.items],
                },
                instrument.id,
            )
        date = iso_date(a["date"])
        answered = [
            (instrument.item(key), value)
            for key, value in (a["items"] or {}).items()
            if not is_missing(value) and key in {i.key for i in instrument.items}
        ]
        response: dict[str, Any] = {
            "questionnaire": canonical,
            "status": "completed",
            "subject": {"reference": patients[subject]},
        }
        if date:
            response["authored"] = date
        if answered:
            response["item"] = [
                {"linkId": item.key, "answer": [_answer(item, value)]} for item, value in answered
            ]
        response_url = b.add(QuestionnaireResponse, response, subject, a["time"], instrument.id)
        components = [
            {
                "code": _coding(CODE_SYSTEM, f"{instrument.id}.item_{item.key}", item.label),
                **_value_element(value),
            }
            for item, value in answered
        ]
        for sub, value in (a["subscales"] or {}).items():
            components.append(
                {"code": _coding(CODE_SYSTEM, f"{instrument.id}.{sub}"), **_value_element(value)}
            )
        code = _coding(CODE_SYSTEM, instrument.id, instrument.name)
        code["text"] = f"{instrument.name} ({a['time']})"
        observation: dict[str, Any] = {
            "status": "final",
            "category": [_coding(_CATEGORY, "survey")],
            "code": code,
            "subject": {"reference": patients[subject]},
            "derivedFrom": [{"reference": response_url}],
        }
        if date:
            observation["effectiveDateTime"] = date
        if not is_missing(a["total"]) and instrument.total_range is not None:
            observation.update(_value_element(a["total"]))
        if components:
            observation["component"] = components
        b.add(Observation, observation, subject, a["time"], instrument.id)


def _infusion_dates(source: InteropSource) -> dict[tuple[str, int], str]:
    return {
        (str(r.subject), int(r.infusion)): iso_date(r.date)
        for r in source.infusions.itertuples(index=False)
    }


def _vitals(b: _Bundle, source: InteropSource, patients: Mapping[str, str]) -> None:
    dates = _infusion_dates(source)
    category = [_coding(_CATEGORY, "vital-signs")]
    for v in source.extract.frames["vitals"].to_dict("records"):
        subject, k, minute = str(v["subject"]), int(v["infusion"]), int(v["minute"])
        if subject not in patients:
            continue
        for column, code, display, ucum, unit in _VITALS:
            if is_missing(v[column]):
                continue
            obs: dict[str, Any] = {
                "status": "final",
                "category": category,
                "code": _coding(LOINC, code, display),
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
            b.add(Observation, obs, subject, k, minute, code)


def _administrations(
    b: _Bundle, source: InteropSource, patients: Mapping[str, str]
) -> dict[tuple[str, int], str]:
    """One MedicationAdministration per infusion; returns (subject, infusion) → its full URL."""
    dates = _infusion_dates(source)
    urls: dict[tuple[str, int], str] = {}
    for row in source.extract.frames["subjects"].to_dict("records"):
        subject = str(row["subject"])
        if subject not in patients:
            continue
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
            urls[(subject, k)] = b.add(
                MedicationAdministration,
                {
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
    return urls


def _adverse_events(
    b: _Bundle,
    source: InteropSource,
    patients: Mapping[str, str],
    administrations: Mapping[tuple[str, int], str],
    study_url: str,
) -> None:
    for n, e in enumerate(source.extract.frames["adverse_events"].to_dict("records"), start=1):
        subject = str(e["subject"])
        if subject not in patients:
            continue
        event: dict[str, Any] = {
            "actuality": "actual",
            "event": {"text": str(e["term"])},
            "subject": {"reference": patients[subject]},
            "study": [{"reference": study_url}],
        }
        date = iso_date(e["onset_date"])
        if date:
            event["date"] = date
        severity = "" if is_missing(e["severity"]) else str(e["severity"]).lower()
        if severity in _SEVERITIES:
            event["severity"] = _coding(_AE_SEVERITY, severity, severity.title())
        elif severity:
            event["severity"] = {"text": severity}
        if not is_missing(e["serious"]):
            serious = "serious" if bool(e["serious"]) else "non-serious"
            event["seriousness"] = _coding(_AE_SERIOUSNESS, serious, serious.title())
        if not is_missing(e["outcome"]):
            event["outcome"] = {"text": str(e["outcome"])}
        infusion = None if is_missing(e["infusion"]) else int(e["infusion"])
        suspect = administrations.get((subject, infusion)) if infusion is not None else None
        if suspect is not None:
            entity: dict[str, Any] = {"instance": {"reference": suspect}}
            if not is_missing(e["related"]):
                related = "related" if bool(e["related"]) else "not related"
                entity["causality"] = [{"assessment": {"text": related}}]
            event["suspectEntity"] = [entity]
        b.add(AdverseEvent, event, subject, "ae", n)


def validate_bundle(document: Mapping[str, Any]) -> list[str]:
    """What is wrong with a Bundle document (empty when nothing): every resource parsed by its
    R4B model, full URLs unique, ``urn:uuid`` references resolving inside the Bundle."""
    if document.get("resourceType") != "Bundle":
        return ["resourceType: not a Bundle"]
    problems: list[str] = []
    entries = document.get("entry", [])
    urls = [e.get("fullUrl") for e in entries]
    if len(set(urls)) != len(urls):
        problems.append("Bundle.entry.fullUrl: not unique")
    known = set(urls)
    for n, entry in enumerate(entries):
        resource = entry.get("resource") or {}
        where = f"entry[{n}] {resource.get('resourceType')}"
        if not resource.get("id"):
            problems.append(f"{where}.id: missing")
        for ref in _references(resource):
            if ref.startswith("urn:uuid:") and ref not in known:
                problems.append(f"{where}: reference {ref} does not resolve in the Bundle")
    try:
        Bundle.model_validate(dict(document))
    except ValidationError as exc:
        problems += [_r4b_problem(error, entries) for error in exc.errors()]
    return problems


def _r4b_problem(error: Any, entries: list[Any]) -> str:
    """``entry[3] ResearchSubject.status: <message>`` from a pydantic error location."""
    loc = [str(p) for p in error["loc"]]
    if len(loc) >= 3 and loc[0] == "entry" and loc[2] == "resource" and loc[1].isdigit():
        n = int(loc[1])
        kind = (entries[n].get("resource") or {}).get("resourceType")
        path = "".join(f".{p}" for p in loc[3:] if not p.isdigit() and p != kind)
        return f"entry[{n}] {kind}{path}: {error['msg']} (R4B)"
    return f"Bundle.{'.'.join(loc)}: {error['msg']} (R4B)"


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
    """``bundle.json``: every resource built (and so checked) as an R4B model."""
    model = build(source)
    content = model.model_dump_json().encode("utf-8")
    return [ExportFile("bundle.json", content, len(model.entry or ()), "application/fhir+json")]
