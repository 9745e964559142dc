"""The bedside in the site's time zone (issue 12: "local time, the site's time zone from
settings"): shown in site time, and a time the nurse types (the end, when the physician was
called) read as site time, stored as the instant it names."""

from __future__ import annotations

import datetime as dt

import pytest
import test_web_infusion as bedside  # type: ignore[import-not-found]

from ketamine_ptsd.adapters.web.config import WebSettings
from ketamine_ptsd.core.roles import Role

# the bedside module's fixtures (a patient allocated with a baseline, the nurse, the rater)
pid, nurse, rater = bedside.pid, bedside.nurse, bedside.rater


@pytest.fixture
def settings(db_url: str) -> WebSettings:
    return WebSettings(
        database_url=db_url, secret_key="test-secret", site_timezone="America/New_York"
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_times_are_shown_and_read_in_the_sites_zone(
    nurse, rater, clock, services, actors, pid
) -> None:  # type: ignore[no-untyped-def]
    page = nurse.get()  # the clock is 08:00 UTC: 03:00 in New York (EST, UTC-5)
    assert "Times are America/New_York (site time). Now 03:00." in page
    bedside._ready(nurse, rater)
    nurse.post("checklist", {**bedside.CHECKLIST_OK, "action": "start"})
    assert "Infusion started at 03:00" in nurse.get()
    clock.advance(dt.timedelta(minutes=5))
    nurse.post(
        "vitals",
        {"minute": "5", "sys": "186", "dia": "100", "hr": "90", "spo2": "97", "rr": "16",
         "moaas": "5"},
    )  # fmt: skip
    [alert] = services.infusions.alerts(actors[Role.NURSE], pid, open_only=True)
    nurse.post(
        f"../../alerts/{alert.id}/acknowledge",
        {"alert_version": str(alert.version), "back": "infusion/1", "physician_called": "Dr Lee",
         "called_at": "03:05", "action_taken": "labetalol 5 mg IV as ordered"},
    )  # fmt: skip
    [owned] = services.infusions.alerts(actors[Role.NURSE], pid)
    assert owned.physician_called_at == dt.datetime(2026, 3, 2, 8, 5, tzinfo=dt.UTC)
    assert "Dr Lee called at 03:05" in nurse.get()
    clock.advance(dt.timedelta(minutes=15))
    future = nurse.post("end", {"version": nurse.version(), "ended_at": "08:18"}, expect=422)
    assert 'id="field-error-ended_at"' in future.text  # 08:18 New York is hours ahead
    nurse.post(
        "end",
        {"version": nurse.version(), "ended_at": "03:18", "stopped_early": "yes",
         "volume_given_ml": "17.5", "early_stop_reason": "BP 186/100"},
    )  # fmt: skip
    day = services.infusions.day(actors[Role.NURSE], pid, 1)
    assert day.ended_at == dt.datetime(2026, 3, 2, 8, 18, tzinfo=dt.UTC)
    assert "ended at 03:18" in nurse.get()
