"""CAPS-5, the Clinician-Administered PTSD Scale for DSM-5: past-month and past-week versions.

Source: Weathers, Blake, Schnurr, Kaloupek, Marx & Keane (2013/2015), *The Clinician-Administered
PTSD Scale for DSM-5 (CAPS-5)* — Past Month and Past Week forms (National Center for PTSD), and
Weathers et al. (2018), Psychological Assessment 30:383–395; PROTOCOL.md §1, §5, §7, §8.

Structure (30 items):

- 1–20: the DSM-5 symptoms, severity 0–4 (absent; mild/subthreshold; moderate/threshold;
  severe/markedly elevated; extreme/incapacitating). Total severity = sum of 1–20 (0–80);
  clusters B (1–5), C (6–7), D (8–14), E (15–20) — see ``_dsm5``.
- 21 onset and 22 duration: the form records each as a *number of months* (delay in onset;
  duration of the disturbance) with a derived yes/no (delayed onset ≥ 6 months; duration more than
  1 month). We store the months (kind ``months``) and derive the yes/no, so the threshold is visible.
- 23 subjective distress, 24 social impairment, 25 occupational/other impairment: 0–4 (criterion G).
- 26 global validity 0–3 (good, fair, poor, invalid); 27 global severity 0–4; 28 global
  improvement 0–4 (asymptomatic … no overall improvement; "insufficient information" is entered as
  not answered).
- 29 depersonalization, 30 derealization: 0–4 (dissociative subtype).

Diagnosis (past-month version only, the manual's diagnostic version; the past-week version tracks
change and is never used for diagnosis — PROTOCOL.md §7): a symptom is present at severity ≥ 2;
criteria B ≥ 1, C ≥ 1, D ≥ 2, E ≥ 2 present symptoms; F duration > 1 month (item 22); G at least
one of items 23–25 ≥ 2. Dissociative subtype: diagnosis plus item 29 or 30 ≥ 2. Criterion A
(exposure) and H (not due to a substance or medical condition) are clinician judgements the 30
items do not hold, so ``diagnosis`` means "criteria B–G met on the CAPS-5".

The diagnosis is three-valued. If any evaluable criterion fails, it is ``"not met"`` whatever is
missing; if all evaluable criteria pass but an item needed for F or G is absent, it is
``"not assessable"`` and ``diagnosis_missing_items`` names the items. The dissociative subtype
is ``"present"``, ``"absent"``, ``"not assessable"`` (``dissociative_subtype_missing_items`` names
29 and/or 30) or ``"not applicable"`` when the diagnosis is not met.

Missing-item rule: no prorating. Total and clusters need all of items 1–20 (the manual gives no
prorating rule); items 21–30 are optional and only feed the diagnosis and its specifiers.
The manual defines no severity bands (PROTOCOL.md §7), so none are reported.
"""

from __future__ import annotations

from typing import Any

from ketamine_ptsd.core.instruments._base import (
    Instrument,
    Item,
    ItemValue,
    ScoredResult,
    require_items,
    sum_items,
)
from ketamine_ptsd.core.instruments._dsm5 import SYMPTOM_LABELS, cluster_scores, symptom_criteria

__all__ = [
    "CAPS5_PAST_MONTH",
    "CAPS5_PAST_WEEK",
    "DELAYED_ONSET_MONTHS",
    "DURATION_MORE_THAN_MONTHS",
    "SEVERITY_ANCHORS",
    "SYMPTOM_KEYS",
]

SEVERITY_ANCHORS: dict[int, str] = {
    0: "absent",
    1: "mild / subthreshold",
    2: "moderate / threshold",
    3: "severe / markedly elevated",
    4: "extreme / incapacitating",
}
_IMPAIRMENT_ANCHORS = {0: "none", 1: "mild", 2: "moderate", 3: "severe", 4: "extreme"}
_VALIDITY_ANCHORS = {0: "good", 1: "fair", 2: "poor", 3: "invalid"}
_IMPROVEMENT_ANCHORS = {
    0: "asymptomatic",
    1: "considerable improvement",
    2: "moderate improvement",
    3: "slight improvement",
    4: "no overall improvement",
}
SYMPTOM_KEYS: tuple[str, ...] = tuple(str(n) for n in range(1, 21))
# DSM-5 "with delayed expression": full criteria not met until at least 6 months after the event.
DELAYED_ONSET_MONTHS = 6
# DSM-5 criterion F: duration of the disturbance more than 1 month.
DURATION_MORE_THAN_MONTHS = 1
_MAX_MONTHS = 1200  # a century: a sanity bound on the month counts of items 21 and 22

