"""CDISC ODM 1.3.2: the protocol's forms as metadata and the record as clinical data, both ways.

``to_files(source)`` writes ``odm.xml``:

- ``MetaDataVersion``: one ``StudyEventDef`` per visit of the protocol — screening, enrolment
  (demographics, treatment, disposition and the durability outcome of §8), each assessment time
  point of the plan (PROTOCOL.md §5) with one form per instrument it schedules, the infusion days
  (repeating: vitals, in-infusion ratings, side effects, interventions; §6), the responders'
  follow-up (repeating, §5/§8) and adverse events — with ``FormDef``, ``ItemGroupDef`` (repeating
  where a form holds several rows), ``ItemDef`` (data type, the instrument's item text as the
  question, range checks from the instrument) and ``CodeList`` (choices, dispositions, the arms
  when the export may name them).
- ``AdminData``: the users who entered assessments and the sites (``Location``).
- ``ClinicalData``: one ``SubjectData`` per screened patient, with an ``AuditRecord`` (who,
  where, when) on each assessment form the record knows the author of.

``read_odm(content, protocol)`` reads such a file back into the analysis frames
(``services/datasets.FRAME_COLUMNS``), deriving ``outcomes`` from the assessment forms by the
protocol's analysis plan as the record's extraction does; export → import gives frames equal to
the extract (a test checks it). This is an import *for analysis* (like ``import long``): it does
not create patients in the database.

The blind (PROTOCOL.md §3): the arm item and its code list are written only when the extract
carries arms (a sanction, or an open-label protocol); the study is named by the protocol's name
and version, never its title. Drugs and doses are never in the extract, so never here.
"""

from __future__ import annotations

import datetime as dt
import numbers
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import REGISTRY
from ketamine_ptsd.core.instruments import Instrument as _Instrument
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.services.datasets import FRAME_COLUMNS
from ketamine_ptsd.services.exports import ExportFile
from ketamine_ptsd.services.interop_exports import InteropSource

from ._common import is_missing, iso_date
from .adam.derive import plan_outcomes, qs_key

__all__ = ["NS", "OdmImport", "read_odm", "to_files"]

NS = "http://www.cdisc.org/ns/odm/v1.3"
_Q = f"{{{NS}}}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ET.register_namespace("", NS)

