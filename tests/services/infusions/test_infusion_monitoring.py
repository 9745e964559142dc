"""Vitals, interventions and infusion-day ratings (PROTOCOL.md §3, §6; services/infusions/monitoring.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from workflow_support import (  # type: ignore[import-not-found]
    items,
    prise,
    ready_for_infusion,
)

from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.services import (
    ConflictError,
    PermissionDenied,
    ValidationFailed,
)
from ketamine_ptsd.services.infusions import (
    VitalsInput,
)


def test_infusion_day_ratings_are_hidden_from_outcome_raters(trial, actors) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    ready_for_infusion(wf, actors, pid, 1)
    assert len(wf.infusions.ratings(actors[Role.SAFETY_RATER], pid, 1)) == 4
    for read in (
        lambda: wf.infusions.ratings(actors[Role.OUTCOME_RATER], pid, 1),
        lambda: wf.infusions.checklists(actors[Role.OUTCOME_RATER], pid),
        lambda: wf.infusions.adverse_events(actors[Role.OUTCOME_RATER], pid),
    ):
        with pytest.raises(PermissionDenied):
            read()
    redacted = [
        e
        for e in wf.audit.entries(actors[Role.MONITOR], table_name="infusion_ratings")
        if e.field == "items"
    ]
    assert redacted and all(not e.redacted for e in redacted)  # the monitor may read them


def test_a_vitals_series_stores_each_reading_with_its_own_time_alerts_and_audit_rows(
    trial, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    nurse = actors[Role.NURSE]
    ready_for_infusion(wf, actors, pid, 1)
    day = wf.infusions.start(
        actors[Role.INVESTIGATOR], pid, 1, **start_inputs(actors, actors[Role.INVESTIGATOR], 80)
    )
    clock.advance(dt.timedelta(minutes=15))
    before = wf.audit.count(actors[Role.ADMINISTRATOR])
    taken = [day.started_at + dt.timedelta(minutes=m) for m in (5, 10, 15)]
    views = wf.infusions.record_vitals_series(
        nurse,
        pid,
        1,
        [
            VitalsInput(5, 128, 80, 70, 98, measured_at=taken[0]),
            VitalsInput(10, 186, 104, 96, 97, measured_at=taken[1]),  # above §6 thresholds
            VitalsInput(15, 132, 82, 72, 98, measured_at=taken[2]),
        ],
    )
    assert [v.minute for v in views] == [5, 10, 15]
    assert [v.measured_at for v in views] == taken
    assert views[0].alerts == () and views[2].alerts == ()
    assert any("systolic mmHg 186" in a for a in views[1].alerts)
    stored = wf.infusions.vitals(nurse, pid, 1)
    assert [(v.minute, v.systolic_mmhg) for v in stored][1:] == [(5, 128), (10, 186), (15, 132)]
    rows = wf.audit.entries(
        actors[Role.ADMINISTRATOR], table_name="vital_signs", since_seq=before, limit=10_000
    )
    audited_ids = {r.record_id for r in rows if r.event == "insert"}
    assert audited_ids == {str(v.id) for v in views}  # every reading audited on its own
    assert wf.audit.verify(actors[Role.ADMINISTRATOR]).ok


def test_a_vitals_series_with_one_bad_reading_names_it_and_stores_none(
    trial, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    nurse = actors[Role.NURSE]
    ready_for_infusion(wf, actors, pid, 1)
    day = wf.infusions.start(
        actors[Role.INVESTIGATOR], pid, 1, **start_inputs(actors, actors[Role.INVESTIGATOR], 80)
    )
    clock.advance(dt.timedelta(minutes=10))
    with pytest.raises(ValidationFailed) as bad:
        wf.infusions.record_vitals_series(
            nurse, pid, 1, [VitalsInput(5, 128, 80, 70, 98), VitalsInput(-5, 128, 80, 70, 98)]
        )
    assert bad.value.field == "readings.2.minute"
    with pytest.raises(ValidationFailed) as future:
        wf.infusions.record_vitals_series(
            nurse,
            pid,
            1,
            [
                VitalsInput(5, 128, 80, 70, 98),
                VitalsInput(
                    30, 128, 80, 70, 98, measured_at=day.started_at + dt.timedelta(minutes=30)
                ),
            ],
        )
    assert future.value.field == "readings.2.measured_at"
    with pytest.raises(ValidationFailed) as empty:
        wf.infusions.record_vitals_series(nurse, pid, 1, [])
    assert empty.value.field == "readings"
    assert [v.minute for v in wf.infusions.vitals(nurse, pid, 1)] == [0]  # only the baseline


def test_the_ratings_form_records_a_time_point_in_one_go_and_refuses_a_repeat(
    trial, actors, clock
) -> None:  # type: ignore[no-untyped-def]
    wf, pid = trial
    rater = actors[Role.SAFETY_RATER]
    ready_for_infusion(wf, actors, pid, 1)
    wf.infusions.start(
        actors[Role.INVESTIGATOR], pid, 1, **start_inputs(actors, actors[Role.INVESTIGATOR], 80)
    )
    clock.advance(dt.timedelta(minutes=41))
    form = {
        "cadss": items(23, 20),
        "bprs_positive": {"4": 2, "11": 1, "12": 1, "15": 1},
        "ymrs_item1": {"1": 0},
    }
    views = wf.infusions.record_ratings(rater, pid, 1, minute=40, ratings=form)
    assert [v.instrument for v in views] == list(form)
    assert {v.minute for v in views} == {40}
    assert views[0].total == 20.0  # each instrument scored by its own module
    with pytest.raises(ConflictError, match="already recorded"):
        wf.infusions.record_ratings(rater, pid, 1, minute=40, ratings={"cadss": items(23, 1)})
    with pytest.raises(ValidationFailed) as wrong:
        wf.infusions.record_ratings(
            rater, pid, 1, minute=40, ratings={"cadss": items(23, 1), "prise": prise()}
        )
    assert wrong.value.field == "instrument"
    with pytest.raises(PermissionDenied):
        wf.infusions.record_ratings(
            actors[Role.OUTCOME_RATER], pid, 1, minute=120, ratings={"cadss": items(23, 1)}
        )
    minutes = [r.minute for r in wf.infusions.ratings(rater, pid, 1)]
    assert minutes.count(40) == 3


def test_the_same_minute_posted_twice_is_stored_once(trial, actors) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 13: a network retry of the same vitals minute was stored twice."""
    wf, pid = trial
    nurse = actors[Role.NURSE]
    series = [VitalsInput(0, 128, 82, 72, 98), VitalsInput(0, 129, 82, 72, 98)]
    with pytest.raises(ConflictError, match="reading 2 of the series"):
        wf.infusions.record_vitals_series(nurse, pid, 1, series)
    wf.infusions.record_vitals(nurse, pid, 1, VitalsInput(0, 128, 82, 72, 98))
    with pytest.raises(ConflictError, match="minute 0") as again:
        wf.infusions.record_vitals(nurse, pid, 1, VitalsInput(0, 128, 82, 72, 98))
    assert "already recorded" in str(again.value)
    assert [v.minute for v in wf.infusions.vitals(nurse, pid, 1)] == [0]
