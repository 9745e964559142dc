"""Concomitant medications that change sedation or blood pressure (PROTOCOL.md §1, §11).

The REMS monitoring form of the esketamine label (§11) asks for the concomitant medicines that
may cause sedation or blood-pressure changes: benzodiazepines, non-benzodiazepine sedative
hypnotics, psychostimulants, MAOIs and opioids; §1 excludes long-acting benzodiazepines and
opioids from the trial. Lamotrigine is listed too (it may blunt ketamine's effect). Which classes
the pre-infusion checklist flags is the protocol's ``pre_infusion.flag_medication_classes``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import InvalidInput
from ..protocol import Protocol, RescueDrug

__all__ = [
    "MEDICATION_CLASSES",
    "Medication",
    "check_medication",
    "check_rescue",
    "medication_flags",
]

#: Every class a medication may be recorded under (the flagged ones are the protocol's choice).
MEDICATION_CLASSES: dict[str, str] = {
    "benzodiazepine": "benzodiazepine",
    "opioid": "opioid",
    "sedative_hypnotic": "non-benzodiazepine sedative hypnotic",
    "psychostimulant": "psychostimulant",
    "maoi": "MAO inhibitor",
    "lamotrigine": "lamotrigine",
    "antidepressant": "antidepressant (not MAOI)",
    "antipsychotic": "antipsychotic",
    "mood_stabilizer": "mood stabilizer (not lamotrigine)",
    "antihypertensive": "antihypertensive",
    "other": "other",
}


@dataclass(frozen=True, slots=True)
class Medication:
    """One concomitant medication as recorded: ``stopped_on`` None while it is taken."""

    drug: str
    drug_class: str
    dose: str
    started_on: dt.date
    stopped_on: dt.date | None = None

    def taken_on(self, day: dt.date) -> bool:
        return self.started_on <= day and (self.stopped_on is None or day <= self.stopped_on)


def check_medication(med: Medication, today: dt.date) -> None:
    """Refuse a record that cannot be right, naming the field."""
    if not med.drug.strip():
        raise InvalidInput("drug", "name the drug", med.drug)
    if med.drug_class not in MEDICATION_CLASSES:
        raise InvalidInput("drug_class", f"one of {', '.join(MEDICATION_CLASSES)}", med.drug_class)
    if not med.dose.strip():
        raise InvalidInput("dose", "the dose and how often (e.g. 0.5 mg at night)", med.dose)
    if med.started_on > today:
        raise InvalidInput("started_on", "cannot be in the future", med.started_on.isoformat())
    if med.stopped_on is not None and med.stopped_on < med.started_on:
        raise InvalidInput("stopped_on", "is before the start", med.stopped_on.isoformat())


def medication_flags(
    protocol: Protocol, medications: Iterable[Medication], day: dt.date
) -> tuple[str, ...]:
    """One line per medication taken on ``day`` in a class the protocol flags (§1, §11)."""
    flagged = set(protocol.pre_infusion.flag_medication_classes)
    return tuple(
        f"{m.drug} {m.dose} ({MEDICATION_CLASSES[m.drug_class]}): changes sedation or blood "
        "pressure — tell the physician (PROTOCOL.md §1, §11)"
        for m in medications
        if m.drug_class in flagged and m.taken_on(day)
    )


def check_rescue(
    protocol: Protocol, drug: str, route: str, dose_mg: float, given_today_mg: float
) -> RescueDrug:
    """A rescue drug given on the infusion day must be on the protocol's formulary, by one of
    its routes, within its single and daily maximum (PROTOCOL.md §6); refused naming the field."""
    entry = next((r for r in protocol.monitoring.rescue_formulary if r.drug == drug), None)
    if entry is None:
        names = ", ".join(r.drug for r in protocol.monitoring.rescue_formulary)
        raise InvalidInput("drug", f"not on the rescue formulary ({names}; PROTOCOL.md §6)", drug)
    if route not in entry.routes:
        raise InvalidInput(
            "route", f"{drug} is given {' or '.join(entry.routes)} (PROTOCOL.md §6)", route
        )
    if not 0 < dose_mg <= entry.max_single_dose_mg:
        raise InvalidInput(
            "dose_mg",
            f"{drug}: above 0 and at most {entry.max_single_dose_mg:g} mg in one dose "
            f"(usual {entry.usual_dose_mg:g} mg; PROTOCOL.md §6)",
            dose_mg,
        )
    if given_today_mg + dose_mg > entry.max_daily_dose_mg:
        raise InvalidInput(
            "dose_mg",
            f"{drug}: {given_today_mg:g} mg already given today; at most "
            f"{entry.max_daily_dose_mg:g} mg in the day (PROTOCOL.md §6) — call the physician",
            dose_mg,
        )
    return entry
