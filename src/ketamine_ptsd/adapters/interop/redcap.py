"""REDCap: data dictionary, events, form–event mapping, repeating instruments and flat records
(SYSTEM.md §11), and the way back (``redcap_import``).

Generated from the instrument registry (items, ranges, choices — PROTOCOL.md §7) and the
protocol (which instrument at which time point — §5), so a site can stand up a REDCap project
that matches this protocol and import the record into it:

- ``data_dictionary.csv``: REDCap's 18 data-dictionary columns (REDCap Data Dictionary format,
  "Variable / Field Name" … "Field Annotation"). One form per instrument named by its registry id
  (``caps5_past_week``), a ``subject`` form (record id, site, Table 1 variables and — only
  when the extract names arms — the arm) and the forms of the analysis frames (``FIXED_FORMS``:
  ``screening``; ``treatment``, ``durability``, ``follow_up``, ``adverse_event`` at enrolment;
  ``vitals``, ``infusion_rating``, ``side_effect``, ``intervention`` on infusion days). Field
  names are ``<form>_<item key>`` for instruments (lower case, a–z/0–9/_ as REDCap requires).
  Ratings are integer text fields with Text Validation Min/Max set to the item's range (REDCap
  then refuses an out-of-range entry, as the instruments do); yes/no items are ``yesno``;
  choice items (PRISE) are ``radio`` with codes 0..n-1 in the registry's order; CAPS-5
  onset/duration are number fields in months; dates are ``date_ymd``. Totals and subscales are
  read-only number fields (``@READONLY``) holding the registry's scores, not REDCap ``calc``
  fields: the scoring rules (missing items, means) live in one place, the registry. Branching
  logic where the protocol has conditional items: C-SSRS items 3–5 "asked only if item 2 is yes"
  and "6_recent" only if item 6 is yes (§7); the screen-failure reason only for a screen failure,
  the withdrawal reason only when withdrawn.
- ``events.csv`` / ``instrument_event_mapping.csv``: one event per protocol time point
  (``screening``, ``enrolment``, ``infusion_1`` …, ``baseline``, ``h24``, ``week1``, ``week2``,
  the follow-up visits) on arm 1, and which form is filled at which event.
- ``repeating_instruments.csv``: the forms that repeat within an event, in the columns of
  REDCap's "repeating instruments and events" export (``event_name``, ``form_name``,
  ``custom_form_label``): vitals, ratings, side effects and interventions on each infusion day,
  follow-up visits and adverse events at enrolment.
- ``records.csv``: REDCap's flat import format (one row per record and event, and one per
  instance of a repeating form): ``record_id``, ``redcap_event_name`` (``<event>_arm_1``),
  ``redcap_repeat_instrument`` and ``redcap_repeat_instance`` (blank on a non-repeating row),
  the fields in dictionary order with ``<form>_complete`` = 2 after each form's fields, as
  REDCap's own export lays them out. Integers are written as integers (REDCap's integer
  validation refuses "6.0"), yes/no as 1/0, dates as YYYY-MM-DD.

Setting up a REDCap project from these files (docs/interop.md): upload the data dictionary
(Project Setup → Data Dictionary), enable the longitudinal module and define the events
(``events.csv``; Define My Events accepts it as a CSV upload), designate instruments for events
(``instrument_event_mapping.csv``), enable "Repeatable instruments and events" and tick the forms
of ``repeating_instruments.csv`` on their events, then import ``records.csv`` with the Data
Import Tool. Spreadsheet safety: a text cell that a spreadsheet would run as a formula is written
with a leading ``'`` (services/spreadsheet.py); a text that itself begins with ``'`` followed by
such a start gets one more, so ``redcap_import`` can take exactly one off where the exporter
added it. REDCap itself keeps the apostrophe as part of the value.

Not exported as records: the infusion-day instruments' item answers (CADSS, BPRS, YMRS item 1,
PRISE: in the dictionary and mapped to the infusion events; the extract holds their totals,
written in ``infusion_rating``); one REDCap arm (the allocation is not a REDCap arm, so the
blind holds).
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ketamine_ptsd.core.instruments import REGISTRY, Instrument, Item
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.services.exports import ExportFile
from ketamine_ptsd.services.interop_exports import InteropSource
from ketamine_ptsd.services.spreadsheet import safe_cell

from ._common import csv_file, is_missing, iso_date
from .adam.derive import plan_outcomes, qs_key

__all__ = [
    "ARM_SUFFIX",
    "CSSRS_FIELDS",
    "DICTIONARY_COLUMNS",
    "ENROLMENT_EVENT",
    "FIXED_FORMS",
    "REPEAT_COLUMNS",
    "SUBJECT_FIELDS",
    "FixedField",
    "FixedForm",
    "data_dictionary",
    "event_name",
    "events",
    "field_name",
    "follow_up_events",
    "instrument_event_mapping",
    "mark",
    "protocol_instruments",
    "records",
    "repeating_instruments",
    "to_files",
    "unmark",
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
#: The columns of REDCap's flat record format that say which instance of a repeating form a
#: row holds (both blank on a non-repeating row).
REPEAT_COLUMNS = ("redcap_repeat_instrument", "redcap_repeat_instance")
SUBJECT_FORM = "subject"
CSSRS_FORM = "cssrs"
ENROLMENT_EVENT = "enrolment"
ARM_SUFFIX = "_arm_1"
_NAME = re.compile(r"[^a-z0-9_]+")


@dataclass(frozen=True)
class FixedField:
    """A field of a form that carries an analysis frame's column (``column``) as ``name``.

    ``kind``: ``text``, ``integer``, ``number``, ``date`` (``date_ymd``), ``yesno`` or ``radio``
    (``choices`` coded 1..n)."""

    column: str
    name: str
    kind: str
    label: str
    choices: tuple[str, ...] = ()
    branching: str = ""
    minimum: str = ""
    maximum: str = ""


@dataclass(frozen=True)
class FixedForm:
    """A form of the analysis frames: ``event`` is ``screening``, ``enrolment`` or
    ``infusion`` (every infusion day); ``repeating`` forms hold one instance per frame row."""

    name: str
    frame: str
    event: str
    repeating: bool
    label: str
    fields: tuple[FixedField, ...]


F = FixedField
#: The ``subject`` form's Table 1 fields (frame ``subjects``), after ``record_id`` and ``site``.
SUBJECT_FIELDS: tuple[FixedField, ...] = (
    F("age_years", "age_years", "integer", "Age (years)", minimum="18", maximum="120"),
    F("sex", "sex", "radio", "Sex", choices=("female", "male")),
    F("race", "race", "text", "Race"),
    F("hispanic", "hispanic", "yesno", "Hispanic or Latino"),
    F("bmi_kg_m2", "bmi_kg_m2", "number", "BMI (kg/m2)", minimum="10", maximum="80"),
    F("ptsd_duration_years", "ptsd_duration_years", "number", "PTSD duration (years)",
      minimum="0", maximum="100"),
    F("caps5_past_month", "screen_caps5_total", "number", "CAPS-5 (past month) total at screening",
      minimum="0", maximum="80"),
    F("madrs_baseline", "baseline_madrs_total", "number", "MADRS total at baseline",
      minimum="0", maximum="60"),
    F("comorbid_mdd", "comorbid_mdd", "yesno", "Comorbid major depressive disorder"),
    F("concomitant_psychotherapy", "concomitant_psychotherapy", "yesno",
      "Concomitant psychotherapy"),
    F("stable_psychotropics", "stable_psychotropics", "yesno", "Stable psychotropic medication"),
    F("primary_trauma", "primary_trauma", "text", "Primary trauma"),
)  # fmt: skip
#: The forms of the analysis frames beside the instruments (PROTOCOL.md §3–§8), in form order.
FIXED_FORMS: tuple[FixedForm, ...] = (
    FixedForm("screening", "screening", "screening", False, "Screening", (
        F("screening_date", "screening_date", "date", "Screening date"),
        F("disposition", "screen_disposition", "radio", "Screening outcome",
          choices=("eligible", "ineligible", "declined")),
        F("reason", "screen_reason", "text", "Reason (rule not met, or declined)",
          branching="[screen_disposition] <> '1'"),
        F("override", "screen_override", "text", "Physician's documented override"),
    )),
    FixedForm("treatment", "subjects", ENROLMENT_EVENT, False, "Treatment and disposition", (
        F("allocation_date", "allocation_date", "date", "Allocation date"),
        F("n_infusions", "n_infusions", "integer", "Infusions given", minimum="0"),
        F("completed_infusions", "completed_infusions", "yesno", "Completed the series"),
        F("withdrawn", "withdrawn", "yesno", "Withdrawn"),
        F("withdrawal_reason", "withdrawal_reason", "text", "Withdrawal reason",
          branching="[withdrawn] = '1'"),
        F("responder_flag", "responder_flag", "yesno", "Responder (protocol definition)"),
    )),
    FixedForm("durability", "durability", ENROLMENT_EVENT, False, "Durability of response", (
        F("time_days", "durability_days", "integer", "Days to loss of response or censoring",
          minimum="0"),
        F("event", "durability_event", "integer", "Loss of response (1) or censored (0)",
          minimum="0", maximum="1"),
    )),
    FixedForm("follow_up", "follow_up", ENROLMENT_EVENT, True, "Responder follow-up", (
        F("day", "follow_up_day", "integer", "Follow-up day", minimum="0"),
        F("caps5_total", "follow_up_caps5_total", "number", "CAPS-5 total",
          minimum="0", maximum="80"),
    )),
    FixedForm("adverse_event", "adverse_events", ENROLMENT_EVENT, True, "Adverse event", (
        F("term", "ae_term", "text", "Adverse event (verbatim term)"),
        F("onset_date", "ae_onset_date", "date", "Onset date"),
        F("infusion", "ae_infusion", "integer", "Infusion number", minimum="1"),
        F("severity", "ae_severity", "text", "Severity"),
        F("serious", "ae_serious", "yesno", "Serious"),
        F("related", "ae_related", "yesno", "Related to the study drug"),
        F("action", "ae_action", "text", "Action taken"),
        F("outcome", "ae_outcome", "text", "Outcome"),
    )),
    FixedForm("vitals", "vitals", "infusion", True, "Vital signs", (
        F("minute", "vitals_minute", "integer", "Minute after the start of the infusion"),
        F("systolic_mmhg", "vitals_systolic_mmhg", "number", "Systolic BP (mmHg)"),
        F("diastolic_mmhg", "vitals_diastolic_mmhg", "number", "Diastolic BP (mmHg)"),
        F("heart_rate_bpm", "vitals_heart_rate_bpm", "number", "Heart rate (/min)"),
        F("spo2_percent", "vitals_spo2_percent", "number", "SpO2 (%)"),
    )),
    FixedForm("infusion_rating", "infusion_ratings", "infusion", True, "Infusion-day rating", (
        F("minute", "rating_minute", "integer", "Minute (0, 40, 120)"),
        F("measure", "rating_measure", "text", "Instrument"),
        F("value", "rating_value", "number", "Score"),
    )),
    FixedForm("side_effect", "side_effects", "infusion", True, "Side effect", (
        F("timing", "side_effect_timing", "text", "When"),
        F("symptom", "side_effect_symptom", "text", "Symptom"),
        F("severity", "side_effect_severity", "text", "Severity"),
    )),
    FixedForm("intervention", "interventions", "infusion", True, "Intervention", (
        F("minute", "intervention_minute", "integer", "Minute after the start"),
        F("drug", "intervention_drug", "text", "Drug"),
        F("dose_mg", "intervention_dose_mg", "number", "Dose (mg)"),
        F("route", "intervention_route", "text", "Route"),
        F("reason", "intervention_reason", "text", "Reason"),
    )),
)  # fmt: skip
#: The C-SSRS interpretation (frame ``cssrs``), read-only fields on the C-SSRS form.
CSSRS_FIELDS: tuple[FixedField, ...] = (
    F("positive", "cssrs_positive", "yesno", "C-SSRS positive (scored by ketamine-ptsd)"),
    F("risk_level", "cssrs_risk_level", "text", "C-SSRS risk level (scored by ketamine-ptsd)"),
)
_REPEAT_LABELS = {
    "vitals": "minute [vitals_minute]",
    "infusion_rating": "[rating_measure] at minute [rating_minute]",
    "side_effect": "[side_effect_symptom]",
    "intervention": "[intervention_drug] at minute [intervention_minute]",
    "follow_up": "day [follow_up_day]",
    "adverse_event": "[ae_term]",
}
del F


def field_name(form: str, key: str) -> str:
    """REDCap variable name of ``key`` on ``form``: lower case, a–z 0–9 _ only."""
    return _NAME.sub("_", f"{form}_{key}".lower()).strip("_")


def event_name(time_point: str) -> str:
    """Event name of a time point ("follow-up week 1" → ``follow_up_week_1``)."""
    return _NAME.sub("_", time_point.lower()).strip("_")


def mark(value: str) -> str:
    """``value`` as the records file writes it: a text a spreadsheet would run as a formula gets a
    leading ``'`` (services/spreadsheet.py), and so does a text that already begins with ``'``
    followed by such a start — so that :func:`unmark` takes off exactly what was added."""
    bare = value.lstrip("'")
    return "'" + value if safe_cell(bare) != bare else value


def unmark(cell: str) -> str:
    """The text :func:`mark` was given (the inverse: one ``'`` off where it added one)."""
    if cell.startswith("'"):
        rest = cell[1:]
        bare = rest.lstrip("'")
        if safe_cell(bare) != bare:
            return rest
    return cell


def protocol_instruments(protocol: Protocol) -> dict[str, list[str]]:
    """Instrument id → the events (time points) it is given at, in protocol order."""
    out: dict[str, list[str]] = {"caps5_past_month": ["screening"]}
    infusion_events = _infusion_events(protocol)
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
        out.setdefault(instrument, []).extend(follow_up_events(protocol))
    return {k: v for k, v in out.items() if k in REGISTRY}


def _infusion_events(protocol: Protocol) -> list[str]:
    return [f"infusion_{k}" for k in range(1, protocol.schedule.infusion_count + 1)]


def follow_up_events(protocol: Protocol) -> list[str]:
    f = protocol.follow_up
    weeks = [f"follow_up_week_{w}" for w in range(1, f.weekly_until_week + 1)]
    first_month = f.weekly_until_week // 4 + 1
    months = [f"follow_up_month_{m}" for m in range(first_month, f.monthly_until_month + 1)]
    return weeks + months


def _fixed_events(protocol: Protocol, form: FixedForm) -> list[str]:
    return _infusion_events(protocol) if form.event == "infusion" else [form.event]


def events(protocol: Protocol, extra: Iterable[str] = ()) -> pd.DataFrame:
    """REDCap events (``event_name``, ``arm_num``, ``unique_event_name``), protocol order."""
    names = ["screening", ENROLMENT_EVENT, *_infusion_events(protocol)]
    names += [event_name(a.name) for a in protocol.assessments] + follow_up_events(protocol)
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
    for form in FIXED_FORMS:
        rows += [
            {"arm_num": 1, "unique_event_name": f"{e}{ARM_SUFFIX}", "form": form.name}
            for e in _fixed_events(protocol, form)
        ]
    for instrument, evts in protocol_instruments(protocol).items():
        rows += [
            {"arm_num": 1, "unique_event_name": f"{e}{ARM_SUFFIX}", "form": instrument}
            for e in evts
        ]
    return pd.DataFrame(rows, columns=["arm_num", "unique_event_name", "form"])


def repeating_instruments(protocol: Protocol) -> pd.DataFrame:
    """The repeating forms per event, as REDCap's "repeating instruments and events" export
    lists them (``event_name`` is the unique event name)."""
    rows = [
        {
            "event_name": f"{e}{ARM_SUFFIX}",
            "form_name": form.name,
            "custom_form_label": _REPEAT_LABELS[form.name],
        }
        for form in FIXED_FORMS
        if form.repeating
        for e in _fixed_events(protocol, form)
    ]
    return pd.DataFrame(rows, columns=["event_name", "form_name", "custom_form_label"])


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


def _choices(labels: Iterable[str]) -> str:
    return " | ".join(f"{i}, {label}" for i, label in enumerate(labels, start=1))


def _fixed_row(form: str, f: FixedField, **extra: str) -> dict[str, str]:
    bounds = {"minimum": f.minimum, "maximum": f.maximum, "branching": f.branching, **extra}
    if f.kind in ("integer", "number"):
        return _row(f.name, form, "text", f.label, validation=f.kind, **bounds)
    if f.kind == "date":
        return _row(f.name, form, "text", f.label, validation="date_ymd", **bounds)
    if f.kind in ("yesno", "text"):
        return _row(f.name, form, f.kind, f.label, **bounds)
    return _row(f.name, form, "radio", f.label, choices=_choices(f.choices), **bounds)


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
        if instrument.id == CSSRS_FORM and item.key in ("3", "4", "5"):
            branching = f"[{field_name(CSSRS_FORM, '2')}] = '1'"  # PROTOCOL.md §7
        if instrument.id == CSSRS_FORM and item.key == "6_recent":
            branching = f"[{field_name(CSSRS_FORM, '6')}] = '1'"  # the screener's skip logic
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
    if instrument.id == CSSRS_FORM:
        rows += [_fixed_row(CSSRS_FORM, f, annotation="@READONLY") for f in CSSRS_FIELDS]
    return rows


def data_dictionary(protocol: Protocol, arms: tuple[str, ...] = ()) -> pd.DataFrame:
    """The data dictionary; ``arms`` (only from a sanctioned extract) adds the arm field."""
    rows = [
        _row("record_id", SUBJECT_FORM, "text", "Study id (pseudonymous)", required="y"),
        _row("site", SUBJECT_FORM, "text", "Site"),
        *(_fixed_row(SUBJECT_FORM, f) for f in SUBJECT_FIELDS),
    ]
    if arms:
        rows.append(
            _row("arm", SUBJECT_FORM, "radio", "Arm (sanctioned export)", choices=_choices(arms))
        )
    for form in FIXED_FORMS:
        form_rows = [_fixed_row(form.name, f) for f in form.fields]
        form_rows[0]["Section Header"] = form.label
        rows += form_rows
    for instrument_id in protocol_instruments(protocol):
        instrument = REGISTRY[instrument_id]
        required_keys = set(instrument.command_line_keys)
        if instrument.id == CSSRS_FORM:
            required_keys = {"1", "2", "6"}
        item_rows = [_item_row(instrument, it, it.key in required_keys) for it in instrument.items]
        item_rows[0]["Section Header"] = f"{instrument.name} ({instrument.recall_period})"
        rows += item_rows + _score_rows(instrument)
    return pd.DataFrame(rows, columns=list(DICTIONARY_COLUMNS))


def _number_text(value: Any) -> str:
    """A number as REDCap reads it: an integer as one, anything else as Python's float text (so
    the import gives back the record's own type)."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return repr(float(value))


def _cell(f: FixedField, value: Any) -> str | None:
    """A frame value as the records file writes it in field ``f``; None when missing."""
    if is_missing(value):
        return None
    if f.kind == "integer":
        return str(int(value))
    if f.kind == "number":
        return _number_text(value)
    if f.kind == "date":
        return iso_date(value) or None
    if f.kind == "yesno":
        return "1" if bool(value) else "0"
    if f.kind == "radio":
        text = str(value)
        if text.lower() in f.choices:
            return str(f.choices.index(text.lower()) + 1)
        if f.column == "sex":
            return None  # neither female nor male: REDCap's field has no code for it
        raise ValueError(f"{f.name}: {value!r} is not one of {', '.join(f.choices)}")
    return mark(str(value))


def _item_cell(item: Item, value: Any) -> str | None:
    if item.kind == "yes_no":
        return "1" if bool(value) else "0"
    if item.kind == "choice":
        return str(item.choices.index(str(value))) if str(value) in item.choices else None
    return _number_text(value)


class _Rows:
    """The records being written, keyed by (record, event, repeating form, instance)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str, int], dict[str, Any]] = {}

    def get(self, subject: str, event: str, form: str = "", instance: int = 0) -> dict[str, Any]:
        row = self.rows.get((subject, event, form, instance))
        if row is None:
            row = {"record_id": mark(subject), "redcap_event_name": f"{event}{ARM_SUFFIX}"}
            if form:
                row["redcap_repeat_instrument"] = form
                row["redcap_repeat_instance"] = str(instance)
            self.rows[(subject, event, form, instance)] = row
        return row


