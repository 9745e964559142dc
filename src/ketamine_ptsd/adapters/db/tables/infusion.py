"""The infusion day (PROTOCOL.md §4, §6, §12): demographics, the checklist, the day, the drug given, vital signs, concomitant medications, the identity check, missed readings, safety alerts, physicians' decisions, interventions, ratings and adverse events."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ._schema import (
    ALLOCATION,
    INFUSION_RATING,
    UTCDateTime,
    metadata,
    pk,
    recorded,
    row_version,
    void_columns,
)

__all__ = [
    "adverse_events",
    "concomitant_medications",
    "demographics",
    "drug_administrations",
    "identity_checks",
    "infusion_days",
    "infusion_ratings",
    "interventions",
    "physician_decisions",
    "pre_infusion_checks",
    "safety_alerts",
    "vital_signs",
    "vitals_missed",
]

demographics = Table(
    "demographics",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, unique=True),
    Column("age_years", Integer, nullable=True),
    Column("sex", String(16), nullable=True),
    Column("race", String(64), nullable=True),
    Column("hispanic", Boolean, nullable=True),
    Column("bmi_kg_m2", Float, nullable=True),
    Column("ptsd_duration_years", Float, nullable=True),
    Column("comorbid_mdd", Boolean, nullable=True),
    Column("concomitant_psychotherapy", Boolean, nullable=True),
    Column("stable_psychotropics", Boolean, nullable=True),
    Column("primary_trauma", String(64), nullable=True),
    *recorded(),
    row_version(),
)

pre_infusion_checks = Table(
    "pre_infusion_checks",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("checked_on", Date, nullable=False),
    Column("findings", JSON, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("items", JSON, nullable=False),
    Column("hold_reasons", JSON, nullable=False),
    *recorded(),
    row_version(),
)

infusion_days = Table(
    "infusion_days",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("infusion_date", Date, nullable=False),
    Column("check_id", Integer, ForeignKey("pre_infusion_checks.id"), nullable=False),
    Column("weight_kg", Float, nullable=False),
    Column("drug", String(64), nullable=False, info=ALLOCATION),
    Column("dose_mg", Float, nullable=False, info=ALLOCATION),
    Column("concentration_mg_per_ml", Float, nullable=False, info=ALLOCATION),
    Column("dose_arithmetic", Text, nullable=False, info=ALLOCATION),
    Column("volume_ml", Float, nullable=False),
    Column("rate_ml_per_h", Float, nullable=False),
    Column("infusion_minutes", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("ambulatory_unaided", Boolean, nullable=True),
    Column("delayed_effects_checked", Boolean, nullable=True),
    Column("physician_signoff_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("discharged_at", UTCDateTime, nullable=True),
    Column("discharge_reasons", JSON, nullable=True),
    # §6: a physician's recorded decision to discharge although BPRS positive or YMRS item 1 is
    # worse than the protocol allows (migration 0009).
    Column("worsening_decision_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("worsening_decision_reason", Text, nullable=True),
    *recorded(),
    *void_columns(),
    row_version(),
    UniqueConstraint("patient_id", "infusion_number"),
)

#: The drug given at one infusion (issue 12 items 2, 4, 5, 7; PROTOCOL.md §4, §6): the bag (lot,
#: expiry, concentration, volume), who prepared it and who double-checked the pump, the
#: supervising physician, the weight's confirmation, what was given and what was wasted.
drug_administrations = Table(
    "drug_administrations",
    metadata,
    pk(),
    Column("infusion_day_id", Integer, ForeignKey("infusion_days.id"), nullable=False, unique=True),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("bag_lot", String(64), nullable=False),
    Column("bag_expiry", Date, nullable=False),
    Column("bag_concentration_mg_per_ml", Float, nullable=False, info=ALLOCATION),
    Column("bag_volume_ml", Float, nullable=False),
    Column("prepared_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("checked_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("pump_rate_ml_per_h", Float, nullable=False),
    Column("supervising_physician_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("weight_previous_kg", Float, nullable=True),
    Column("weight_confirmed_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("weight_confirmation_reasons", JSON, nullable=False),
    Column("stopped_early", Boolean, nullable=True),
    Column("early_stop_reason", Text, nullable=True),
    Column("volume_given_ml", Float, nullable=True),
    Column("dose_given_mg", Float, nullable=True, info=ALLOCATION),
    Column("volume_wasted_ml", Float, nullable=True),
    Column("waste_witnessed_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("waste_recorded_at", UTCDateTime, nullable=True),
    *recorded(),
    row_version(),
)

vital_signs = Table(
    "vital_signs",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("minute", Integer, nullable=False),
    Column("measured_at", UTCDateTime, nullable=False),
    Column("systolic_mmhg", Integer, nullable=True),
    Column("diastolic_mmhg", Integer, nullable=True),
    Column("heart_rate_bpm", Integer, nullable=True),
    Column("spo2_percent", Integer, nullable=True),
    Column("respiratory_rate_per_min", Integer, nullable=True),  # §12 (migration 0009)
    Column("moaas", Integer, nullable=True),  # sedation, MOAA/S 0-5 (§11, §12; migration 0009)
    Column("alerts", JSON, nullable=False),
    *recorded(),
    *void_columns(),
    row_version(),
)

#: A concomitant medication of the patient (PROTOCOL.md §1, §11: the classes that change
#: sedation or blood pressure are flagged on the checklist; migration 0009).
concomitant_medications = Table(
    "concomitant_medications",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("drug", String(200), nullable=False),
    Column("drug_class", String(32), nullable=False),
    Column("dose", String(200), nullable=False),
    Column("started_on", Date, nullable=False),
    Column("stopped_on", Date, nullable=True),
    *recorded(),
    *void_columns(),
    row_version(),
)

#: The nurse's two-identifier check before infusion ``infusion_number`` (PROTOCOL.md §12):
#: name and date of birth confirmed with the patient, by whom and when (migration 0009).
identity_checks = Table(
    "identity_checks",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("name_confirmed", Boolean, nullable=False),
    Column("date_of_birth_confirmed", Boolean, nullable=False),
    *recorded(),
    row_version(),
)

#: A scheduled vitals reading not taken, with the reason (§6: discharge needs every reading of
#: the timetable present or explained; migration 0009).
vitals_missed = Table(
    "vitals_missed",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("minute", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    *recorded(),
    *void_columns(),
    row_version(),
)

#: An alert the record raised (issue 12 items 8, 10; PROTOCOL.md §6, §7, §12): a vital sign
#: beyond its threshold (source ``vital_signs``) or a C-SSRS screener at the protocol's review
#: level (source ``assessments``), with its acknowledgement: who acknowledged it, which
#: physician was called and when, and what was done (migration 0007). Never deleted.
safety_alerts = Table(
    "safety_alerts",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=True),
    Column("kind", String(32), nullable=False),
    Column("source_table", String(64), nullable=False),
    Column("source_id", Integer, nullable=False),
    Column("messages", JSON, nullable=False),
    Column("raised_at", UTCDateTime, nullable=False),
    Column("raised_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("acknowledged_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("physician_called", String(200), nullable=True),
    Column("physician_called_at", UTCDateTime, nullable=True),
    Column("action_taken", Text, nullable=True),
    row_version(),
)

#: A physician's recorded decision on an infusion day (issue 12 items 1, 2, 6; PROTOCOL.md §5,
#: §6): ``release_hold`` lets a held morning start (the hold reasons it releases, the reason,
#: re-authenticated), ``move_day`` lets infusion ``infusion_number`` be given on ``day`` outside
#: the schedule's interval, weekly maximum or weekdays (migration 0007).
physician_decisions = Table(
    "physician_decisions",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("day", Date, nullable=False),
    Column("released", JSON, nullable=False),
    Column("reason", Text, nullable=False),
    Column("decided_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
    *void_columns(),
    row_version(),
)

interventions = Table(
    "interventions",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("given_at", UTCDateTime, nullable=False),
    Column("minute", Integer, nullable=True),
    Column("drug", String(100), nullable=False),
    Column("dose_mg", Float, nullable=False),
    Column("route", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    *recorded(),
    *void_columns(),
    row_version(),
)

infusion_ratings = Table(
    "infusion_ratings",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=False),
    Column("minute", Integer, nullable=False),
    Column("instrument", String(32), nullable=False),
    Column("rated_at", UTCDateTime, nullable=False),
    Column("items", JSON, nullable=False, info=INFUSION_RATING),
    Column("total", Float, nullable=True, info=INFUSION_RATING),
    Column("subscales", JSON, nullable=False, info=INFUSION_RATING),
    Column("derived", JSON, nullable=False, info=INFUSION_RATING),
    *recorded(),
    *void_columns(),
    row_version(),
)

adverse_events = Table(
    "adverse_events",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("infusion_number", Integer, nullable=True),
    Column("term", String(200), nullable=False),
    Column("onset_date", Date, nullable=False),
    Column("serious", Boolean, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("relatedness", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("resolved_on", Date, nullable=True),
    *recorded(),
    *void_columns(),
    row_version(),
)
