"""CDISC SDTM domains DM, EX, VS, QS, AE, DS and SV from the analysis extract (SYSTEM.md §11).

Variable names and roles follow the SDTM Implementation Guide 3.3/3.4 (CDISC, 2018/2021); values
use CDISC Controlled Terminology where this project knows the term (listed below and in
``docs/interop.md``); everything else is the record's own text, upper-cased.

Controlled terminology used:
- DOMAIN: the two-letter domain codes. SEX (C66731): F, M, U. ETHNIC (C66790): HISPANIC OR
  LATINO, NOT HISPANIC OR LATINO. RACE (C74457): WHITE, BLACK OR AFRICAN AMERICAN, ASIAN, OTHER.
  AGEU: YEARS.
- VSTESTCD (C66741): SYSBP, DIABP, PULSE, OXYSAT; VSORRESU (C66770): mmHg, beats/min, %.
- EXROUTE (C66729): INTRAVENOUS; EXDOSFRM (C66726): SOLUTION; EXDOSU: mg/kg.
- AESEV (C66769): MILD, MODERATE, SEVERE; AESER/NY (C66742): Y, N; AEOUT (C66768):
  RECOVERED/RESOLVED, RECOVERED/RESOLVED WITH SEQUELAE, NOT RECOVERED/NOT RESOLVED, FATAL,
  UNKNOWN; AEREL: RELATED / NOT RELATED (sponsor-defined; the record's possible, probable and
  definite count as related). AEACN (action on study drug) is left blank — the record keeps
  the treatment given for the event, which goes to AEACNOTH.
- DSCAT: DISPOSITION EVENT; DSDECOD (C66727 NCOMPLT): COMPLETED, SCREEN FAILURE, WITHDRAWAL BY
  SUBJECT, PHYSICIAN DECISION; EPOCH (C99079): SCREENING, TREATMENT.
- ARMNRS (C142179): SCREEN FAILURE, NOT ASSIGNED.

Files: each domain as CSV (UTF-8, the record's text as entered) and as SAS transport version 5
(``dm.xpt`` …, written by pyreadstat), the format FDA and PMDA take: dataset and variable names
of at most 8 characters, the IG's variable labels (at most 40), numeric variables as numbers
and the rest as text of at most 200 bytes (a longer value is refused, naming it, rather than
cut). Transport files are ASCII: an accented letter is written without its accent and any other
non-ASCII character as ``?`` (the CSV keeps the original). ``define.xml`` (Define-XML 2.1,
``interop/define.py``) describes the package. AE carries the MedDRA coding of each coded event
(AELLT … AESOCCD, AEDECOD = PT, AEBODSYS = primary SOC; services/meddra.py); an uncoded event has
AEDECOD = the verbatim term upper-cased and no hierarchy. Simplified, on purpose: QSTESTCD are this project's codes (instrument stem + item number, ≤ 8 characters, see
``_common.INSTRUMENT_CODES``), not CDISC QRS codes, because the published QRS supplements for
CAPS-5 and MADRS are not reproduced here; time-of-day is not in the analysis extract, so --DTC are
dates; no SUPPQUAL, no TA/TV/TE/TS trial-design domains.

The blind (PROTOCOL.md §3): without a sanction, ARMCD/ARM/ACTARMCD/ACTARM are blank, EXTRT is
"STUDY DRUG" and EXDOSE/EXDOSU are blank (the mg/kg would tell the drugs apart, §4). Under a
partial sanction the arms are the coded "A"/"B" and EXTRT stays "STUDY DRUG".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from ketamine_ptsd.core.instruments import REGISTRY
from ketamine_ptsd.core.instruments import Instrument as _Instrument
from ketamine_ptsd.services.exports import ExportFile
from ketamine_ptsd.services.interop_exports import InteropSource

from ._common import INSTRUMENT_CODES, csv_file, drug_of, is_missing, iso_date, visit
from ._xpt import transport_bytes

__all__ = [
    "DATASET_LABELS",
    "DOMAIN_VARIABLES",
    "NUMERIC_VARIABLES",
    "REQUIRED_VARIABLES",
    "VARIABLE_LABELS",
    "domains",
    "qs_test_code",
    "to_files",
    "xpt_bytes",
]

#: Variables written per domain, in SDTM IG order.
DOMAIN_VARIABLES: Mapping[str, tuple[str, ...]] = {
    "DM": (
        "STUDYID", "DOMAIN", "USUBJID", "SUBJID", "RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC",
        "SITEID", "AGE", "AGEU", "SEX", "RACE", "ETHNIC", "ARMCD", "ARM", "ACTARMCD", "ACTARM",
        "ARMNRS", "COUNTRY",
    ),
    "EX": (
        "STUDYID", "DOMAIN", "USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXDOSFRM",
        "EXROUTE", "VISITNUM", "VISIT", "EPOCH", "EXSTDTC", "EXENDTC", "EXDUR",
    ),
    "VS": (
        "STUDYID", "DOMAIN", "USUBJID", "VSSEQ", "VSTESTCD", "VSTEST", "VSORRES", "VSORRESU",
        "VSSTRESC", "VSSTRESN", "VSSTRESU", "VISITNUM", "VISIT", "EPOCH", "VSDTC", "VSTPT",
        "VSTPTNUM", "VSELTM", "VSTPTREF",
    ),
    "QS": (
        "STUDYID", "DOMAIN", "USUBJID", "QSSEQ", "QSTESTCD", "QSTEST", "QSCAT", "QSSCAT",
        "QSORRES", "QSSTRESC", "QSSTRESN", "QSBLFL", "VISITNUM", "VISIT", "QSDTC", "QSTPT",
        "QSTPTNUM",
    ),
    "AE": (
        "STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AELLT", "AELLTCD", "AEDECOD",
        "AEPTCD", "AEHLT", "AEHLTCD", "AEHLGT", "AEHLGTCD", "AEBODSYS", "AEBDSYCD", "AESOC",
        "AESOCCD", "AESEV", "AESER", "AEACN", "AEACNOTH", "AEREL", "AEOUT", "EPOCH", "AESTDTC",
    ),
    "DS": (
        "STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "EPOCH",
        "DSSTDTC",
    ),
    "SV": ("STUDYID", "DOMAIN", "USUBJID", "VISITNUM", "VISIT", "EPOCH", "SVSTDTC", "SVENDTC"),
}  # fmt: skip

#: Required ("Req") variables per domain in the SDTM IG: never blank in a row.
REQUIRED_VARIABLES: Mapping[str, tuple[str, ...]] = {
    "DM": ("STUDYID", "DOMAIN", "USUBJID", "SUBJID", "SITEID", "SEX"),
    "EX": ("STUDYID", "DOMAIN", "USUBJID", "EXSEQ", "EXTRT"),
    "VS": ("STUDYID", "DOMAIN", "USUBJID", "VSSEQ", "VSTESTCD", "VSTEST"),
    "QS": ("STUDYID", "DOMAIN", "USUBJID", "QSSEQ", "QSTESTCD", "QSTEST", "QSCAT"),
    "AE": ("STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AEDECOD"),
    "DS": ("STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT"),
    "SV": ("STUDYID", "DOMAIN", "USUBJID", "VISITNUM"),
}

#: Dataset labels (SDTM IG domain names).
DATASET_LABELS: Mapping[str, str] = {
    "DM": "Demographics",
    "EX": "Exposure",
    "VS": "Vital Signs",
    "QS": "Questionnaires",
    "AE": "Adverse Events",
    "DS": "Disposition",
    "SV": "Subject Visits",
}

#: Variable labels as the SDTM IG gives them (at most 40 characters, the XPT v5 limit).
VARIABLE_LABELS: Mapping[str, str] = {
    "STUDYID": "Study Identifier",
    "DOMAIN": "Domain Abbreviation",
    "USUBJID": "Unique Subject Identifier",
    "SUBJID": "Subject Identifier for the Study",
    "RFSTDTC": "Subject Reference Start Date/Time",
    "RFENDTC": "Subject Reference End Date/Time",
    "RFXSTDTC": "Date/Time of First Study Treatment",
    "RFXENDTC": "Date/Time of Last Study Treatment",
    "SITEID": "Study Site Identifier",
    "AGE": "Age",
    "AGEU": "Age Units",
    "SEX": "Sex",
    "RACE": "Race",
    "ETHNIC": "Ethnicity",
    "ARMCD": "Planned Arm Code",
    "ARM": "Description of Planned Arm",
    "ACTARMCD": "Actual Arm Code",
    "ACTARM": "Description of Actual Arm",
    "ARMNRS": "Reason Arm and/or Actual Arm is Null",
    "COUNTRY": "Country",
    "EXSEQ": "Sequence Number",
    "EXTRT": "Name of Treatment",
    "EXDOSE": "Dose",
    "EXDOSU": "Dose Units",
    "EXDOSFRM": "Dose Form",
    "EXROUTE": "Route of Administration",
    "VISITNUM": "Visit Number",
    "VISIT": "Visit Name",
    "EPOCH": "Epoch",
    "EXSTDTC": "Start Date/Time of Treatment",
    "EXENDTC": "End Date/Time of Treatment",
    "EXDUR": "Duration of Treatment",
    "VSSEQ": "Sequence Number",
    "VSTESTCD": "Vital Signs Test Short Name",
    "VSTEST": "Vital Signs Test Name",
    "VSORRES": "Result or Finding in Original Units",
    "VSORRESU": "Original Units",
    "VSSTRESC": "Character Result/Finding in Std Format",
    "VSSTRESN": "Numeric Result/Finding in Standard Units",
    "VSSTRESU": "Standard Units",
    "VSDTC": "Date/Time of Measurements",
    "VSTPT": "Planned Time Point Name",
    "VSTPTNUM": "Planned Time Point Number",
    "VSELTM": "Planned Elapsed Time from Time Point Ref",
    "VSTPTREF": "Time Point Reference",
    "QSSEQ": "Sequence Number",
    "QSTESTCD": "Question Short Name",
    "QSTEST": "Question Name",
    "QSCAT": "Category of Question",
    "QSSCAT": "Subcategory for Question",
    "QSORRES": "Finding in Original Units",
    "QSSTRESC": "Character Result/Finding in Std Format",
    "QSSTRESN": "Numeric Finding in Standard Units",
    "QSBLFL": "Baseline Flag",
    "QSDTC": "Date/Time of Finding",
    "QSTPT": "Planned Time Point Name",
    "QSTPTNUM": "Planned Time Point Number",
    "AESEQ": "Sequence Number",
    "AETERM": "Reported Term for the Adverse Event",
    "AEDECOD": "Dictionary-Derived Term",
    "AELLT": "Lowest Level Term",
    "AELLTCD": "Lowest Level Term Code",
    "AEPTCD": "Preferred Term Code",
    "AEHLT": "High Level Term",
    "AEHLTCD": "High Level Term Code",
    "AEHLGT": "High Level Group Term",
    "AEHLGTCD": "High Level Group Term Code",
    "AEBODSYS": "Body System or Organ Class",
    "AEBDSYCD": "Body System or Organ Class Code",
    "AESOC": "Primary System Organ Class",
    "AESOCCD": "Primary System Organ Class Code",
    "AESEV": "Severity/Intensity",
    "AESER": "Serious Event",
    "AEACN": "Action Taken with Study Treatment",
    "AEACNOTH": "Other Action Taken",
    "AEREL": "Causality",
    "AEOUT": "Outcome of Adverse Event",
    "AESTDTC": "Start Date/Time of Adverse Event",
    "DSSEQ": "Sequence Number",
    "DSTERM": "Reported Term for the Disposition Event",
    "DSDECOD": "Standardized Disposition Term",
    "DSCAT": "Category for Disposition Event",
    "DSSTDTC": "Start Date/Time of Disposition Event",
    "SVSTDTC": "Start Date/Time of Visit",
    "SVENDTC": "End Date/Time of Visit",
}

#: The numeric variables (SDTM IG type "Num"); every other variable is text.
NUMERIC_VARIABLES = frozenset(
    {
        "AGE", "EXSEQ", "EXDOSE", "VISITNUM", "VSSEQ", "VSSTRESN", "VSTPTNUM", "QSSEQ",
        "QSSTRESN", "QSTPTNUM", "AESEQ", "DSSEQ", "AELLTCD", "AEPTCD", "AEHLTCD", "AEHLGTCD",
        "AEBDSYCD", "AESOCCD",
    }
)  # fmt: skip


_SEX = {"female": "F", "male": "M"}
_RACE = {
    "white": "WHITE",
    "black": "BLACK OR AFRICAN AMERICAN",
    "asian": "ASIAN",
    "other": "OTHER",
}
_SEVERITY = {"mild": "MILD", "moderate": "MODERATE", "severe": "SEVERE"}
_VITALS = (
    ("systolic_mmhg", "SYSBP", "Systolic Blood Pressure", "mmHg"),
    ("diastolic_mmhg", "DIABP", "Diastolic Blood Pressure", "mmHg"),
    ("heart_rate_bpm", "PULSE", "Pulse Rate", "beats/min"),
    ("spo2_percent", "OXYSAT", "Oxygen Saturation", "%"),
)
#: Analysis-plan measure names → (instrument, score) for the frames-only fallback of QS.
_MEASURE_INSTRUMENT = {
    "caps5_total": ("caps5_past_week", "total"),
    "caps5_intrusion": ("caps5_past_week", "intrusion"),
    "caps5_avoidance": ("caps5_past_week", "avoidance"),
    "caps5_negative_cognitions_mood": ("caps5_past_week", "negative_cognitions_mood"),
    "caps5_arousal_reactivity": ("caps5_past_week", "arousal_reactivity"),
    "madrs_total": ("madrs", "total"),
    "madrs_24h": ("madrs_24h", "total"),
    "ies_r_24h": ("ies_r", "total"),
    "cgi_s": ("cgi_s", "total"),
    "cgi_i": ("cgi_i", "total"),
}


def qs_test_code(instrument: _Instrument, key: str) -> tuple[str, str]:
    """(QSTESTCD, QSTEST) of an item key, ``"total"`` or a subscale name (≤ 8 / ≤ 40 chars)."""
    stem = INSTRUMENT_CODES.get(instrument.id, instrument.id[:4].upper())
    if key == "total":
        return f"{stem}TOT", f"{instrument.name} Total Score"[:40].rstrip()
    item_keys = [i.key for i in instrument.items]
    if key in item_keys:
        item = instrument.item(key)
        return f"{stem}{item.position:02d}", f"{instrument.name} {item.label}"[:40].rstrip()
    subscales = list(instrument.subscale_ranges)
    index = subscales.index(key) + 1 if key in subscales else 99
    return f"{stem}S{index:02d}", f"{instrument.name} {key.replace('_', ' ')}"[:40].rstrip()


def _usubjid(source: InteropSource, subject: str) -> str:
    return f"{source.protocol.name.upper()}-{subject}"


def _epoch(visitnum: float) -> str:
    return "SCREENING" if visitnum < 10 else "FOLLOW-UP" if visitnum >= 100 else "TREATMENT"


class _Builder:
    """Collects rows per domain; assigns --SEQ per subject in row order."""

    def __init__(self, source: InteropSource) -> None:
        self.source = source
        self.studyid = source.protocol.name.upper()
        self.rows: dict[str, list[dict[str, Any]]] = {d: [] for d in DOMAIN_VARIABLES}

    def add(self, domain: str, subject: str, **values: Any) -> None:
        self.rows[domain].append(
            {
                "STUDYID": self.studyid,
                "DOMAIN": domain,
                "USUBJID": _usubjid(self.source, subject),
                **values,
            }
        )

    def frames(self) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {}
        for domain, columns in DOMAIN_VARIABLES.items():
            frame = pd.DataFrame(self.rows[domain], columns=list(columns))
            seq = f"{domain}SEQ"
            if seq in frame.columns and not frame.empty:
                frame[seq] = frame.groupby("USUBJID").cumcount() + 1
            out[domain] = frame
        return out


def _infusion_dates(source: InteropSource) -> dict[tuple[str, int], str]:
    return {
        (str(r.subject), int(r.infusion)): iso_date(r.date)
        for r in source.infusions.itertuples(index=False)
    }


def _dm(b: _Builder, infusion_dates: Mapping[tuple[str, int], str]) -> None:
    source = b.source
    frames = source.extract.frames
    treated = {str(r["subject"]): r for r in frames["subjects"].to_dict("records")}
    sites = {str(r.subject): r.site for r in source.patients.itertuples(index=False)}
    screened = [str(s) for s in frames["screening"]["subject"]]
    for subject in sorted(set(screened) | set(treated)):
        row = treated.get(subject)
        dates = sorted(d for (s, _), d in infusion_dates.items() if s == subject and d)
        first = dates[0] if dates else iso_date(row["allocation_date"]) if row else ""
        last = dates[-1] if dates else first
        arm = "" if row is None or is_missing(row["arm"]) else str(row["arm"])
        armcd, armname = _arm_codes(source, arm)
        nrs = "SCREEN FAILURE" if row is None else ("" if arm or source.blinded else "NOT ASSIGNED")
        sex = _SEX.get(str(row["sex"]).lower(), "U") if row is not None else "U"
        race = _RACE.get(str(row["race"]).lower(), "OTHER") if row is not None else ""
        hispanic = None if row is None else row["hispanic"]
        b.add(
            "DM",
            subject,
            SUBJID=subject,
            RFSTDTC=first,
            RFENDTC=last,
            RFXSTDTC=first,
            RFXENDTC=last,
            SITEID=str(sites.get(subject) or "01"),
            AGE=None if row is None else row["age_years"],
            AGEU="" if row is None else "YEARS",
            SEX=sex,
            RACE=race,
            ETHNIC=""
            if is_missing(hispanic)
            else ("HISPANIC OR LATINO" if bool(hispanic) else "NOT HISPANIC OR LATINO"),
            ARMCD=armcd,
            ARM=armname,
            ACTARMCD=armcd,
            ACTARM=armname,
            ARMNRS=nrs,
            COUNTRY="",
        )


def _arm_codes(source: InteropSource, arm: str) -> tuple[str, str]:
    """(ARMCD, ARM): blank when blinded, "A"/"ARM A" under a partial sanction, else the
    protocol's arm id (≤ 20 chars, upper) and label."""
    if not arm:
        return "", ""
    for a in source.protocol.arms:
        if a.id == arm and source.extract.unblinding in ("full", "open_label"):
            return a.id.upper()[:20], a.label
    return arm.upper()[:20], f"ARM {arm.upper()}"


