"""REDCap round trip (issue 14): export → ``read_redcap`` gives the extract's analysis frames
under every sanction, the §9 analysis on them gives the same numbers, spreadsheet-unsafe text
survives (the exporter's ``'`` comes off, and only it), and bad input is refused naming the file,
the row and the column."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest
from interop_support import source
from test_csv_injection import PAYLOADS, _dangerous_cells
from test_odm import _rows

from ketamine_ptsd.adapters.interop import redcap
from ketamine_ptsd.adapters.interop.redcap_import import RedcapImport, read_redcap
from ketamine_ptsd.core.analysis import AnalysisDataset, analyse
from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.services.datasets import FRAME_COLUMNS, AnalysisFrames
from ketamine_ptsd.services.interop_exports import InteropSource


def _files(src: InteropSource) -> dict[str, bytes]:
    return {f.name: f.content for f in redcap.to_files(src)}


def _read(content: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False)


def _round_trip(src: InteropSource) -> RedcapImport:
    files = _files(src)
    return read_redcap(
        _read(files["records.csv"]), _read(files["data_dictionary.csv"]), src.protocol
    )


@pytest.mark.parametrize("unblinding", ["full", "partial", "none"])
def test_export_then_import_gives_the_extracts_analysis_frames(unblinding: str) -> None:
    src = source(unblinding)
    imported = _round_trip(src)
    assert imported.arms == src.extract.arms
    assert imported.subjects == len(src.extract.frames["screening"])
    for name in FRAME_COLUMNS:
        assert list(imported.frames[name].columns) == list(FRAME_COLUMNS[name])
        assert _rows(imported.frames[name]) == _rows(src.extract.frames[name]), name
    files = _files(src)  # REDCap's own extra columns (data access groups) are not refused
    with_dag = _read(files["records.csv"]).assign(redcap_data_access_group="yale")
    again = read_redcap(with_dag, _read(files["data_dictionary.csv"]), src.protocol)
    for name in FRAME_COLUMNS:
        assert _rows(again.frames[name]) == _rows(src.extract.frames[name]), name


def test_frames_only_export_round_trips_too() -> None:
    """Without the record's detail (item answers, dates) the forms carry the analysed scores."""
    src = source("full", detail=False)
    imported = _round_trip(src)
    for name in FRAME_COLUMNS:
        assert _rows(imported.frames[name]) == _rows(src.extract.frames[name]), name


def test_the_analysis_on_the_imported_frames_gives_the_same_numbers() -> None:
    src = source("full")
    imported = _round_trip(src)
    kwargs: dict[str, Any] = {"plan": src.protocol.analysis, "response": src.protocol.response}
    a = analyse(AnalysisDataset(dict(src.extract.frames), src.extract.arms), **kwargs)
    b = analyse(AnalysisDataset(imported.frames, imported.arms), **kwargs)
    fit_a, fit_b = a.mmrm["caps5_total"][1], b.mmrm["caps5_total"][1]
    for x, y in zip(fit_a.differences, fit_b.differences, strict=True):
        assert [y.estimate, y.se, y.p] == pytest.approx([x.estimate, x.se, x.p])
    assert a.responders.counts == b.responders.counts
    assert a.consort == b.consort


#: Texts a spreadsheet would run, and texts that only look like the exporter's mark.
TRICKY = (*PAYLOADS, "'=already quoted", "''+two quotes", "'plain", "'", "-2", "it's fine")
FREE_TEXT = {
    "adverse_events": ("term", "action", "outcome"),
    "interventions": ("drug", "route", "reason"),
    "side_effects": ("symptom",),
    "screening": ("reason",),
    "subjects": ("withdrawal_reason", "primary_trauma", "race"),
}


def test_spreadsheet_unsafe_text_survives_the_round_trip_and_the_file_stays_safe() -> None:
    base = source("full")
    frames = dict(base.extract.frames)
    for name, columns in FREE_TEXT.items():
        frame = frames[name].copy()
        for offset, column in enumerate(columns):
            frame[column] = [TRICKY[(i + offset) % len(TRICKY)] for i in range(len(frame))]
        frames[name] = frame
    extract = AnalysisFrames(base.extract.protocol_name, frames, base.extract.arms, "full")
    src = InteropSource(base.protocol, extract, base.assessments, base.infusions, base.patients)
    files = _files(src)
    assert _dangerous_cells(files["records.csv"]) == []
    imported = _round_trip(src)
    for name in FREE_TEXT:
        assert _rows(imported.frames[name]) == _rows(frames[name]), name


