"""The clinic's long game (issue 13): self-reports and their links, retreatment courses, esketamine sessions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .base import Record

__all__ = [
    "Booking",
    "EsketamineDecision",
    "EsketamineEvent",
    "EsketamineReading",
    "EsketamineSession",
    "RetreatmentCourse",
    "SelfReport",
    "SelfReportLink",
]


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


class Booking(Record):
    """One patient's infusion, esketamine session or assessment visit booked in a room with a
    nurse, on a site-local day and start time (issue 13; core/rules/booking.py). Cancelled with
    a reason, never deleted."""

    patient_id: int
    site: str | None
    kind: str  # infusion, esketamine, assessment
    number: int | None  # the infusion's or the esketamine session's number
    time_point: str | None  # the assessment's time point
    day: dt.date
    start_time: dt.time
    minutes: int
    room: str
    nurse_id: int | None
    booked_by: int | None
    booked_at: dt.datetime
    cancelled_at: dt.datetime | None
    cancelled_by: int | None
    cancel_reason: str | None
    version: int
