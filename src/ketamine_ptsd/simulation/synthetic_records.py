"""The plain, frozen per-patient records the synthetic trial produces.

They are shaped for a loader that feeds the record's services one call at a time (screening,
consent, randomization, infusion days, assessments, follow-up, withdrawal — issue 6, phase B),
and for tests that need patient-level data without a database. Every rating is stored at item
level, keyed by the instrument registry's ids and item keys, so the loader can hand it to the
services exactly as a rater would enter it; ``Rating.scored`` scores it through
:func:`ketamine_ptsd.core.instruments.score`, the same code the services use.

Mappings inside records are plain ``dict`` for easy serialisation; treat them as read-only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ketamine_ptsd.core.instruments import ScoredResult, score

__all__ = [
    "AdverseEvent",
    "Demographics",
    "FollowUpVisit",
    "InfusionDay",
    "Intervention",
    "Rating",
    "ScreeningRecord",
    "SyntheticPatient",
    "VitalSigns",
    "Withdrawal",
]


@dataclass(frozen=True)
class Rating:
    """One instrument given once: ``time_point`` names the protocol's time point (``baseline``,
    ``h24``, ``week1``, ``week2``, ``screening``, ``follow_up_3``) or, on infusion days,
    ``infusion_<n>``; ``minute`` is minutes after infusion start (0 = before it) on infusion days
    and ``None`` otherwise."""

    instrument: str
    time_point: str
    date: dt.date
    items: dict[str, Any]
    minute: int | None = None

    @cached_property
    def scored(self) -> ScoredResult:
        """The scored form (validated: an invalid item set raises ``InvalidInput``)."""
        return score(self.instrument, self.items)

    @property
    def total(self) -> int | None:
        return self.scored.total


@dataclass(frozen=True)
class Demographics:
    """Table 1 variables (PROTOCOL.md §10) and the body measures dosing needs (§4)."""

    age_years: int
    sex: str  # "female" | "male"
    race: str
    hispanic: bool
    height_cm: float
    weight_kg: float
    bmi_kg_m2: float
    ptsd_duration_years: float
    comorbid_mdd: bool
    concomitant_psychotherapy: bool
    stable_psychotropics: bool
    primary_trauma: str


@dataclass(frozen=True)
class ScreeningRecord:
    """Screening (PROTOCOL.md §1/§2): the facts the eligibility rules read, keyed by the fact
    names of the protocol file, and the outcome for CONSORT.

    ``disposition`` is ``eligible`` (went on to randomization or, in the clinic, treatment),
    ``ineligible`` (``ineligible_reasons`` holds the criterion ids that failed) or ``declined``
    (met the criteria but did not consent).
    """

    screening_date: dt.date
    facts: dict[str, Any]
    caps5_past_month: Rating
    disposition: str
    ineligible_reasons: tuple[str, ...] = ()
    consent_date: dt.date | None = None


@dataclass(frozen=True)
class VitalSigns:
    """One set of bedside vital signs, ``minute`` after infusion start (0 = just before)."""

    minute: int
    systolic_mmhg: int
    diastolic_mmhg: int
    heart_rate_bpm: int
    spo2_percent: int


@dataclass(frozen=True)
class Intervention:
    """A treatment given during an infusion (PROTOCOL.md §6: labetalol 5 mg IV in the RCT)."""

    minute: int
    drug: str
    dose_mg: float
    route: str
    reason: str


@dataclass(frozen=True)
class AdverseEvent:
    term: str
    onset_date: dt.date
    infusion_number: int | None
    severity: str  # mild | moderate | severe
    serious: bool
    related_to_study_drug: str  # unrelated | possibly | probably
    action: str
    outcome: str


@dataclass(frozen=True)
class InfusionDay:
    """One infusion (PROTOCOL.md §4, §6): dose from weight, pre-infusion blood-pressure readings
    (all meeting the cutoff), vitals every 5 min during / 15 min after, ratings at 0/40/120 min
    (CADSS, BPRS positive, YMRS item 1) and PRISE before and at 120 min."""

    number: int
    date: dt.date
    drug: str
    weight_kg: float
    dose_mg: float
    infusion_minutes: int
    pre_infusion_bp_mmhg: tuple[tuple[int, int], ...]
    vitals: tuple[VitalSigns, ...]
    ratings: tuple[Rating, ...]
    interventions: tuple[Intervention, ...] = ()


@dataclass(frozen=True)
class FollowUpVisit:
    """A responder's follow-up CAPS-5 (PROTOCOL.md §5, §8). ``day`` counts from the primary
    outcome day; ``unscheduled`` marks a visit brought forward because the patient reported
    worsening between scheduled visits; ``end_of_follow_up`` marks the last visit of a patient
    still responding (data cut-off: the patient is censored there)."""

    number: int
    day: int
    date: dt.date
    caps5: Rating
    still_responding: bool
    unscheduled: bool = False
    end_of_follow_up: bool = False


@dataclass(frozen=True)
class Withdrawal:
    date: dt.date
    after_infusion: int
    by: str  # "investigator" | "patient"
    reason: str


@dataclass(frozen=True)
class SyntheticPatient:
    """Everything about one screened patient, in the order it happens.

    Screen failures carry only ``screening`` and ``demographics``. ``assessments`` holds the
    outcome raters' time points (baseline, h24, week1, week2: CAPS-5, MADRS, CGI-S/CGI-I, C-SSRS,
    IES-R, MADRS 24 h) at item level. ``responder`` is the week-2 status of PROTOCOL.md §8
    (``False`` for a patient without week-2 data, as the ITT analysis counts them).
    ``loss_of_response_day`` / ``censored_day``: durability among responders (§8).
    """

    patient_id: str
    screening: ScreeningRecord
    demographics: Demographics
    arm: str | None = None
    allocation_date: dt.date | None = None
    infusions: tuple[InfusionDay, ...] = ()
    assessments: tuple[Rating, ...] = ()
    follow_up: tuple[FollowUpVisit, ...] = ()
    withdrawal: Withdrawal | None = None
    adverse_events: tuple[AdverseEvent, ...] = ()
    responder: bool | None = None
    loss_of_response_day: int | None = None
    censored_day: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def treated(self) -> bool:
        return self.arm is not None

    def assessment(self, instrument: str, time_point: str) -> Rating | None:
        """The rating of ``instrument`` at ``time_point``, or ``None`` if it was not done."""
        for rating in self.assessments:
            if rating.instrument == instrument and rating.time_point == time_point:
                return rating
        return None
