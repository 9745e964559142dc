"""Response and durability decisions no other test pinned (issue 12, mutation testing of
`core/rules/response` and `core/rules/maintenance`; docs/benchmarks.md, "Mutation testing").

PROTOCOL.md §8: response is a CAPS-5 total at least 30 % below baseline at week 2; loss of response
is the first follow-up visit without it, counted from the primary outcome day, and a responder who
keeps it is censored at the last visit. Maintenance options and the relapse-watch dates come from
the protocol's data (§8, §11).
"""

from __future__ import annotations

import datetime as dt

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import (
    FollowUpScore,
    assess_response,
    maintenance_options,
    relapse_watch_dates,
    time_to_loss_of_response,
)

PRIMARY = dt.date(2024, 3, 18)


@pytest.mark.parametrize(("baseline", "week2", "responder"), [(1, 0, True), (1, 1, False)])
def test_a_baseline_of_one_point_is_measured_not_refused_section_8(
    rct: Protocol, baseline: float, week2: float, responder: bool
) -> None:
    """§8 needs a baseline above 0 to measure a reduction from; 1 point is such a baseline."""
    assert assess_response(rct.response, baseline, week2).responder is responder


def test_loss_of_response_records_the_loss_day_as_the_last_visit_section_8(rct: Protocol) -> None:
    visits = [
        FollowUpScore(PRIMARY + dt.timedelta(days=7), 20),
        FollowUpScore(PRIMARY + dt.timedelta(days=14), 30),
        FollowUpScore(PRIMARY + dt.timedelta(days=21), 20),
    ]
    outcome = time_to_loss_of_response(rct.response, 40, PRIMARY, 20, visits)
    loss = PRIMARY + dt.timedelta(days=14)
    assert (outcome.event, outcome.time_days, outcome.loss_day, outcome.last_day) == (
        True,
        14,
        loss,
        loss,
    )
    assert outcome.reason == (
        "response lost on 2024-04-01 (day 14): 25.0 % below baseline, under 30 % (PROTOCOL.md §8)"
    )


def test_a_responder_who_keeps_response_is_censored_at_the_last_visit_day_section_8(
    rct: Protocol,
) -> None:
    last = PRIMARY + dt.timedelta(days=30)
    outcome = time_to_loss_of_response(rct.response, 40, PRIMARY, 20, [FollowUpScore(last, 25)])
    assert (outcome.event, outcome.loss_day, outcome.last_day) == (False, None, last)


def test_maintenance_options_carry_the_protocols_words_and_sources_section_8(
    clinical: Protocol,
) -> None:
    assert clinical.maintenance is not None
    options = maintenance_options(clinical, {})
    assert [(o.id, o.label, o.description, o.section) for o in options] == [
        (o.id, o.label, o.description, o.section) for o in clinical.maintenance.options
    ]
    assert all(o.label and o.description and o.section for o in options)


def test_relapse_watch_labels_say_which_share_had_relapsed_section_8(clinical: Protocol) -> None:
    labels = [w.label for w in relapse_watch_dates(clinical, PRIMARY)]
    source = "PROTOCOL.md §8: RCT ketamine responders, days from the primary outcome day to loss of response"
    assert labels == [
        f"day 23: a quarter of RCT responders had lost response ({source})",
        f"day 27.5: half of RCT responders had lost response ({source})",
        f"day 32: three quarters of RCT responders had lost response ({source})",
    ]


def test_a_protocol_without_durability_data_is_refused_naming_durability(
    clinical: Protocol,
) -> None:
    with pytest.raises(InvalidInput) as info:
        relapse_watch_dates(clinical.model_copy(update={"durability": None}), PRIMARY)
    assert info.value.field == "durability"
