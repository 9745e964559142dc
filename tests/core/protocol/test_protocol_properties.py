"""What ``validate`` promises, checked over generated protocols (Hypothesis).

If a protocol passes ``validate``, then from ANY allowed first-infusion date the planned series
never puts two infusions on one day, keeps the minimum gap, and no two visit windows overlap
(PROTOCOL.md §5). The validator checks one reference week per allowed weekday; this property
checks that this is enough, across real calendars (month lengths, year ends).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from importlib import resources
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ketamine_ptsd.core.errors import ProtocolInvalid
from ketamine_ptsd.core.protocol import WEEKDAYS, protocol_from_mapping, validate
from ketamine_ptsd.core.rules import plan_schedule

_RCT: dict[str, Any] = yaml.safe_load(
    (resources.files("ketamine_ptsd") / "protocols" / "rct.yaml").read_text("utf-8")
)


@st.composite
def protocols(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(_RCT)
    per_week = draw(st.integers(1, 4))
    weeks = draw(st.integers(2, 3))
    data["schedule"] = {
        "infusion_count": per_week * weeks,
        "infusions_per_week": per_week,
        "weeks": weeks,
        "min_days_between_infusions": draw(st.integers(1, 2)),
        "allowed_weekdays": draw(
            st.lists(st.sampled_from(WEEKDAYS), min_size=3, max_size=7, unique=True)
        ),
    }
    count = per_week * weeks
    # baseline may reach back; 24 h stays a one-day window (wider ones are mostly refused,
    # which the validator tests cover); week 1 and week 2 windows vary
    baseline, _, week1, week2 = data["assessments"]
    baseline["window_days_before"] = draw(st.integers(0, 3))
    week1["window_days_before"] = draw(st.integers(0, 2))
    week2["window_days_before"] = draw(st.integers(0, 3))
    week2["window_days_after"] = draw(st.integers(0, 4))
    data["assessments"][2]["anchor"]["infusion"] = min(per_week + 1, count)
    data["assessments"][3]["anchor"]["infusion"] = count
    data["follow_up"]["window_days"] = draw(st.integers(0, 3))
    return data


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=protocols(), start=st.dates(dt.date(2001, 1, 1), dt.date(2060, 12, 31)))
def test_a_valid_protocol_never_overlaps_windows_from_any_start(
    data: dict[str, Any], start: dt.date
) -> None:
    try:
        protocol = protocol_from_mapping(data)
    except ProtocolInvalid:
        assume(False)
        return
    assume(validate(protocol) == [])
    allowed = {WEEKDAYS.index(d) for d in protocol.schedule.allowed_weekdays}
    while start.weekday() not in allowed:
        start += dt.timedelta(days=1)
    plan = plan_schedule(protocol, start)
    s = protocol.schedule
    assert len(set(plan.infusions)) == s.infusion_count
    for a, b in itertools.pairwise(plan.infusions):
        assert (b - a).days >= s.min_days_between_infusions
    windows = sorted(
        [(a.window_start, a.window_end) for a in plan.assessments]
        + [(v.window_start, v.window_end) for v in plan.follow_up]
    )
    for (_, end), (begin, _) in itertools.pairwise(windows):
        assert begin > end