def _ex(b: _Builder, infusion_dates: Mapping[tuple[str, int], str]) -> None:
    source = b.source
    dosing = source.protocol.dosing
    minutes = {d.infusion_minutes for d in dosing.values()}
    same_duration = len(minutes) == 1
    for row in source.extract.frames["subjects"].to_dict("records"):
        subject = str(row["subject"])
        drug = drug_of(source, row["arm"])
        dose = dosing.get(drug) if drug else None
        n = int(row["n_infusions"] or 0)
        for k in range(1, n + 1):
            date = infusion_dates.get((subject, k), "")
            if not date and k == 1:
                date = iso_date(row["allocation_date"])
            visitnum, visit_name = visit(source.protocol, infusion=k)
            duration = (
                dose.infusion_minutes if dose else (next(iter(minutes)) if same_duration else None)
            )
            b.add(
                "EX",
                subject,
                EXTRT=drug.upper() if drug else "STUDY DRUG",
                EXDOSE=dose.mg_per_kg if dose else None,
                EXDOSU="mg/kg" if dose else "",
                EXDOSFRM="SOLUTION",
                EXROUTE="INTRAVENOUS",
                VISITNUM=visitnum,
                VISIT=visit_name,
                EPOCH="TREATMENT",
                EXSTDTC=date,
                EXENDTC=date,
                EXDUR=f"PT{duration}M" if duration else "",
            )