#: (frame column, item name, ODM data type) of the fixed forms; item OIDs are IT.<GROUP>.<NAME>.
_FIELDS: Mapping[str, tuple[tuple[str, str, str], ...]] = {
    "SCREENING": (
        ("screening_date", "SCRDT", "date"),
        ("disposition", "DISPOS", "text"),
        ("reason", "REASON", "text"),
        ("override", "OVERRIDE", "text"),
    ),
    "DEMOG": (
        ("age_years", "AGE", "float"),
        ("sex", "SEX", "text"),
        ("race", "RACE", "text"),
        ("hispanic", "HISPANIC", "boolean"),
        ("bmi_kg_m2", "BMI", "float"),
        ("ptsd_duration_years", "PTSDDUR", "float"),
        ("caps5_past_month", "CAPS5PM", "float"),
        ("madrs_baseline", "MADRSBL", "float"),
        ("comorbid_mdd", "MDD", "boolean"),
        ("concomitant_psychotherapy", "PSYTHER", "boolean"),
        ("stable_psychotropics", "PSYMED", "boolean"),
        ("primary_trauma", "TRAUMA", "text"),
    ),
    "TREATMENT": (
        ("arm", "ARM", "text"),
        ("allocation_date", "ALLOCDT", "date"),
        ("n_infusions", "NINF", "integer"),
        ("completed_infusions", "COMPLETE", "boolean"),
        ("withdrawn", "WITHDRAWN", "boolean"),
        ("withdrawal_reason", "WDREASON", "text"),
        ("responder_flag", "RESPONDER", "boolean"),
    ),
    "DURABILITY": (("time_days", "DAYS", "integer"), ("event", "EVENT", "integer")),
    "FOLLOWUP": (("day", "DAY", "integer"), ("caps5_total", "TOTAL", "float")),
    "VITALS": (
        ("minute", "MINUTE", "integer"),
        ("systolic_mmhg", "SYSBP", "float"),
        ("diastolic_mmhg", "DIABP", "float"),
        ("heart_rate_bpm", "HR", "float"),
        ("spo2_percent", "SPO2", "float"),
    ),
    "RATING": (
        ("minute", "MINUTE", "integer"),
        ("measure", "INSTR", "text"),
        ("value", "VALUE", "float"),
    ),
    "SIDEFX": (
        ("timing", "TIMING", "text"),
        ("symptom", "SYMPTOM", "text"),
        ("severity", "SEVERITY", "text"),
    ),
    "INTERVENTION": (
        ("minute", "MINUTE", "integer"),
        ("drug", "DRUG", "text"),
        ("dose_mg", "DOSE", "float"),
        ("route", "ROUTE", "text"),
        ("reason", "REASON", "text"),
    ),
    "AE": (
        ("term", "TERM", "text"),
        ("onset_date", "ONSETDT", "date"),
        ("infusion", "INFNUM", "integer"),
        ("severity", "SEVERITY", "text"),
        ("serious", "SERIOUS", "boolean"),
        ("related", "RELATED", "boolean"),
        ("action", "ACTION", "text"),
        ("outcome", "OUTCOME", "text"),
    ),
    "CSSRS_DERIVED": (("positive", "POSITIVE", "boolean"), ("risk_level", "RISKLVL", "text")),
}
#: Item group → the analysis frame it carries (rows per subject; infusion groups add the
#: infusion number from their study event's repeat key).
_FRAME_OF = {
    "SCREENING": "screening",
    "DURABILITY": "durability",
    "FOLLOWUP": "follow_up",
    "VITALS": "vitals",
    "RATING": "infusion_ratings",
    "SIDEFX": "side_effects",
    "INTERVENTION": "interventions",
    "AE": "adverse_events",
}
#: Forms of the fixed study events: form → its item groups (repeating?).
_FORMS: Mapping[str, tuple[tuple[str, bool], ...]] = {
    "SCREENING": (("SCREENING", False),),
    "SUBJECT": (("DEMOG", False), ("TREATMENT", False), ("DURABILITY", False)),
    "FOLLOWUP": (("FOLLOWUP", False),),
    "INFUSION": (
        ("INFUSION", False),
        ("VITALS", True),
        ("RATING", True),
        ("SIDEFX", True),
        ("INTERVENTION", True),
    ),
    "AE": (("AE", True),),
}
_INFUSION_DATE = ("date", "INFDT", "date")
_LABELS = {
    "SCREENING": "Screening",
    "ENROLMENT": "Enrolment and disposition",
    "SUBJECT": "Subject, treatment and disposition",
    "FOLLOWUP": "Responder follow-up",
    "INFUSION": "Infusion day",
    "AE": "Adverse events",
}


def _q(tag: str) -> str:
    return _Q + tag


def _translated(parent: ET.Element, tag: str, text: str) -> None:
    element = ET.SubElement(parent, _q(tag))
    translated = ET.SubElement(element, _q("TranslatedText"))
    translated.set(_XML_LANG, "en")
    translated.text = text


def _value(value: Any, data_type: str) -> str | None:
    """An item's value as ODM writes it (ISO dates, ``true``/``false``); None when missing."""
    if is_missing(value):
        return None
    if data_type == "date":
        return iso_date(value) or None
    if data_type == "boolean":
        return "true" if bool(value) else "false"
    if data_type == "integer":
        return str(int(value))
    if data_type == "float":
        # A whole number the record keeps as an integer is written as one ("44"), so that the
        # import gives back the record's own type (and a CSV of it reads the same).
        if isinstance(value, numbers.Integral):
            return str(int(value))
        return repr(float(value))
    text = str(value)
    return text if text != "" else None


def _parse(text: str, data_type: str) -> Any:
    if data_type == "date":
        return dt.date.fromisoformat(text)
    if data_type == "boolean":
        return text in ("true", "1")
    if data_type == "integer":
        return int(text)
    if data_type == "float":
        return int(text) if text.lstrip("-").isdigit() else float(text)
    return text


