"""The protocol's edit checks (issue 17: automatic queries from the protocol's own rules)."""

from __future__ import annotations

import datetime as dt

from ketamine_ptsd.core.conduct import (
    assessment_window_finding,
    missing_items_finding,
    vitals_findings,
)
from ketamine_ptsd.core.protocol import DataChecks, PlausibleRange, validate
from ketamine_ptsd.core.protocol._validate_bedside import check_data_checks

CHECKS = DataChecks(
    required_vitals=("systolic_mmhg", "respiratory_rate_per_min"),
    plausible_vitals=(PlausibleRange(measure="systolic_mmhg", low=70, high=220),),
)


def test_a_complete_plausible_reading_raises_nothing() -> None:
    values = {"systolic_mmhg": 120, "respiratory_rate_per_min": 14}
    assert vitals_findings(values, 15, CHECKS) == ()


def test_a_missing_required_item_is_questioned_by_its_label() -> None:
    (finding,) = vitals_findings({"systolic_mmhg": 120}, 15, CHECKS)
    assert (finding.rule, finding.field) == ("vitals_incomplete", "respiratory_rate_per_min")
    assert "Respiratory rate (/min) is missing from the minute-15 reading" in finding.question
    assert "§6" in finding.question


def test_plausible_range_boundaries_are_inclusive() -> None:
    for value, found in ((70, False), (220, False), (69, True), (221, True)):
        values = {"systolic_mmhg": value, "respiratory_rate_per_min": 14}
        findings = vitals_findings(values, 5, CHECKS)
        assert bool(findings) is found, value
        if found:
            assert findings[0].rule == "vitals_implausible"
            assert f"Systolic BP (mmHg) {value} at minute 5" in findings[0].question


def test_assessment_window_is_inclusive_and_needs_a_window() -> None:
    start, end = dt.date(2026, 3, 1), dt.date(2026, 3, 5)
    assert assessment_window_finding("caps5", "week1", start, start, end) is None
    assert assessment_window_finding("caps5", "week1", end, start, end) is None
    assert assessment_window_finding("caps5", "week1", dt.date(2026, 3, 6), None, None) is None
    late = assessment_window_finding("caps5", "week1", dt.date(2026, 3, 6), start, end)
    assert late is not None and late.field == "assessed_on" and "§5" in late.question


def test_missing_items_are_named() -> None:
    assert missing_items_finding("caps5", "baseline", {"diagnosis_missing_items": []}) is None
    found = missing_items_finding(
        "caps5",
        "baseline",
        {"diagnosis_missing_items": ["22"], "dissociative_subtype_missing_items": ["22", "29"]},
    )
    assert (
        found is not None
        and found.field == "items"
        and "item(s) 22, 29 missing" in (found.question)
    )


def test_the_validator_refuses_unknown_readings_and_ranges_outside_the_possible() -> None:
    from ketamine_ptsd.adapters.protocol_store import load_protocol

    protocol = load_protocol("rct")
    assert validate(protocol) == []
    bad = protocol.model_copy(
        update={
            "monitoring": protocol.monitoring.model_copy(
                update={
                    "data_checks": DataChecks(
                        required_vitals=("temperature",),
                        plausible_vitals=(
                            PlausibleRange(measure="spo2_percent", low=85, high=101),
                            PlausibleRange(measure="spo2_percent", low=85, high=100),
                        ),
                    )
                }
            )
        }
    )
    problems = check_data_checks(bad)
    assert any("unknown reading 'temperature'" in p for p in problems)
    assert any("85-101 must be a range inside the possible 30-100" in p for p in problems)
    assert any("given twice" in p for p in problems)
