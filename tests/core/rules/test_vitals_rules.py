"""Vital-sign alerts and the monitoring timetable (PROTOCOL.md §6)."""

from __future__ import annotations

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import (
    VitalSigns,
    observation_end_minute,
    vital_sign_alerts,
    vitals_due_minutes,
)


@pytest.mark.parametrize(
    ("vitals", "parameter", "direction"),
    [
        (VitalSigns(systolic_mmhg=181), "systolic_mmhg", "high"),
        (VitalSigns(systolic_mmhg=89, diastolic_mmhg=50), "systolic_mmhg", "low"),
        (VitalSigns(diastolic_mmhg=111), "diastolic_mmhg", "high"),
        (VitalSigns(heart_rate_bpm=121), "heart_rate_bpm", "high"),
        (VitalSigns(heart_rate_bpm=49), "heart_rate_bpm", "low"),
        (VitalSigns(spo2_percent=91), "spo2_percent", "low"),
    ],
)
def test_value_beyond_a_threshold_raises_an_alert(
    rct: Protocol, vitals: VitalSigns, parameter: str, direction: str
) -> None:
    alerts = vital_sign_alerts(vitals, rct.monitoring.alerts)
    assert [(a.parameter, a.direction) for a in alerts] == [(parameter, direction)]
    assert "PROTOCOL.md §6" in alerts[0].message


def test_values_at_the_thresholds_do_not_alert(rct: Protocol) -> None:
    at = VitalSigns(systolic_mmhg=180, diastolic_mmhg=110, heart_rate_bpm=120, spo2_percent=92)
    assert vital_sign_alerts(at, rct.monitoring.alerts) == ()
    low = VitalSigns(systolic_mmhg=90, diastolic_mmhg=60, heart_rate_bpm=50)
    assert vital_sign_alerts(low, rct.monitoring.alerts) == ()


def test_oxygen_alert_comes_first(rct: Protocol) -> None:
    vitals = VitalSigns(systolic_mmhg=190, heart_rate_bpm=130, spo2_percent=85)
    alerts = vital_sign_alerts(vitals, rct.monitoring.alerts)
    assert alerts[0].parameter == "spo2_percent" and len(alerts) == 3


def test_impossible_vital_sign_is_refused_naming_it() -> None:
    with pytest.raises(InvalidInput) as info:
        VitalSigns(spo2_percent=101)
    assert info.value.field == "spo2_percent"


def test_rct_vitals_every_5_minutes_during_and_15_after_until_120(rct: Protocol) -> None:
    minutes = vitals_due_minutes(rct, "ketamine")
    assert minutes[:9] == (0, 5, 10, 15, 20, 25, 30, 35, 40)
    assert minutes[9:] == (55, 70, 85, 100, 115, 120)
    assert observation_end_minute(rct, "ketamine") == 120


def test_clinical_observation_ends_two_hours_after_infusion_end(clinical: Protocol) -> None:
    assert observation_end_minute(clinical, "ketamine") == 40 + 120
    assert vitals_due_minutes(clinical, "ketamine")[-1] == 160