def _fill(
    row: dict[str, Any], form: str, fields: Iterable[FixedField], data: Mapping[str, Any]
) -> None:
    for f in fields:
        row[f.name] = _cell(f, data.get(f.column))
    row[f"{form}_complete"] = "2"


def _fixed_records(out: _Rows, source: InteropSource, treated: set[str]) -> None:
    frames = source.extract.frames
    for form in FIXED_FORMS:
        by_subject: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in frames[form.frame].to_dict("records"):
            subject = str(r["subject"])
            if form.frame != "screening" and subject not in treated:
                continue
            event = f"infusion_{int(r['infusion'])}" if form.event == "infusion" else form.event
            by_subject.setdefault((subject, event), []).append(r)
        for (subject, event), rows in by_subject.items():
            if not form.repeating:
                if len(rows) > 1:
                    raise ValueError(f"{form.name}: {len(rows)} rows for {subject} at {event}")
                _fill(out.get(subject, event), form.name, form.fields, rows[0])
                continue
            for instance, r in enumerate(rows, start=1):
                _fill(out.get(subject, event, form.name, instance), form.name, form.fields, r)


def _assessment_records(out: _Rows, source: InteropSource, fields: set[str]) -> list[str]:
    """The instrument forms (item answers, totals, subscales), the analysed scores of the
    extract where the record's detail lacks them, and the C-SSRS interpretation; returns the
    events met beyond the protocol's."""
    extra_events: list[str] = []
    for a in source.assessments.to_dict("records"):
        instrument = REGISTRY.get(str(a["instrument"]))
        if instrument is None:
            continue
        event = event_name(str(a["time"]))
        if event not in extra_events:
            extra_events.append(event)
        r = out.get(str(a["subject"]), event)
        for key, value in (a["items"] or {}).items():
            if key in {i.key for i in instrument.items} and not is_missing(value):
                r[field_name(instrument.id, key)] = _item_cell(instrument.item(key), value)
        if not is_missing(a["total"]) and instrument.total_range is not None:
            r[field_name(instrument.id, "total")] = _number_text(a["total"])
        for sub, value in (a["subscales"] or {}).items():
            if sub in instrument.subscale_ranges and not is_missing(value):
                r[field_name(instrument.id, sub)] = _number_text(value)
        r[f"{instrument.id}_complete"] = "2"
    outcomes = {o.name: o for o in plan_outcomes(source.protocol)}
    frames = source.extract.frames
    for o_row in frames["outcomes"].to_dict("records"):
        o = outcomes.get(str(o_row["measure"]))
        if o is None or is_missing(o_row["value"]):
            continue
        name = field_name(o.instrument, qs_key(o.measure))
        if name not in fields:
            continue
        r = out.get(str(o_row["subject"]), event_name(str(o_row["time"])))
        if r.get(name) is None:
            r[name] = _number_text(o_row["value"])
            r[f"{o.instrument}_complete"] = "2"
    for c in frames["cssrs"].to_dict("records"):
        r = out.get(str(c["subject"]), event_name(str(c["time"])))
        _fill(r, CSSRS_FORM, CSSRS_FIELDS, c)
    return extra_events


