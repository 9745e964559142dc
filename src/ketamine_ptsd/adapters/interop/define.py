"""Define-XML 2.1 for the SDTM and the ADaM packages (CDISC Define-XML Specification 2.1).

One ``define.xml`` per package: the study, the standard (SDTMIG 3.3 / ADaMIG 1.3), one
``ItemGroupDef`` per dataset written (name, label, class, structure, keys, the file it lives in),
one ``ItemDef`` per variable (name, label, data type, length — the longest value written, or 8
for a number — display format for SAS dates, origin), ``CodeList``s of the values written for
the variables with controlled terms (and PARAMCD decoded by PARAM), value-level metadata for
ADQS.AVAL (one ``ItemDef`` per PARAMCD through ``def:ValueListDef``/``def:WhereClauseDef``), the
derivation methods, and for ADaM the analysis results metadata (Analysis Results Metadata 1.0,
``arm:AnalysisResultDisplays``) of the primary analysis, the responder analysis and the
durability analysis of the protocol's plan (PROTOCOL.md §8, §9).

Written with ``xml.etree`` only; the schema files of Define-XML are not in any package registry
reachable here, so the tests parse the file and cross-check every dataset and variable against
the files written instead of validating against the XSD.

The blind (PROTOCOL.md §3): the study is named by the protocol's name and version, never its
title (which names the drugs); code lists hold only values present in the (sanctioned) data.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import pandas as pd

from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.services.exports import ExportFile
from ketamine_ptsd.services.interop_exports import InteropSource

from ._common import is_missing

__all__ = ["NS", "Package", "adam_define", "define_xml", "sdtm_define"]

NS = {
    "odm": "http://www.cdisc.org/ns/odm/v1.3",
    "def": "http://www.cdisc.org/ns/def/v2.1",
    "xlink": "http://www.w3.org/1999/xlink",
    "arm": "http://www.cdisc.org/ns/arm/v1.0",
}
for _prefix, _uri in NS.items():
    ET.register_namespace("" if _prefix == "odm" else _prefix, _uri)
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

#: Variables whose values are controlled terms: their code lists enumerate the values written.
_CODED = frozenset(
    {
        "DOMAIN", "SEX", "RACE", "ETHNIC", "AGEU", "ARMNRS", "EPOCH", "EXROUTE", "EXDOSFRM",
        "EXDOSU", "VSTESTCD", "VSORRESU", "VSSTRESU", "QSCAT", "AESEV", "AESER", "AEREL",
        "AEOUT", "DSDECOD", "DSCAT", "EOSSTT", "ITTFL", "SAFFL", "COMPLFL", "ABLFL", "ANL01FL",
        "CRIT1FL", "TRTEMFL", "MDDFL", "PSYTHFL", "PSYMEDFL", "RESPFL", "PARAMCD", "SRCDOM",
        "SRCVAR", "CNSR",
    }
)  # fmt: skip
_DECODES = {"PARAMCD": "PARAM", "VSTESTCD": "VSTEST"}
#: SDTM variables the sponsor assigns or derives (the rest of SDTM is collected).
_SDTM_ASSIGNED = frozenset(
    {
        "STUDYID", "DOMAIN", "EPOCH", "VISIT", "VISITNUM", "ARMNRS", "AELLT", "AELLTCD",
        "AEPTCD", "AEHLT", "AEHLTCD", "AEHLGT", "AEHLGTCD", "AEBODSYS", "AEBDSYCD", "AESOC",
        "AESOCCD",
    }
)  # fmt: skip
_SDTM_DERIVED = frozenset(
    {
        "USUBJID", "RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "QSSTRESC", "QSSTRESN",
        "VSSTRESC", "VSSTRESN", "VSSTRESU", "AEDECOD", "DSDECOD", "QSBLFL", "SVSTDTC",
        "SVENDTC", "EXDUR", "QSTEST", "VSTEST",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Package:
    """What define.xml describes: one standard's datasets and their metadata."""

    standard: str  # SDTMIG | ADaMIG
    version: str
    frames: Mapping[str, pd.DataFrame]
    dataset_labels: Mapping[str, str]
    classes: Mapping[str, str]
    keys: Mapping[str, tuple[str, ...]]
    labels: Mapping[str, str]
    numeric: Collection[str]
    dates: Collection[str]
    mandatory: Mapping[str, tuple[str, ...]]
    origins: Mapping[str, tuple[str, str]]  # variable → (origin type, description)


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    description = ET.SubElement(element, _q("odm", "Description"))
    translated = ET.SubElement(description, _q("odm", "TranslatedText"))
    translated.set(_XML_LANG, "en")
    translated.text = text
    return element


