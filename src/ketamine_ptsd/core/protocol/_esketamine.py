"""Intranasal esketamine sessions under the REMS (PROTOCOL.md §8, §11; issue 13).

The clinic pathway may switch a responder to intranasal esketamine for maintenance. Each session
runs under the drug's restricted programme: a certified setting, an enrolled patient, dosing under
direct observation, blood pressure before dosing, at about 40 minutes and before the end,
pulse oximetry, and at least 2 hours of monitoring before a prescriber discharges the patient;
the monitoring form is submitted within 7 days. What a site may set (the doses it stocks, the
blood-pressure hold before dosing, the schedule's phases) is data here; the fixed REMS minimums
are checked by the validator.
"""

from __future__ import annotations

from ._base import FrozenModel

__all__ = [
    "REMS_CONCOMITANT_CLASSES",
    "EsketamineBpHold",
    "EsketaminePhase",
    "EsketaminePlan",
]

#: The REMS monitoring form's classes of concomitant medicines that may cause sedation or
#: blood-pressure changes (§11); a protocol lists at least these.
REMS_CONCOMITANT_CLASSES: tuple[str, ...] = (
    "benzodiazepine",
    "non_benzodiazepine_sedative_hypnotic",
    "psychostimulant",
    "maoi",
    "opioid",
)


class EsketamineBpHold(FrozenModel):
    """Dosing is held while the blood pressure before dosing is above either bound (a reading is
    above when its systolic or diastolic value exceeds its bound, as in §6)."""

    systolic_above_mmhg: int
    diastolic_above_mmhg: int


class EsketaminePhase(FrozenModel):
    """One phase of the dosing schedule (§11: induction twice weekly for 4 weeks, then weekly,
    then weekly or every two weeks). ``weeks`` None: the last, open-ended phase.

    A phase gives either ``sessions_per_week`` (induction) or ``interval_days`` (one or more
    intervals to choose from); ``min_days_between`` is the shortest gap between two sessions
    the phase allows.
    """

    name: str
    label: str
    weeks: int | None = None
    sessions_per_week: int | None = None
    interval_days: tuple[int, ...] = ()
    min_days_between: int


class EsketaminePlan(FrozenModel):
    """The clinic's esketamine sessions (§11). Only a clinic protocol may have one."""

    section: str
    #: The patient states in which a session may start (the clinic's maintenance states).
    patient_states: tuple[str, ...]
    #: The label's doses; another dose is "other" on the form and needs the prescriber's reason.
    doses_mg: tuple[int, ...]
    max_dose_mg: int
    bp_hold: EsketamineBpHold
    #: The blood pressure "about 40 minutes" after dosing: minute ± window.
    bp_after_dose_minute: int
    bp_after_dose_window_minutes: int
    #: The blood pressure "before the end": a reading this many minutes before the end at most.
    bp_before_end_minutes: int
    #: From the first device to the end of monitoring (REMS: at least 120).
    min_monitoring_minutes: int
    #: The monitoring form is submitted within this many days of the session (REMS: 7).
    form_due_days: int
    concomitant_classes: tuple[str, ...]
    schedule: tuple[EsketaminePhase, ...]
