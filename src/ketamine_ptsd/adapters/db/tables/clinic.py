"""The clinic's long game (issue 13): self-report links and self-reports, retreatment courses, intranasal esketamine sessions with the REMS monitoring record, and bookings (room, nurse, time)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)

from ._schema import (
    SECRET,
    UTCDateTime,
    metadata,
    pk,
    recorded,
    row_version,
)

__all__ = [
    "bookings",
    "esketamine_decisions",
    "esketamine_events",
    "esketamine_readings",
    "esketamine_sessions",
    "retreatment_courses",
    "self_report_links",
    "self_reports",
]

# Issue 13, the clinic's long game. A self-report link: a single-use, expiring link a staff
# member issues for one patient (the token itself is never stored: its SHA-256 only, as a
# secret); ``used_at`` once the patient has submitted, ``revoked_at`` when a newer link replaced
# it. A self-report: the patient's own PCL-5 and C-SSRS screener, as scored, with the PCL-5 it
# was compared with and the findings it raised (alerts, relapse watch). The retreatment series a
# physician started after a lost response (PROTOCOL.md §5, §8), numbered after the last infusion.
self_report_links = Table(
    "self_report_links",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True, info=SECRET),
    Column("issued_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    row_version(),
)

self_reports = Table(
    "self_reports",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("link_id", Integer, ForeignKey("self_report_links.id"), nullable=False, unique=True),
    Column("reported_on", Date, nullable=False),
    Column("submitted_at", UTCDateTime, nullable=False),
    Column("pcl5_items", JSON, nullable=False),
    Column("pcl5_total", Integer, nullable=False),
    Column("pcl5_subscales", JSON, nullable=False),
    Column("cssrs_items", JSON, nullable=False),
    Column("cssrs_derived", JSON, nullable=False),
    Column("risk_level", String(16), nullable=False),
    Column("previous_pcl5_total", Integer, nullable=True),
    Column("baseline_pcl5_total", Integer, nullable=True),
    Column("findings", JSON, nullable=False),
    row_version(),
)

retreatment_courses = Table(
    "retreatment_courses",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("course_number", Integer, nullable=False),
    Column("first_infusion_number", Integer, nullable=False),
    Column("infusion_count", Integer, nullable=False),
    Column("from_state", String(32), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("reason", Text, nullable=False),
    *recorded(),
    row_version(),
    UniqueConstraint("patient_id", "course_number"),
)

# Issue 13 (PROTOCOL.md §8, §11): intranasal esketamine sessions of the clinic pathway under the
# REMS, one row per session with the monitoring form's fields (enrolment, certified setting,
# concomitant classes, dose and lot, blood pressure before dosing, monitoring provider, the end,
# "ready to leave", the prescriber's discharge, the form's submission); the readings after dosing
# and the sedation, dissociation and respiratory-depression events; the prescriber's decisions
# (a released blood-pressure hold, a moved session). Open label: nothing here is blinded.
esketamine_sessions = Table(
    "esketamine_sessions",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("session_number", Integer, nullable=False),
    Column("session_date", Date, nullable=False),
    Column("rems_patient_enrolled", Boolean, nullable=False),
    Column("rems_patient_id", String(64), nullable=True),
    Column("setting_name", String(200), nullable=False),
    Column("setting_certified", Boolean, nullable=False),
    Column("monitoring_provider", String(200), nullable=False),
    Column("prescriber", String(200), nullable=False),
    Column("concomitant_classes", JSON, nullable=False),
    Column("concomitant_notes", Text, nullable=True),
    Column("dose_choice", String(8), nullable=False),
    Column("dose_mg", Integer, nullable=False),
    Column("other_dose_reason", Text, nullable=True),
    Column("device_lot", String(64), nullable=False),
    Column("bp_before_systolic", Integer, nullable=False),
    Column("bp_before_diastolic", Integer, nullable=False),
    Column("pulse_before", Integer, nullable=True),
    Column("spo2_before", Integer, nullable=True),
    Column("first_device_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("ready_to_leave_at", UTCDateTime, nullable=True),
    Column("discharged_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("discharged_at", UTCDateTime, nullable=True),
    Column("form_submitted_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("form_submitted_at", UTCDateTime, nullable=True),
    *recorded(),
    row_version(),
    UniqueConstraint("patient_id", "session_number"),
    CheckConstraint("dose_choice IN ('56', '84', 'other')", name="dose_choice"),
)

esketamine_readings = Table(
    "esketamine_readings",
    metadata,
    pk(),
    Column("session_id", Integer, ForeignKey("esketamine_sessions.id"), nullable=False, index=True),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("taken_at", UTCDateTime, nullable=False),
    Column("systolic", Integer, nullable=True),
    Column("diastolic", Integer, nullable=True),
    Column("pulse", Integer, nullable=True),
    Column("spo2_percent", Integer, nullable=True),
    Column("moaas", Integer, nullable=True),
    *recorded(),
    row_version(),
)

esketamine_events = Table(
    "esketamine_events",
    metadata,
    pk(),
    Column("session_id", Integer, ForeignKey("esketamine_sessions.id"), nullable=False, index=True),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("onset_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("notes", Text, nullable=True),
    *recorded(),
    row_version(),
    CheckConstraint("kind IN ('sedation', 'dissociation', 'respiratory_depression')", name="kind"),
)

esketamine_decisions = Table(
    "esketamine_decisions",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("session_number", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("day", Date, nullable=False),
    Column("released", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("decided_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
    row_version(),
    CheckConstraint("kind IN ('release_bp_hold', 'move_session')", name="kind"),
)

# Issue 13, "what a clinic uses every day": a booking of one patient's infusion, esketamine
# session or assessment visit in a room, with a nurse, on a site-local day and start time
# (``start_time`` is the site's wall clock; ``site`` is the patient's, as rooms are a site's).
# What is booked names no drug or arm: "infusion" with its number, "esketamine" (the clinic
# pathway only) with its session number, "assessment" with its time point. Never deleted: a
# cancelled booking keeps its reason; a move is an audited update with its reason
# (core/rules/booking.py; services/bookings.py).
bookings = Table(
    "bookings",
    metadata,
    pk(),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False, index=True),
    Column("site", String(16), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("number", Integer, nullable=True),
    Column("time_point", String(64), nullable=True),
    Column("day", Date, nullable=False, index=True),
    Column("start_time", Time, nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("room", String(64), nullable=False),
    Column("nurse_id", Integer, ForeignKey("users.id"), nullable=True),
    Column("booked_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("booked_at", UTCDateTime, nullable=False),
    Column("cancelled_at", UTCDateTime, nullable=True),
    Column("cancelled_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("cancel_reason", Text, nullable=True),
    row_version(),
    CheckConstraint("kind IN ('infusion', 'esketamine', 'assessment')", name="kind"),
    CheckConstraint("minutes >= 15 AND minutes <= 480", name="minutes"),
)