def _instrument_items(instrument: _Instrument) -> list[tuple[str, str, str, Any]]:
    """(item name, data type, question, item) of an instrument form: date, items, total,
    subscales."""
    rows: list[tuple[str, str, str, Any]] = [("ASSESSDT", "date", "Date assessed", None)]
    for item in instrument.items:
        kind = {"yes_no": "boolean", "choice": "text"}.get(item.kind, "integer")
        rows.append((f"I{item.position:02d}", kind, item.label, item))
    rows.append(("TOTAL", "float", f"{instrument.name} total score", None))
    for i, name in enumerate(instrument.subscale_ranges, start=1):
        rows.append((f"S{i:02d}", "float", f"{instrument.name} {name.replace('_', ' ')}", name))
    return rows


def _scheduled_instruments(protocol: Protocol) -> dict[str, tuple[str, ...]]:
    """Time point → the registered instruments it schedules (protocol order)."""
    return {a.name: tuple(i for i in a.instruments if i in REGISTRY) for a in protocol.assessments}


def _event_oid(time_point: str) -> str:
    return f"SE.{time_point.upper().replace(' ', '_').replace('-', '_')}"


def _form_oid(instrument: str) -> str:
    return f"F.{instrument.upper()}"


# --- metadata -------------------------------------------------------------------------------


