"""The infusion day (PROTOCOL.md §4, §6, §12): from demographics and the checklist to adverse events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .base import Record

__all__ = [
    "AdverseEvent",
    "ConcomitantMedication",
    "Demographics",
    "DrugAdministration",
    "IdentityCheck",
    "InfusionDay",
    "InfusionRating",
    "Intervention",
    "PhysicianDecision",
    "PreInfusionCheck",
    "SafetyAlert",
    "VitalSignsRecord",
    "VitalsMissed",
]


class Demographics(Record):
    """Table 1 characteristics (PROTOCOL.md §10), one row per patient."""

    patient_id: int
    age_years: int | None
    sex: str | None
    race: str | None
    hispanic: bool | None
    bmi_kg_m2: float | None
    ptsd_duration_years: float | None
    comorbid_mdd: bool | None
    concomitant_psychotherapy: bool | None
    stable_psychotropics: bool | None
    primary_trauma: str | None
    recorded_by: int | None
    recorded_at: dt.datetime
    version: int


class PreInfusionCheck(Record):
    """One run of the pre-infusion checklist (PROTOCOL.md §6); a failed one is a recorded hold."""

    patient_id: int
    infusion_number: int
    checked_on: dt.date
    findings: dict[str, Any]
    passed: bool
    items: list[dict[str, Any]]
    hold_reasons: list[str]
    recorded_by: int | None
    recorded_at: dt.datetime
    version: int


class InfusionDay(Record):
    """One started infusion: dose from the day's weight, start/end, discharge (PROTOCOL.md §4, §6)."""

    patient_id: int
    infusion_number: int
    infusion_date: dt.date
    check_id: int
    weight_kg: float
    drug: str
    dose_mg: float
    concentration_mg_per_ml: float
    dose_arithmetic: str
    volume_ml: float
    rate_ml_per_h: float
    infusion_minutes: int
    started_at: dt.datetime
    ended_at: dt.datetime | None
    ambulatory_unaided: bool | None
    delayed_effects_checked: bool | None
    physician_signoff_by: int | None
    discharged_at: dt.datetime | None
    discharge_reasons: list[str] | None
    worsening_decision_by: int | None
    worsening_decision_reason: str | None
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class DrugAdministration(Record):
    """The drug given at one infusion: the bag, the double-check, what was given and wasted
    (PROTOCOL.md §4, §6; drug accountability for a Schedule III/IV drug)."""

    infusion_day_id: int
    patient_id: int
    infusion_number: int
    bag_lot: str
    bag_expiry: dt.date
    bag_concentration_mg_per_ml: float
    bag_volume_ml: float
    prepared_by: int
    checked_by: int
    pump_rate_ml_per_h: float
    supervising_physician_id: int
    weight_previous_kg: float | None
    weight_confirmed_by: int | None
    weight_confirmation_reasons: list[str]
    stopped_early: bool | None
    early_stop_reason: str | None
    volume_given_ml: float | None
    dose_given_mg: float | None
    volume_wasted_ml: float | None
    waste_witnessed_by: int | None
    waste_recorded_at: dt.datetime | None
    recorded_by: int | None
    recorded_at: dt.datetime
    version: int


class VitalSignsRecord(Record):
    """Vitals at ``minute`` after infusion start (0 = baseline) with the alerts they raised."""

    patient_id: int
    infusion_number: int
    minute: int
    measured_at: dt.datetime
    systolic_mmhg: int | None
    diastolic_mmhg: int | None
    heart_rate_bpm: int | None
    spo2_percent: int | None
    respiratory_rate_per_min: int | None
    moaas: int | None
    alerts: list[str]
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class ConcomitantMedication(Record):
    """A medication the patient takes besides the study drug (PROTOCOL.md §1, §11)."""

    patient_id: int
    drug: str
    drug_class: str
    dose: str
    started_on: dt.date
    stopped_on: dt.date | None
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class IdentityCheck(Record):
    """The nurse confirmed name and date of birth with the patient before an infusion (§12)."""

    patient_id: int
    infusion_number: int
    name_confirmed: bool
    date_of_birth_confirmed: bool
    recorded_by: int | None
    recorded_at: dt.datetime
    version: int


class SafetyAlert(Record):
    """An alert the record raised (a vital sign beyond its threshold, §6; a C-SSRS at the
    protocol's review level, §7) and its acknowledgement (who, which physician was called and
    when, what was done; §12). ``acknowledged_at`` None: still open."""

    patient_id: int
    infusion_number: int | None
    kind: str
    source_table: str
    source_id: int
    messages: list[str]
    raised_at: dt.datetime
    raised_by: int | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: int | None
    physician_called: str | None
    physician_called_at: dt.datetime | None
    action_taken: str | None
    version: int


class PhysicianDecision(Record):
    """A physician's recorded decision on an infusion day: ``release_hold`` (the hold reasons
    ``released``, §6) or ``move_day`` (infusion given on ``day`` outside the schedule, §5)."""

    patient_id: int
    infusion_number: int
    kind: str
    day: dt.date
    released: list[str]
    reason: str
    decided_by: int
    decided_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class VitalsMissed(Record):
    """A scheduled vitals reading not taken at ``minute``, with the reason (PROTOCOL.md §6)."""

    patient_id: int
    infusion_number: int
    minute: int
    reason: str
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class Intervention(Record):
    """A drug given on an infusion day, e.g. labetalol 5 mg IV for high BP (PROTOCOL.md §6)."""

    patient_id: int
    infusion_number: int
    given_at: dt.datetime
    minute: int | None
    drug: str
    dose_mg: float
    route: str
    reason: str
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class InfusionRating(Record):
    """An infusion-day rating (CADSS, BPRS+, YMRS 1, PRISE): hidden from outcome raters (§3)."""

    patient_id: int
    infusion_number: int
    minute: int
    instrument: str
    rated_at: dt.datetime
    items: dict[str, Any]
    total: float | None
    subscales: dict[str, Any]
    derived: dict[str, Any]
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class AdverseEvent(Record):
    """An adverse event: seriousness, severity, relatedness, action and outcome."""

    patient_id: int
    infusion_number: int | None
    term: str
    onset_date: dt.date
    serious: bool
    severity: str
    relatedness: str
    action: str
    outcome: str
    resolved_on: dt.date | None
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int
