"""The protocol's edit checks (issue 17: "automatic queries from the protocol's own rules").

A check never refuses: the bedside refuses only impossible values. It finds what a data
manager would question — a value outside its plausible range, a required item left out, an
assessment outside its window — and the services raise each finding as an automatic query on
the field it concerns, when the data are entered (at the bedside, late from paper, or through
the API) and when the whole record is swept (``services.edit_checks.EditCheckService.run``).

Each finding names its rule (the query's origin is ``rule:<rule>``), the field and a question
that cites the protocol.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..protocol import DataChecks
from ..rules.vitals import VITAL_LABELS

__all__ = [
    "ASSESSMENT_WINDOW",
    "ITEMS_MISSING",
    "VITALS_IMPLAUSIBLE",
    "VITALS_INCOMPLETE",
    "EditFinding",
    "assessment_window_finding",
    "missing_items_finding",
    "vitals_findings",
]

VITALS_INCOMPLETE = "vitals_incomplete"
VITALS_IMPLAUSIBLE = "vitals_implausible"
ASSESSMENT_WINDOW = "assessment_window"
ITEMS_MISSING = "items_missing"


@dataclass(frozen=True, slots=True)
class EditFinding:
    """One question for the site: ``rule`` found something about ``field`` of a record."""

    rule: str
    field: str
    question: str


def vitals_findings(
    values: Mapping[str, int | None], minute: int, checks: DataChecks
) -> tuple[EditFinding, ...]:
    """A reading's required items left out and its values outside their plausible ranges
    (PROTOCOL.md §6, §12; the ranges are the protocol's ``monitoring.data_checks``)."""
    findings = []
    for measure in checks.required_vitals:
        if values.get(measure) is None:
            findings.append(
                EditFinding(
                    VITALS_INCOMPLETE,
                    measure,
                    f"{VITAL_LABELS[measure]} is missing from the minute-{minute} reading "
                    "(PROTOCOL.md §6, §12: recorded at every reading): enter it from the source, "
                    "or explain why it was not taken",
                )
            )
    for r in checks.plausible_vitals:
        value = values.get(r.measure)
        if value is not None and not r.low <= value <= r.high:
            findings.append(
                EditFinding(
                    VITALS_IMPLAUSIBLE,
                    r.measure,
                    f"{VITAL_LABELS[r.measure]} {value} at minute {minute} is outside the "
                    f"plausible {r.low}-{r.high} (the protocol's data checks, §6): confirm it "
                    "against the monitor or the source, or correct it",
                )
            )
    return tuple(findings)


def assessment_window_finding(
    instrument: str,
    time_point: str,
    assessed_on: dt.date,
    window_start: dt.date | None,
    window_end: dt.date | None,
) -> EditFinding | None:
    """An assessment dated outside its time point's window (PROTOCOL.md §5)."""
    if window_start is None or window_end is None:
        return None
    if window_start <= assessed_on <= window_end:
        return None
    return EditFinding(
        ASSESSMENT_WINDOW,
        "assessed_on",
        f"{instrument} at {time_point} on {assessed_on:%Y-%m-%d} is outside its window "
        f"{window_start:%Y-%m-%d} to {window_end:%Y-%m-%d} (PROTOCOL.md §5): confirm the date "
        "against the source, or explain",
    )


def missing_items_finding(
    instrument: str, time_point: str, derived: Mapping[str, object]
) -> EditFinding | None:
    """A score stored although items its judgement needs are missing (PROTOCOL.md §7: the
    CAPS-5 diagnosis or dissociative subtype "not assessable"): the items are named."""
    missing: list[str] = []
    for key in ("diagnosis_missing_items", "dissociative_subtype_missing_items"):
        items = derived.get(key)
        if isinstance(items, Sequence) and not isinstance(items, str):
            missing.extend(str(i) for i in items if str(i) not in missing)
    if not missing:
        return None
    listed = ", ".join(missing)
    return EditFinding(
        ITEMS_MISSING,
        "items",
        f"{instrument} at {time_point}: item(s) {listed} missing, so part of the result is "
        "not assessable (PROTOCOL.md §7): enter them from the source, or explain why they "
        "were not rated",
    )
