"""Vital-sign alerts and the monitoring timetable of an infusion day (PROTOCOL.md §6).

Ketamine raises blood pressure and heart rate transiently (§6); the protocol's alert thresholds
say when the nurse calls the physician. A value *beyond* a threshold alerts: above a "high"
threshold or below a "low" one, strictly, as "above" is read for the blood-pressure cutoff.
Vitals are due every ``vitals_interval_during_minutes`` from the start to the end of the infusion,
then every ``vitals_interval_after_minutes`` until observation ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..errors import InvalidInput
from ..protocol import VITAL_RANGES, AlertThresholds, Protocol

__all__ = [
    "VITAL_LABELS",
    "VITAL_RANGES",
    "VitalAlert",
    "VitalSigns",
    "check_vitals_window",
    "missing_vitals_minutes",
    "observation_end_minute",
    "vital_sign_alerts",
    "vitals_due_minutes",
]


#: What a person calls each reading: the one set of labels the bedside form, its errors and the
#: alerts use (issue 12: "SpO₂ must be 30–100 %", never ``spo2_percent``).
VITAL_LABELS: dict[str, str] = {
    "systolic_mmhg": "Systolic BP (mmHg)",
    "diastolic_mmhg": "Diastolic BP (mmHg)",
    "heart_rate_bpm": "Heart rate (/min)",
    "spo2_percent": "SpO₂ (%)",
    "respiratory_rate_per_min": "Respiratory rate (/min)",
    "moaas": "Sedation (MOAA/S 0–5)",
}


@dataclass(frozen=True, slots=True)
class VitalSigns:
    """One set of vitals; any value may be missing (None)."""

    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    heart_rate_bpm: int | None = None
    spo2_percent: int | None = None
    respiratory_rate_per_min: int | None = None
    moaas: int | None = None

    def __post_init__(self) -> None:
        for name, (low, high) in VITAL_RANGES.items():
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
            ):
                label = VITAL_LABELS[name].split(" (")[0]
                raise InvalidInput(name, f"{label} must be {low}–{high}", value)


@dataclass(frozen=True, slots=True)
class VitalAlert:
    parameter: str
    value: int
    threshold: int
    direction: Literal["high", "low"]
    message: str


def vital_sign_alerts(vitals: VitalSigns, thresholds: AlertThresholds) -> tuple[VitalAlert, ...]:
    """Every value beyond the protocol's thresholds, most urgent (oxygen) first."""
    checks: list[tuple[str, int | None, int, Literal["high", "low"], str]] = [
        ("spo2_percent", vitals.spo2_percent, thresholds.spo2_low_percent, "low", "SpO2 %"),
        (
            "systolic_mmhg",
            vitals.systolic_mmhg,
            thresholds.systolic_high_mmhg,
            "high",
            "systolic mmHg",
        ),
        (
            "systolic_mmhg",
            vitals.systolic_mmhg,
            thresholds.systolic_low_mmhg,
            "low",
            "systolic mmHg",
        ),
        (
            "diastolic_mmhg",
            vitals.diastolic_mmhg,
            thresholds.diastolic_high_mmhg,
            "high",
            "diastolic mmHg",
        ),
        (
            "heart_rate_bpm",
            vitals.heart_rate_bpm,
            thresholds.heart_rate_high_bpm,
            "high",
            "heart rate /min",
        ),
        (
            "heart_rate_bpm",
            vitals.heart_rate_bpm,
            thresholds.heart_rate_low_bpm,
            "low",
            "heart rate /min",
        ),
        (
            "respiratory_rate_per_min",
            vitals.respiratory_rate_per_min,
            thresholds.respiratory_rate_high_per_min,
            "high",
            "respiratory rate /min",
        ),
        (
            "respiratory_rate_per_min",
            vitals.respiratory_rate_per_min,
            thresholds.respiratory_rate_low_per_min,
            "low",
            "respiratory rate /min",
        ),
        (
            "moaas",
            vitals.moaas,
            thresholds.moaas_alert_at_or_below + 1,  # at or below N is below N + 1
            "low",
            "sedation MOAA/S",
        ),
    ]
    alerts = []
    for name, value, threshold, direction, words in checks:
        if value is None:
            continue
        beyond = value > threshold if direction == "high" else value < threshold
        if beyond:
            side = "above" if direction == "high" else "below"
            alerts.append(
                VitalAlert(
                    name,
                    value,
                    threshold,
                    direction,
                    f"{words} {value} is {side} the alert threshold {threshold} (PROTOCOL.md §6)",
                )
            )
    return tuple(alerts)


def observation_end_minute(protocol: Protocol, drug: str) -> int:
    """Minutes after infusion start at which the minimum observation ends (§6)."""
    if drug not in protocol.dosing:
        raise InvalidInput("drug", f"protocol {protocol.name!r} does not give {drug!r}", drug)
    dis = protocol.monitoring.discharge
    infusion = protocol.dose_for(drug).infusion_minutes
    return dis.observation_minutes + (infusion if dis.observation_from == "infusion_end" else 0)


def vitals_due_minutes(protocol: Protocol, drug: str) -> tuple[int, ...]:
    """Minutes after start when vitals are due: every 5 during, every 15 after (RCT, §6)."""
    m = protocol.monitoring
    infusion = protocol.dose_for(drug).infusion_minutes if drug in protocol.dosing else 0
    end = observation_end_minute(protocol, drug)
    during = list(range(0, infusion + 1, m.vitals_interval_during_minutes))
    if during[-1] != infusion:
        during.append(infusion)
    after = list(
        range(infusion + m.vitals_interval_after_minutes, end + 1, m.vitals_interval_after_minutes)
    )
    if (after[-1] if after else infusion) != end:
        after.append(end)
    return tuple(during + after)


def check_vitals_window(protocol: Protocol, minute: int, elapsed_minutes: float) -> None:
    """Refuse a reading for ``minute`` entered ``elapsed_minutes`` after the infusion start
    outside its window (the protocol's ``vitals_window``; PROTOCOL.md §6): a "120 min" reading
    one minute after the start is a typing error or a guess, and one entered long after its
    minute belongs on the record as missed, with the reason. Minute 0 (the baseline, before the
    start) has no window here."""
    if minute <= 0:
        return
    w = protocol.monitoring.vitals_window
    earliest, latest = minute - w.early_minutes, minute + w.late_minutes
    if earliest <= elapsed_minutes <= latest:
        return
    now = math.floor(elapsed_minutes)
    raise InvalidInput(
        "minute",
        f"the {minute}-minute reading is entered from {max(earliest, 0)} to {latest} min after "
        f"the infusion start; it is now {now} min after it (PROTOCOL.md §6). "
        + (
            "Enter it when it is due."
            if elapsed_minutes < earliest
            else "Record it as missed, with the reason."
        ),
        minute,
    )


def missing_vitals_minutes(
    protocol: Protocol,
    drug: str,
    elapsed_minutes: float,
    recorded: frozenset[int] | set[int],
    explained: frozenset[int] | set[int],
) -> tuple[int, ...]:
    """The scheduled minutes (:func:`vitals_due_minutes`) due by ``elapsed_minutes`` after the
    start with neither a reading nor a recorded reason (PROTOCOL.md §6)."""
    return tuple(
        m
        for m in vitals_due_minutes(protocol, drug)
        if m <= elapsed_minutes and m not in recorded and m not in explained
    )
