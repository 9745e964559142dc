"""REDCap: data dictionary, events, form–event mapping and flat records (SYSTEM.md §11).

Generated from the instrument registry (items, ranges, choices — PROTOCOL.md §7) and the
protocol (which instrument at which time point — §5), so a site can stand up a REDCap project
that matches this protocol and import the record into it:

- ``data_dictionary.csv``: REDCap's 18 data-dictionary columns (REDCap Data Dictionary format,
  "Variable / Field Name" … "Field Annotation"). One form per instrument named by its registry id
  (``caps5_past_week``), plus a ``subject`` form (record id, site, Table 1 variables and — only
  when the extract names arms — the arm). Field names are ``<form>_<item key>`` (lower case,
  a–z/0–9/_ as REDCap requires). Ratings are integer text fields with Text Validation Min/Max
  set to the item's range (REDCap then refuses an out-of-range entry, as the instruments do);
  yes/no items are ``yesno``; choice items (PRISE) are ``radio`` with codes 0..n-1 in the
  registry's order; CAPS-5 onset/duration are number fields in months. Totals and subscales are
  read-only number fields (``@READONLY``) holding the registry's scores, not REDCap ``calc``
  fields: the scoring rules (missing items, means) live in one place, the registry.
  C-SSRS items 3–5 carry branching logic "asked only if item 2 is yes" (§7).
- ``events.csv`` / ``instrument_event_mapping.csv``: one event per protocol time point
  (``screening``, ``infusion_1`` …, ``baseline``, ``h24``, ``week1``, ``week2``, the follow-up
  visits) on arm 1, and which form is filled at which event.
- ``records.csv``: REDCap's flat (one row per record and event) import format: ``record_id``,
  ``redcap_event_name`` (``<event>_arm_1``), the fields, ``<form>_complete`` = 2.

Simplified: infusion-day forms (CADSS, BPRS, YMRS item 1, PRISE at minutes 0/40/120) are in the
dictionary and mapped to the infusion events, but their records are not exported (the analysis
extract holds their totals only and three ratings a day would need REDCap repeating instances);
no survey settings; one REDCap arm (the allocation is not a REDCap arm, so the blind holds).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from ketamine_ptsd.core.instruments import REGISTRY, Instrument, Item
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.services.exports import ExportFile
from ketamine_ptsd.services.interop_exports import InteropSource

from ._common import csv_file, is_missing

__all__ = [
    "DICTIONARY_COLUMNS",
    "data_dictionary",
    "event_name",
    "events",
    "field_name",
    "instrument_event_mapping",
    "protocol_instruments",
    "records",
    "to_files",
]

DICTIONARY_COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
SUBJECT_FORM = "subject"
ARM_SUFFIX = "_arm_1"
_SEX_CODES = {"female": 1, "male": 2}
_NAME = re.compile(r"[^a-z0-9_]+")


def field_name(form: str, key: str) -> str:
    """REDCap variable name of ``key`` on ``form``: lower case, a–z 0–9 _ only."""
    return _NAME.sub("_", f"{form}_{key}".lower()).strip("_")


def event_name(time_point: str) -> str:
    """Event name of a time point ("follow-up week 1" → ``follow_up_week_1``)."""
    return _NAME.sub("_", time_point.lower()).strip("_")


def protocol_instruments(protocol: Protocol) -> dict[str, list[str]]:
    """Instrument id → the events (time points) it is given at, in protocol order."""
    out: dict[str, list[str]] = {"caps5_past_month": ["screening"]}
    infusion_events = [f"infusion_{k}" for k in range(1, protocol.schedule.infusion_count + 1)]
    for rating in protocol.monitoring.ratings:
        for instrument in rating.instruments:
            out.setdefault(instrument, [])
            for e in infusion_events:
                if e not in out[instrument]:
                    out[instrument].append(e)
    for point in protocol.assessments:
        for instrument in point.instruments:
            out.setdefault(instrument, []).append(event_name(point.name))
    for instrument in protocol.follow_up.instruments:
        out.setdefault(instrument, []).extend(_follow_up_events(protocol))
    return {k: v for k, v in out.items() if k in REGISTRY}


def _follow_up_events(protocol: Protocol) -> list[str]:
    f = protocol.follow_up
    weeks = [f"follow_up_week_{w}" for w in range(1, f.weekly_until_week + 1)]
    first_month = f.weekly_until_week // 4 + 1
    months = [f"follow_up_month_{m}" for m in range(first_month, f.monthly_until_month + 1)]
    return weeks + months


def events(protocol: Protocol, extra: Iterable[str] = ()) -> pd.DataFrame:
    """REDCap events (``event_name``, ``arm_num``, ``unique_event_name``), protocol order."""
    names = ["screening"] + [
        f"infusion_{k}" for k in range(1, protocol.schedule.infusion_count + 1)
    ]
    names += [event_name(a.name) for a in protocol.assessments] + _follow_up_events(protocol)
    names += [e for e in extra if e not in names]
    return pd.DataFrame(
        {
            "event_name": names,
            "arm_num": 1,
            "unique_event_name": [f"{n}{ARM_SUFFIX}" for n in names],
        }
    )


def instrument_event_mapping(protocol: Protocol) -> pd.DataFrame:
    rows = [{"arm_num": 1, "unique_event_name": f"screening{ARM_SUFFIX}", "form": SUBJECT_FORM}]
    for instrument, evts in protocol_instruments(protocol).items():
        rows += [
            {"arm_num": 1, "unique_event_name": f"{e}{ARM_SUFFIX}", "form": instrument}
            for e in evts
        ]
    return pd.DataFrame(rows, columns=["arm_num", "unique_event_name", "form"])


def _row(name: str, form: str, ftype: str, label: str, **extra: str) -> dict[str, str]:
    row = dict.fromkeys(DICTIONARY_COLUMNS, "")
    row.update(
        {
            "Variable / Field Name": name,
            "Form Name": form,
            "Field Type": ftype,
            "Field Label": label,
        }
    )
    keys = {
        "choices": "Choices, Calculations, OR Slider Labels",
        "validation": "Text Validation Type OR Show Slider Number",
        "minimum": "Text Validation Min",
        "maximum": "Text Validation Max",
        "identifier": "Identifier?",
        "branching": "Branching Logic (Show field only if...)",
        "required": "Required Field?",
        "annotation": "Field Annotation",
        "note": "Field Note",
        "header": "Section Header",
    }
    for key, value in extra.items():
        row[keys[key]] = value
    return row


def _item_row(instrument: Instrument, item: Item, required: bool) -> dict[str, str]:
    name = field_name(instrument.id, item.key)
    label = f"{item.position}. {item.label}"
    req = "y" if required else ""
    if item.kind == "rating":
        anchors = "; ".join(f"{k} = {v}" for k, v in sorted(item.anchors.items()))
        return _row(
            name,
            instrument.id,
            "text",
            label,
            validation="integer",
            minimum=str(item.minimum),
            maximum=str(item.maximum),
            required=req,
            note=anchors,
        )
    if item.kind == "yes_no":
        branching = ""
        if instrument.id == "cssrs" and item.key in ("3", "4", "5"):
            branching = f"[{field_name('cssrs', '2')}] = '1'"  # PROTOCOL.md §7
        return _row(name, instrument.id, "yesno", label, required=req, branching=branching)
    if item.kind == "choice":
        choices = " | ".join(f"{i}, {c}" for i, c in enumerate(item.choices))
        return _row(name, instrument.id, "radio", label, choices=choices, required=req)
    return _row(
        name,
        instrument.id,
        "text",
        f"{label} (months)",
        validation="number",
        minimum=str(item.minimum),
        maximum=str(item.maximum),
        required=req,
    )


def _score_rows(instrument: Instrument) -> list[dict[str, str]]:
    rows = []
    if instrument.total_range is not None:
        low, high = instrument.total_range
        rows.append(
            _row(
                field_name(instrument.id, "total"),
                instrument.id,
                "text",
                f"{instrument.name} total (scored by ketamine-ptsd)",
                validation="number",
                minimum=f"{low:g}",
                maximum=f"{high:g}",
                annotation="@READONLY",
            )
        )
    for sub, (low, high) in instrument.subscale_ranges.items():
        rows.append(
            _row(
                field_name(instrument.id, sub),
                instrument.id,
                "text",
                f"{instrument.name} {sub.replace('_', ' ')} (scored by ketamine-ptsd)",
                validation="number",
                minimum=f"{low:g}",
                maximum=f"{high:g}",
                annotation="@READONLY",
            )
        )
    return rows


def data_dictionary(protocol: Protocol, arms: tuple[str, ...] = ()) -> pd.DataFrame:
    """The data dictionary; ``arms`` (only from a sanctioned extract) adds the arm field."""
    rows = [
        _row("record_id", SUBJECT_FORM, "text", "Study id (pseudonymous)", required="y"),
        _row("site", SUBJECT_FORM, "text", "Site"),
        _row(
            "age_years",
            SUBJECT_FORM,
            "text",
            "Age (years)",
            validation="integer",
            minimum="18",
            maximum="120",
        ),
        _row("sex", SUBJECT_FORM, "radio", "Sex", choices="1, female | 2, male"),
        _row("race", SUBJECT_FORM, "text", "Race"),
        _row("hispanic", SUBJECT_FORM, "yesno", "Hispanic or Latino"),
        _row(
            "bmi_kg_m2",
            SUBJECT_FORM,
            "text",
            "BMI (kg/m2)",
            validation="number",
            minimum="10",
            maximum="80",
        ),
        _row(
            "ptsd_duration_years",
            SUBJECT_FORM,
            "text",
            "PTSD duration (years)",
            validation="number",
            minimum="0",
            maximum="100",
        ),
    ]
    if arms:
        choices = " | ".join(f"{i}, {arm}" for i, arm in enumerate(arms, start=1))
        rows.append(_row("arm", SUBJECT_FORM, "radio", "Arm (sanctioned export)", choices=choices))
    for instrument_id in protocol_instruments(protocol):
        instrument = REGISTRY[instrument_id]
        required_keys = set(instrument.command_line_keys)
        if instrument.id == "cssrs":
            required_keys = {"1", "2", "6"}
        item_rows = [_item_row(instrument, it, it.key in required_keys) for it in instrument.items]
        item_rows[0]["Section Header"] = f"{instrument.name} ({instrument.recall_period})"
        rows += item_rows + _score_rows(instrument)
    return pd.DataFrame(rows, columns=list(DICTIONARY_COLUMNS))


def _redcap_value(item: Item, value: Any) -> Any:
    if item.kind == "yes_no":
        return 1 if bool(value) else 0
    if item.kind == "choice":
        return item.choices.index(str(value)) if str(value) in item.choices else None
    return value


def records(source: InteropSource) -> pd.DataFrame:
    """Flat REDCap records: one row per (record, event) with data."""
    protocol = source.protocol
    frames = source.extract.frames
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def row(subject: str, event: str) -> dict[str, Any]:
        return rows.setdefault(
            (subject, event),
            {"record_id": subject, "redcap_event_name": f"{event}{ARM_SUFFIX}"},
        )

    sites = {str(r.subject): r.site for r in source.patients.itertuples(index=False)}
    screened = {str(r["subject"]): r for r in frames["screening"].to_dict("records")}
    treated = {str(r["subject"]): r for r in frames["subjects"].to_dict("records")}
    arm_codes = {arm: i for i, arm in enumerate(source.extract.arms, start=1)}
    for subject in sorted(set(screened) | set(treated)):
        r = row(subject, "screening")
        r["site"] = sites.get(subject)
        t = treated.get(subject)
        if t is not None:
            r["age_years"] = t["age_years"]
            r["sex"] = _SEX_CODES.get(str(t["sex"]).lower())
            r["race"] = t["race"]
            r["hispanic"] = None if is_missing(t["hispanic"]) else int(bool(t["hispanic"]))
            r["bmi_kg_m2"] = t["bmi_kg_m2"]
            r["ptsd_duration_years"] = t["ptsd_duration_years"]
            if arm_codes and not is_missing(t["arm"]):
                r["arm"] = arm_codes.get(t["arm"])
        r[f"{SUBJECT_FORM}_complete"] = 2
    extra_events: list[str] = []
    for a in source.assessments.to_dict("records"):
        instrument = REGISTRY.get(str(a["instrument"]))
        if instrument is None:
            continue
        event = event_name(str(a["time"]))
        if event not in extra_events:
            extra_events.append(event)
        r = row(str(a["subject"]), event)
        for key, value in (a["items"] or {}).items():
            if key in {i.key for i in instrument.items} and not is_missing(value):
                r[field_name(instrument.id, key)] = _redcap_value(instrument.item(key), value)
        if not is_missing(a["total"]) and instrument.total_range is not None:
            r[field_name(instrument.id, "total")] = a["total"]
        for sub, value in (a["subscales"] or {}).items():
            if sub in instrument.subscale_ranges:
                r[field_name(instrument.id, sub)] = value
        r[f"{instrument.id}_complete"] = 2
    dictionary = data_dictionary(protocol, source.extract.arms)
    fields = list(dictionary["Variable / Field Name"])
    forms = list(dict.fromkeys(dictionary["Form Name"]))
    columns = ["record_id", "redcap_event_name"] + fields[1:] + [f"{f}_complete" for f in forms]
    order = {e: i for i, e in enumerate(events(protocol, extra_events)["unique_event_name"])}
    ordered = sorted(rows.values(), key=lambda r: (r["record_id"], order[r["redcap_event_name"]]))
    frame = pd.DataFrame(ordered)
    return frame.reindex(columns=[c for c in columns if c in frame.columns or c in fields])


def to_files(source: InteropSource) -> list[ExportFile]:
    protocol = source.protocol
    extra = [event_name(str(t)) for t in dict.fromkeys(source.assessments["time"])]
    return [
        csv_file(
            "data_dictionary.csv",
            data_dictionary(protocol, source.extract.arms),
            action_tag_columns=("Field Annotation",),
        ),
        csv_file("events.csv", events(protocol, extra)),
        csv_file("instrument_event_mapping.csv", instrument_event_mapping(protocol)),
        csv_file("records.csv", records(source)),
    ]
