"""A clinic responder ready for esketamine sessions, and a session's REMS fields (issue 13;
PROTOCOL.md §8, §11): shared by the service, REST and browser tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ketamine_ptsd.services.esketamine import SessionStart

PASSWORD = "correct horse battery"
#: A Monday after the responder's week 2 (maintenance_support.WEEK2 is 16 March).
SESSION_DAY = dt.datetime(2026, 3, 23, 9, 0, tzinfo=dt.UTC)


def session_start(**changes: Any) -> SessionStart:
    """A complete start: enrolled, a certified setting, 56 mg, 132/84 before dosing."""
    values: dict[str, Any] = {
        "rems_patient_enrolled": True,
        "rems_patient_id": "REMS-000123",
        "setting_name": "Clinic suite B",
        "setting_certified": True,
        "monitoring_provider": "Nurse Okafor",
        "prescriber": "Dr Ames",
        "dose_mg": 56,
        "device_lot": "LOT-24A17",
        "bp_before_systolic": 132,
        "bp_before_diastolic": 84,
        "pulse_before": 72,
        "spo2_before": 98,
        "concomitant_classes": ("benzodiazepine",),
    }
    values.update(changes)
    return SessionStart(**values)


def monitor_to_two_hours(services: Any, nurse: Any, clock: Any, pid: int, n: int) -> None:
    """Readings at 40 min and before the end (with pulse oximetry), the clock at 2 hours."""
    start = services.esketamine.session(nurse, pid, n).first_device_at
    for minute, (s, d) in ((40, (146, 88)), (115, (128, 80))):
        clock.set(start + dt.timedelta(minutes=minute))
        services.esketamine.record_reading(
            nurse, pid, n, systolic=s, diastolic=d, pulse=80, spo2_percent=97, moaas=5
        )
    clock.set(start + dt.timedelta(minutes=120))
