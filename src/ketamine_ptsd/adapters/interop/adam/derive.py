"""ADSL, ADQS, ADTTE and ADAE from the SDTM domains and the analysis extract.

Each analysis value is the one the §9 analysis reads (the extract's ``outcomes``,
``durability``, ``adverse_events`` frames), and each row points back to the SDTM record it came
from (SRCDOM/SRCVAR/SRCSEQ in ADQS and ADTTE; AESEQ in ADAE, as the ADaM OCCDS keeps it).
Nothing is a literal of the RCT: parameters are the protocol's analysis plan
(``protocol.analysis.outcomes``), the baseline and responder criterion its response definition
(``protocol.response``, PROTOCOL.md §8, evaluated by the core's ``assess_response``), the
treatment labels its arms (as the actor's sanction allows, PROTOCOL.md §3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ketamine_ptsd.core.instruments import REGISTRY
from ketamine_ptsd.core.protocol import AnalysisOutcome, Protocol
from ketamine_ptsd.core.rules import assess_response
from ketamine_ptsd.services.datasets import CLUSTER_SUBSCALES
from ketamine_ptsd.services.interop_exports import InteropSource

from .. import sdtm
from .._common import is_missing, iso_date, visit
from .metadata import DATASET_VARIABLES

__all__ = [
    "TTE_PARAMCD",
    "datasets",
    "plan_outcomes",
    "qs_key",
    "treatment",
]

#: ADTTE's parameter: days from the primary outcome day to loss of response (§8).
TTE_PARAMCD = "TTLOR"
TTE_PARAM = "Time to Loss of Response (days)"


def qs_key(measure: str) -> str:
    """The QS key (``total`` or the instrument's subscale) of a plan measure."""
    if measure in ("total", "score"):
        return "total"
    return CLUSTER_SUBSCALES.get(measure, measure)


def plan_outcomes(protocol: Protocol) -> list[AnalysisOutcome]:
    """The analysed outcomes of the plan, or every scheduled instrument's total without one."""
    if protocol.analysis is not None:
        return list(protocol.analysis.outcomes)
    instruments = sorted({i for a in protocol.assessments for i in a.instruments} - {"cssrs"})
    points = tuple(a.name for a in protocol.assessments)
    return [
        AnalysisOutcome(
            name=f"{i}_total", instrument=i, measure="total", time_points=points, model="mmrm"
        )
        for i in instruments
        if i in REGISTRY
    ]


def _param(outcome: AnalysisOutcome) -> tuple[str, str, str]:
    """(PARAMCD, PARAM, PARCAT1) of an outcome: the SDTM QSTESTCD/QSTEST it comes from."""
    instrument = REGISTRY[outcome.instrument]
    code, test = sdtm.qs_test_code(instrument, qs_key(outcome.measure))
    return code, test, instrument.name.upper()


def treatment(source: InteropSource, arm: Any) -> tuple[str, float | None]:
    """(label, number) of an arm: the protocol's label under a full sanction (or open label),
    "ARM A" under a partial one, ("", None) blinded. The number orders the extract's arms."""
    if is_missing(arm) or not source.extract.arms:
        return "", None
    arms = list(source.extract.arms)
    number = float(arms.index(arm) + 1) if arm in arms else None
    if source.extract.unblinding in ("full", "open_label"):
        for a in source.protocol.arms:
            if a.id == arm:
                return a.label, number
    return f"ARM {str(arm).upper()}", number


def _flag(value: Any) -> str:
    return "" if is_missing(value) else ("Y" if bool(value) else "N")


def _date(value: Any) -> dt.date | None:
    text = iso_date(value)
    return dt.date.fromisoformat(text) if text else None


def _number(value: Any) -> float | None:
    return None if is_missing(value) else float(value)


class _Qs:
    """QSSEQ of an SDTM QS record by subject, test code and visit name (or date)."""

    def __init__(self, qs: pd.DataFrame) -> None:
        self.by_visit: dict[tuple[str, str, str], int] = {}
        self.by_date: dict[tuple[str, str, str], int] = {}
        for r in qs.itertuples(index=False):
            self.by_visit.setdefault((r.USUBJID, r.QSTESTCD, r.VISIT), int(r.QSSEQ))
            if r.QSDTC:
                self.by_date.setdefault((r.USUBJID, r.QSTESTCD, r.QSDTC), int(r.QSSEQ))

    def seq(self, usubjid: str, code: str, visit_name: str) -> int | None:
        return self.by_visit.get((usubjid, code, visit_name))

    def seq_on(self, usubjid: str, code: str, date: str) -> int | None:
        return self.by_date.get((usubjid, code, date))


def _adsl(
    source: InteropSource, sdtm_domains: Mapping[str, pd.DataFrame], studyid: str
) -> pd.DataFrame:
    dm = {r["SUBJID"]: r for r in sdtm_domains["DM"].to_dict("records")}
    infusion_dates: dict[str, list[str]] = {}
    for r in source.infusions.itertuples(index=False):
        date = iso_date(r.date)
        if date:
            infusion_dates.setdefault(str(r.subject), []).append(date)
    rows = []
    for s in source.extract.frames["subjects"].to_dict("records"):
        subject = str(s["subject"])
        d = dm[subject]
        label, number = treatment(source, s["arm"])
        dates = sorted(infusion_dates.get(subject, []))
        n = int(s["n_infusions"] or 0)
        withdrawn = bool(s["withdrawn"])
        rows.append(
            {
                "STUDYID": studyid,
                "USUBJID": d["USUBJID"],
                "SUBJID": subject,
                "SITEID": d["SITEID"],
                "AGE": _number(s["age_years"]),
                "AGEU": d["AGEU"],
                "SEX": d["SEX"],
                "RACE": d["RACE"],
                # Table 1 groups by the record's own words, which RACE (CDISC terms) loses.
                "RACEREC": "" if is_missing(s["race"]) else str(s["race"]),
                "ETHNIC": d["ETHNIC"],
                "ARM": d["ARM"],
                "ACTARM": d["ACTARM"],
                "TRT01P": label,
                "TRT01PN": number,
                "TRT01A": label if n else "",
                "TRT01AN": number if n else None,
                "RANDDT": _date(s["allocation_date"]),
                "TRTSDT": _date(dates[0]) if dates else _date(d["RFXSTDTC"]) if n else None,
                "TRTEDT": _date(dates[-1]) if dates else _date(d["RFXENDTC"]) if n else None,
                "ITTFL": "Y",
                "SAFFL": "Y" if n else "N",
                "COMPLFL": _flag(s["completed_infusions"]),
                "EOSSTT": "DISCONTINUED" if withdrawn else "COMPLETED",
                "DCSREAS": str(s["withdrawal_reason"] or "WITHDRAWN")[:200] if withdrawn else "",
                "NUMINF": float(n),
                "BMIBL": _number(s["bmi_kg_m2"]),
                "PTSDDUR": _number(s["ptsd_duration_years"]),
                "CAPSPMBL": _number(s["caps5_past_month"]),
                "MADRSBL": _number(s["madrs_baseline"]),
                "MDDFL": _flag(s["comorbid_mdd"]),
                "PSYTHFL": _flag(s["concomitant_psychotherapy"]),
                "PSYMEDFL": _flag(s["stable_psychotropics"]),
                "TRAUMA": "" if is_missing(s["primary_trauma"]) else str(s["primary_trauma"]),
                "RESPFL": _flag(s["responder_flag"]),
            }
        )
    return pd.DataFrame(rows, columns=list(DATASET_VARIABLES["ADSL"]))


def _trt(adsl_row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "TRTP": adsl_row["TRT01P"],
        "TRTPN": adsl_row["TRT01PN"],
        "TRTA": adsl_row["TRT01A"],
        "TRTAN": adsl_row["TRT01AN"],
    }


def _assessment_dates(source: InteropSource) -> dict[tuple[str, str, str], str]:
    """(subject, instrument, time point) → ISO date of the record's assessment."""
    dates: dict[tuple[str, str, str], str] = {}
    for a in source.assessments.itertuples(index=False):
        date = iso_date(a.date)
        if date:
            dates.setdefault((str(a.subject), str(a.instrument), str(a.time)), date)
    return dates


def _criterion(source: InteropSource) -> str:
    d = source.protocol.response
    return (
        f"{d.instrument} {d.measure} at least {d.min_reduction_fraction * 100:g}% below "
        f"{d.baseline_assessment} at {d.assessment} (protocol response definition)"
    )[:200]


def _adqs(
    source: InteropSource,
    adsl: pd.DataFrame,
    qs: _Qs,
    studyid: str,
) -> pd.DataFrame:
    protocol = source.protocol
    definition = protocol.response
    by_name = {o.name: o for o in plan_outcomes(protocol)}
    subjects = {r["SUBJID"]: r for r in adsl.to_dict("records")}
    dates = _assessment_dates(source)
    out = source.extract.frames["outcomes"]
    response_code, response_param, response_category = _param(
        next(
            (
                o
                for o in by_name.values()
                if o.instrument == definition.instrument and o.measure == definition.measure
            ),
            AnalysisOutcome(
                name="response",
                instrument=definition.instrument,
                measure=definition.measure,
                time_points=(definition.baseline_assessment, definition.assessment),
                model="mmrm",
            ),
        )
    )
    criterion = _criterion(source)
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str, float]] = set()
    for r in out.to_dict("records"):
        subject, outcome = str(r["subject"]), by_name.get(str(r["measure"]))
        if outcome is None or subject not in subjects or is_missing(r["value"]):
            continue
        code, param, category = _param(outcome)
        s = subjects[subject]
        visitnum, visit_name = visit(protocol, str(r["time"]))
        key = (subject, code, visitnum)
        rows.append(
            {
                "STUDYID": studyid,
                "USUBJID": s["USUBJID"],
                **_trt(s),
                "PARAMCD": code,
                "PARAM": param,
                "PARCAT1": category,
                "AVAL": float(r["value"]),
                "ADT": _date(dates.get((subject, outcome.instrument, str(r["time"])))),
                "AVISIT": visit_name,
                "AVISITN": visitnum,
                "ABLFL": "Y" if r["time"] == definition.baseline_assessment else "",
                "ANL01FL": "" if key in seen else "Y",
                "ITTFL": s["ITTFL"],
                "SRCDOM": "QS",
                "SRCVAR": "QSSTRESN",
                "SRCSEQ": qs.seq(s["USUBJID"], code, visit_name),
                "_time": str(r["time"]),
            }
        )
        seen.add(key)
    for r in source.extract.frames["follow_up"].to_dict("records"):
        subject = str(r["subject"])
        if subject not in subjects or is_missing(r["caps5_total"]):
            continue
        s = subjects[subject]
        visitnum, visit_name = visit(protocol, f"follow-up day {int(r['day'])}")
        rows.append(
            {
                "STUDYID": studyid,
                "USUBJID": s["USUBJID"],
                **_trt(s),
                "PARAMCD": response_code,
                "PARAM": response_param,
                "PARCAT1": response_category,
                "AVAL": float(r["caps5_total"]),
                "AVISIT": visit_name,
                "AVISITN": visitnum,
                "ABLFL": "",
                "ANL01FL": "",
                "ITTFL": s["ITTFL"],
                "SRCDOM": "QS",
                "SRCVAR": "QSSTRESN",
                "_time": "",
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=list(DATASET_VARIABLES["ADQS"]))
    base = frame[frame["ABLFL"] == "Y"].drop_duplicates(["USUBJID", "PARAMCD"])
    base_of = dict(
        zip(zip(base["USUBJID"], base["PARAMCD"], strict=True), base["AVAL"], strict=True)
    )
    bases, changes, percents, crit, flags = [], [], [], [], []
    for r in frame.to_dict("records"):
        b = base_of.get((r["USUBJID"], r["PARAMCD"]))
        post = b is not None and r["ABLFL"] != "Y"
        change = r["AVAL"] - b if post and b is not None else None
        bases.append(b)
        changes.append(change)
        percents.append(100.0 * change / b if change is not None and b else None)
        is_response = r["PARAMCD"] == response_code and r["_time"] == definition.assessment
        if is_response and b is not None and b > 0:
            crit.append(criterion)
            flags.append("Y" if assess_response(definition, b, r["AVAL"]).responder else "N")
        else:
            crit.append("")
            flags.append("")
    frame["BASE"], frame["CHG"], frame["PCHG"] = bases, changes, percents
    frame["CRIT1"], frame["CRIT1FL"] = crit, flags
    return frame.reindex(columns=list(DATASET_VARIABLES["ADQS"]))


def _adtte(source: InteropSource, adsl: pd.DataFrame, qs: _Qs, studyid: str) -> pd.DataFrame:
    definition = source.protocol.response
    code = sdtm.qs_test_code(REGISTRY[definition.instrument], qs_key(definition.measure))[0]
    subjects = {r["SUBJID"]: r for r in adsl.to_dict("records")}
    dates = _assessment_dates(source)
    rows = []
    for r in source.extract.frames["durability"].to_dict("records"):
        subject = str(r["subject"])
        if subject not in subjects:
            continue
        s = subjects[subject]
        days, event = float(r["time_days"]), bool(r["event"])
        start = _date(dates.get((subject, definition.instrument, definition.assessment)))
        end = start + dt.timedelta(days=int(days)) if start is not None else None
        # The QS record of the visit that ended the follow-up (lost, or the last kept).
        seq = None if end is None else qs.seq_on(s["USUBJID"], code, end.isoformat())
        rows.append(
            {
                "STUDYID": studyid,
                "USUBJID": s["USUBJID"],
                **_trt(s),
                "PARAMCD": TTE_PARAMCD,
                "PARAM": TTE_PARAM,
                "AVAL": days,
                "STARTDT": start,
                "ADT": end,
                "CNSR": 0.0 if event else 1.0,
                "EVNTDESC": "LOSS OF RESPONSE"
                if event
                else "RESPONSE KEPT THROUGH LAST FOLLOW-UP VISIT",
                "CNSDTDSC": "" if event else "DATE OF LAST FOLLOW-UP ASSESSMENT",
                "ITTFL": s["ITTFL"],
                "SRCDOM": "QS" if seq is not None else "",
                "SRCVAR": "QSDTC" if seq is not None else "",
                "SRCSEQ": seq,
            }
        )
    return pd.DataFrame(rows, columns=list(DATASET_VARIABLES["ADTTE"]))


def _adae(
    source: InteropSource,
    adsl: pd.DataFrame,
    sdtm_domains: Mapping[str, pd.DataFrame],
    studyid: str,
) -> pd.DataFrame:
    subjects = {r["USUBJID"]: r for r in adsl.to_dict("records")}
    ae = sdtm_domains["AE"]
    frame = source.extract.frames["adverse_events"]
    rows = []
    # sdtm.domains writes one AE record per adverse_events row, in that order.
    for a, e in zip(ae.to_dict("records"), frame.to_dict("records"), strict=True):
        s = subjects.get(a["USUBJID"])
        if s is None:
            continue
        onset = _date(a["AESTDTC"])
        first = s["TRTSDT"]
        day = None
        if onset is not None and first is not None:
            delta = (onset - first).days
            day = float(delta + 1 if delta >= 0 else delta)
        infusion = None if is_missing(e["infusion"]) else float(e["infusion"])
        emergent = infusion is not None or (
            onset is not None and first is not None and onset >= first
        )
        rows.append(
            {
                "STUDYID": studyid,
                "USUBJID": a["USUBJID"],
                "AESEQ": a["AESEQ"],
                "TRTA": s["TRT01A"],
                "TRTAN": s["TRT01AN"],
                **{
                    k: a[k]
                    for k in (
                        "AETERM",
                        "AELLT",
                        "AELLTCD",
                        "AEDECOD",
                        "AEPTCD",
                        "AEHLT",
                        "AEHLGT",
                        "AEBODSYS",
                        "AEBDSYCD",
                        "AESOC",
                        "AESEV",
                        "AESER",
                        "AEREL",
                    )
                },
                "AEACNOTH": a["AEACNOTH"],
                "AEOUT": a["AEOUT"],
                "AESTDTC": a["AESTDTC"],
                "ASTDT": onset,
                "ASTDY": day,
                "INFNUM": infusion,
                "TRTEMFL": "Y" if emergent else "N",
                "SAFFL": s["SAFFL"],
            }
        )
    return pd.DataFrame(rows, columns=list(DATASET_VARIABLES["ADAE"]))


def datasets(source: InteropSource) -> dict[str, pd.DataFrame]:
    """ADSL, ADQS, ADTTE and ADAE as frames (variables in ``DATASET_VARIABLES`` order)."""
    domains = sdtm.domains(source)
    studyid = source.protocol.name.upper()
    adsl = _adsl(source, domains, studyid)
    qs = _Qs(domains["QS"])
    return {
        "ADSL": adsl,
        "ADQS": _adqs(source, adsl, qs, studyid),
        "ADTTE": _adtte(source, adsl, qs, studyid),
        "ADAE": _adae(source, adsl, domains, studyid),
    }
