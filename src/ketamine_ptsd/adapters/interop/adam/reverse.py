"""The analysis frames back from ADaM alone: what a reviewer does to reproduce the report.

ADSL gives ``subjects``, ADQS's analysis records (ANL01FL = "Y") give ``outcomes`` (PARAMCD →
the plan's outcome, AVISIT → its time point) and its follow-up records ``follow_up``, ADTTE gives
``durability`` (event = 1 − CNSR), ADAE ``adverse_events``; the frames ADaM does not carry
(screening, vitals, ratings, side effects, interventions, C-SSRS) are empty. Values may come from
the frames the converter made, or from the files read back (dates as dates, ISO text, or SAS
day numbers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ketamine_ptsd.core.instruments import REGISTRY
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.services.datasets import FRAME_COLUMNS

from .. import sdtm
from .._common import is_missing, visit
from .derive import plan_outcomes, qs_key

__all__ = ["analysis_frames"]

_SAS_EPOCH = dt.date(1960, 1, 1)
_SEX = {"F": "female", "M": "male"}


def _text(value: Any) -> str:
    return "" if is_missing(value) else str(value)


def _date(value: Any) -> dt.date | None:
    if is_missing(value) or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float):
        return _SAS_EPOCH + dt.timedelta(days=int(value))
    return dt.date.fromisoformat(str(value)[:10])


def _flag(value: Any) -> bool | None:
    text = _text(value)
    return None if not text else text == "Y"


def _number(value: Any) -> float | None:
    return None if is_missing(value) or value == "" else float(value)


def _arm(protocol: Protocol, label: str) -> str | None:
    if not label:
        return None
    for a in protocol.arms:
        if a.label == label:
            return a.id
    return label.removeprefix("ARM ")


def analysis_frames(
    adam: Mapping[str, pd.DataFrame], protocol: Protocol
) -> tuple[dict[str, pd.DataFrame], tuple[str, ...]]:
    """(frames, arms active first) rebuilt from ADSL, ADQS, ADTTE and ADAE."""
    adsl = adam["ADSL"]
    arm_of: dict[str, str | None] = {}
    subject_of: dict[str, str] = {}
    numbered: dict[float, str] = {}
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in FRAME_COLUMNS}
    for r in adsl.to_dict("records"):
        arm = _arm(protocol, _text(r["TRT01P"]))
        subject = _text(r["SUBJID"])
        subject_of[_text(r["USUBJID"])], arm_of[_text(r["USUBJID"])] = subject, arm
        if arm is not None and _number(r["TRT01PN"]) is not None:
            numbered[float(r["TRT01PN"])] = arm
        ethnic = _text(r["ETHNIC"])
        rows["subjects"].append(
            {
                "subject": subject,
                "arm": arm,
                "allocation_date": _date(r["RANDDT"]),
                "n_infusions": int(float(r["NUMINF"])),
                "completed_infusions": _flag(r["COMPLFL"]),
                "withdrawn": _text(r["EOSSTT"]) == "DISCONTINUED",
                "withdrawal_reason": _text(r["DCSREAS"]) or None,
                "responder_flag": _flag(r["RESPFL"]),
                "age_years": _number(r["AGE"]),
                "sex": _SEX.get(_text(r["SEX"])),
                "race": _text(r["RACEREC"]) or None,
                "hispanic": None if not ethnic else ethnic == "HISPANIC OR LATINO",
                "bmi_kg_m2": _number(r["BMIBL"]),
                "ptsd_duration_years": _number(r["PTSDDUR"]),
                "caps5_past_month": _number(r["CAPSPMBL"]),
                "madrs_baseline": _number(r["MADRSBL"]),
                "comorbid_mdd": _flag(r["MDDFL"]),
                "concomitant_psychotherapy": _flag(r["PSYTHFL"]),
                "stable_psychotropics": _flag(r["PSYMEDFL"]),
                "primary_trauma": _text(r["TRAUMA"]) or None,
            }
        )
    names = {
        sdtm.qs_test_code(REGISTRY[o.instrument], qs_key(o.measure))[0]: o.name
        for o in plan_outcomes(protocol)
    }
    times = {visit(protocol, a.name)[1]: a.name for a in protocol.assessments}
    d = protocol.response
    response_code = sdtm.qs_test_code(REGISTRY[d.instrument], qs_key(d.measure))[0]
    for r in adam["ADQS"].to_dict("records"):
        usubjid, code = _text(r["USUBJID"]), _text(r["PARAMCD"])
        base = {"subject": subject_of[usubjid], "arm": arm_of[usubjid]}
        if _text(r["ANL01FL"]) == "Y" and code in names:
            rows["outcomes"].append(
                {
                    **base,
                    "time": times[_text(r["AVISIT"])],
                    "measure": names[code],
                    "value": float(r["AVAL"]),
                }
            )
        elif code == response_code and float(r["AVISITN"]) >= 100:
            rows["follow_up"].append(
                {**base, "day": int(float(r["AVISITN"]) - 100), "caps5_total": float(r["AVAL"])}
            )
    for r in adam["ADTTE"].to_dict("records"):
        usubjid = _text(r["USUBJID"])
        rows["durability"].append(
            {
                "subject": subject_of[usubjid],
                "arm": arm_of[usubjid],
                "time_days": float(r["AVAL"]),
                "event": 1 - int(float(r["CNSR"])),
            }
        )
    for r in adam["ADAE"].to_dict("records"):
        usubjid = _text(r["USUBJID"])
        infusion = _number(r["INFNUM"])
        rows["adverse_events"].append(
            {
                "subject": subject_of[usubjid],
                "arm": arm_of[usubjid],
                "term": _text(r["AETERM"]),
                "onset_date": _date(r["ASTDT"]),
                "infusion": None if infusion is None else int(infusion),
                "severity": _text(r["AESEV"]).lower() or None,
                "serious": _text(r["AESER"]) == "Y",
                "related": _text(r["AEREL"]) == "RELATED",
                "action": _text(r["AEACNOTH"]).lower() or None,
                "outcome": _text(r["AEOUT"]).lower() or None,
            }
        )
    frames = {
        name: pd.DataFrame(rows[name], columns=list(columns))
        for name, columns in FRAME_COLUMNS.items()
    }
    return frames, tuple(numbered[n] for n in sorted(numbered))