def _metadata(study: ET.Element, source: InteropSource, mdv_oid: str) -> None:
    protocol = source.protocol
    mdv = ET.SubElement(
        study,
        _q("MetaDataVersion"),
        {"OID": mdv_oid, "Name": f"{protocol.name} {protocol.version}"},
    )
    events: list[tuple[str, str, bool, list[str]]] = [
        ("SE.SCREENING", "Screening", False, ["F.SCREENING"]),
        ("SE.ENROLMENT", _LABELS["ENROLMENT"], False, ["F.SUBJECT"]),
    ]
    scheduled = _scheduled_instruments(protocol)
    for a in protocol.assessments:
        events.append(
            (_event_oid(a.name), a.label, False, [_form_oid(i) for i in scheduled[a.name]])
        )
    events += [
        ("SE.INFUSION", _LABELS["INFUSION"], True, ["F.INFUSION"]),
        ("SE.FOLLOWUP", _LABELS["FOLLOWUP"], True, ["F.FOLLOWUP"]),
        ("SE.AE", _LABELS["AE"], False, ["F.AE"]),
    ]
    proto = ET.SubElement(mdv, _q("Protocol"))
    for order, (oid, _, _, _) in enumerate(events, start=1):
        ET.SubElement(
            proto,
            _q("StudyEventRef"),
            {"StudyEventOID": oid, "OrderNumber": str(order), "Mandatory": "No"},
        )
    for oid, label, repeating, forms in events:
        event = ET.SubElement(
            mdv,
            _q("StudyEventDef"),
            {
                "OID": oid,
                "Name": label,
                "Repeating": "Yes" if repeating else "No",
                "Type": "Unscheduled" if repeating else "Scheduled",
            },
        )
        for order, form in enumerate(forms, start=1):
            ET.SubElement(
                event,
                _q("FormRef"),
                {"FormOID": form, "OrderNumber": str(order), "Mandatory": "No"},
            )
    instruments = sorted({i for names in scheduled.values() for i in names})
    for form, groups in _FORMS.items():
        f = ET.SubElement(
            mdv, _q("FormDef"), {"OID": f"F.{form}", "Name": _LABELS[form], "Repeating": "No"}
        )
        for order, (group, _) in enumerate(groups, start=1):
            ET.SubElement(
                f,
                _q("ItemGroupRef"),
                {"ItemGroupOID": f"IG.{group}", "OrderNumber": str(order), "Mandatory": "No"},
            )
    for name in instruments:
        f = ET.SubElement(
            mdv,
            _q("FormDef"),
            {"OID": _form_oid(name), "Name": REGISTRY[name].name, "Repeating": "No"},
        )
        ET.SubElement(
            f,
            _q("ItemGroupRef"),
            {"ItemGroupOID": f"IG.{name.upper()}", "OrderNumber": "1", "Mandatory": "Yes"},
        )
        if name == "cssrs":
            ET.SubElement(
                f,
                _q("ItemGroupRef"),
                {"ItemGroupOID": "IG.CSSRS_DERIVED", "OrderNumber": "2", "Mandatory": "No"},
            )
    item_defs: list[ET.Element] = []
    codelists: dict[str, list[str]] = {}
    fixed = dict(_FIELDS)
    fixed["INFUSION"] = (_INFUSION_DATE,)
    repeating_groups = {g for groups in _FORMS.values() for g, r in groups if r}
    for group, fields in fixed.items():
        g = ET.SubElement(
            mdv,
            _q("ItemGroupDef"),
            {
                "OID": f"IG.{group}",
                "Name": group.replace("_", " ").title(),
                "Repeating": "Yes" if group in repeating_groups else "No",
            },
        )
        for order, (column, item, data_type) in enumerate(fields, start=1):
            if item == "ARM" and not source.extract.arms:
                continue
            oid = f"IT.{group}.{item}"
            ET.SubElement(
                g,
                _q("ItemRef"),
                {"ItemOID": oid, "OrderNumber": str(order), "Mandatory": "No"},
            )
            element = ET.Element(
                _q("ItemDef"),
                {"OID": oid, "Name": f"{group} {item}", "DataType": data_type},
            )
            _translated(element, "Question", column.replace("_", " "))
            if item == "ARM":
                codelists["CL.ARM"] = list(source.extract.arms)
                ET.SubElement(element, _q("CodeListRef"), {"CodeListOID": "CL.ARM"})
            if item == "DISPOS":
                codelists["CL.DISPOSITION"] = ["eligible", "ineligible", "declined"]
                ET.SubElement(element, _q("CodeListRef"), {"CodeListOID": "CL.DISPOSITION"})
            item_defs.append(element)
    for name in instruments:
        instrument = REGISTRY[name]
        g = ET.SubElement(
            mdv,
            _q("ItemGroupDef"),
            {"OID": f"IG.{name.upper()}", "Name": instrument.name, "Repeating": "No"},
        )
        for order, (item, data_type, question, spec) in enumerate(
            _instrument_items(instrument), start=1
        ):
            oid = f"IT.{name.upper()}.{item}"
            ET.SubElement(
                g, _q("ItemRef"), {"ItemOID": oid, "OrderNumber": str(order), "Mandatory": "No"}
            )
            element = ET.Element(
                _q("ItemDef"),
                {"OID": oid, "Name": f"{instrument.name} {item}", "DataType": data_type},
            )
            _translated(element, "Question", question)
            if spec is not None and not isinstance(spec, str):
                if spec.choices:
                    cl = f"CL.{name.upper()}.{item}"
                    codelists[cl] = list(spec.choices)
                    ET.SubElement(element, _q("CodeListRef"), {"CodeListOID": cl})
                elif data_type == "integer":
                    for comparator, bound in (("GE", spec.minimum), ("LE", spec.maximum)):
                        check = ET.SubElement(
                            element,
                            _q("RangeCheck"),
                            {"Comparator": comparator, "SoftHard": "Hard"},
                        )
                        ET.SubElement(check, _q("CheckValue")).text = str(bound)
            item_defs.append(element)
    for element in item_defs:
        mdv.append(element)
    for oid, values in codelists.items():
        code_list = ET.SubElement(
            mdv, _q("CodeList"), {"OID": oid, "Name": oid.removeprefix("CL."), "DataType": "text"}
        )
        for order, value in enumerate(values, start=1):
            ET.SubElement(
                code_list,
                _q("EnumeratedItem"),
                {"CodedValue": str(value), "OrderNumber": str(order)},
            )


# --- clinical data --------------------------------------------------------------------------


def _group(parent: ET.Element, group: str, row: Mapping[str, Any], key: int | None = None) -> None:
    attrs = {"ItemGroupOID": f"IG.{group}"}
    if key is not None:
        attrs["ItemGroupRepeatKey"] = str(key)
    element = ET.SubElement(parent, _q("ItemGroupData"), attrs)
    for column, item, data_type in _FIELDS[group]:
        value = _value(row.get(column), data_type)
        if value is not None:
            ET.SubElement(
                element, _q("ItemData"), {"ItemOID": f"IT.{group}.{item}", "Value": value}
            )


@dataclass
class _Form:
    """One assessment form of one subject at one time point."""

    date: Any = None
    items: Mapping[str, Any] | None = None
    total: Any = None
    subscales: dict[str, Any] | None = None
    recorded_by: str | None = None
    recorded_at: Any = None
    derived: Mapping[str, Any] | None = None


