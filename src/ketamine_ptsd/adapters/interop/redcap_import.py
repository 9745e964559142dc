"""``import redcap``: a REDCap project's records and data dictionary back into the analysis frames.

The reverse of ``redcap.py`` (SYSTEM.md §11, issue 14's REDCap round trip), so a site that ran its
trial in REDCap on the dictionary this system writes can produce the §9 report: REDCap's flat
CSV export ("CSV / Microsoft Excel (raw data)": ``record_id``, ``redcap_event_name``,
``redcap_repeat_instrument``, ``redcap_repeat_instance``, the fields, ``<form>_complete``) and
its data dictionary CSV. Radio fields (sex, arm, screening outcome) are decoded by the
dictionary's own choices, so the arms are what the dictionary names (none for a blinded export);
``outcomes`` are derived from the instrument forms by the protocol's analysis plan, as the
record's extraction and ``odm.read_odm`` do. Export → import gives frames equal to the extract
(a test checks it, under every sanction). Like ``import odm`` it creates no patients.

Text cells lose the ``'`` the exporter put before a text a spreadsheet would run as a formula,
and only that one (``redcap.unmark``). A REDCap export of data entered in REDCap carries no such
mark, and a cell that begins with ``'`` followed by something harmless is kept as it is.

Refused, naming the file, the row (the CSV record; the header is row 1) and the column: a column
that is neither a dictionary field, a form's ``_complete`` nor a ``redcap_`` column (REDCap's
own, such as ``redcap_data_access_group``, are read where named above and otherwise ignored); an event
this protocol does not have; a repeating row at an event where that form does not repeat; a
value not of its field's type (integer, number, date YYYY-MM-DD, yes/no 1/0, a radio code the
dictionary lists).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.services.datasets import FRAME_COLUMNS

from .adam.derive import plan_outcomes, qs_key
from .redcap import (
    CSSRS_FIELDS,
    ENROLMENT_EVENT,
    FIXED_FORMS,
    SUBJECT_FIELDS,
    FixedField,
    FixedForm,
    event_name,
    field_name,
    follow_up_events,
    unmark,
)

__all__ = ["RedcapImport", "read_redcap"]

_NAME = "Variable / Field Name"
_FORM = "Form Name"
_TYPE = "Field Type"
_CHOICES = "Choices, Calculations, OR Slider Labels"
_EVENT = re.compile(r"^(?P<name>[a-z0-9_]+?)_arm_(?P<arm>\d+)$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_FIRST_ROW = 2  # the header is row 1


@dataclass(frozen=True)
class RedcapImport:
    """The analysis frames read from a REDCap export, the arms (as the dictionary lists them:
    active first) and the number of records."""

    study: str
    frames: dict[str, pd.DataFrame]
    arms: tuple[str, ...]
    subjects: int


class _Where:
    """Names the file, row and column of a refused value."""

    def __init__(self, file: str) -> None:
        self.file = file

    def refuse(self, row: int | None, column: str, problem: str, value: Any = None) -> InvalidInput:
        at = f"row {row}, " if row is not None else ""
        return InvalidInput(column, f"{self.file}: {at}column {column!r}: {problem}", value)


def _choices(text: str, where: _Where, row: int, name: str) -> dict[str, str]:
    choices: dict[str, str] = {}
    for part in (p.strip() for p in text.split("|")):
        if not part:
            continue
        code, sep, label = part.partition(",")
        if not sep:
            raise where.refuse(row, _CHOICES, f"choice {part!r} of {name!r} is not 'code, label'")
        choices[code.strip()] = unmark(label.strip())
    return choices


def _dictionary(frame: pd.DataFrame, where: _Where) -> dict[str, tuple[str, dict[str, str]]]:
    """Field → (form, radio choices code → label)."""
    for column in (_NAME, _FORM, _TYPE, _CHOICES):
        if column not in frame.columns:
            raise where.refuse(None, column, "missing: not a REDCap data dictionary")
    fields: dict[str, tuple[str, dict[str, str]]] = {}
    for i, r in enumerate(frame.to_dict("records")):
        name, form = str(r[_NAME]).strip(), str(r[_FORM]).strip()
        if not name or not form:
            raise where.refuse(i + _FIRST_ROW, _NAME if not name else _FORM, "empty")
        choices = {}
        if str(r[_TYPE]).strip() in ("radio", "dropdown", "checkbox"):
            choices = _choices(str(r[_CHOICES]), where, i + _FIRST_ROW, name)
        fields[name] = (form, choices)
    return fields


def _parse(f: FixedField, text: str, choices: Mapping[str, str], where: _Where, row: int) -> Any:
    """The frame value of cell ``text`` of field ``f`` (None when blank)."""
    if text == "":
        return None
    if f.kind == "text":
        return unmark(text)
    try:
        if f.kind == "integer":
            if not _INTEGER.match(text):
                raise ValueError(text)
            return int(text)
        if f.kind == "number":
            return int(text) if _INTEGER.match(text) else float(text)
        if f.kind == "date":
            return dt.date.fromisoformat(text)
    except ValueError:
        expected = {"integer": "an integer", "number": "a number", "date": "a date YYYY-MM-DD"}
        raise where.refuse(row, f.name, f"{text!r} is not {expected[f.kind]}", text) from None
    if f.kind == "yesno":
        if text not in ("0", "1"):
            raise where.refuse(row, f.name, f"{text!r} is not 1 (yes) or 0 (no)", text)
        return text == "1"
    if text not in choices:
        listed = ", ".join(f"{c} = {label}" for c, label in choices.items())
        raise where.refuse(
            row, f.name, f"{text!r} is not a code of the dictionary ({listed})", text
        )
    return choices[text]


def _filled(row: Mapping[str, str], fields: Iterable[FixedField]) -> bool:
    return any(row.get(f.name, "") != "" for f in fields)


def _values(
    row: Mapping[str, str],
    fields: Iterable[FixedField],
    dictionary: Mapping[str, tuple[str, dict[str, str]]],
    where: _Where,
    n: int,
) -> dict[str, Any]:
    return {
        f.column: _parse(f, row.get(f.name, ""), dictionary.get(f.name, ("", {}))[1], where, n)
        for f in fields
    }


def _events(protocol: Protocol) -> dict[str, tuple[str, Any]]:
    """Event name → (kind, what it says): screening, enrolment, ("infusion", k), ("time",
    the protocol's time point), follow-up visits (their CAPS-5 is read from ``follow_up``)."""
    known: dict[str, tuple[str, Any]] = {
        "screening": ("screening", None),
        ENROLMENT_EVENT: (ENROLMENT_EVENT, None),
    }
    for k in range(1, protocol.schedule.infusion_count + 1):
        known[f"infusion_{k}"] = ("infusion", k)
    for a in protocol.assessments:
        known[event_name(a.name)] = ("time", a.name)
    for e in follow_up_events(protocol):
        known[e] = ("follow_up", None)
    return known


def read_redcap(
    records: pd.DataFrame,
    dictionary: pd.DataFrame,
    protocol: Protocol,
    *,
    records_file: str = "records.csv",
    dictionary_file: str = "data_dictionary.csv",
) -> RedcapImport:
    """The analysis frames of a REDCap export (both frames read as text: ``dtype=str``,
    ``keep_default_na=False``); see the module docstring."""
    fields = _dictionary(dictionary, _Where(dictionary_file))
    where = _Where(records_file)
    forms = {form for form, _ in fields.values()}
    columns = [str(c) for c in records.columns]
    for column in ("record_id", "redcap_event_name"):
        if column not in columns:
            raise where.refuse(1, column, "missing: a longitudinal REDCap export is expected")
    for column in columns:
        known = (
            column in fields
            or column.startswith("redcap_")  # e.g. redcap_data_access_group: not read
            or (column.endswith("_complete") and column.removesuffix("_complete") in forms)
        )
        if not known:
            raise where.refuse(1, column, f"not a field of {dictionary_file}")
    arm_choices = fields.get("arm", ("", {}))[1]
    arms = tuple(arm_choices.values())
    arm_field = FixedField("arm", "arm", "radio", "Arm")
    events = _events(protocol)
    repeating = {f.name: f for f in FIXED_FORMS if f.repeating}
    table = records.fillna("").astype(str).to_dict("records")
    # First pass: each record's arm (the subject form at screening).
    arm_of: dict[str, Any] = {}
    for i, r in enumerate(table):
        if r["redcap_event_name"].startswith("screening_arm_") and r.get("arm", "") != "":
            arm_of[unmark(r["record_id"])] = _parse(arm_field, r["arm"], arm_choices, where, i + 2)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in FRAME_COLUMNS}
    demog: dict[str, dict[str, Any]] = {}
    treatment: dict[str, dict[str, Any]] = {}
    outcomes = plan_outcomes(protocol)
    for i, r in enumerate(table):
        n = i + _FIRST_ROW
        subject = unmark(r["record_id"].strip())
        if not subject:
            raise where.refuse(n, "record_id", "empty")
        match = _EVENT.match(r["redcap_event_name"].strip())
        event = events.get(match.group("name")) if match else None
        if event is None:
            name = r["redcap_event_name"]
            if match and match.group("name").startswith("follow_up_"):
                event = ("follow_up", None)  # an unscheduled follow-up visit
            else:
                raise where.refuse(
                    n, "redcap_event_name", f"{name!r} is not an event of {protocol.name}", name
                )
        kind, what = event
        base = {"subject": subject, "arm": arm_of.get(subject)}
        form_name = r.get("redcap_repeat_instrument", "").strip()
        instance = r.get("redcap_repeat_instance", "").strip()
        if bool(form_name) != bool(instance) or (instance and not instance.isdigit()):
            raise where.refuse(
                n, "redcap_repeat_instance", f"{instance!r} with instrument {form_name!r}"
            )
        if form_name:
            form = repeating.get(form_name)
            if form is None or form.event != kind:
                raise where.refuse(
                    n,
                    "redcap_repeat_instrument",
                    f"{form_name!r} does not repeat at event {r['redcap_event_name']!r}",
                    form_name,
                )
            row = {**base, **_values(r, form.fields, fields, where, n)}
            if kind == "infusion":
                row["infusion"] = what
            out[form.frame].append(row)
            continue
        if kind == "screening":
            screening = _fixed("screening")
            if _filled(r, screening.fields):
                out["screening"].append(
                    {"subject": subject, **_values(r, screening.fields, fields, where, n)}
                )
            demog[subject] = _values(r, SUBJECT_FIELDS, fields, where, n)
        elif kind == ENROLMENT_EVENT:
            for form in (_fixed("treatment"), _fixed("durability")):
                if not _filled(r, form.fields):
                    continue
                values = _values(r, form.fields, fields, where, n)
                if form.frame == "subjects":
                    treatment[subject] = values
                else:
                    out[form.frame].append({**base, **values})
        elif kind == "time":
            for o in outcomes:
                if what not in o.time_points:
                    continue
                column = field_name(o.instrument, qs_key(o.measure))
                text = r.get(column, "")
                if text == "":
                    continue
                spec = FixedField(column, column, "number", "")
                value = float(_parse(spec, text, {}, where, n))
                out["outcomes"].append({**base, "time": what, "measure": o.name, "value": value})
            if _filled(r, CSSRS_FIELDS):
                out["cssrs"].append(
                    {**base, "time": what, **_values(r, CSSRS_FIELDS, fields, where, n)}
                )
    for subject, values in treatment.items():
        out["subjects"].append(
            {"subject": subject, "arm": arm_of.get(subject), **values, **demog.get(subject, {})}
        )
    frames = {
        name: pd.DataFrame(out[name], columns=list(columns_))
        for name, columns_ in FRAME_COLUMNS.items()
    }
    n_records = len({unmark(r["record_id"].strip()) for r in table})
    return RedcapImport(protocol.name, frames, arms, n_records)


def _fixed(name: str) -> FixedForm:
    return next(f for f in FIXED_FORMS if f.name == name)