def _q(prefix: str, tag: str) -> str:
    return f"{{{NS[prefix]}}}{tag}"


def _describe(element: ET.Element, text: str) -> None:
    description = ET.SubElement(element, _q("odm", "Description"))
    translated = ET.SubElement(description, _q("odm", "TranslatedText"))
    translated.set(_XML_LANG, "en")
    translated.text = text


def _kind(frame: pd.DataFrame, variable: str, package: Package) -> tuple[str, int, int | None]:
    """(DataType, Length, SignificantDigits) of a variable as written."""
    column = frame[variable] if variable in frame.columns else pd.Series([], dtype=object)
    if variable in package.dates:
        return "integer", 8, None
    if variable in package.numeric:
        values = [float(v) for v in column if not is_missing(v)]
        if all(v == int(v) for v in values):
            return "integer", max([len(str(int(v))) for v in values] or [1]), None
        digits = max(len(f"{v:.10g}".split(".")[1]) if "." in f"{v:.10g}" else 0 for v in values)
        return "float", 8, max(digits, 1)
    texts = [str(v) for v in column if not is_missing(v) and str(v) != ""]
    if variable.endswith("DTC"):
        return "date", 10, None
    return "text", max([len(t.encode("utf-8")) for t in texts] or [1]), None


def _origin(package: Package, dataset: str, variable: str) -> tuple[str, str]:
    return package.origins.get(
        variable,
        package.origins.get(f"{dataset}.{variable}", ("Derived", "")),
    )


