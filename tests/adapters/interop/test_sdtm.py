"""SDTM domains from a small synthetic trial: required variables, unique sequences, controlled
terms, and the blind (PROTOCOL.md §3: no arm, "STUDY DRUG", no dose without a sanction)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from interop_support import small_trial, source

from ketamine_ptsd.adapters.interop import sdtm
from ketamine_ptsd.adapters.protocol_store import load_protocol


@pytest.fixture(scope="module")
def full() -> dict[str, pd.DataFrame]:
    return sdtm.domains(source("full"))


@pytest.fixture(scope="module")
def blinded() -> dict[str, pd.DataFrame]:
    return sdtm.domains(source("none"))


def test_every_domain_has_its_variables_and_no_blank_required_value(
    full: dict[str, pd.DataFrame],
) -> None:
    assert set(full) == {"DM", "EX", "VS", "QS", "AE", "DS", "SV"}
    for domain, frame in full.items():
        assert list(frame.columns) == list(sdtm.DOMAIN_VARIABLES[domain])
        assert not frame.empty, domain
        assert (frame["DOMAIN"] == domain).all()
        for variable in sdtm.REQUIRED_VARIABLES[domain]:
            blank = frame[variable].isna() | (frame[variable].astype(str) == "")
            assert not blank.any(), f"{domain}.{variable} blank in {int(blank.sum())} rows"


def test_sequence_numbers_are_unique_within_each_subject(full: dict[str, pd.DataFrame]) -> None:
    for domain, frame in full.items():
        seq = f"{domain}SEQ"
        if seq in frame.columns:
            assert not frame.duplicated(["USUBJID", seq]).any(), domain
            assert (frame.groupby("USUBJID")[seq].min() == 1).all()


def test_sv_has_one_record_per_subject_and_visit(full: dict[str, pd.DataFrame]) -> None:
    assert not full["SV"].duplicated(["USUBJID", "VISITNUM"]).any()


def test_dm_holds_every_screened_patient_and_screen_failures_have_no_arm(
    full: dict[str, pd.DataFrame],
) -> None:
    trial = small_trial()
    dm = full["DM"]
    assert len(dm) == len(trial.patients)
    treated = {p.patient_id for p in trial.patients if p.arm is not None}
    failures = dm[~dm["SUBJID"].isin(treated)]
    assert (failures["ARMNRS"] == "SCREEN FAILURE").all()
    assert (failures["ARM"] == "").all()
    assert set(dm.loc[dm["SUBJID"].isin(treated), "ARMCD"]) == {"KETAMINE", "MIDAZOLAM"}
    assert set(dm["SEX"]) <= {"F", "M", "U"}


def test_dates_are_iso_8601(full: dict[str, pd.DataFrame]) -> None:
    pattern = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    for domain, frame in full.items():
        for column in [c for c in frame.columns if c.endswith("DTC")]:
            filled = frame[column][frame[column].astype(str) != ""].astype(str)
            assert filled.map(lambda v: bool(pattern.match(v))).all(), f"{domain}.{column}"
    assert (full["EX"]["EXSTDTC"] != "").all()


def test_unblinded_exposure_names_the_drug_and_the_protocol_dose_per_kg(
    full: dict[str, pd.DataFrame],
) -> None:
    """PROTOCOL.md §4: ketamine 0.5 mg/kg, midazolam 0.045 mg/kg, IV over 40 minutes."""
    ex = full["EX"]
    dose = dict(zip(ex["EXTRT"], ex["EXDOSE"], strict=False))
    assert dose == {"KETAMINE": 0.5, "MIDAZOLAM": 0.045}
    assert (ex["EXDOSU"] == "mg/kg").all() and (ex["EXROUTE"] == "INTRAVENOUS").all()
    assert (ex["EXDUR"] == "PT40M").all()
    infusions = sum(len(p.infusions) for p in small_trial().patients)
    assert len(ex) == infusions


def test_blinded_sdtm_has_no_arm_no_drug_and_no_dose(blinded: dict[str, pd.DataFrame]) -> None:
    dm, ex = blinded["DM"], blinded["EX"]
    for column in ("ARMCD", "ARM", "ACTARMCD", "ACTARM"):
        assert (dm[column] == "").all()
    assert (ex["EXTRT"] == "STUDY DRUG").all()
    assert ex["EXDOSE"].isna().all() and (ex["EXDOSU"] == "").all()


def test_partial_sanction_codes_arms_a_b_and_keeps_the_drug_hidden() -> None:
    domains = sdtm.domains(source("partial"))
    treated = domains["DM"][domains["DM"]["ARMNRS"] == ""]
    assert set(treated["ARMCD"]) == {"A", "B"}
    assert (domains["EX"]["EXTRT"] == "STUDY DRUG").all()


def test_qs_test_codes_fit_eight_characters_and_categories_name_the_instrument(
    full: dict[str, pd.DataFrame],
) -> None:
    qs = full["QS"]
    assert qs["QSTESTCD"].str.len().max() <= 8
    assert qs["QSTEST"].str.len().max() <= 40
    from ketamine_ptsd.core.instruments import REGISTRY

    planned = {i for a in load_protocol("rct").assessments for i in a.instruments}
    assert {REGISTRY[i].name.upper() for i in planned} <= set(qs["QSCAT"])
    # one test code per instrument item: the 20 CAPS-5 severities at baseline for one subject
    first = qs[(qs["VISIT"] == "BASELINE") & (qs["QSCAT"] == "CAPS-5")]
    one = first[first["USUBJID"] == first["USUBJID"].iloc[0]]
    assert {f"CAPW{n:02d}" for n in range(1, 21)} <= set(one["QSTESTCD"])
    assert not one.duplicated("QSTESTCD").any()


def test_qs_total_equals_the_analysis_frames_caps5_total(full: dict[str, pd.DataFrame]) -> None:
    qs = full["QS"]
    totals = qs[(qs["QSTESTCD"] == "CAPWTOT") & (qs["VISIT"] == "WEEK2")]
    outcomes = source("full").extract.frames["outcomes"]
    expected = outcomes[(outcomes["measure"] == "caps5_total") & (outcomes["time"] == "week2")]
    got = dict(zip(totals["USUBJID"].str.removeprefix("RCT-"), totals["QSSTRESN"], strict=True))
    assert got == dict(zip(expected["subject"], expected["value"], strict=True))


def test_qs_item_codes_match_the_instrument_registry() -> None:
    from ketamine_ptsd.core.instruments import REGISTRY

    for instrument in REGISTRY.values():
        codes = {sdtm.qs_test_code(instrument, i.key)[0] for i in instrument.items}
        codes |= {sdtm.qs_test_code(instrument, s)[0] for s in instrument.subscale_ranges}
        codes.add(sdtm.qs_test_code(instrument, "total")[0])
        expected = len(instrument.items) + len(instrument.subscale_ranges) + 1
        assert len(codes) == expected, instrument.id
        assert max(len(c) for c in codes) <= 8


def test_disposition_uses_controlled_terms_and_counts_every_patient(
    full: dict[str, pd.DataFrame],
) -> None:
    ds = full["DS"]
    assert set(ds["DSDECOD"]) <= {
        "COMPLETED",
        "SCREEN FAILURE",
        "WITHDRAWAL BY SUBJECT",
        "PHYSICIAN DECISION",
    }
    trial = small_trial()
    ineligible = sum(p.screening.disposition == "ineligible" for p in trial.patients)
    assert int((ds["DSDECOD"] == "SCREEN FAILURE").sum()) == ineligible
    completed = sum(p.arm is not None and p.withdrawal is None for p in trial.patients)
    assert int((ds["DSDECOD"] == "COMPLETED").sum()) == completed


def test_vital_signs_use_cdisc_test_codes_and_units(full: dict[str, pd.DataFrame]) -> None:
    vs = full["VS"]
    units = dict(zip(vs["VSTESTCD"], vs["VSORRESU"], strict=False))
    assert units == {"SYSBP": "mmHg", "DIABP": "mmHg", "PULSE": "beats/min", "OXYSAT": "%"}
    assert (vs["VSSTRESN"] == vs["VSORRES"].astype(float)).all()


def test_without_record_detail_qs_falls_back_to_the_analysis_totals() -> None:
    domains = sdtm.domains(source("full", detail=False))
    qs = domains["QS"]
    assert not qs.empty
    assert set(qs["QSTESTCD"].str[-3:]) >= {"TOT"}
    assert (qs["QSDTC"] == "").all()
    assert load_protocol("rct").name.upper() == domains["DM"]["STUDYID"].iloc[0]


def test_each_domain_is_also_a_sas_transport_v5_file_that_reads_back() -> None:
    """XPT v5 (what FDA and PMDA take): dataset named and labelled, names ≤ 8, the IG's labels
    ≤ 40, numeric variables as numbers, text as written in the CSV."""
    import tempfile
    from pathlib import Path

    import pyreadstat

    files = {f.name: f for f in sdtm.to_files(source("full"))}
    frames = sdtm.domains(source("full"))
    assert set(files) == {
        *(f"{d.lower()}.{ext}" for d in frames for ext in ("csv", "xpt")),
        "define.xml",
    }
    for domain, frame in frames.items():
        xpt = files[f"{domain.lower()}.xpt"]
        assert xpt.content.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!")
        assert xpt.rows == len(frame)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "d.xpt"
            path.write_bytes(xpt.content)
            back, meta = pyreadstat.read_xport(str(path))
        assert meta.table_name == domain
        assert meta.file_label == sdtm.DATASET_LABELS[domain]
        assert list(back.columns) == list(frame.columns)
        for variable, label in zip(meta.column_names, meta.column_labels, strict=True):
            assert label == sdtm.VARIABLE_LABELS[variable] and len(label) <= 40
        assert len(back) == len(frame)
        for variable in frame.columns:
            if variable in sdtm.NUMERIC_VARIABLES:
                assert meta.readstat_variable_types[variable] == "double", variable
                expected = pd.to_numeric(frame[variable]).astype(float)
                assert back[variable].astype(float).equals(expected.reset_index(drop=True)) or (
                    back[variable].isna().tolist() == expected.isna().tolist()
                    and (back[variable].dropna().tolist() == expected.dropna().tolist())
                ), variable
            else:
                assert meta.readstat_variable_types[variable] == "string", variable
                written = ["" if pd.isna(v) else str(v) for v in frame[variable].astype(object)]
                assert back[variable].tolist() == written, variable


def test_xpt_text_is_ascii_and_an_overlong_value_is_refused_by_name() -> None:
    frame = pd.DataFrame(
        {"STUDYID": ["KET-PTSD"], "DOMAIN": ["AE"], "USUBJID": ["KET-PTSD-001"], "AESEQ": [1],
         "AETERM": ["céphalée – sévère"], "AEDECOD": ["HEADACHE"]}
    )  # fmt: skip
    import tempfile
    from pathlib import Path

    import pyreadstat

    content = sdtm.xpt_bytes("AE", frame)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ae.xpt"
        path.write_bytes(content)
        back, _ = pyreadstat.read_xport(str(path))
    assert back["AETERM"].tolist() == ["cephalee ? severe"]
    too_long = frame.assign(AETERM=["x" * 201])
    with pytest.raises(ValueError, match=r"AE\.AETERM row 1: 201 characters"):
        sdtm.xpt_bytes("AE", too_long)
