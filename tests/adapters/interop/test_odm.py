"""CDISC ODM 1.3.2: the protocol's forms as metadata, the record as clinical data with audit
records, every reference resolved, the blind; and the round trip export → import → the analysis
frames equal the extract (and the §9 analysis on them gives the same numbers)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

import pandas as pd
import pytest
from interop_support import source

from ketamine_ptsd.adapters.interop import odm
from ketamine_ptsd.core.analysis import AnalysisDataset, analyse
from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import REGISTRY
from ketamine_ptsd.services.datasets import FRAME_COLUMNS

Q = f"{{{odm.NS}}}"


def _normal(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    return value


def _rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    return sorted(
        (tuple(_normal(v) for v in row) for row in frame.itertuples(index=False)),
        key=repr,
    )


@pytest.mark.parametrize("unblinding", ["full", "partial", "none"])
def test_export_then_import_gives_the_extracts_analysis_frames(unblinding: str) -> None:
    src = source(unblinding)
    [f] = odm.to_files(src)
    imported = odm.read_odm(f.content, src.protocol)
    assert imported.arms == src.extract.arms
    for name in FRAME_COLUMNS:
        assert list(imported.frames[name].columns) == list(FRAME_COLUMNS[name])
        assert _rows(imported.frames[name]) == _rows(src.extract.frames[name]), name


def test_frames_only_export_round_trips_too() -> None:
    """Without the record's detail (item answers, dates) the forms carry the analysed scores."""
    src = source("full", detail=False)
    imported = odm.read_odm(odm.to_files(src)[0].content, src.protocol)
    for name in ("outcomes", "subjects", "cssrs", "durability"):
        assert _rows(imported.frames[name]) == _rows(src.extract.frames[name]), name


def test_the_analysis_on_the_imported_frames_gives_the_same_numbers() -> None:
    src = source("full")
    imported = odm.read_odm(odm.to_files(src)[0].content, src.protocol)
    kwargs = {"plan": src.protocol.analysis, "response": src.protocol.response}
    a = analyse(AnalysisDataset(dict(src.extract.frames), src.extract.arms), **kwargs)
    b = analyse(AnalysisDataset(imported.frames, imported.arms), **kwargs)
    fit_a, fit_b = a.mmrm["caps5_total"][1], b.mmrm["caps5_total"][1]
    for x, y in zip(fit_a.differences, fit_b.differences, strict=True):
        assert [y.estimate, y.se, y.p] == pytest.approx([x.estimate, x.se, x.p])
    assert a.responders.counts == b.responders.counts
    assert a.consort == b.consort


def test_metadata_has_the_protocols_visits_forms_and_items_and_every_reference_resolves() -> None:
    src = source("full")
    root = ET.fromstring(odm.to_files(src)[0].content)
    assert root.get("ODMVersion") == "1.3.2"
    mdv = root.find(f"{Q}Study/{Q}MetaDataVersion")
    assert mdv is not None
    defined = {
        tag: {e.get("OID") for e in mdv.findall(f"{Q}{tag}")}
        for tag in ("StudyEventDef", "FormDef", "ItemGroupDef", "ItemDef", "CodeList")
    }
    for a in src.protocol.assessments:
        event = mdv.find(f"{Q}StudyEventDef[@OID='SE.{a.name.upper()}']")
        assert event is not None, a.name
        forms = [r.get("FormOID") for r in event.findall(f"{Q}FormRef")]
        assert forms == [f"F.{i.upper()}" for i in a.instruments if i in REGISTRY]
    caps = mdv.find(f"{Q}ItemGroupDef[@OID='IG.CAPS5_PAST_WEEK']")
    assert caps is not None
    n_items = len(REGISTRY["caps5_past_week"].items)
    assert len(caps.findall(f"{Q}ItemRef")) == 1 + n_items + 1 + 4  # date, items, total, B-E
    for ref_tag, attr, kind in (
        ("StudyEventRef", "StudyEventOID", "StudyEventDef"),
        ("FormRef", "FormOID", "FormDef"),
        ("ItemGroupRef", "ItemGroupOID", "ItemGroupDef"),
        ("ItemRef", "ItemOID", "ItemDef"),
        ("CodeListRef", "CodeListOID", "CodeList"),
    ):
        for ref in mdv.iter(f"{Q}{ref_tag}"):
            assert ref.get(attr) in defined[kind], (ref_tag, ref.get(attr))
    clinical = root.find(f"{Q}ClinicalData")
    assert clinical is not None
    for tag, attr, kind in (
        ("StudyEventData", "StudyEventOID", "StudyEventDef"),
        ("FormData", "FormOID", "FormDef"),
        ("ItemGroupData", "ItemGroupOID", "ItemGroupDef"),
        ("ItemData", "ItemOID", "ItemDef"),
    ):
        for element in clinical.iter(f"{Q}{tag}"):
            assert element.get(attr) in defined[kind], (tag, element.get(attr))
    subjects = clinical.findall(f"{Q}SubjectData")
    assert len(subjects) == len(src.extract.frames["screening"])


def test_assessment_forms_carry_an_audit_record_of_who_entered_them_and_when() -> None:
    src = source("full")
    root = ET.fromstring(odm.to_files(src)[0].content)
    users = {u.get("OID"): u.findtext(f"{Q}LoginName") for u in root.iter(f"{Q}User")}
    locations = {loc.get("OID") for loc in root.iter(f"{Q}Location")}
    audited = 0
    for form in root.iter(f"{Q}FormData"):
        record = form.find(f"{Q}AuditRecord")
        if record is None:
            continue
        assert form[0] is record  # the schema's order
        audited += 1
        user = record.find(f"{Q}UserRef")
        assert user is not None and users[user.get("UserOID")] == "rater.yal"
        location = record.find(f"{Q}LocationRef")
        assert location is not None and location.get("LocationOID") in locations
        stamp = dt.datetime.fromisoformat(record.findtext(f"{Q}DateTimeStamp") or "")
        assert stamp.tzinfo is not None
    scheduled = src.assessments[~src.assessments["time"].str.startswith("follow-up")]
    assert audited == len(scheduled)


def test_a_blinded_export_has_no_arm_item_or_code_list() -> None:
    content = odm.to_files(source("none"))[0].content.decode()
    assert "CL.ARM" not in content and "IT.TREATMENT.ARM" not in content
    coded = odm.to_files(source("partial"))[0].content.decode()
    assert 'CodedValue="A"' in coded and "ketamine<" not in coded


def test_import_refuses_what_is_not_this_studys_odm() -> None:
    src = source("full")
    with pytest.raises(InvalidInput) as not_xml:
        odm.read_odm(b"subject,arm\n1,A\n", src.protocol)
    assert not_xml.value.field == "file"
    other = dataclasses.replace(src, protocol=src.protocol.model_copy(update={"name": "other"}))
    with pytest.raises(InvalidInput) as wrong:
        odm.read_odm(odm.to_files(other)[0].content, src.protocol)
    assert wrong.value.field == "StudyName"


def test_import_names_the_item_whose_value_is_not_of_its_type() -> None:
    src = source("full")
    content = odm.to_files(src)[0].content.decode()
    broken = content.replace(
        'ItemOID="IT.TREATMENT.NINF" Value="6"', 'ItemOID="IT.TREATMENT.NINF" Value="six"', 1
    )
    assert broken != content
    with pytest.raises(InvalidInput) as bad:
        odm.read_odm(broken.encode(), src.protocol)
    assert bad.value.field == "IT.TREATMENT.NINF" and bad.value.value == "six"