_ITEMS: tuple[Item, ...] = (
    *(
        Item(str(n), n, label, anchors=SEVERITY_ANCHORS)
        for n, label in enumerate(SYMPTOM_LABELS, start=1)
    ),
    Item("21", 21, "delay in onset (months)", kind="months", maximum=_MAX_MONTHS),
    Item("22", 22, "duration of symptoms (months)", kind="months", maximum=_MAX_MONTHS),
    Item("23", 23, "subjective distress", anchors=_IMPAIRMENT_ANCHORS),
    Item("24", 24, "social impairment", anchors=_IMPAIRMENT_ANCHORS),
    Item("25", 25, "occupational or other impairment", anchors=_IMPAIRMENT_ANCHORS),
    Item("26", 26, "global validity", maximum=3, anchors=_VALIDITY_ANCHORS),
    Item("27", 27, "global severity", anchors=_IMPAIRMENT_ANCHORS),
    Item("28", 28, "global improvement", anchors=_IMPROVEMENT_ANCHORS),
    Item("29", 29, "depersonalization", anchors=SEVERITY_ANCHORS),
    Item("30", 30, "derealization", anchors=SEVERITY_ANCHORS),
)

_CITATION = (
    "Weathers FW, Blake DD, Schnurr PP, Kaloupek DG, Marx BP, Keane TM. The Clinician-Administered "
    "PTSD Scale for DSM-5 (CAPS-5), National Center for PTSD, 2013/2015; Weathers FW et al. "
    "Psychol Assess 2018;30:383-395; PROTOCOL.md §7"
)
_MISSING_RULE = (
    "No prorating: total severity and clusters need all of items 1-20. Items 21-30 are optional; "
    "without the ones criteria F (22), G (23-25) or the dissociative subtype (29, 30) need, the "
    "diagnosis is reported as not assessable with those items named."
)


def _at_least(value: ItemValue | None, threshold: float) -> bool | None:
    if value is None or isinstance(value, bool | str):
        return None
    return value >= threshold


def _diagnosis(values: dict[str, ItemValue], criteria_b_to_e: dict[str, bool]) -> dict[str, Any]:
    criteria: dict[str, bool | None] = dict(criteria_b_to_e)
    missing: list[str] = []

    duration = values.get("22")
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        criteria["F"] = duration > DURATION_MORE_THAN_MONTHS
    else:
        criteria["F"] = None
        missing.append("22")

    impairment = [values.get(key) for key in ("23", "24", "25")]
    if any(_at_least(value, 2) for value in impairment):
        criteria["G"] = True
    elif all(value is not None for value in impairment):
        criteria["G"] = False
    else:
        criteria["G"] = None
        missing.extend(key for key in ("23", "24", "25") if key not in values)

    if any(met is False for met in criteria.values()):
        status, missing = "not met", []
    elif missing:
        status = "not assessable"
    else:
        status = "met"

    dissociative: str
    dissociative_missing: list[str] = []
    if status != "met":
        dissociative = "not applicable"
    else:
        dissociation = [values.get("29"), values.get("30")]
        if any(_at_least(value, 2) for value in dissociation):
            dissociative = "present"
        elif all(value is not None for value in dissociation):
            dissociative = "absent"
        else:
            dissociative = "not assessable"
            dissociative_missing = [key for key in ("29", "30") if key not in values]

    onset = values.get("21")
    delayed = _at_least(onset, DELAYED_ONSET_MONTHS)
    return {
        "diagnosis": status,
        "diagnosis_criteria": criteria,
        "diagnosis_missing_items": missing,
        "dissociative_subtype": dissociative,
        "dissociative_subtype_missing_items": dissociative_missing,
        "delayed_expression": delayed,
    }


def _score_caps5(
    instrument: Instrument, values: dict[str, ItemValue], **options: Any
) -> ScoredResult:
    """Total, clusters and, for the past-month version, the DSM-5 diagnosis (see module doc)."""
    if options:
        raise TypeError(f"CAPS-5 takes no options, got {sorted(options)}")
    require_items(instrument, values, SYMPTOM_KEYS, "total severity (items 1-20)")
    counts, met = symptom_criteria(values)
    derived: dict[str, Any] = {"symptoms_present": counts}
    if instrument.version == "past-month":
        derived.update(_diagnosis(values, met))
    else:
        derived.update(
            {
                "diagnosis": "not applicable",
                "diagnosis_note": "the past-week version tracks change; diagnose with the "
                "past-month version",
            }
        )
    return ScoredResult(
        instrument=instrument.id,
        version=instrument.version,
        total=sum_items(values, SYMPTOM_KEYS),
        subscales=cluster_scores(values),
        derived=derived,
        items=values,
    )


def _caps5(instrument_id: str, version: str, recall: str) -> Instrument:
    return Instrument(
        id=instrument_id,
        name="CAPS-5",
        version=version,
        recall_period=recall,
        field_prefix="caps5",
        items=_ITEMS,
        citation=_CITATION,
        missing_rule=_MISSING_RULE,
        scorer=_score_caps5,
        total_range=(0, 80),
        subscale_ranges={
            "intrusion": (0, 20),
            "avoidance": (0, 8),
            "negative_cognitions_mood": (0, 28),
            "arousal_reactivity": (0, 24),
        },
        partition=("intrusion", "avoidance", "negative_cognitions_mood", "arousal_reactivity"),
        cli_item_keys=SYMPTOM_KEYS,
    )


CAPS5_PAST_MONTH = _caps5("caps5_past_month", "past-month", "past month")
CAPS5_PAST_WEEK = _caps5("caps5_past_week", "past-week", "past week")