def _vs(b: _Builder, infusion_dates: Mapping[tuple[str, int], str]) -> None:
    for row in b.source.extract.frames["vitals"].to_dict("records"):
        subject, k, minute = str(row["subject"]), int(row["infusion"]), int(row["minute"])
        visitnum, visit_name = visit(b.source.protocol, infusion=k)
        for column, code, test, unit in _VITALS:
            value = row[column]
            if is_missing(value):
                continue
            number = float(value)
            text = f"{number:g}"
            b.add(
                "VS",
                subject,
                VSTESTCD=code,
                VSTEST=test,
                VSORRES=text,
                VSORRESU=unit,
                VSSTRESC=text,
                VSSTRESN=number,
                VSSTRESU=unit,
                VISITNUM=visitnum,
                VISIT=visit_name,
                EPOCH="TREATMENT",
                VSDTC=infusion_dates.get((subject, k), ""),
                VSTPT=f"{minute} MIN AFTER INFUSION START" if minute else "BEFORE INFUSION",
                VSTPTNUM=minute,
                VSELTM=f"PT{minute}M",
                VSTPTREF="INFUSION START",
            )


def _qs_value(value: Any) -> tuple[str, float | None]:
    if isinstance(value, bool):
        return ("Y" if value else "N"), None
    if isinstance(value, int | float) and not is_missing(value):
        return f"{float(value):g}", float(value)
    return str(value).upper(), None


