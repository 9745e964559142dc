"""What the interoperability converters share: dates, visits, instrument codes, file packing.

Visits (SDTM VISIT/VISITNUM, REDCap events, FHIR encounter-free dates) are named from the
protocol's own vocabulary (PROTOCOL.md §5): ``SCREENING`` (1), the infusion days ``INFUSION n``
(10 + n), the assessment time points of the protocol's plan in plan order (``BASELINE``,
``H24``, ``WEEK1``, ``WEEK2``: 20, 21, …) and the responders' follow-up visits
(``FOLLOW-UP WEEK 1`` …: 100 + the nominal day, a month counted as 30 days). The numbers only order the visits; they are this
project's convention, documented in ``docs/interop.md``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pandas as pd

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.services.exports import ExportFile
from ketamine_ptsd.services.interop_exports import InteropSource
from ketamine_ptsd.services.spreadsheet import csv_bytes

__all__ = [
    "INSTRUMENT_CODES",
    "csv_file",
    "drug_of",
    "is_missing",
    "iso_date",
    "visit",
]

#: Four-letter codes per registered instrument: the stem of SDTM QSTESTCD (≤ 8 characters with
#: a two-digit item number or a three-letter suffix) and of nothing else.
INSTRUMENT_CODES: dict[str, str] = {
    "caps5_past_month": "CAPM",
    "caps5_past_week": "CAPW",
    "madrs": "MADR",
    "madrs_24h": "MD24",
    "ies_r": "IESR",
    "cgi_s": "CGIS",
    "cgi_i": "CGII",
    "cadss": "CADS",
    "bprs_positive": "BPRS",
    "ymrs_item1": "YMRS",
    "cssrs": "CSRS",
    "prise": "PRIS",
    "pcl5": "PCL5",
}

_FOLLOW_UP = re.compile(r"^follow-up (week|month|day) (\d+)$")


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return value is pd.NaT or value is pd.NA


def iso_date(value: Any) -> str:
    """ISO 8601 date (``YYYY-MM-DD``) of a date, datetime or date text; "" when missing."""
    if is_missing(value):
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    text = str(value).strip()
    return dt.date.fromisoformat(text[:10]).isoformat() if text else ""


def visit(
    protocol: Protocol, time_point: str | None = None, *, infusion: int | None = None
) -> tuple[float, str]:
    """(VISITNUM, VISIT) of a time point name, an infusion number, or screening (neither)."""
    if infusion is not None:
        return 10.0 + infusion, f"INFUSION {infusion}"
    if time_point is None or time_point == "screening":
        return 1.0, "SCREENING"
    names = [a.name for a in protocol.assessments]
    if time_point in names:
        return 20.0 + names.index(time_point), time_point.upper()
    match = _FOLLOW_UP.match(time_point)
    if match:
        unit, n = match.group(1), int(match.group(2))
        days = {"day": 1, "week": 7, "month": 30}[unit] * n
        return 100.0 + days, time_point.upper()
    return 900.0, time_point.upper()


def drug_of(source: InteropSource, arm: Any) -> str | None:
    """The drug behind an arm label, only when the extract names arms (full sanction or open
    label); None for a blinded or A/B-coded extract (PROTOCOL.md §3)."""
    if is_missing(arm) or source.extract.unblinding not in ("full", "open_label"):
        return None
    for a in source.protocol.arms:
        if a.id == arm:
            return a.drug
    return None


def csv_file(
    name: str, frame: pd.DataFrame, *, action_tag_columns: tuple[str, ...] = ()
) -> ExportFile:
    """``frame`` as a spreadsheet-safe CSV file (services/spreadsheet.py)."""
    content = csv_bytes(frame, action_tag_columns=action_tag_columns)
    return ExportFile(name, content, len(frame), "text/csv")