def _assessment_forms(
    source: InteropSource, treated: set[str]
) -> dict[tuple[str, str, str], _Form]:
    """(subject, time point, instrument) → the form, from the record's detail, the outcomes
    frame where the detail is absent, and the C-SSRS interpretation of the cssrs frame."""
    protocol = source.protocol
    scheduled = _scheduled_instruments(protocol)
    forms: dict[tuple[str, str, str], _Form] = {}
    for a in source.assessments.to_dict("records"):
        subject, time, name = str(a["subject"]), str(a["time"]), str(a["instrument"])
        if subject not in treated or name not in scheduled.get(time, ()):
            continue
        forms[(subject, time, name)] = _Form(
            date=a["date"],
            items=a["items"] or {},
            total=a["total"],
            subscales=dict(a["subscales"] or {}),
            recorded_by=None if is_missing(a.get("recorded_by")) else a.get("recorded_by"),
            recorded_at=a.get("recorded_at"),
        )
    outcomes = {o.name: o for o in plan_outcomes(protocol)}
    for r in source.extract.frames["outcomes"].to_dict("records"):
        o = outcomes.get(str(r["measure"]))
        if o is None:
            continue
        form = forms.setdefault((str(r["subject"]), str(r["time"]), o.instrument), _Form())
        key = qs_key(o.measure)
        if key == "total":
            if is_missing(form.total):
                form.total = r["value"]
        else:
            form.subscales = form.subscales or {}
            form.subscales.setdefault(key, r["value"])
    for r in source.extract.frames["cssrs"].to_dict("records"):
        form = forms.setdefault((str(r["subject"]), str(r["time"]), "cssrs"), _Form())
        form.derived = {"positive": r["positive"], "risk_level": r["risk_level"]}
    return forms


def _audit(parent: ET.Element, form: _Form, users: dict[str, str], location: str) -> None:
    if not form.recorded_by or is_missing(form.recorded_at):
        return
    # ODM 1.3.2: a FormData's AuditRecord comes before its item groups.
    record = ET.Element(_q("AuditRecord"), {"EditPoint": "DataEntry"})
    parent.insert(0, record)
    ET.SubElement(record, _q("UserRef"), {"UserOID": users[str(form.recorded_by)]})
    ET.SubElement(record, _q("LocationRef"), {"LocationOID": location})
    stamp = form.recorded_at
    if isinstance(stamp, dt.datetime) and stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    text = stamp.isoformat() if isinstance(stamp, dt.datetime) else str(stamp)
    ET.SubElement(record, _q("DateTimeStamp")).text = text


def _instrument_form(event: ET.Element, name: str, form: _Form) -> ET.Element:
    instrument = REGISTRY[name]
    element = ET.SubElement(event, _q("FormData"), {"FormOID": _form_oid(name)})
    group = ET.SubElement(element, _q("ItemGroupData"), {"ItemGroupOID": f"IG.{name.upper()}"})
    items = form.items or {}
    subscales = form.subscales or {}
    for item, data_type, _, spec in _instrument_items(instrument):
        if item == "ASSESSDT":
            value = _value(form.date, "date")
        elif item == "TOTAL":
            value = _value(form.total, "float")
        elif isinstance(spec, str):
            value = _value(subscales.get(spec), "float")
        else:
            value = _value(items.get(spec.key), data_type)
        if value is not None:
            ET.SubElement(
                group,
                _q("ItemData"),
                {"ItemOID": f"IT.{name.upper()}.{item}", "Value": value},
            )
    if form.derived is not None:
        _group(element, "CSSRS_DERIVED", form.derived)
    return element