def _qs_row(
    b: _Builder,
    subject: str,
    instrument: _Instrument,
    key: str,
    value: Any,
    time_point: str | None,
    date: str,
    *,
    infusion: int | None = None,
    minute: int | None = None,
) -> None:
    code, test = qs_test_code(instrument, key)
    text, number = _qs_value(value)
    visitnum, visit_name = visit(b.source.protocol, time_point, infusion=infusion)
    b.add(
        "QS",
        subject,
        QSTESTCD=code,
        QSTEST=test,
        QSCAT=instrument.name.upper(),
        QSSCAT=instrument.recall_period.upper() if instrument.recall_period else "",
        QSORRES=text,
        QSSTRESC=text,
        QSSTRESN=number,
        QSBLFL="Y" if time_point == "baseline" else "",
        VISITNUM=visitnum,
        VISIT=visit_name,
        QSDTC=date,
        QSTPT="" if minute is None else f"{minute} MIN AFTER INFUSION START",
        QSTPTNUM=minute,
    )


def _qs(b: _Builder, infusion_dates: Mapping[tuple[str, int], str]) -> None:
    source = b.source
    frames = source.extract.frames
    treated = set(frames["subjects"]["subject"].astype(str))
    if not source.assessments.empty:
        for a in source.assessments.to_dict("records"):
            subject = str(a["subject"])
            instrument = REGISTRY.get(str(a["instrument"]))
            if instrument is None or subject not in treated:
                continue
            date = iso_date(a["date"])
            for key, value in (a["items"] or {}).items():
                if key in {i.key for i in instrument.items} and not is_missing(value):
                    _qs_row(b, subject, instrument, key, value, a["time"], date)
            if not is_missing(a["total"]):
                _qs_row(b, subject, instrument, "total", a["total"], a["time"], date)
            for name, value in (a["subscales"] or {}).items():
                if name in instrument.subscale_ranges:
                    _qs_row(b, subject, instrument, name, value, a["time"], date)
    else:
        for r in frames["outcomes"].to_dict("records"):
            spec = _MEASURE_INSTRUMENT.get(str(r["measure"]))
            if spec is not None:
                _qs_row(b, str(r["subject"]), REGISTRY[spec[0]], spec[1], r["value"], r["time"], "")
        for r in frames["follow_up"].to_dict("records"):
            _qs_row(
                b,
                str(r["subject"]),
                REGISTRY["caps5_past_week"],
                "total",
                r["caps5_total"],
                f"follow-up day {int(r['day'])}",
                "",
            )
    for r in frames["infusion_ratings"].to_dict("records"):
        instrument = REGISTRY.get(str(r["measure"]))
        if instrument is None or is_missing(r["value"]):
            continue
        subject, k = str(r["subject"]), int(r["infusion"])
        _qs_row(
            b,
            subject,
            instrument,
            "total",
            r["value"],
            None,
            infusion_dates.get((subject, k), ""),
            infusion=k,
            minute=int(r["minute"]),
        )


