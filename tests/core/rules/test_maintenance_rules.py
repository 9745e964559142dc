"""Maintenance options and relapse-watch dates for the clinic (PROTOCOL.md §8)."""

from __future__ import annotations

import datetime as dt

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import maintenance_options, relapse_watch_dates


def test_esketamine_needs_rems_certification_and_two_hour_monitoring(clinical: Protocol) -> None:
    options = {o.id: o for o in maintenance_options(clinical, {})}
    esk = options["esketamine_intranasal"]
    assert not esk.available
    assert any("REMS" in u for u in esk.unmet)
    assert any("2-hour" in u for u in esk.unmet)
    assert options["trauma_focused_psychotherapy"].available


def test_options_become_available_when_requirements_are_recorded(clinical: Protocol) -> None:
    facts = {
        "site_rems_certified": True,
        "two_hour_monitoring_available": True,
        "setting_continuous_monitoring": True,
    }
    options = maintenance_options(clinical, facts)
    assert all(o.available for o in options)
    iv = next(o for o in options if o.id == "iv_ketamine_periodic")
    assert iv.interval_days == (7, 14)  # weekly or every two weeks


def test_rct_plans_no_maintenance(rct: Protocol) -> None:
    with pytest.raises(InvalidInput) as info:
        maintenance_options(rct, {})
    assert info.value.field == "maintenance"


def test_relapse_watch_dates_follow_the_durability_quartiles(clinical: Protocol) -> None:
    primary = dt.date(2024, 3, 18)
    watch = relapse_watch_dates(clinical, primary)
    assert [w.days_after_primary for w in watch] == [23, 27.5, 32]
    assert [w.share_lost for w in watch] == [0.25, 0.5, 0.75]
    # 27.5 rounds down: the watch visit comes before, not after
    assert [w.day for w in watch] == [
        dt.date(2024, 4, 10),
        dt.date(2024, 4, 14),
        dt.date(2024, 4, 19),
    ]
    assert "half of RCT responders" in watch[1].label
