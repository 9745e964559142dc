"""REDCap data dictionary, events and flat records from the instrument registry and the
protocol (PROTOCOL.md §5 time points, §7 item ranges)."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from interop_support import source

from ketamine_ptsd.adapters.interop import redcap
from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.core.instruments import REGISTRY

NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@pytest.fixture(scope="module")
def dictionary() -> pd.DataFrame:
    return redcap.data_dictionary(load_protocol("rct"))


def test_dictionary_has_redcaps_columns_and_record_id_first(dictionary: pd.DataFrame) -> None:
    assert list(dictionary.columns)[:2] == ["Variable / Field Name", "Form Name"]
    assert len(dictionary.columns) == 18
    assert dictionary["Variable / Field Name"].iloc[0] == "record_id"
    assert not dictionary["Variable / Field Name"].duplicated().any()
    assert dictionary["Variable / Field Name"].map(lambda n: bool(NAME.match(n))).all()
    assert dictionary["Form Name"].map(lambda n: bool(NAME.match(n))).all()


def test_every_item_of_every_protocol_instrument_is_a_field_with_its_range(
    dictionary: pd.DataFrame,
) -> None:
    """One form per instrument; ratings carry the item's min/max as REDCap validation."""
    by_name = dictionary.set_index("Variable / Field Name")
    instruments = redcap.protocol_instruments(load_protocol("rct"))
    assert {"caps5_past_week", "madrs", "ies_r", "cgi_s", "cgi_i", "cssrs", "cadss"} <= set(
        instruments
    )
    for instrument_id in instruments:
        instrument = REGISTRY[instrument_id]
        for item in instrument.items:
            row = by_name.loc[redcap.field_name(instrument_id, item.key)]
            assert row["Form Name"] == instrument_id
            if item.kind == "rating":
                assert row["Field Type"] == "text"
                assert row["Text Validation Type OR Show Slider Number"] == "integer"
                assert int(row["Text Validation Min"]) == item.minimum
                assert int(row["Text Validation Max"]) == item.maximum
            elif item.kind == "yes_no":
                assert row["Field Type"] == "yesno"
            elif item.kind == "choice":
                assert row["Field Type"] == "radio"
                assert (
                    row["Choices, Calculations, OR Slider Labels"].count("|")
                    == len(item.choices) - 1
                )
        if instrument.total_range is not None:
            total = by_name.loc[redcap.field_name(instrument_id, "total")]
            assert float(total["Text Validation Max"]) == instrument.total_range[1]


def test_cssrs_items_3_to_5_are_shown_only_when_item_2_is_yes(dictionary: pd.DataFrame) -> None:
    """PROTOCOL.md §7: items 3–5 are asked only if item 2 is yes."""
    by_name = dictionary.set_index("Variable / Field Name")
    logic = "Branching Logic (Show field only if...)"
    for key in ("3", "4", "5"):
        assert by_name.loc[f"cssrs_{key}", logic] == "[cssrs_2] = '1'"
    assert by_name.loc["cssrs_2", logic] == ""


def test_events_follow_the_protocol_time_points_and_the_mapping_uses_them() -> None:
    protocol = load_protocol("rct")
    events = redcap.events(protocol)
    names = list(events["event_name"])
    assert names[:1] == ["screening"]
    assert [n for n in names if n in ("baseline", "h24", "week1", "week2")] == [
        "baseline",
        "h24",
        "week1",
        "week2",
    ]
    assert "follow_up_week_1" in names and "follow_up_month_6" in names
    mapping = redcap.instrument_event_mapping(protocol)
    assert set(mapping["unique_event_name"]) <= set(events["unique_event_name"])
    week1 = set(mapping.loc[mapping["unique_event_name"] == "week1_arm_1", "form"])
    assert week1 == {"caps5_past_week", "madrs", "cgi_s", "cgi_i"}


def test_records_use_dictionary_fields_valid_events_and_in_range_values() -> None:
    s = source("full")
    files = {f.name: f for f in redcap.to_files(s)}
    records = pd.read_csv(io.BytesIO(files["records.csv"].content))
    dictionary = pd.read_csv(io.BytesIO(files["data_dictionary.csv"].content), dtype=str)
    events = pd.read_csv(io.BytesIO(files["events.csv"].content))
    fields = set(dictionary["Variable / Field Name"])
    complete = {f"{form}_complete" for form in dictionary["Form Name"]}
    assert list(records.columns[:4]) == ["record_id", "redcap_event_name", *redcap.REPEAT_COLUMNS]
    assert set(records.columns[4:]) <= fields | complete
    assert set(records["redcap_event_name"]) <= set(events["unique_event_name"])
    assert not records.duplicated(["record_id", "redcap_event_name", *redcap.REPEAT_COLUMNS]).any()
    ranged = dictionary.dropna(subset=["Text Validation Max"]).set_index("Variable / Field Name")
    for name, row in ranged.iterrows():
        if name in records.columns:
            values = records[name].dropna()
            assert values.between(
                float(row["Text Validation Min"]), float(row["Text Validation Max"])
            ).all(), name
    # CAPS-5 item answers survive: the week-2 total equals the sum of items 1–20
    week2 = records[
        (records["redcap_event_name"] == "week2_arm_1") & records["redcap_repeat_instrument"].isna()
    ]
    items = week2[[f"caps5_past_week_{n}" for n in range(1, 21)]].sum(axis=1)
    assert (items == week2["caps5_past_week_total"]).all()


def test_only_a_sanctioned_export_has_an_arm_field() -> None:
    blinded = {f.name: f for f in redcap.to_files(source("none"))}
    full = {f.name: f for f in redcap.to_files(source("full"))}
    assert b"\narm," not in blinded["data_dictionary.csv"].content
    assert b"\narm," in full["data_dictionary.csv"].content
    assert ",arm," not in blinded["records.csv"].content.decode().splitlines()[0] + ","