def _rows_by_subject(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in frame.to_dict("records"):
        out.setdefault(str(r["subject"]), []).append(r)
    return out


def _clinical(
    root: ET.Element, source: InteropSource, study_oid: str, mdv_oid: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The ClinicalData; returns (username → user OID, site → location OID)."""
    frames = source.extract.frames
    protocol = source.protocol
    clinical = ET.SubElement(
        root, _q("ClinicalData"), {"StudyOID": study_oid, "MetaDataVersionOID": mdv_oid}
    )
    subjects = {str(r["subject"]): r for r in frames["subjects"].to_dict("records")}
    screening = {str(r["subject"]): r for r in frames["screening"].to_dict("records")}
    sites = {str(r["subject"]): str(r["site"] or "01") for r in source.patients.to_dict("records")}
    forms = _assessment_forms(source, set(subjects))
    users = {
        str(u): f"USR.{i}"
        for i, u in enumerate(
            sorted({str(f.recorded_by) for f in forms.values() if f.recorded_by}), start=1
        )
    }
    locations = {s: f"LOC.{i}" for i, s in enumerate(sorted(set(sites.values()) | {"01"}), start=1)}
    by_subject = {name: _rows_by_subject(frames[name]) for name in FRAME_COLUMNS}
    infusion_dates: dict[str, dict[int, Any]] = {}
    for r in source.infusions.to_dict("records"):
        infusion_dates.setdefault(str(r["subject"]), {})[int(r["infusion"])] = r["date"]
    scheduled = _scheduled_instruments(protocol)
    for subject in sorted(set(screening) | set(subjects)):
        data = ET.SubElement(clinical, _q("SubjectData"), {"SubjectKey": subject})
        location = locations[sites.get(subject, "01")]
        ET.SubElement(data, _q("SiteRef"), {"LocationOID": location})
        if subject in screening:
            event = ET.SubElement(data, _q("StudyEventData"), {"StudyEventOID": "SE.SCREENING"})
            form = ET.SubElement(event, _q("FormData"), {"FormOID": "F.SCREENING"})
            _group(form, "SCREENING", screening[subject])
        row = subjects.get(subject)
        if row is None:
            continue
        event = ET.SubElement(data, _q("StudyEventData"), {"StudyEventOID": "SE.ENROLMENT"})
        form = ET.SubElement(event, _q("FormData"), {"FormOID": "F.SUBJECT"})
        _group(form, "DEMOG", row)
        _group(form, "TREATMENT", row)
        for d in by_subject["durability"].get(subject, []):
            _group(form, "DURABILITY", d)
        for a in protocol.assessments:
            present = [
                (n, forms[(subject, a.name, n)])
                for n in scheduled[a.name]
                if (subject, a.name, n) in forms
            ]
            if not present:
                continue
            event = ET.SubElement(data, _q("StudyEventData"), {"StudyEventOID": _event_oid(a.name)})
            for name, f in present:
                element = _instrument_form(event, name, f)
                _audit(element, f, users, location)
        numbers = sorted(
            set(infusion_dates.get(subject, {}))
            | {
                int(r["infusion"])
                for name in ("vitals", "infusion_ratings", "side_effects", "interventions")
                for r in by_subject[name].get(subject, [])
            }
        )
        for k in numbers:
            event = ET.SubElement(
                data,
                _q("StudyEventData"),
                {"StudyEventOID": "SE.INFUSION", "StudyEventRepeatKey": str(k)},
            )
            form = ET.SubElement(event, _q("FormData"), {"FormOID": "F.INFUSION"})
            group = ET.SubElement(form, _q("ItemGroupData"), {"ItemGroupOID": "IG.INFUSION"})
            date = _value(infusion_dates.get(subject, {}).get(k), "date")
            if date is not None:
                ET.SubElement(
                    group, _q("ItemData"), {"ItemOID": "IT.INFUSION.INFDT", "Value": date}
                )
            for group_name, frame in (
                ("VITALS", "vitals"),
                ("RATING", "infusion_ratings"),
                ("SIDEFX", "side_effects"),
                ("INTERVENTION", "interventions"),
            ):
                rows = [r for r in by_subject[frame].get(subject, []) if int(r["infusion"]) == k]
                for i, r in enumerate(rows, start=1):
                    _group(form, group_name, r, i)
        for r in by_subject["follow_up"].get(subject, []):
            event = ET.SubElement(
                data,
                _q("StudyEventData"),
                {"StudyEventOID": "SE.FOLLOWUP", "StudyEventRepeatKey": str(int(r["day"]))},
            )
            form = ET.SubElement(event, _q("FormData"), {"FormOID": "F.FOLLOWUP"})
            _group(form, "FOLLOWUP", r)
        events = by_subject["adverse_events"].get(subject, [])
        if events:
            event = ET.SubElement(data, _q("StudyEventData"), {"StudyEventOID": "SE.AE"})
            form = ET.SubElement(event, _q("FormData"), {"FormOID": "F.AE"})
            for i, r in enumerate(events, start=1):
                _group(form, "AE", r, i)
    return users, locations


def _admin(
    root: ET.Element,
    users: Mapping[str, str],
    locations: Mapping[str, str],
    study_oid: str,
    mdv_oid: str,
) -> None:
    admin = ET.SubElement(root, _q("AdminData"), {"StudyOID": study_oid})
    for username, oid in users.items():
        user = ET.SubElement(admin, _q("User"), {"OID": oid})
        ET.SubElement(user, _q("LoginName")).text = username
    for site, oid in locations.items():
        location = ET.SubElement(admin, _q("Location"), {"OID": oid, "Name": site})
        ET.SubElement(
            location,
            _q("MetaDataVersionRef"),
            {"StudyOID": study_oid, "MetaDataVersionOID": mdv_oid, "EffectiveDate": "2000-01-01"},
        )


def odm_xml(source: InteropSource, *, created: dt.datetime | None = None) -> bytes:
    """The ODM 1.3.2 document of ``source`` (see the module docstring)."""
    protocol = source.protocol
    study_oid = f"ST.{protocol.name.upper()}"
    mdv_oid = f"MDV.{protocol.name.upper()}.{protocol.version}"
    root = ET.Element(
        _q("ODM"),
        {
            "ODMVersion": "1.3.2",
            "FileType": "Snapshot",
            "Granularity": "All",
            "FileOID": f"ODM.{protocol.name.upper()}",
            "CreationDateTime": (created or dt.datetime.now(dt.UTC))
            .replace(microsecond=0)
            .isoformat(),
            "Originator": "ketamine-ptsd",
        },
    )
    study = ET.SubElement(root, _q("Study"), {"OID": study_oid})
    gv = ET.SubElement(study, _q("GlobalVariables"))
    ET.SubElement(gv, _q("StudyName")).text = protocol.name
    ET.SubElement(
        gv, _q("StudyDescription")
    ).text = f"Protocol {protocol.name} version {protocol.version}"
    ET.SubElement(gv, _q("ProtocolName")).text = protocol.name
    _metadata(study, source, mdv_oid)
    # AdminData precedes ClinicalData in the schema: build the data first, then insert.
    scratch = ET.Element(_q("ODM"))
    users, locations = _clinical(scratch, source, study_oid, mdv_oid)
    _admin(root, users, locations, study_oid, mdv_oid)
    for element in scratch:
        root.append(element)
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def to_files(source: InteropSource) -> list[ExportFile]:
    """``odm.xml``: the study's metadata and clinical data."""
    content = odm_xml(source)
    rows = len(source.extract.frames["screening"]) + len(source.extract.frames["subjects"])
    return [ExportFile("odm.xml", content, rows, "application/xml")]


# --- import ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OdmImport:
    """The analysis frames read from an ODM file, the arms (active first) and the study name."""

    study: str
    frames: dict[str, pd.DataFrame]
    arms: tuple[str, ...]
    subjects: int


def _items(group: ET.Element, name: str) -> dict[str, Any]:
    """Frame columns → values of an item group of ``_FIELDS[name]``."""
    values = {d.get("ItemOID", ""): d.get("Value", "") for d in group.findall(_q("ItemData"))}
    row: dict[str, Any] = {}
    for column, item, data_type in _FIELDS[name]:
        oid = f"IT.{name}.{item}"
        text = values.get(oid)
        try:
            row[column] = None if text is None else _parse(text, data_type)
        except ValueError:
            raise InvalidInput(oid, f"{text!r} is not a valid {data_type}", text) from None
    return row


def _children(element: ET.Element, tag: str, attr: str, value: str) -> Iterable[ET.Element]:
    return (c for c in element.findall(_q(tag)) if c.get(attr) == value)


def read_odm(content: bytes, protocol: Protocol) -> OdmImport:
    """The analysis frames of an ODM 1.3.2 file this module wrote (see the module docstring).

    Refused with the field named: not XML, not ODM 1.3.2, or a study other than ``protocol``.
    """
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise InvalidInput("file", f"not XML ({exc})", None) from exc
    if root.tag != _q("ODM") or root.get("ODMVersion") != "1.3.2":
        raise InvalidInput("ODMVersion", "an ODM 1.3.2 file is expected", root.get("ODMVersion"))
    study = root.find(f"{_Q}Study/{_Q}GlobalVariables/{_Q}StudyName")
    name = study.text if study is not None and study.text else ""
    if name != protocol.name:
        raise InvalidInput(
            "StudyName", f"the file is of study {name!r}, not {protocol.name!r}", name
        )
    arms = tuple(
        e.get("CodedValue", "")
        for e in root.iterfind(f".//{_Q}CodeList[@OID='CL.ARM']/{_Q}EnumeratedItem")
    )
    outcomes = plan_outcomes(protocol)
    scheduled = _scheduled_instruments(protocol)
    rows: dict[str, list[dict[str, Any]]] = {n: [] for n in FRAME_COLUMNS}
    n_subjects = 0
    for clinical in root.findall(_q("ClinicalData")):
        for data in clinical.findall(_q("SubjectData")):
            n_subjects += 1
            subject = data.get("SubjectKey", "")
            events = data.findall(_q("StudyEventData"))
            arm: str | None = None
            demog: dict[str, Any] = {}
            for event in events:
                if event.get("StudyEventOID") == "SE.ENROLMENT":
                    for g in event.iter(_q("ItemGroupData")):
                        if g.get("ItemGroupOID") == "IG.TREATMENT":
                            arm = _items(g, "TREATMENT")["arm"]
            base = {"subject": subject, "arm": arm}
            for event in events:
                oid = event.get("StudyEventOID", "")
                repeat = event.get("StudyEventRepeatKey")
                for g in event.iter(_q("ItemGroupData")):
                    group = g.get("ItemGroupOID", "").removeprefix("IG.")
                    if oid == "SE.SCREENING" and group == "SCREENING":
                        rows["screening"].append({"subject": subject, **_items(g, group)})
                    elif group == "DEMOG":
                        demog = _items(g, "DEMOG")
                    elif group == "TREATMENT":
                        rows["subjects"].append({**base, **_items(g, group), **demog})
                    elif group in ("DURABILITY", "FOLLOWUP", "AE"):
                        rows[_FRAME_OF[group]].append({**base, **_items(g, group)})
                    elif group in ("VITALS", "RATING", "SIDEFX", "INTERVENTION"):
                        infusion = int(repeat or 0)
                        rows[_FRAME_OF[group]].append(
                            {**base, "infusion": infusion, **_items(g, group)}
                        )
                time = next((t for t in scheduled if _event_oid(t) == oid), None)
                if time is None:
                    continue
                for form in event.findall(_q("FormData")):
                    instrument = form.get("FormOID", "").removeprefix("F.").lower()
                    if instrument not in REGISTRY:
                        continue
                    values = {
                        d.get("ItemOID", "").split(".")[-1]: d.get("Value", "")
                        for d in form.iter(_q("ItemData"))
                        if d.get("ItemOID", "").startswith(f"IT.{instrument.upper()}.")
                    }
                    subscales = list(REGISTRY[instrument].subscale_ranges)
                    for o in outcomes:
                        if o.instrument != instrument or time not in o.time_points:
                            continue
                        key = qs_key(o.measure)
                        item = (
                            "TOTAL"
                            if key == "total"
                            else (f"S{subscales.index(key) + 1:02d}" if key in subscales else "")
                        )
                        if values.get(item):
                            try:
                                number = float(values[item])
                            except ValueError:
                                raise InvalidInput(
                                    f"IT.{instrument.upper()}.{item}",
                                    f"{values[item]!r} is not a number",
                                    values[item],
                                ) from None
                            rows["outcomes"].append(
                                {
                                    **base,
                                    "time": time,
                                    "measure": o.name,
                                    "value": number,
                                }
                            )
                    for g in form.findall(_q("ItemGroupData")):
                        if g.get("ItemGroupOID") == "IG.CSSRS_DERIVED":
                            rows["cssrs"].append(
                                {**base, "time": time, **_items(g, "CSSRS_DERIVED")}
                            )
    frames = {
        n: pd.DataFrame(rows[n], columns=list(columns)) for n, columns in FRAME_COLUMNS.items()
    }
    return OdmImport(name, frames, arms, n_subjects)
