"""The record's entities: plain typed classes the database adapter maps onto its tables.

Why plain classes: the layers point inward (adapters → services → core, enforced by
import-linter), so the service layer cannot import the database adapter. The adapter's
``adapters/db/tables.py`` declares the tables (types, constraints, the optimistic-locking
``version`` column, each column's sensitivity) and maps these classes onto them imperatively
(SQLAlchemy's ``registry.map_imperatively``), so services query and change entities without
knowing about tables — the pattern of "Architecture Patterns with Python", ch. 2.

Conventions: every editable record has ``version`` (optimistic lock); clinical records are never
deleted, they are voided (``voided_at``, ``voided_by``, ``void_reason``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = [
    "AdverseEvent",
    "Allocation",
    "AnalysisSanction",
    "Assessment",
    "AuditEntry",
    "AuditHead",
    "BlindingGuess",
    "ConcomitantMedication",
    "Consent",
    "DataFreeze",
    "DataFreezeFrame",
    "DataQuery",
    "DatabaseLock",
    "Demographics",
    "DrugAdministration",
    "EligibilityDecisionRecord",
    "EsketamineDecision",
    "EsketamineEvent",
    "EsketamineReading",
    "EsketamineSession",
    "IdentityCheck",
    "InfusionDay",
    "InfusionRating",
    "Intervention",
    "MaintenancePlan",
    "MaintenanceSchedule",
    "Patient",
    "PatientIdentity",
    "PhysicianDecision",
    "PreInfusionCheck",
    "ProtocolVersion",
    "RandomizationList",
    "RandomizationSlot",
    "Record",
    "RetreatmentCourse",
    "RiskBenefitDecisionRecord",
    "SafetyAlert",
    "SafetyPlan",
    "ScreeningOutcome",
    "ScreeningVisit",
    "SdvMark",
    "SelfReport",
    "SelfReportLink",
    "Signature",
    "Site",
    "StudyIdSequence",
    "TreatmentResistance",
    "Unblinding",
    "User",
    "UserSession",
    "UserSite",
    "VitalSignsRecord",
    "VitalsMissed",
    "Withdrawal",
]


class Record:
    """Base of every entity: keyword construction, a readable repr."""

    id: int

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={getattr(self, 'id', None)!r}>"


class User(Record):
    username: str
    full_name: str
    role: str
    password_hash: str
    active: bool
    failed_logins: int
    locked_until: dt.datetime | None
    created_at: dt.datetime
    version: int


class Site(Record):
    """A trial site (issue 17): its code (the study ids' prefix), name, time zone, active dates."""

    code: str
    name: str
    time_zone: str
    active_from: dt.date | None
    active_to: dt.date | None
    version: int


class UserSite(Record):
    """A user's membership of a site: they see that site's patients (and only those)."""

    user_id: int
    site: str
    added_at: dt.datetime
    role: str | None  # the user's role at this site; None: the account's own role


class UserSession(Record):
    """A login session; only the SHA-256 of the opaque token is stored."""

    user_id: int
    token_hash: str
    kind: str  # auth.SessionKind: "browser" (cookie) or "api" (bearer token)
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    site: str | None  # the site the session works at (a user with different roles per site)


class AuditEntry(Record):
    """One append-only, hash-chained line of the audit trail (``seq`` is the chain order)."""

    seq: int
    occurred_at: dt.datetime
    actor_user_id: int | None
    actor_username: str
    actor_role: str
    event: str
    table_name: str | None
    record_id: str | None
    field: str | None
    old_value: str | None  # JSON
    new_value: str | None  # JSON
    reason: str | None
    sensitivity: str
    prev_hash: str
    row_hash: str
    key_id: str | None  # the audit key of the HMAC; None in the legacy (SHA-256) segment


class AuditHead(Record):
    """The single row holding the chain's last ``seq`` and hash (detects a removed tail)."""

    last_seq: int
    last_hash: str


class StudyIdSequence(Record):
    prefix: str
    last_value: int


class Patient(Record):
    """A study participant under a pseudonymous ``study_id`` (no identifying data here)."""

    study_id: str
    protocol_name: str
    mode: str  # "trial" | "clinic", copied from the protocol at registration
    blinded: bool  # copied from the protocol at registration
    site: str
    stratum: str | None
    status: str
    protocol_version: str | None  # the version consented under (None: not consented yet)
    registered_at: dt.datetime
    registered_by: int | None
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class ProtocolVersion(Record):
    """A version of a protocol the record has used: its content (canonical JSON of the model)
    and digest. The first use stores the file's version; later ones are published by an
    administrator as amendments (services/protocol_versions.py)."""

    name: str
    protocol_version: str
    digest: str
    content: str
    published_at: dt.datetime
    published_by: int | None
    reason: str


class PatientIdentity(Record):
    """Identifying data, in its own restricted table (Sensitivity.IDENTITY)."""

    patient_id: int
    family_name: str
    given_name: str
    date_of_birth: dt.date | None
    contact: str | None
    version: int


class Consent(Record):
    """Informed consent (PROTOCOL.md §1 capacity assessment; §2 topics for the clinic)."""

    patient_id: int
    consent_version: str
    consent_date: dt.date
    capacity_assessed: bool
    capacity_assessor: str | None
    capacity_note: str | None
    topics: list[str]
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class ScreeningOutcome(Record):
    """Screen failure, refusal or eligibility, with reasons (kept for CONSORT)."""

    patient_id: int
    outcome: str  # "screen_failed" | "declined" | "eligible"
    decided_on: dt.date
    reasons: list[str]
    override_criteria: list[str] | None  # an investigator's override: the criteria it overrode
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class RandomizationList(Record):
    protocol_name: str
    list_version: str
    seed: str  # decimal text: seeds may exceed a signed 64-bit column
    arms: list[str]
    ratio: list[int]
    block_sizes: list[int]
    strata: list[str]
    slots_per_stratum: int
    digest: str
    generated_at: dt.datetime
    generated_by: int | None
    retired_at: dt.datetime | None
    version: int


class RandomizationSlot(Record):
    list_id: int
    stratum: str
    sequence: int
    block_number: int
    block_size: int
    arm: str


class Allocation(Record):
    """Use of exactly one slot by exactly one patient (unique on both)."""

    patient_id: int
    slot_id: int
    list_id: int
    allocated_at: dt.datetime
    allocated_by: int | None
    infusion_date: dt.date
    version: int


class Unblinding(Record):
    patient_id: int
    kind: str  # "emergency"
    reason: str
    unblinded_by: int | None
    unblinded_at: dt.datetime


class AnalysisSanction(Record):
    """Permission for a statistician to see arms for a sanctioned interim/final analysis."""

    statistician_user_id: int
    level: str  # AnalysisUnblinding value
    purpose: str
    reason: str
    granted_by: int | None
    granted_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    version: int


class DatabaseLock(Record):
    """A lock of the record before the blind is broken (issue 17): while ``unlocked_at`` is
    None every write of patient data is refused (services/lock_guard.py). ``digest`` is the
    audit chain's head when the lock was taken — every change before it, hash-chained.
    With ``patient_id`` it locks one patient's record; with ``table_name`` and ``record_id``
    too, one form of that patient."""

    patient_id: int | None
    table_name: str | None
    record_id: str | None
    locked_at: dt.datetime
    locked_by: int
    reason: str
    digest: str
    unlocked_at: dt.datetime | None
    unlocked_by: int | None
    unlock_reason: str | None
    version: int


class DataQuery(Record):
    """A question on one field of one record (issue 17; core/conduct/queries.py)."""

    patient_id: int
    table_name: str
    record_id: str
    field: str
    value_raised: str | None  # JSON, as the audit trail encodes values
    sensitivity: str
    question: str
    origin: str
    state: str
    raised_by: int | None
    raised_at: dt.datetime
    answer: str | None
    corrected: bool | None
    answered_by: int | None
    answered_at: dt.datetime | None
    closed_by: int | None
    closed_at: dt.datetime | None
    reopen_count: int
    version: int


class SdvMark(Record):
    """A record verified against source by a monitor, at audit head ``audit_seq`` (issue 17)."""

    patient_id: int
    table_name: str
    record_id: str
    verified_by: int | None
    verified_at: dt.datetime
    audit_seq: int
    note: str | None


class DataFreeze(Record):
    """The analysis extract of one DSMB interim, frozen so its packet can be made again exactly
    (issue 17); the frames are :class:`DataFreezeFrame` rows sealed by ``digest``."""

    protocol_name: str
    level: str
    generated_on: dt.date
    planned_patients: int | None
    arms: str  # JSON
    ongoing: str  # JSON
    digest: str
    created_by: int | None
    created_at: dt.datetime


class DataFreezeFrame(Record):
    freeze_id: int
    name: str
    content: bytes  # Parquet


class Signature(Record):
    """Electronic signature of one record version; a later edit invalidates it."""

    table_name: str
    record_id: str
    record_version: int
    signer_user_id: int
    signer_name: str
    meaning: str
    signed_at: dt.datetime
    invalidated_at: dt.datetime | None
    invalidated_reason: str | None
    version: int


# --- phase 2: the workflows (screening, infusion days, assessments, follow-up, clinic) --------


class ScreeningVisit(Record):
    """The screening visit's facts (PROTOCOL.md §1/§2 vocabulary) and measures (scored items)."""

    patient_id: int
    visit_date: dt.date
    protocol_version: str
    facts: dict[str, Any]
    measures: dict[str, Any]
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class EligibilityDecisionRecord(Record):
    """One evaluation of the protocol's criteria: overall status and every criterion's reason."""

    patient_id: int
    visit_id: int
    status: str
    criteria: list[dict[str, Any]]
    facts_used: dict[str, Any]
    evaluated_at: dt.datetime
    evaluated_by: int | None
    version: int


class RiskBenefitDecisionRecord(Record):
    """A documented risk-benefit decision on a relative contraindication (PROTOCOL.md §2)."""

    patient_id: int
    criterion_id: str
    proceed: bool
    decided_by_name: str
    decided_on: dt.date
    rationale: str
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class SafetyPlan(Record):
    """A documented safety plan (PROTOCOL.md §2: needed to treat with active suicidal intent)."""

    patient_id: int
    documented_on: dt.date
    warning_signs: str
    coping_strategies: str
    contacts: str
    means_restriction: str
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class TreatmentResistance(Record):
    """Documented earlier treatments (PROTOCOL.md §2: ≥ 1 trauma-focused therapy, ≥ 2 SSRI/SNRI)."""

    patient_id: int
    psychotherapy_trials: list[dict[str, Any]]
    medication_trials: list[dict[str, Any]]
    documented_on: dt.date
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


class MaintenanceSchedule(Record):
    """Periodic IV maintenance after the series (PROTOCOL.md §8, §11; issue 13); open while
    ``stopped_on`` is None."""

    patient_id: int
    option_id: str
    interval_days: int
    starts_on: dt.date
    reason: str | None
    recorded_by: int | None
    recorded_at: dt.datetime
    stopped_on: dt.date | None
    stopped_by: int | None
    stop_reason: str | None
    version: int


class MaintenancePlan(Record):
    """The maintenance plan made before the series (PROTOCOL.md §8)."""

    patient_id: int
    option_ids: list[str]
    site_facts: dict[str, bool]
    interval_days: int | None
    notes: str | None
    planned_on: dt.date
    recorded_by: int | None
    recorded_at: dt.datetime
    voided_at: dt.datetime | None
    voided_by: int | None
    void_reason: str | None
    version: int


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


class Assessment(Record):
    """An outcome assessment at a time point, scored by its instrument (PROTOCOL.md §5, §7)."""

    patient_id: int
    time_point: str
    instrument: str
    assessed_on: dt.date
    target_date: dt.date | None
    window_start: dt.date | None
    window_end: dt.date | None
    in_window: bool
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


class Withdrawal(Record):
    """Withdrawal from the series with its reason and who decided (PROTOCOL.md §10 CONSORT)."""

    patient_id: int
    withdrawn_on: dt.date
    decided_by: str
    decided_by_name: str
    reason: str
    infusions_received: int
    recorded_by: int | None
    recorded_at: dt.datetime
    version: int


class BlindingGuess(Record):
    """A blinded person's guess of the patient's arm at the end of treatment (issue 15;
    PROTOCOL.md §3): ``respondent`` (core.workflow.Respondent), ``guess`` a drug of the
    protocol's arms or "dont_know" — as sensitive as the allocation."""

    patient_id: int
    respondent: str
    guess: str
    recorded_by: int | None
    recorded_at: dt.datetime
    version: int


class MeddraTerm(Record):
    """One LLT of a site-loaded MedDRA release with its primary path (core/meddra.py)."""

    release: str
    llt_code: int
    llt_name: str
    pt_code: int
    pt_name: str
    hlt_code: int
    hlt_name: str
    hlgt_code: int
    hlgt_name: str
    soc_code: int
    soc_name: str
    current: bool
    loaded_by: int | None
    loaded_at: dt.datetime


class AdverseEventCoding(Record):
    """The MedDRA coding of an adverse event: the LLT chosen and its path, who coded it, when.
    A recoding updates the row (the audit trail keeps every earlier value)."""

    adverse_event_id: int
    release: str
    llt_code: int
    llt_name: str
    pt_code: int
    pt_name: str
    hlt_code: int
    hlt_name: str
    hlgt_code: int
    hlgt_name: str
    soc_code: int
    soc_name: str
    coded_by: int | None
    coded_at: dt.datetime
    version: int


class SelfReportLink(Record):
    """A single-use, expiring self-report link for one patient (issue 13). Only the token's
    SHA-256 is kept; ``used_at`` once submitted, ``revoked_at`` when a newer link replaced it."""

    patient_id: int
    token_hash: str
    issued_by: int | None
    issued_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    version: int


class SelfReport(Record):
    """The patient's own PCL-5 and C-SSRS screener between visits, as scored, and what it raised
    (issue 13; PROTOCOL.md §5, §7, §8)."""

    patient_id: int
    link_id: int
    reported_on: dt.date
    submitted_at: dt.datetime
    pcl5_items: dict[str, Any]
    pcl5_total: int
    pcl5_subscales: dict[str, Any]
    cssrs_items: dict[str, Any]
    cssrs_derived: dict[str, Any]
    risk_level: str
    previous_pcl5_total: int | None
    baseline_pcl5_total: int | None
    findings: list[str]
    version: int


class RetreatmentCourse(Record):
    """A new acute series a physician started after a lost response (issue 13; PROTOCOL.md §5,
    §8): its infusions are numbered from ``first_infusion_number``."""

    patient_id: int
    course_number: int
    first_infusion_number: int
    infusion_count: int
    from_state: str
    starts_on: dt.date
    reason: str
    recorded_by: int | None
    recorded_at: dt.datetime
    version: int


class EsketamineSession(Record):
    """One intranasal esketamine session of the clinic pathway and its REMS monitoring form
    (PROTOCOL.md §8, §11; issue 13)."""

    patient_id: int
    session_number: int
    session_date: dt.date
    rems_patient_enrolled: bool
    rems_patient_id: str | None
    setting_name: str
    setting_certified: bool
    monitoring_provider: str
    prescriber: str
    concomitant_classes: list[str]
    concomitant_notes: str | None
    dose_choice: str
    dose_mg: int
    other_dose_reason: str | None
    device_lot: str
    bp_before_systolic: int
    bp_before_diastolic: int
    pulse_before: int | None
    spo2_before: int | None
    first_device_at: dt.datetime
    ended_at: dt.datetime | None
    ready_to_leave_at: dt.datetime | None
    discharged_by: int | None
    discharged_at: dt.datetime | None
    form_submitted_by: int | None
    form_submitted_at: dt.datetime | None
    recorded_by: int | None
    recorded_at: dt.datetime
    version: int


class EsketamineReading(Record):
    """Vital signs after dosing: blood pressure, pulse, pulse oximetry, MOAA/S (§11)."""

    session_id: int
    patient_id: int
    taken_at: dt.datetime
    systolic: int | None
    diastolic: int | None
    pulse: int | None
    spo2_percent: int | None
    moaas: int | None
    recorded_by: int | None
    recorded_at: dt.datetime
    version: int


class EsketamineEvent(Record):
    """Sedation, dissociation or respiratory depression during a session, and when it resolved."""

    session_id: int
    patient_id: int
    kind: str
    onset_at: dt.datetime
    resolved_at: dt.datetime | None
    notes: str | None
    recorded_by: int | None
    recorded_at: dt.datetime
    version: int


class EsketamineDecision(Record):
    """A prescriber's recorded decision on a session: a released blood-pressure hold before
    dosing, or a session moved against the schedule's interval (§11)."""

    patient_id: int
    session_number: int
    kind: str
    day: dt.date
    released: str
    reason: str
    decided_by: int
    decided_at: dt.datetime
    version: int
