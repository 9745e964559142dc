"""Vital-sign alerts and the monitoring timetable of an infusion day (PROTOCOL.md §6).

Ketamine raises blood pressure and heart rate transiently (§6); the protocol's alert thresholds
say when the nurse calls the physician. A value *beyond* a threshold alerts: above a "high"
threshold or below a "low" one, strictly, as "above" is read for the blood-pressure cutoff.
Vitals are due every ``vitals_interval_during_minutes`` from the start to the end of the infusion,
then every ``vitals_interval_after_minutes`` until observation ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import InvalidInput
from ..protocol import AlertThresholds, Protocol

__all__ = [
    "VITAL_RANGES",
    "VitalAlert",
    "VitalSigns",
    "observation_end_minute",
    "vital_sign_alerts",
    "vitals_due_minutes",
]


#: The plausible range of each reading (a value outside is a typing error, not a patient): the
#: one declaration the bedside form, the API and the rule share (issue 11).
VITAL_RANGES: dict[str, tuple[int, int]] = {
    "systolic_mmhg": (30, 320),
    "diastolic_mmhg": (10, 220),
    "heart_rate_bpm": (10, 300),
    "spo2_percent": (30, 100),
}


@dataclass(frozen=True, slots=True)
class VitalSigns:
    """One set of vitals; any value may be missing (None)."""

    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    heart_rate_bpm: int | None = None
    spo2_percent: int | None = None

    def __post_init__(self) -> None:
        for name, (low, high) in VITAL_RANGES.items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                raise InvalidInput(name, f"{value} is outside {low}–{high}", value)


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
