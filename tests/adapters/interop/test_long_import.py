"""Import of a site's long-format data: clear errors naming the column and the CSV row, and an
analysis identical to the engine's on the same data (SYSTEM.md capability 11)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from interop_support import source

from ketamine_ptsd.adapters.interop import import_long
from ketamine_ptsd.core.analysis import analyse
from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.stats.mmrm import fit_mmrm

CSV = """pid,trt,visit,var,score,age
s1,drugA,base,caps,40,30
s1,drugA,wk2,caps,20,30
s2,drugB,base,caps,38,41
s2,drugB,wk2,caps,,41
"""
COLUMNS = {"subject": "pid", "group": "trt", "time": "visit", "measure": "var", "value": "score"}


def _read(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def _error(text: str, **options: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        import_long(_read(text), **{**COLUMNS, **options})  # type: ignore[arg-type]
    return caught.value


def test_a_blank_value_is_a_missing_observation_and_subject_columns_are_kept() -> None:
    imported = import_long(_read(CSV), **COLUMNS, subject_columns=["age"])
    assert imported.rows_read == 4 and imported.missing_values == 1
    assert len(imported.dataset.frames["outcomes"]) == 3
    subjects = imported.dataset.frames["subjects"].set_index("subject")
    assert subjects.loc["s2", "age"] == 41
    assert imported.dataset.arms == ("drugA", "drugB")


def test_missing_column_is_named_with_the_flag_that_chose_it() -> None:
    error = _error(CSV, value="result")
    assert error.field == "result"
    assert "--value: column 'result' not found" in error.message


def test_non_numeric_value_names_the_csv_row() -> None:
    error = _error(CSV.replace("s1,drugA,wk2,caps,20", "s1,drugA,wk2,caps,twenty"))
    assert error.field == "score"
    assert error.message.startswith("row 3: value 'twenty' is not a number")


def test_unknown_measure_names_the_row_when_measures_are_declared() -> None:
    error = _error(CSV.replace("s2,drugB,base,caps", "s2,drugB,base,cpas"), measures=["caps"])
    assert error.field == "var"
    assert error.message.startswith("row 4: unknown measure 'cpas'")


def test_duplicate_subject_time_rows_name_both_rows() -> None:
    error = _error(CSV + "s1,drugA,wk2,caps,22,30\n")
    assert error.message.startswith(
        "rows 3 and 6: subject 's1' has two 'caps' values at time 'wk2'"
    )


def test_a_subject_in_two_groups_is_refused() -> None:
    error = _error(CSV.replace("s1,drugA,wk2", "s1,drugB,wk2"))
    assert error.field == "trt"
    assert error.message.startswith("row 3: subject 's1' is in two groups")


def test_a_time_outside_the_given_order_is_refused_with_its_row() -> None:
    error = _error(CSV, time_order=["base", "week2"])
    assert error.message.startswith("row 3: level 'wk2' is not in --time-order")


def test_more_than_two_arms_and_empty_keys_are_refused() -> None:
    assert "found 3" in _error(CSV + "s3,drugC,base,caps,30,50\n").message
    assert _error(CSV + ",drugA,base,caps,30,50\n").message.startswith("row 6: empty 'pid'")


def test_imported_analysis_equals_the_engine_on_the_same_long_data() -> None:
    """The record's outcomes, written long under a site's own column names, re-imported and
    analysed: the CAPS-5 MMRM is the engine's fit of the same rows (exact)."""
    frames = source("full").extract.frames
    long = frames["outcomes"].rename(
        columns={
            "subject": "pid",
            "arm": "trt",
            "time": "visit",
            "measure": "var",
            "value": "score",
        }
    )
    imported = import_long(
        long.astype(str),
        **COLUMNS,
        group_order=["ketamine", "midazolam"],
        time_order=["baseline", "h24", "week1", "week2"],
        ordinal=["cgi_s", "cgi_i"],
    )
    results = analyse(imported.dataset, outcomes=imported.outcomes)
    assert {"caps5_total", "madrs_total", "ies_r_24h"} <= set(results.mmrm)
    assert {"cgi_s", "cgi_i"} == set(results.ordinal)
    caps = frames["outcomes"][frames["outcomes"]["measure"] == "caps5_total"]
    direct = fit_mmrm(
        caps,
        subject="subject",
        group="arm",
        time="time",
        outcome="value",
        time_order=["baseline", "week1", "week2"],
        group_order=["midazolam", "ketamine"],
    )
    _, fitted = results.mmrm["caps5_total"]
    assert fitted.reml_loglik == pytest.approx(direct.reml_loglik, abs=1e-9)
    np.testing.assert_allclose(
        [d.estimate for d in fitted.differences],
        [d.estimate for d in direct.differences],
        atol=1e-9,
    )
