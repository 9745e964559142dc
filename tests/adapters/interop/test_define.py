"""Define-XML 2.1 of the SDTM and ADaM packages, parsed and cross-checked against the files
written: every dataset and variable (order, label, type, length), keys, code lists holding every
value written, value-level metadata, origins, every OID reference resolved, and the analysis
results metadata of the primary analysis."""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from interop_support import source

from ketamine_ptsd.adapters.interop import adam, sdtm
from ketamine_ptsd.adapters.interop.define import NS

ODM = f"{{{NS['odm']}}}"
DEF = f"{{{NS['def']}}}"
ARM = f"{{{NS['arm']}}}"
XLINK = f"{{{NS['xlink']}}}"


def _files(fmt: str) -> dict[str, bytes]:
    convert = adam.to_files if fmt == "adam" else sdtm.to_files
    return {f.name: f.content for f in convert(source("full"))}


def _xpt(content: bytes) -> tuple[pd.DataFrame, object]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.xpt"
        path.write_bytes(content)
        return pyreadstat.read_xport(str(path))


def _label(element: ET.Element) -> str:
    text = element.find(f"{ODM}Description/{ODM}TranslatedText")
    assert text is not None and text.text
    return text.text


@pytest.mark.parametrize("fmt", ["sdtm", "adam"])
def test_define_describes_every_dataset_and_variable_written(fmt: str) -> None:
    files = _files(fmt)
    root = ET.fromstring(files["define.xml"])
    assert root.get("ODMVersion") == "1.3.2" and root.get(f"{DEF}Context") == "Submission"
    mdv = root.find(f"{ODM}Study/{ODM}MetaDataVersion")
    assert mdv is not None and mdv.get(f"{DEF}DefineVersion") == "2.1.0"
    items = {i.get("OID"): i for i in mdv.findall(f"{ODM}ItemDef")}
    codelists = {c.get("OID"): c for c in mdv.findall(f"{ODM}CodeList")}
    methods = {m.get("OID") for m in mdv.findall(f"{ODM}MethodDef")}
    groups = mdv.findall(f"{ODM}ItemGroupDef")
    written = {name.removesuffix(".xpt").upper() for name in files if name.endswith(".xpt")}
    assert {g.get("Name") for g in groups} == written
    for group in groups:
        name = group.get("Name")
        assert name is not None
        leaf = group.find(f"{DEF}leaf")
        assert leaf is not None and leaf.get(f"{XLINK}href") == f"{name.lower()}.xpt"
        data, meta = _xpt(files[f"{name.lower()}.xpt"])
        assert _label(group) == meta.file_label
        assert group.find(f"{DEF}Class") is not None
        refs = group.findall(f"{ODM}ItemRef")
        assert [r.get("ItemOID") for r in refs] == [f"IT.{name}.{v}" for v in data.columns]
        keyed = sorted((int(r.get("KeySequence")), r) for r in refs if r.get("KeySequence"))
        keys = [items[r.get("ItemOID")].get("Name") for _, r in keyed]
        assert keys and not data.duplicated([k for k in keys if k in data.columns]).any()
        for ref in refs:
            if ref.get("MethodOID"):
                assert ref.get("MethodOID") in methods
            item = items[ref.get("ItemOID")]
            variable = item.get("Name")
            assert _label(item) == meta.column_names_to_labels[variable]
            numeric = meta.readstat_variable_types[variable] == "double"
            assert (item.get("DataType") in ("integer", "float")) == numeric, (name, variable)
            values = [v for v in data[variable] if not pd.isna(v) and v != ""]
            if not numeric and item.get("DataType") == "text":
                longest = max((len(str(v).encode()) for v in values), default=1)
                assert int(item.get("Length")) >= longest, (name, variable)
            assert item.find(f"{DEF}Origin") is not None
            ref_cl = item.find(f"{ODM}CodeListRef")
            if ref_cl is not None:
                cl = codelists[ref_cl.get("CodeListOID")]
                coded = {e.get("CodedValue") for e in cl}
                shown = {f"{v:g}" if isinstance(v, float) else str(v) for v in values}
                assert shown <= coded, (name, variable, shown - coded)


def test_adam_define_has_value_level_metadata_and_the_primary_analysis_results() -> None:
    files = _files("adam")
    root = ET.fromstring(files["define.xml"])
    mdv = root.find(f"{ODM}Study/{ODM}MetaDataVersion")
    assert mdv is not None
    adqs, _ = _xpt(files["adqs.xpt"])
    where = {w.get("OID") for w in mdv.findall(f"{DEF}WhereClauseDef")}
    items = {i.get("OID") for i in mdv.findall(f"{ODM}ItemDef")}
    vl = mdv.find(f"{DEF}ValueListDef[@OID='VL.ADQS.AVAL']")
    assert vl is not None
    refs = vl.findall(f"{ODM}ItemRef")
    assert {r.get("ItemOID").split(".")[-1] for r in refs} == set(adqs["PARAMCD"])
    for r in refs:
        assert r.get("ItemOID") in items
        assert r.find(f"{DEF}WhereClauseRef").get("WhereClauseOID") in where
    results = mdv.findall(f"{ARM}AnalysisResultDisplays/{ARM}ResultDisplay/{ARM}AnalysisResult")
    purposes = {r.get("AnalysisPurpose") for r in results}
    assert "PRIMARY OUTCOME MEASURE" in purposes
    primary = next(r for r in results if r.get("AnalysisPurpose") == "PRIMARY OUTCOME MEASURE")
    dataset = primary.find(f"{ARM}AnalysisDatasets/{ARM}AnalysisDataset")
    assert dataset is not None and dataset.get("ItemGroupOID") == "IG.ADQS"
    assert dataset.find(f"{DEF}WhereClauseRef").get("WhereClauseOID") in where
    variable = dataset.find(f"{ARM}AnalysisVariable")
    assert variable is not None and variable.get("ItemOID") == "IT.ADQS.AVAL"
    protocol = source("full").protocol
    assert protocol.analysis is not None
    text = _label(primary)
    assert protocol.analysis.covariance in text and f"{protocol.analysis.alpha:g}" in text


def test_the_define_names_no_drug_when_blinded() -> None:
    for convert in (adam.to_files, sdtm.to_files):
        [define] = [f for f in convert(source("none")) if f.name == "define.xml"]
        text = define.content.decode().lower()
        assert "midazolam" not in text and "ketamine " not in text