def records(source: InteropSource) -> pd.DataFrame:
    """Flat REDCap records: one row per (record, event) with data, and one per instance of a
    repeating form; every cell text (or blank), as the file is written."""
    protocol = source.protocol
    frames = source.extract.frames
    out = _Rows()
    sites = {str(r.subject): r.site for r in source.patients.itertuples(index=False)}
    screened = {str(r["subject"]) for r in frames["screening"].to_dict("records")}
    treated = {str(r["subject"]): r for r in frames["subjects"].to_dict("records")}
    arms = source.extract.arms
    arm_field = FixedField("arm", "arm", "radio", "Arm", choices=tuple(a.lower() for a in arms))
    for subject in sorted(screened | set(treated)):
        r = out.get(subject, "screening")
        site = sites.get(subject)
        r["site"] = None if is_missing(site) else mark(str(site))
        t = treated.get(subject)
        if t is not None:
            for f in SUBJECT_FIELDS:
                r[f.name] = _cell(f, t.get(f.column))
            if arms:
                r["arm"] = _cell(arm_field, t["arm"])
        r[f"{SUBJECT_FORM}_complete"] = "2"
    _fixed_records(out, source, set(treated))
    dictionary = data_dictionary(protocol, arms)
    fields = list(dictionary["Variable / Field Name"])
    extra_events = _assessment_records(out, source, set(fields))
    forms = dictionary["Form Name"].tolist()
    columns = ["record_id", "redcap_event_name", *REPEAT_COLUMNS]
    for i, (name, form) in enumerate(zip(fields, forms, strict=True)):
        if name != "record_id":
            columns.append(name)
        if i + 1 == len(fields) or forms[i + 1] != form:
            columns.append(f"{form}_complete")
    event_order = {e: i for i, e in enumerate(events(protocol, extra_events)["unique_event_name"])}
    form_order = {f: i for i, f in enumerate(dict.fromkeys(forms))}
    ordered = [
        out.rows[key]
        for key in sorted(
            out.rows,
            key=lambda k: (
                k[0],
                event_order[f"{k[1]}{ARM_SUFFIX}"],
                form_order.get(k[2], -1),
                k[3],
            ),
        )
    ]
    return pd.DataFrame(ordered, columns=columns, dtype=object)


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
        csv_file("repeating_instruments.csv", repeating_instruments(protocol)),
        csv_file("records.csv", records(source)),
    ]