def define_xml(
    package: Package,
    protocol: Protocol,
    *,
    created: dt.datetime,
    value_lists: Mapping[tuple[str, str], str] | None = None,
    analysis_results: list[dict[str, str]] | None = None,
) -> bytes:
    """The define.xml of ``package`` (see the module docstring). ``value_lists`` maps
    (dataset, variable) → the variable whose values split it (ADQS.AVAL by PARAMCD)."""
    study_oid = f"STUDY.{protocol.name.upper()}"
    root = ET.Element(
        _q("odm", "ODM"),
        {
            "ODMVersion": "1.3.2",
            "FileType": "Snapshot",
            "FileOID": f"DEFINE.{protocol.name.upper()}.{package.standard.upper()}",
            "CreationDateTime": created.replace(microsecond=0).isoformat(),
            "Originator": "ketamine-ptsd",
            _q("def", "Context"): "Submission",
        },
    )
    study = ET.SubElement(root, _q("odm", "Study"), {"OID": study_oid})
    gv = ET.SubElement(study, _q("odm", "GlobalVariables"))
    ET.SubElement(gv, _q("odm", "StudyName")).text = protocol.name.upper()
    ET.SubElement(
        gv, _q("odm", "StudyDescription")
    ).text = f"Protocol {protocol.name} version {protocol.version}"
    ET.SubElement(gv, _q("odm", "ProtocolName")).text = protocol.name.upper()
    mdv = ET.SubElement(
        study,
        _q("odm", "MetaDataVersion"),
        {
            "OID": f"MDV.{protocol.name.upper()}.{package.standard.upper()}",
            "Name": f"{package.standard} {package.version} metadata",
            "Description": f"{package.standard} {package.version} datasets of {protocol.name}",
            _q("def", "DefineVersion"): "2.1.0",
        },
    )
    standards = ET.SubElement(mdv, _q("def", "Standards"))
    ET.SubElement(
        standards,
        _q("def", "Standard"),
        {
            "OID": "STD.IG",
            "Name": package.standard,
            "Type": "IG",
            "Version": package.version,
            "Status": "Final",
        },
    )
    value_lists = value_lists or {}
    codelists: dict[str, list[tuple[str, str]]] = {}
    item_defs: list[ET.Element] = []
    vlm: list[ET.Element] = []
    where: list[ET.Element] = []
    groups: list[ET.Element] = []
    methods: dict[str, str] = {}
    for name, frame in package.frames.items():
        group = ET.Element(
            _q("odm", "ItemGroupDef"),
            {
                "OID": f"IG.{name}",
                "Name": name,
                "SASDatasetName": name,
                "Repeating": "No" if name in ("DM", "ADSL") else "Yes",
                "IsReferenceData": "No",
                "Purpose": "Analysis" if package.standard == "ADaMIG" else "Tabulation",
                _q("def", "Structure"): _structure(name, package),
                _q("def", "StandardOID"): "STD.IG",
                _q("def", "ArchiveLocationID"): f"LF.{name}",
            },
        )
        _describe(group, package.dataset_labels[name])
        keys = package.keys.get(name, ())
        for order, variable in enumerate(frame.columns, start=1):
            oid = f"IT.{name}.{variable}"
            ref = {
                "ItemOID": oid,
                "Mandatory": "Yes" if variable in package.mandatory.get(name, ()) else "No",
                "OrderNumber": str(order),
            }
            if variable in keys:
                ref["KeySequence"] = str(keys.index(variable) + 1)
            origin_type, origin_text = _origin(package, name, variable)
            if origin_type == "Derived":
                method = f"MT.{name}.{variable}"
                methods[method] = origin_text or f"{variable} derived as its label says"
                ref["MethodOID"] = method
            ET.SubElement(group, _q("odm", "ItemRef"), ref)
            data_type, length, digits = _kind(frame, variable, package)
            item = ET.Element(
                _q("odm", "ItemDef"),
                {"OID": oid, "Name": variable, "DataType": data_type, "Length": str(length)},
            )
            if digits is not None:
                item.set("SignificantDigits", str(digits))
            item.set("SASFieldName", variable)
            if variable in package.dates:
                item.set(_q("def", "DisplayFormat"), "DATE9.")
            _describe(item, package.labels[variable])
            if variable in _CODED and variable in frame.columns:
                values = sorted(
                    {_coded(v) for v in frame[variable] if not is_missing(v) and v != ""}
                )
                if values:
                    cl = f"CL.{name}.{variable}"
                    decode = _DECODES.get(variable)
                    if decode and decode in frame.columns:
                        pairs = dict(zip(frame[variable].map(_coded), frame[decode], strict=True))
                        codelists[cl] = [(v, str(pairs[v])) for v in values]
                    else:
                        codelists[cl] = [(v, "") for v in values]
                    ET.SubElement(item, _q("odm", "CodeListRef"), {"CodeListOID": cl})
            if (name, variable) in value_lists:
                split = value_lists[(name, variable)]
                vl_oid = f"VL.{name}.{variable}"
                ET.SubElement(item, _q("def", "ValueListRef"), {"ValueListOID": vl_oid})
                vl = ET.Element(_q("def", "ValueListDef"), {"OID": vl_oid})
                for i, value in enumerate(sorted(set(frame[split].astype(str))), start=1):
                    wc_oid = f"WC.{name}.{split}.{value}"
                    vl_item = f"IT.{name}.{variable}.{value}"
                    vref = ET.SubElement(
                        vl,
                        _q("odm", "ItemRef"),
                        {"ItemOID": vl_item, "OrderNumber": str(i), "Mandatory": "No"},
                    )
                    ET.SubElement(vref, _q("def", "WhereClauseRef"), {"WhereClauseOID": wc_oid})
                    wc = ET.Element(_q("def", "WhereClauseDef"), {"OID": wc_oid})
                    check = ET.SubElement(
                        wc,
                        _q("odm", "RangeCheck"),
                        {
                            "SoftHard": "Soft",
                            _q("def", "ItemOID"): f"IT.{name}.{split}",
                            "Comparator": "EQ",
                        },
                    )
                    ET.SubElement(check, _q("odm", "CheckValue")).text = value
                    where.append(wc)
                    subset = frame.loc[frame[split].astype(str) == value]
                    sub_type, sub_len, sub_digits = _kind(subset, variable, package)
                    sub = ET.Element(
                        _q("odm", "ItemDef"),
                        {
                            "OID": vl_item,
                            "Name": variable,
                            "DataType": sub_type,
                            "Length": str(sub_len),
                        },
                    )
                    if sub_digits is not None:
                        sub.set("SignificantDigits", str(sub_digits))
                    label = subset[_DECODES.get(split, split)].iloc[0] if len(subset) else value
                    _describe(sub, f"{package.labels[variable]}: {label}"[:200])
                    _origin_element(sub, origin_type, origin_text)
                    item_defs.append(sub)
                vlm.append(vl)
            _origin_element(item, origin_type, origin_text)
            item_defs.append(item)
        ET.SubElement(group, _q("def", "Class"), {"Name": package.classes[name]})
        leaf = ET.SubElement(
            group,
            _q("def", "leaf"),
            {"ID": f"LF.{name}", _q("xlink", "href"): f"{name.lower()}.xpt"},
        )
        ET.SubElement(leaf, _q("def", "title")).text = f"{name.lower()}.xpt"
        groups.append(group)
    for element in vlm:
        mdv.append(element)
    for element in where:
        mdv.append(element)
    for element in groups:
        mdv.append(element)
    for element in item_defs:
        mdv.append(element)
    for oid, items in codelists.items():
        code_list = ET.SubElement(
            mdv,
            _q("odm", "CodeList"),
            {"OID": oid, "Name": oid.removeprefix("CL.").replace(".", " "), "DataType": "text"},
        )
        for coded, decoded in items:
            if decoded:
                cli = ET.SubElement(code_list, _q("odm", "CodeListItem"), {"CodedValue": coded})
                decode_element = ET.SubElement(cli, _q("odm", "Decode"))
                tt = ET.SubElement(decode_element, _q("odm", "TranslatedText"))
                tt.set(_XML_LANG, "en")
                tt.text = decoded
            else:
                ET.SubElement(code_list, _q("odm", "EnumeratedItem"), {"CodedValue": coded})
    for oid, text in methods.items():
        _text(mdv, _q("odm", "MethodDef"), text, OID=oid, Name=oid, Type="Computation")
    if analysis_results:
        _analysis_results(mdv, analysis_results)
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _coded(value: object) -> str:
    """A value as a code list writes it: numbers without a trailing ``.0``."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _origin_element(item: ET.Element, origin_type: str, text: str) -> None:
    attrs = {"Type": origin_type}
    if origin_type == "Collected":
        attrs["Source"] = "Investigator"
    elif origin_type in ("Assigned", "Derived"):
        attrs["Source"] = "Sponsor"
    origin = ET.SubElement(item, _q("def", "Origin"), attrs)
    if text and origin_type == "Predecessor":
        _describe(origin, text)


def _structure(name: str, package: Package) -> str:
    if name in ("DM", "ADSL"):
        return "One record per subject"
    keys = package.keys.get(name, ())
    return "One record per " + ", ".join(k.lower() for k in keys[1:]) + " per subject"


def _analysis_results(mdv: ET.Element, results: list[dict[str, str]]) -> None:
    displays = ET.SubElement(mdv, _q("arm", "AnalysisResultDisplays"))
    for r in results:
        display = ET.SubElement(
            displays, _q("arm", "ResultDisplay"), {"OID": f"RD.{r['id']}", "Name": r["display"]}
        )
        _describe(display, r["display"])
        result = ET.SubElement(
            display,
            _q("arm", "AnalysisResult"),
            {
                "OID": f"AR.{r['id']}",
                "ParameterOID": r["parameter"],
                "AnalysisReason": "SPECIFIED IN SAP",
                "AnalysisPurpose": r["purpose"],
            },
        )
        _describe(result, r["description"])
        sets = ET.SubElement(result, _q("arm", "AnalysisDatasets"))
        ds = ET.SubElement(sets, _q("arm", "AnalysisDataset"), {"ItemGroupOID": r["dataset"]})
        if r.get("where"):
            ET.SubElement(ds, _q("def", "WhereClauseRef"), {"WhereClauseOID": r["where"]})
        ET.SubElement(ds, _q("arm", "AnalysisVariable"), {"ItemOID": r["variable"]})
        doc = ET.SubElement(result, _q("arm", "Documentation"))
        _describe(doc, r["documentation"])
        code = ET.SubElement(
            result,
            _q("arm", "ProgrammingCode"),
            {"Context": "Python 3 (the ketamine-ptsd package)"},
        )
        ET.SubElement(code, _q("arm", "Code")).text = r["code"]


def _sdtm_package(frames: Mapping[str, pd.DataFrame]) -> Package:
    from . import sdtm

    classes = {
        "DM": "SPECIAL PURPOSE",
        "SV": "SPECIAL PURPOSE",
        "EX": "INTERVENTIONS",
        "VS": "FINDINGS",
        "QS": "FINDINGS",
        "AE": "EVENTS",
        "DS": "EVENTS",
    }
    keys: dict[str, tuple[str, ...]] = {
        d: ("STUDYID", "USUBJID", f"{d}SEQ")
        if f"{d}SEQ" in sdtm.DOMAIN_VARIABLES[d]
        else ("STUDYID", "USUBJID", "VISITNUM")
        for d in sdtm.DOMAIN_VARIABLES
    }
    keys["DM"] = ("STUDYID", "USUBJID")
    origins: dict[str, tuple[str, str]] = {}
    for variables in sdtm.DOMAIN_VARIABLES.values():
        for v in variables:
            if v in _SDTM_ASSIGNED:
                origins[v] = ("Assigned", "")
            elif v in _SDTM_DERIVED or v.endswith("SEQ"):
                origins[v] = (
                    "Derived",
                    f"{v}: {sdtm.VARIABLE_LABELS[v]}, derived by the converter",
                )
            else:
                origins[v] = ("Collected", "")
    return Package(
        standard="SDTMIG",
        version="3.3",
        frames=frames,
        dataset_labels=sdtm.DATASET_LABELS,
        classes=classes,
        keys=keys,
        labels=sdtm.VARIABLE_LABELS,
        numeric=sdtm.NUMERIC_VARIABLES,
        dates=(),
        mandatory=sdtm.REQUIRED_VARIABLES,
        origins=origins,
    )


def sdtm_define(source: InteropSource, frames: Mapping[str, pd.DataFrame]) -> ExportFile:
    """define.xml of the SDTM package (``frames``: ``sdtm.domains(source)``)."""
    content = define_xml(_sdtm_package(frames), source.protocol, created=_now())
    return ExportFile("define.xml", content, len(frames), "application/xml")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_ADAM_PREDECESSORS = {
    "SUBJID": "DM.SUBJID",
    "SITEID": "DM.SITEID",
    "AGEU": "DM.AGEU",
    "SEX": "DM.SEX",
    "RACE": "DM.RACE",
    "ETHNIC": "DM.ETHNIC",
    "ARM": "DM.ARM",
    "ACTARM": "DM.ACTARM",
    "AESEQ": "AE.AESEQ",
    "AETERM": "AE.AETERM",
    "AEDECOD": "AE.AEDECOD",
    "AESEV": "AE.AESEV",
    "AESER": "AE.AESER",
    "AEREL": "AE.AEREL",
    "AEACNOTH": "AE.AEACNOTH",
    "AEOUT": "AE.AEOUT",
    "AESTDTC": "AE.AESTDTC",
    **{
        v: f"AE.{v}"
        for v in (
            "AELLT",
            "AELLTCD",
            "AEPTCD",
            "AEHLT",
            "AEHLGT",
            "AEBODSYS",
            "AEBDSYCD",
            "AESOC",
        )
    },
    "STUDYID": "DM.STUDYID",
    "USUBJID": "DM.USUBJID",
    "PARAM": "QS.QSTEST",
    "PARCAT1": "QS.QSCAT",
}


def _adam_package(source: InteropSource, frames: Mapping[str, pd.DataFrame]) -> Package:
    from . import adam

    d = source.protocol.response
    derived = {
        "AGE": "Age at screening from the demographics record",
        "TRT01P": "The protocol's arm as the export's sanction allows (PROTOCOL.md §3)",
        "TRT01A": "TRT01P for a subject with at least one infusion",
        "TRTP": "ADSL.TRT01P",
        "TRTA": "ADSL.TRT01A",
        "RANDDT": "Date of the allocation",
        "TRTSDT": "Date of the first infusion (EX)",
        "TRTEDT": "Date of the last infusion (EX)",
        "ITTFL": "Y for every randomized subject (PROTOCOL.md §9, ITT)",
        "SAFFL": "Y when at least one infusion was given",
        "COMPLFL": "Y when every scheduled infusion was given",
        "EOSSTT": "DISCONTINUED when withdrawn, else COMPLETED",
        "AVAL": "QS.QSSTRESN of the analysed measure",
        "BASE": f"AVAL at {d.baseline_assessment} (ABLFL = Y) for the same PARAMCD",
        "CHG": "AVAL − BASE for post-baseline records",
        "PCHG": "100 × CHG / BASE",
        "ABLFL": f"Y for the {d.baseline_assessment} record (protocol response definition)",
        "ANL01FL": "Y for the first record per subject, PARAMCD and AVISITN of the plan",
        "CRIT1FL": (
            f"Y when AVAL is at least {d.min_reduction_fraction * 100:g}% below BASE at "
            f"{d.assessment} (core.rules.assess_response, PROTOCOL.md §8)"
        ),
        "AVAL.ADTTE": "Days from the primary outcome day to loss of response or censoring",
        "CNSR": "0 at loss of response, 1 when the response was kept (censored)",
        "TRTEMFL": "Y when the event began on or after TRTSDT or during an infusion day",
        "ASTDY": "ASTDT − TRTSDT (+1 on or after TRTSDT)",
    }
    origins: dict[str, tuple[str, str]] = {
        v: ("Predecessor", text) for v, text in _ADAM_PREDECESSORS.items()
    }
    for v, text in derived.items():
        origins[v] = ("Derived", text)
    origins["ADTTE.AVAL"] = ("Derived", derived["AVAL.ADTTE"])
    for v in adam.SPONSOR_VARIABLES:
        origins.setdefault(v, ("Derived", f"{adam.VARIABLE_LABELS[v]} (sponsor-defined)"))
    return Package(
        standard="ADaMIG",
        version="1.3",
        frames=frames,
        dataset_labels=adam.DATASET_LABELS,
        classes=adam.DATASET_CLASSES,
        keys={n: ("STUDYID", *k) for n, k in adam.DATASET_KEYS.items()},
        labels=adam.VARIABLE_LABELS,
        numeric=adam.NUMERIC_VARIABLES,
        dates=adam.DATE_VARIABLES,
        mandatory={n: ("STUDYID", "USUBJID") for n in adam.DATASET_VARIABLES},
        origins=origins,
    )


def analysis_results(source: InteropSource) -> list[dict[str, str]]:
    """The analysis results metadata of the plan's primary, responder and durability analyses."""
    from . import adam

    protocol = source.protocol
    d = protocol.response
    primary = next(
        (
            o
            for o in adam.plan_outcomes(protocol)
            if (o.instrument, o.measure) == (d.instrument, d.measure)
        ),
        None,
    )
    if primary is None:
        return []
    from ketamine_ptsd.core.instruments import REGISTRY

    from . import sdtm

    code = sdtm.qs_test_code(REGISTRY[primary.instrument], adam.qs_key(primary.measure))[0]
    plan = protocol.analysis
    covariance = plan.covariance if plan else "cs"
    ddf = plan.ddf if plan else "between-within"
    alpha = f"{plan.alpha:g}" if plan else "0.05"
    test = plan.responder_test if plan else "chi2_yates"
    return [
        {
            "id": "PRIMARY",
            "display": f"Primary analysis: {primary.name} by arm over time (MMRM)",
            "parameter": "IT.ADQS.PARAMCD",
            "purpose": "PRIMARY OUTCOME MEASURE",
            "description": (
                f"MMRM of AVAL ({code}) on arm, visit ({', '.join(primary.time_points)}) and "
                f"arm × visit, {covariance} covariance, {ddf} degrees of freedom, REML; the "
                f"difference between arms at {d.assessment}, two-sided alpha {alpha} "
                "(PROTOCOL.md §9)"
            ),
            "dataset": "IG.ADQS",
            "where": f"WC.ADQS.PARAMCD.{code}",
            "variable": "IT.ADQS.AVAL",
            "documentation": "PROTOCOL.md §9; selection: ANL01FL = Y, ITTFL = Y",
            "code": (
                "core.stats.mmrm.fit_mmrm(data, subject='USUBJID', "
                f"group='TRTP', time='AVISIT', outcome='AVAL') on ADQS where PARAMCD = '{code}' "
                "and ANL01FL = 'Y'"
            ),
        },
        {
            "id": "RESPONDER",
            "display": f"Responders at {d.assessment} by arm",
            "parameter": "IT.ADQS.PARAMCD",
            "purpose": "SECONDARY OUTCOME MEASURE",
            "description": (
                f"Proportion with CRIT1FL = Y ({d.instrument} {d.measure} at least "
                f"{d.min_reduction_fraction * 100:g}% below {d.baseline_assessment}) by arm, "
                f"{test}; a subject without the {d.assessment} value is a non-responder"
            ),
            "dataset": "IG.ADQS",
            "where": f"WC.ADQS.PARAMCD.{code}",
            "variable": "IT.ADQS.CRIT1FL",
            "documentation": "PROTOCOL.md §8, §9",
            "code": "core.stats.responders.analyse_responders(...)",
        },
        {
            "id": "DURABILITY",
            "display": "Time to loss of response among responders (Kaplan-Meier, log-rank)",
            "parameter": "IT.ADTTE.PARAMCD",
            "purpose": "EXPLORATORY OUTCOME MEASURE",
            "description": "Kaplan-Meier by arm of AVAL with CNSR; log-rank test",
            "dataset": "IG.ADTTE",
            "where": "",
            "variable": "IT.ADTTE.AVAL",
            "documentation": "PROTOCOL.md §8",
            "code": "core.stats.survival.kaplan_meier / logrank_test",
        },
    ]


def adam_define(source: InteropSource, frames: Mapping[str, pd.DataFrame]) -> ExportFile:
    """define.xml of the ADaM package (``frames``: ``adam.datasets(source)``)."""
    content = define_xml(
        _adam_package(source, frames),
        source.protocol,
        created=_now(),
        value_lists={("ADQS", "AVAL"): "PARAMCD"},
        analysis_results=analysis_results(source),
    )
    return ExportFile("define.xml", content, len(frames), "application/xml")