def test_records_follow_redcaps_repeating_layout() -> None:
    src = source("full")
    files = _files(src)
    records = _read(files["records.csv"])
    assert list(records.columns[:4]) == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
    ]
    vitals = records[records["redcap_repeat_instrument"] == "vitals"]
    assert len(vitals) == len(src.extract.frames["vitals"])
    assert set(vitals["redcap_event_name"]) <= {f"infusion_{k}_arm_1" for k in range(1, 7)}
    first = vitals[
        (vitals["record_id"] == "P002") & (vitals["redcap_event_name"] == "infusion_1_arm_1")
    ]
    assert list(first["redcap_repeat_instance"]) == [str(i) for i in range(1, len(first) + 1)]
    plain = records[records["redcap_repeat_instrument"] == ""]
    assert (plain["redcap_repeat_instance"] == "").all()
    assert not plain.duplicated(["record_id", "redcap_event_name"]).any()
    # a form's _complete follows its last field, as REDCap's export lays them out
    columns = list(records.columns)
    assert columns.index("vitals_complete") == columns.index("vitals_spo2_percent") + 1
    assert (records.loc[records["n_infusions"] != "", "n_infusions"].str.isdigit()).all()
    repeating = _read(files["repeating_instruments.csv"])
    assert list(repeating.columns) == ["event_name", "form_name", "custom_form_label"]
    mapping = _read(files["instrument_event_mapping.csv"])
    pairs = set(zip(mapping["unique_event_name"], mapping["form"], strict=True))
    assert set(zip(repeating["event_name"], repeating["form_name"], strict=True)) <= pairs
    assert {"vitals", "infusion_rating", "intervention", "side_effect"} <= set(
        repeating.loc[repeating["event_name"] == "infusion_3_arm_1", "form_name"]
    )


def test_dictionary_has_the_protocols_branching_logic() -> None:
    dictionary = redcap.data_dictionary(source("full").protocol).set_index("Variable / Field Name")
    logic = dictionary["Branching Logic (Show field only if...)"]
    assert logic["cssrs_6_recent"] == "[cssrs_6] = '1'"
    assert logic["withdrawal_reason"] == "[withdrawn] = '1'"
    assert logic["screen_reason"] == "[screen_disposition] <> '1'"
    assert dictionary.loc["allocation_date", "Text Validation Type OR Show Slider Number"] == (
        "date_ymd"
    )


def _refusal(records: pd.DataFrame, dictionary: pd.DataFrame) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        read_redcap(records, dictionary, source("full").protocol, records_file="site.csv")
    return refused.value


def test_bad_input_is_refused_naming_the_file_row_and_column() -> None:
    files = _files(source("full"))
    records, dictionary = _read(files["records.csv"]), _read(files["data_dictionary.csv"])
    row = int(records.index[records["n_infusions"] != ""][0])
    bad = records.copy()
    bad.loc[row, "n_infusions"] = "six"
    error = _refusal(bad, dictionary)
    assert error.field == "n_infusions"
    assert error.message == (
        f"site.csv: row {row + 2}, column 'n_infusions': 'six' is not an integer"
    )
    bad = records.copy()
    bad.loc[3, "redcap_event_name"] = "week9_arm_1"
    assert "row 5, column 'redcap_event_name'" in _refusal(bad, dictionary).message
    bad = records.copy()
    sex = int(records.index[records["sex"] != ""][0])
    bad.loc[sex, "sex"] = "7"
    assert (
        "is not a code of the dictionary (1 = female, 2 = male)"
        in _refusal(bad, dictionary).message
    )
    assert _refusal(records.assign(extra="x"), dictionary).message == (
        "site.csv: row 1, column 'extra': not a field of data_dictionary.csv"
    )
    bad = records.copy()
    vitals = int(records.index[records["redcap_repeat_instrument"] == "vitals"][0])
    bad.loc[vitals, "redcap_event_name"] = "baseline_arm_1"
    assert "'vitals' does not repeat at event 'baseline_arm_1'" in _refusal(bad, dictionary).message
    assert _refusal(records, dictionary.drop(columns=["Form Name"])).field == "Form Name"
