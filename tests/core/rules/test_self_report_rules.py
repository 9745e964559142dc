"""What a self-report sets off (issue 13; PROTOCOL.md §7, §8): the C-SSRS review level and the
PCL-5 change at their boundaries, the relapse line (baseline × (1 − 30 %)), and a protocol with
no self-report plan refused by name."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import score
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import evaluate_self_report, relapse_line, trajectory

SCREENERS = {
    "none": {"1": False, "2": False, "6": False},
    "low": {"1": True, "2": True, "3": False, "4": False, "5": False, "6": False},
    "moderate": {"1": True, "2": True, "3": True, "4": False, "5": False, "6": False},
    "high": {"1": True, "2": True, "3": True, "4": True, "5": False, "6": False},
}


def _derived(level: str) -> dict[str, Any]:
    return dict(score("cssrs", SCREENERS[level]).derived)


def _evaluate(protocol: Protocol, level: str = "none", **kw: Any) -> Any:
    args: dict[str, Any] = {
        "pcl5_total": 20,
        "previous_pcl5_total": None,
        "baseline_pcl5_total": 40,
        "watching_response": True,
        "where": "self-report on 2026-03-23",
    }
    args.update(kw)
    return evaluate_self_report(protocol, cssrs_derived=_derived(level), **args)


@pytest.mark.parametrize(
    ("level", "alerts"), [("none", False), ("low", False), ("moderate", True), ("high", True)]
)
def test_the_screener_alerts_from_the_protocols_review_level_up(
    clinical: Protocol, level: str, alerts: bool
) -> None:
    findings = _evaluate(clinical, level)
    assert findings.risk_level == level
    assert (findings.suicide_alert is not None) is alerts
    assert findings.show_crisis_text is alerts


def test_a_site_that_reviews_from_low_alerts_on_a_low_screener(clinical: Protocol) -> None:
    site = clinical.model_copy(
        update={
            "monitoring": clinical.monitoring.model_copy(
                update={"suicide_risk_review_level": "low"}
            )
        }
    )
    assert _evaluate(site, "low").suicide_alert is not None


@pytest.mark.parametrize(
    ("previous", "now", "alerts"),
    [
        (20, 29, False),
        (20, 30, True),
        (20, 31, True),
        (30, 20, False),
        (0, 9, False),
        (70, 80, True),
    ],
)
def test_a_pcl5_rise_of_the_meaningful_change_alerts_and_one_point_less_does_not(
    clinical: Protocol, previous: int, now: int, alerts: bool
) -> None:
    findings = _evaluate(
        clinical, pcl5_total=now, previous_pcl5_total=previous, watching_response=False
    )
    assert (findings.rise_alert is not None) is alerts
    assert findings.rise_points == now - previous
    assert findings.show_crisis_text is alerts  # a rise alone is an alert too (§7)


def test_no_previous_pcl5_no_rise(clinical: Protocol) -> None:
    findings = _evaluate(clinical, pcl5_total=80, previous_pcl5_total=None, watching_response=False)
    assert findings.rise_alert is None and findings.rise_points is None


def test_the_relapse_line_is_thirty_percent_below_baseline_exactly(clinical: Protocol) -> None:
    assert relapse_line(clinical, 40) == 28
    assert relapse_line(clinical, 33) == Fraction(231, 10)  # 23.1: 23 responds, 24 does not
    assert _evaluate(clinical, pcl5_total=28).relapse_alert is None
    assert "above 28" in _evaluate(clinical, pcl5_total=29).relapse_alert
    assert _evaluate(clinical, pcl5_total=23, baseline_pcl5_total=33).relapse_alert is None
    assert _evaluate(clinical, pcl5_total=24, baseline_pcl5_total=33).relapse_alert is not None
    # only a watched response (a responder, or in maintenance) raises the relapse task
    assert _evaluate(clinical, pcl5_total=40, watching_response=False).relapse_alert is None
    assert _evaluate(clinical, pcl5_total=40, baseline_pcl5_total=None).relapse_alert is None
    with pytest.raises(InvalidInput):
        relapse_line(clinical, 0)


def test_the_rct_offers_no_self_report(rct: Protocol) -> None:
    with pytest.raises(InvalidInput) as refused:
        _evaluate(rct)
    assert refused.value.field == "self_report"


def test_the_trajectory_is_in_date_order_against_the_line(clinical: Protocol) -> None:
    day = dt.date(2026, 3, 2)
    points, line = trajectory(
        clinical,
        [(day + dt.timedelta(days=21), 30, "self_report"), (day, 40, "baseline"),
         (day + dt.timedelta(days=14), 20, "week2")],
        40,
    )  # fmt: skip
    assert line == 28.0
    assert [(p.total, p.within_response) for p in points] == [(40, None), (20, True), (30, False)]