def _ae_outcome(outcome: str) -> str:
    """AEOUT (C66768) from the record's outcome text."""
    if not outcome:
        return "UNKNOWN"
    if "fatal" in outcome or "death" in outcome:
        return "FATAL"
    if "not" in outcome or "ongoing" in outcome:
        return "NOT RECOVERED/NOT RESOLVED"
    if "sequel" in outcome:
        return "RECOVERED/RESOLVED WITH SEQUELAE"
    if "recover" in outcome or "resolved" in outcome:
        return "RECOVERED/RESOLVED"
    return "UNKNOWN"


def _meddra(source: InteropSource) -> dict[tuple[str, int], dict[str, Any]]:
    """(subject, AESEQ) → the AE's MedDRA variables, for the coded events."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for c in source.ae_codings.to_dict("records"):
        out[(str(c["subject"]), int(c["seq"]))] = {
            "AELLT": str(c["llt_name"]),
            "AELLTCD": int(c["llt_code"]),
            "AEDECOD": str(c["pt_name"]),
            "AEPTCD": int(c["pt_code"]),
            "AEHLT": str(c["hlt_name"]),
            "AEHLTCD": int(c["hlt_code"]),
            "AEHLGT": str(c["hlgt_name"]),
            "AEHLGTCD": int(c["hlgt_code"]),
            "AEBODSYS": str(c["soc_name"]),
            "AEBDSYCD": int(c["soc_code"]),
            "AESOC": str(c["soc_name"]),
            "AESOCCD": int(c["soc_code"]),
        }
    return out


def _ae(b: _Builder) -> None:
    coded = _meddra(b.source)
    seq: dict[str, int] = {}
    for r in b.source.extract.frames["adverse_events"].to_dict("records"):
        outcome = str(r["outcome"] or "").lower()
        action = str(r["action"] or "").strip().lower()
        subject = str(r["subject"])
        seq[subject] = seq.get(subject, 0) + 1
        # Uncoded: AEDECOD is the verbatim term upper-cased and the hierarchy blank, until the
        # study physician codes it (services/meddra.py).
        meddra = coded.get((subject, seq[subject]), {"AEDECOD": str(r["term"]).upper()})
        b.add(
            "AE",
            subject,
            AETERM=str(r["term"]),
            **meddra,
            AESEV=_SEVERITY.get(str(r["severity"]).lower(), ""),
            AESER="Y" if bool(r["serious"]) else "N",
            AEACNOTH="" if action in ("", "none") else action.upper(),
            AEREL="RELATED" if bool(r["related"]) else "NOT RELATED",
            AEOUT=_ae_outcome(outcome),
            EPOCH="TREATMENT",
            AESTDTC=iso_date(r["onset_date"]),
        )


def _ds(b: _Builder, infusion_dates: Mapping[tuple[str, int], str]) -> None:
    source = b.source
    frames = source.extract.frames
    deciders = {
        str(r.subject): r.withdrawal_decided_by for r in source.patients.itertuples(index=False)
    }
    for r in frames["screening"].to_dict("records"):
        disposition = str(r["disposition"])
        if disposition == "eligible":
            continue
        term = "SCREEN FAILURE" if disposition == "ineligible" else "WITHDRAWAL BY SUBJECT"
        b.add(
            "DS",
            str(r["subject"]),
            DSTERM=str(r["reason"] or term)[:200],
            DSDECOD=term,
            DSCAT="DISPOSITION EVENT",
            EPOCH="SCREENING",
            DSSTDTC=iso_date(r["screening_date"]),
        )
    for r in frames["subjects"].to_dict("records"):
        subject = str(r["subject"])
        dates = sorted(d for (s, _), d in infusion_dates.items() if s == subject and d)
        if bool(r["withdrawn"]):
            decider = deciders.get(subject)
            decod = "WITHDRAWAL BY SUBJECT" if decider == "patient" else "PHYSICIAN DECISION"
            term = str(r["withdrawal_reason"] or decod)
        else:
            decod = term = "COMPLETED"
        b.add(
            "DS",
            subject,
            DSTERM=term[:200],
            DSDECOD=decod,
            DSCAT="DISPOSITION EVENT",
            EPOCH="TREATMENT",
            DSSTDTC=dates[-1] if dates else "",
        )


def _sv(b: _Builder, infusion_dates: Mapping[tuple[str, int], str]) -> None:
    source = b.source
    visits: dict[tuple[str, float], tuple[str, list[str]]] = {}

    def seen(subject: str, visitnum: float, name: str, date: str) -> None:
        entry = visits.setdefault((subject, visitnum), (name, []))
        if date:
            entry[1].append(date)

    for r in source.extract.frames["screening"].to_dict("records"):
        seen(str(r["subject"]), *visit(source.protocol), iso_date(r["screening_date"]))
    for (subject, k), date in infusion_dates.items():
        seen(subject, *visit(source.protocol, infusion=k), date)
    for a in source.assessments.to_dict("records"):
        seen(str(a["subject"]), *visit(source.protocol, str(a["time"])), iso_date(a["date"]))
    for (subject, visitnum), (name, dates) in sorted(visits.items()):
        b.add(
            "SV",
            subject,
            VISITNUM=visitnum,
            VISIT=name,
            EPOCH=_epoch(visitnum),
            SVSTDTC=min(dates) if dates else "",
            SVENDTC=max(dates) if dates else "",
        )


def domains(source: InteropSource) -> dict[str, pd.DataFrame]:
    """The seven domains as frames (variables in ``DOMAIN_VARIABLES`` order)."""
    b = _Builder(source)
    infusion_dates = _infusion_dates(source)
    steps: tuple[Callable[[], None], ...] = (
        lambda: _dm(b, infusion_dates),
        lambda: _ex(b, infusion_dates),
        lambda: _vs(b, infusion_dates),
        lambda: _qs(b, infusion_dates),
        lambda: _ae(b),
        lambda: _ds(b, infusion_dates),
        lambda: _sv(b, infusion_dates),
    )
    for step in steps:
        step()
    return b.frames()


def to_files(source: InteropSource) -> list[ExportFile]:
    """Each domain as CSV and as SAS transport v5 (``dm.csv``, ``dm.xpt`` …, as the SDTM IG
    names datasets)."""
    from . import define

    files = []
    frames = domains(source)
    for name, frame in frames.items():
        files.append(csv_file(f"{name.lower()}.csv", frame))
        files.append(
            ExportFile(
                f"{name.lower()}.xpt", xpt_bytes(name, frame), len(frame), "application/x-sas-xport"
            )
        )
    files.append(define.sdtm_define(source, frames))
    return files


def xpt_bytes(domain: str, frame: pd.DataFrame) -> bytes:
    """``frame`` as a SAS transport v5 file of dataset ``domain`` (see the module docstring)."""
    return transport_bytes(
        domain,
        frame,
        dataset_label=DATASET_LABELS[domain],
        labels=VARIABLE_LABELS,
        numeric=NUMERIC_VARIABLES,
    )
