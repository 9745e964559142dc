"""The infusion-day bedside screen applies the core rules (PROTOCOL.md §4, §6)."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import csrf_of, enrol
from ketamine_ptsd.core.roles import Role

CHECKLIST_OK = {
    "nil_by_mouth": "yes",
    "ratings_before": "yes",
    "benzo_taken": "no",
    "pregnancy_test": "not_applicable",
    "tox_recorded": "negative",
    "bp_1": "150/85",
    "bp_2": "138/80",
    "v0_sys": "130",
    "v0_dia": "80",
    "v0_hr": "72",
    "v0_spo2": "98",
    "weight_kg": "70",
}


@pytest.fixture
def nurse_page(login, services, actors):  # type: ignore[no-untyped-def]
    services.randomization.generate_list(
        actors[Role.PHARMACIST], protocol_name="rct", list_version="L1", slots_per_stratum=4
    )
    pid = enrol(services, actors)
    services.randomization.allocate(
        actors[Role.INVESTIGATOR], pid, infusion_date=dt.date(2026, 3, 2)
    )
    client = login(Role.NURSE)
    path = f"/patients/{pid}/infusion/1"
    token = csrf_of(client.get(path).text)

    def post(data: dict) -> str:
        response = client.post(path, data={"csrf_token": token, **data})
        return response.text

    return post


def test_third_reading_above_140_90_blocks_the_start_with_the_reason(nurse_page) -> None:
    data = {**CHECKLIST_OK, "bp_1": "150/85", "bp_2": "145/92", "bp_3": "142/88", "action": "start"}
    page = nurse_page(data)
    assert "Infusion may not start" in page
    assert "exceeded at reading 3" in page
    assert "Infusion started at" not in page


def test_start_is_allowed_when_every_check_passes_and_shows_the_blind_dose(nurse_page) -> None:
    page = nurse_page({**CHECKLIST_OK, "action": "start"})
    assert "Infusion may not start" not in page
    assert "Infusion started at 08:00" in page
    assert "35 mL" in page and "52.5 mL/h" in page and "study drug" in page
    assert "Next reading due at <strong>08:05</strong>" in page


def test_vitals_out_of_range_are_highlighted_and_alerted(nurse_page) -> None:
    page = nurse_page(
        {
            **CHECKLIST_OK,
            "start_time": "08:00",
            "v5_sys": "185",
            "v5_dia": "100",
            "v5_hr": "90",
            "v5_spo2": "97",
        }
    )
    assert "Vital-sign alerts" in page
    assert "systolic mmHg 185 is above the alert threshold 180" in page
    assert 'class="out' in page


def test_next_reading_is_flagged_overdue(nurse_page, clock) -> None:
    clock.advance(dt.timedelta(minutes=20))
    page = nurse_page({**CHECKLIST_OK, "start_time": "08:00"})
    assert "overdue" in page


def test_discharge_lists_what_is_missing_then_becomes_ready(nurse_page, clock) -> None:
    early = nurse_page({**CHECKLIST_OK, "start_time": "08:00"})
    assert "Not ready for discharge" in early and "physician assessment" in early
    for _ in range(11):  # readings every 15 min keep the session alive (idle limit 30 min)
        clock.advance(dt.timedelta(minutes=11))
        nurse_page({**CHECKLIST_OK, "start_time": "08:00"})
    ready = nurse_page(
        {
            **CHECKLIST_OK,
            "start_time": "08:00",
            "end_time": "08:40",
            "cadss_before": "2",
            "cadss_latest": "3",
            "ambulatory": "yes",
            "delayed_effects_checked": "yes",
            "physician_signoff": "yes",
        }
    )
    assert "Ready for discharge." in ready


def test_bad_values_are_named_and_kept(nurse_page) -> None:
    page = nurse_page({**CHECKLIST_OK, "bp_3": "abc", "weight_kg": "700"})
    assert "is not SYSTOLIC/DIASTOLIC" in page
    assert 'value="abc"' in page and 'value="700"' in page
